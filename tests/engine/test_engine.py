"""`pulumi preview` / `up` / `destroy` of the Kubernetes stacks with the real engine, in render mode.

Each stack is created from its committed stack file on a temporary local backend (`pulumi login file://...`), the
app's secrets are set with `pulumi config set --secret`, and the default kubernetes provider renders the manifests
to a folder (`kubernetes:renderYamlToDirectory`) instead of applying them: no cluster is needed. The commands are
the README's "Deploy for real" steps.
"""

from __future__ import annotations

import base64
import json
import re
import secrets as pysecrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import NO_GO, ROOT, Engine, make_project

if shutil.which("go") is None:
    pytest.skip(NO_GO, allow_module_level=True)  # one line, not one per test

#: stack -> (committed stack file it starts from, extra `pulumi config set` values)
STACKS: dict[str, tuple[str, dict[str, str]]] = {
    "staging": ("Pulumi.staging.yaml", {}),
    "prod": ("Pulumi.prod.yaml", {}),
    "copilot": ("Pulumi.staging.yaml", {"prodkit:app": "copilot", "prodkit:domain": "staging.copilot.example.com"}),
}
#: stack -> `--path` config the README sets (CI owns image tags)
PATH_SETS: dict[str, dict[str, str]] = {
    "staging": {"prodkit:imageTags.fastapi": "1.4.2"},
    "prod": {"prodkit:imageTags.fastapi": "1.4.2"},
}
REDACTED = "REDACTED"


@dataclass
class Deployed:
    stack: str
    project: Path
    rendered: Path
    secrets: dict[str, str]
    preview: subprocess.CompletedProcess
    up: subprocess.CompletedProcess
    again: subprocess.CompletedProcess


def required_secrets(app_ref: str) -> list[str]:
    from stacks.spec import load_app

    app = load_app(app_ref)
    return [n for n, s in app.secrets.items() if s.source == "config" and not s.optional]


def secret_value(stack: str, name: str) -> str:
    token = f"prodkit-test-{stack}-{name.lower()}-{pysecrets.token_hex(8)}"
    if name.endswith("PRIVATE_KEY"):  # multi-line, as a PEM file piped on stdin would be
        return f"-----BEGIN PRIVATE KEY-----\n{token}\n-----END PRIVATE KEY-----\n"
    return token


def set_secrets(engine: Engine, project: Path, stack: str, app_ref: str) -> dict[str, str]:
    values = {name: secret_value(stack, name) for name in required_secrets(app_ref)}
    for name, value in values.items():
        engine.run("config", "set", "--secret", f"prodkit:{name}", "--stack", stack, cwd=project, stdin=value)
    return values


def _deploy(engine: Engine, base: Path, stack: str) -> Deployed:
    source, sets = STACKS[stack]
    project = make_project(base / f"project-{stack}", {stack: source})
    engine.run("stack", "select", "--create", stack, cwd=project)
    for key, value in sets.items():
        engine.run("config", "set", key, value, "--stack", stack, cwd=project)
    rendered = base / f"rendered-{stack}"
    engine.run("config", "set", "kubernetes:renderYamlToDirectory", str(rendered), "--stack", stack, cwd=project)
    app_ref = sets.get("prodkit:app") or yaml.safe_load((ROOT / source).read_text())["config"]["prodkit:app"]
    values = set_secrets(engine, project, stack, app_ref)
    for key, value in PATH_SETS.get(stack, {}).items():
        engine.run("config", "set", "--path", key, value, "--stack", stack, cwd=project)
    profile = yaml.safe_load((project / f"Pulumi.{stack}.yaml").read_text())["config"]["prodkit:profile"]
    preview = engine.run("preview", "--stack", stack, "--policy-pack", "policies",
                         "--policy-pack-config", f"policies/config/{profile}.json", cwd=project)
    up = engine.run("up", "--yes", "--stack", stack, cwd=project)
    again = engine.run("preview", "--expect-no-changes", "--diff", "--stack", stack, cwd=project, check=False)
    return Deployed(stack, project, rendered, values, preview, up, again)


@pytest.fixture(scope="session")
def deploy(engine: Engine, tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("stacks")
    done: dict[str, Deployed] = {}

    def get(stack: str) -> Deployed:
        if stack not in done:
            done[stack] = _deploy(engine, base, stack)
        return done[stack]

    return get


# ------------------------------------------------------------------------------------------------ manifests


def load_objects(folder: Path) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """(apiVersion, kind, namespace, name) -> object, for every YAML document under folder."""
    objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for path in sorted(folder.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            meta = doc.get("metadata") or {}
            key = (doc.get("apiVersion", ""), doc.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))
            assert key not in objects, f"{key} rendered twice ({path.name})"
            objects[key] = doc
    return objects


def differences(planned: Any, rendered: Any, path: str = "") -> list[str]:
    """Where the planned manifest and the rendered one differ; a planned REDACTED matches any rendered value
    (secrets are redacted in the plan and real in the render) but not an absent one."""
    if planned == REDACTED:
        return [] if rendered is not None else [f"{path}: planned (redacted) but not rendered"]
    if isinstance(planned, dict) and isinstance(rendered, dict):
        out: list[str] = []
        for key in sorted(set(planned) | set(rendered)):
            if key not in rendered:
                out.append(f"{path}.{key}: planned {planned[key]!r}, not rendered")
            elif key not in planned:
                out.append(f"{path}.{key}: rendered {rendered[key]!r}, not planned")
            else:
                out.extend(differences(planned[key], rendered[key], f"{path}.{key}"))
        return out
    if isinstance(planned, list) and isinstance(rendered, list) and len(planned) == len(rendered):
        return [d for i, (p, r) in enumerate(zip(planned, rendered)) for d in differences(p, r, f"{path}[{i}]")]
    if isinstance(planned, (int, float)) and isinstance(rendered, (int, float)) and not isinstance(planned, bool):
        return [] if planned == rendered else [f"{path}: planned {planned!r}, rendered {rendered!r}"]
    return [] if planned == rendered else [f"{path}: planned {planned!r}, rendered {rendered!r}"]


def normalise_secret(obj: dict[str, Any]) -> dict[str, Any]:
    """A v1 Secret as the API server stores it: the provider folds `stringData` into base64 `data` (the plan keeps
    what the program wrote). Values are compared as keys only: they are redacted in the plan."""
    if obj.get("apiVersion") != "v1" or obj.get("kind") != "Secret":
        return obj
    obj = dict(obj)
    keys = {**(obj.pop("data", None) or {}), **(obj.pop("stringData", None) or {})}
    obj["data"] = {k: REDACTED for k in keys}
    return obj


def secret_data(rendered: dict[tuple[str, str, str, str], dict[str, Any]]) -> set[str]:
    """Every decoded value of the rendered Secrets."""
    return {base64.b64decode(v).decode() for o in rendered.values() if o.get("kind") == "Secret"
            for v in (o.get("data") or {}).values()} | {
        v for o in rendered.values() if o.get("kind") == "Secret" for v in (o.get("stringData") or {}).values()}


def plan_manifests(project: Path, stack: str, out: Path) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    proc = subprocess.run([sys.executable, "-m", "stacks.cli", "plan", "--stack", stack, "--dir", str(project), "--out", str(out)],
                          cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.returncode in (0, 1), proc.stdout
    return load_objects(out / "manifests")


# ---------------------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("stack", list(STACKS))
def test_preview_and_up_succeed(deploy, stack: str) -> None:
    d = deploy(stack)
    assert d.preview.returncode == 0 and d.up.returncode == 0
    created = re.search(r"\+ (\d+) created", d.up.stdout)
    assert created and int(created.group(1)) > 10, d.up.stdout[-3000:]
    assert list(d.rendered.rglob("*.yaml")), "render mode wrote no manifest"


@pytest.mark.parametrize("stack", list(STACKS))
def test_second_preview_has_no_changes(deploy, stack: str) -> None:
    d = deploy(stack)
    assert d.again.returncode == 0, "a second preview after `pulumi up` plans changes (perpetual diff):\n" + d.again.stdout[-8000:]


@pytest.mark.parametrize("stack", list(STACKS))
def test_rendered_manifests_equal_the_offline_plan(deploy, stack: str, tmp_path: Path) -> None:
    d = deploy(stack)
    rendered = load_objects(d.rendered)
    planned = plan_manifests(d.project, stack, tmp_path / "plan")
    assert planned, "prodkit plan wrote no manifest"
    assert sorted(planned) == sorted(rendered), (
        f"planned only: {sorted(set(planned) - set(rendered))}\nrendered only: {sorted(set(rendered) - set(planned))}")
    problems = {f"{k[1]}/{k[3]}": differences(normalise_secret(planned[k]), normalise_secret(rendered[k])) for k in planned}
    problems = {k: v for k, v in problems.items() if v}
    assert not problems, json.dumps(problems, indent=1)[:8000]
    # What the plan redacts is really there: every secret set with `pulumi config set --secret` reached a Secret.
    values = secret_data(rendered)
    # (`pulumi config set` drops the trailing newline of a value read from stdin, as it does for any piped file.)
    missing = [name for name, value in d.secrets.items() if value.rstrip("\n") not in values]
    assert not missing, f"secrets set but in no rendered Secret: {missing}"


def revealed_value(value: Any) -> str:
    """A secret output of `pulumi stack export --show-secrets` ({sig, plaintext: JSON}) as its string."""
    if isinstance(value, dict) and "plaintext" in value:
        return json.loads(value["plaintext"])
    return value


@pytest.mark.parametrize("stack", list(STACKS))
def test_state_holds_no_plaintext_secret(engine: Engine, deploy, stack: str) -> None:
    d = deploy(stack)
    state = engine.run("stack", "export", "--stack", stack, cwd=d.project).stdout
    revealed = json.loads(engine.run("stack", "export", "--show-secrets", "--stack", stack, cwd=d.project).stdout)
    generated = [revealed_value(r["outputs"]["result"]) for r in revealed["deployment"]["resources"]
                 if r["type"] == "random:index/randomPassword:RandomPassword"]
    assert generated, "no generated password in state"
    values = [*d.secrets.values(), *generated]
    for value in values:
        for form in {value, value.strip(), base64.b64encode(value.encode()).decode(), json.dumps(value)[1:-1]}:
            assert form not in state, f"a secret ({form[:24]}...) is in plaintext in `pulumi stack export`"
    stack_file = (d.project / f"Pulumi.{stack}.yaml").read_text()
    for value in d.secrets.values():
        assert value.strip().splitlines()[len(value.strip().splitlines()) // 2] not in stack_file


def test_policy_pack_passes_on_the_clean_prod_stack(deploy) -> None:
    out = deploy("prod").preview.stdout  # `pulumi preview --policy-pack policies --policy-pack-config .../prod.json`
    assert "prodkit@v0.1.0" in out, out[-3000:]  # the pack ran
    assert "mandatory" not in out, out[-3000:]


def test_policy_pack_fails_a_prod_stack_that_breaks_a_mandatory_rule(engine: Engine, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", {"prod-broken": "Pulumi.prod.yaml"})
    engine.run("stack", "select", "--create", "prod-broken", cwd=project)
    engine.run("config", "set", "kubernetes:renderYamlToDirectory", str(tmp_path / "rendered"), "--stack", "prod-broken", cwd=project)
    engine.run("config", "set", "--path", "prodkit:overrides.high_availability", "false", "--stack", "prod-broken", cwd=project)
    set_secrets(engine, project, "prod-broken", "compyle")
    proc = engine.run("preview", "--stack", "prod-broken", "--policy-pack", "policies",
                      "--policy-pack-config", "policies/config/prod.json", cwd=project, check=False)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert re.search(r"mandatory.*high-availability|high-availability.*mandatory", proc.stdout, re.S), proc.stdout[-3000:]
    assert "spec.instances is 1" in proc.stdout, proc.stdout[-3000:]


def test_missing_required_secret_is_one_clear_message(engine: Engine, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", {"unset": "Pulumi.staging.yaml"})
    engine.run("stack", "select", "--create", "unset", cwd=project)
    proc = engine.run("preview", "--stack", "unset", cwd=project, check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout and "unhandled exception" not in proc.stdout, proc.stdout
    errors = [line.strip() for line in proc.stdout.splitlines() if "error:" in line and "prodkit:" in line]
    assert errors, proc.stdout
    assert re.search(r"requires this secret .*`pulumi config set --secret prodkit:[A-Z_]+ .*--stack unset`", errors[-1]), errors[-1]


def test_destroy_works_in_staging(engine: Engine, deploy) -> None:
    d = deploy("staging")
    engine.run("destroy", "--yes", "--stack", "staging", cwd=d.project)
    left = json.loads(engine.run("stack", "export", "--stack", "staging", cwd=d.project).stdout)["deployment"].get("resources") or []
    assert [r["type"] for r in left] == [], [r["urn"] for r in left]
    assert not list(d.rendered.rglob("*.yaml")), "destroy left rendered manifests behind"


def test_destroy_is_refused_for_protected_resources_in_prod(engine: Engine, deploy) -> None:
    d = deploy("prod")
    proc = engine.run("destroy", "--yes", "--stack", "prod", cwd=d.project, check=False)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "protected" in proc.stdout, proc.stdout[-3000:]
    left = json.loads(engine.run("stack", "export", "--stack", "prod", cwd=d.project).stdout)["deployment"]["resources"]
    assert any(r.get("protect") for r in left), "no protected resource survived"
