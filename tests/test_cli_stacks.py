"""`prodkit stacks`: the stack files with their profile, cloud and region, the pull-request preview matrix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stacks import cli

ROOT = Path(__file__).resolve().parent.parent


def _expected(directory: Path) -> list[dict[str, str]]:
    """The rows read straight from the stack files (independently of prodkit's config loader)."""
    rows = []
    for path in sorted(directory.glob("Pulumi.*.yaml")):
        conf = yaml.safe_load(path.read_text())["config"]
        region = conf.get("prodkit:location") or conf.get("prodkit:region") or conf.get("aws:region") or conf.get("gcp:region") or ""
        rows.append({"stack": path.name[len("Pulumi."):-len(".yaml")], "profile": conf["prodkit:profile"],
                     "cloud": conf["prodkit:cloud"], "region": region})
    return rows


def _project(tmp_path: Path, *stacks: str) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    for stack in stacks:
        shutil.copy(ROOT / f"Pulumi.{stack}.yaml", tmp_path / f"Pulumi.{stack}.yaml")
    return tmp_path


def test_json_lists_every_stack_file_of_the_project_on_one_line(capsys):
    assert cli.main(["stacks", "--format", "json", "--dir", str(ROOT)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "GitHub step outputs are KEY=VALUE lines"
    rows = json.loads(out)
    assert rows == _expected(ROOT)
    assert {r["cloud"] for r in rows} == {"aws", "azure", "gcp", "kubernetes"}
    assert next(r for r in rows if r["stack"] == "aws-prod")["region"] == "us-east-1"
    assert next(r for r in rows if r["stack"] == "prod") == {"stack": "prod", "profile": "prod", "cloud": "kubernetes", "region": ""}


def test_text_is_a_table(tmp_path, capsys):
    assert cli.main(["stacks", "--dir", str(_project(tmp_path, "aws-staging", "staging"))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split() for line in lines] == [["aws-staging", "staging", "aws", "us-east-1"], ["staging", "staging", "kubernetes", "-"]]


def test_a_bad_stack_file_is_refused_naming_the_file_the_key_and_the_value(tmp_path, capsys):
    project = _project(tmp_path, "staging")
    bad = project / "Pulumi.broken.yaml"
    bad.write_text((ROOT / "Pulumi.staging.yaml").read_text().replace("prodkit:profile: staging", "prodkit:profile: production"))
    assert cli.main(["stacks", "--format", "json", "--dir", str(project)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Pulumi.broken.yaml" in captured.err and "prodkit:profile" in captured.err and "production" in captured.err


@pytest.mark.parametrize("case", ["no stack files", "no Pulumi.yaml", "bad stack name"])
def test_bad_folders_are_refused(tmp_path, capsys, case):
    if case == "no stack files":
        _project(tmp_path)
    elif case == "no Pulumi.yaml":
        shutil.copy(ROOT / "Pulumi.staging.yaml", tmp_path / "Pulumi.staging.yaml")
    else:
        _project(tmp_path, "staging")
        shutil.copy(ROOT / "Pulumi.staging.yaml", tmp_path / "Pulumi.my stack.yaml")
    assert cli.main(["stacks", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("prodkit: bad input:")
    assert {"no stack files": "no Pulumi.<stack>.yaml", "no Pulumi.yaml": "no Pulumi.yaml here",
            "bad stack name": "Pulumi.my stack.yaml"}[case] in err


def test_listing_imports_no_cloud_sdk():
    code = ("import sys; from pathlib import Path; from stacks import cli; cli.stack_rows(Path(sys.argv[1])); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pulumi_aws', 'pulumi_gcp', 'pulumi_azure_native', 'pulumi_kubernetes', 'pulumi_policy')))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"  # the workflow's `stacks` job installs prodkit without cloud extras


def test_the_workflow_step_writes_the_matrix_from_prodkit_stacks(tmp_path):
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pr.yml").read_text())
    job = workflow["jobs"]["stacks"]
    (step,) = [s for s in job["steps"] if s.get("id") == "list"]
    script = step["run"]
    assert "prodkit stacks --format json" in script
    assert "<<" not in script and "python" not in script, "the matrix comes from a tested prodkit command, not an inlined script"
    assert any(s.get("run", "").startswith("python -m pip install -e .") for s in job["steps"])
    assert job["outputs"]["matrix"] == "${{ steps.list.outputs.matrix }}"
    output = tmp_path / "github-output"
    prodkit = Path(sys.executable).parent / "prodkit"
    env = {**os.environ, "GITHUB_OUTPUT": str(output), "PATH": f"{prodkit.parent}:{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (line,) = output.read_text().splitlines()
    key, _, value = line.partition("=")
    assert key == "matrix" and json.loads(value) == {"include": _expected(ROOT)}
