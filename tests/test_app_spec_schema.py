"""The app spec is documented (docs/app-spec.md) and has a JSON Schema (docs/app-spec.schema.json, `prodkit
schema`) that editors use and that every bundled spec satisfies; both are generated from stacks/spec.py."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from stacks import specschema
from stacks.spec import APPS_DIR

SCHEMA_FILE = ROOT / "docs" / "app-spec.schema.json"
SPECS = sorted(APPS_DIR.glob("*.yaml"))


def check_jsonschema() -> str:
    candidate = Path(sys.executable).parent / "check-jsonschema"
    if not candidate.exists():
        pytest.fail("check-jsonschema is not installed: python -m pip install -e '.[dev]'")
    return str(candidate)


def test_reference_and_schema_are_current():
    sys.path.insert(0, str(ROOT / "scripts"))
    import app_spec

    for path, text in app_spec.rendered().items():
        assert path.read_text() == text, f"{path.relative_to(ROOT)} is stale: run .venv/bin/python scripts/app_spec.py"


def test_prodkit_schema_prints_the_committed_schema():
    out = subprocess.run([sys.executable, "-m", "stacks.cli", "schema"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == json.loads(SCHEMA_FILE.read_text())


def test_the_schema_is_a_valid_json_schema():
    proc = subprocess.run([check_jsonschema(), "--check-metaschema", str(SCHEMA_FILE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_bundled_spec_validates_against_the_schema(spec):
    proc = subprocess.run([check_jsonschema(), "--schemafile", str(SCHEMA_FILE), str(spec)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d["services"]["fastapi"].__setitem__("replica", 3), "replica"),
    (lambda d: d["services"]["fastapi"].__setitem__("uses", ["mysql"]), "mysql"),
    (lambda d: d["routes"][0].__setitem__("timeout_seconds", "600"), "600"),
    (lambda d: d["services"]["fastapi"].__setitem__("memory", "8GB"), "8GB"),
    (lambda d: d["services"]["fastapi"].pop("image"), "image"),
    (lambda d: d["secrets"].__setitem__("lowercase_name", {"source": "config"}), "lowercase_name"),
])
def test_the_schema_catches_what_the_loader_refuses(tmp_path, mutate, needle):
    data = yaml.safe_load((APPS_DIR / "compyle.yaml").read_text())
    mutate(data)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    proc = subprocess.run([check_jsonschema(), "--schemafile", str(SCHEMA_FILE), str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1 and needle in proc.stdout + proc.stderr
    from components._core import InputError
    from stacks.spec import parse

    with pytest.raises(InputError):
        parse(data, "bad.yaml")


def test_every_spec_field_is_documented():
    missing = [f"{cls.__name__}.{f.name}" for cls in specschema.dataclasses_of() for f in dataclasses.fields(cls)
               if f.init and not specschema.description(cls, f.name)]
    assert not missing, f"describe these fields (stacks/specschema.py DESCRIPTIONS or a docstring): {missing}"
    reference = (ROOT / "docs" / "app-spec.md").read_text()
    for cls in specschema.dataclasses_of():
        assert f"## {cls.__name__}" in reference


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_bundled_specs_point_editors_at_the_schema_and_cite_guides_by_name(spec):
    first = spec.read_text().splitlines()[0]
    m = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert m, f"{spec.name}: first line must be the yaml-language-server schema comment"
    assert (spec.parent / m.group(1)).resolve() == SCHEMA_FILE.resolve()
    comments = [line[line.index("#"):] for line in spec.read_text().splitlines() if re.search(r"(^|\s)#", line)]
    text = "\n".join(comments)
    assert "/work/shared" not in text and "seeds/" not in text, "cite the guide by name, not by a path users lack"
    assert not re.search(r"\bL\d+\b", text), "comments cite guide sections by name, not line numbers"
    assert re.search(r"# Source: seed \d{3}, the .+ deployment guide\.", text)


@pytest.mark.parametrize("stack", ["prod", "aws-prod"])
def test_the_minimal_spec_in_the_reference_plans_clean_in_prod(tmp_path, stack, capsys):
    """The example a newcomer copies from docs/app-spec.md is valid and passes every mandatory rule."""
    from stacks import cli

    block = re.search(r"```yaml\n(.*?)```", (ROOT / "docs" / "app-spec.md").read_text(), re.S).group(1)
    spec = tmp_path / "shop.yaml"
    spec.write_text(block)
    code = cli.main(["plan", "--stack", stack, "--dir", str(ROOT), "-c", f"prodkit:app={spec}", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "prodkit plan: app shop" in out and "Policy verdicts: all rules pass." in out
