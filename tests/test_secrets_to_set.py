"""No secret is committed: the stack files hold no undecryptable `secure:` placeholder (the real CLI decrypts every
secure value before running the program), `prodkit plan` plans with placeholders for the required secrets a stack
has not set and lists them with the exact command to set each, and the real program refuses to run without them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from components._core import InputError
from stacks import cli, config

ROOT = Path(__file__).resolve().parent.parent
STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: p.name)
def test_committed_stack_files_hold_no_secure_value(path: Path) -> None:
    # `pulumi preview` would fail on any of them: there is no encryptionsalt a user could decrypt them with.
    doc = yaml.safe_load(path.read_text()) or {}
    secure = [k for k, v in (doc.get("config") or {}).items() if isinstance(v, dict) and "secure" in v]
    assert secure == [], f"{path.name} commits secure values {secure}"
    assert "encryptionsalt" not in doc and "v1:placeholder" not in path.read_text()


def _required(app: str) -> list[str]:
    from stacks.spec import load_app

    return [n for n, s in load_app(app).secrets.items() if s.source == "config" and not s.optional]


def test_plan_lists_every_unset_required_secret_with_its_command(capsys) -> None:
    code = cli.main(["plan", "--stack", "staging", "--out", str(ROOT / "build" / "test-secrets-to-set")])
    out = capsys.readouterr().out
    assert code == 0
    head, _, rest = out.partition("Secrets to set before deploying")
    assert rest, out[:2000]
    section = rest.split("\n\n", 1)[0]
    required = _required("compyle")
    assert len(required) == 3
    for name in required:
        assert f"  pulumi config set --secret prodkit:{name} --stack staging" in section
    assert "SENTRY_DSN" not in section  # optional: left out when unset, nothing to set


def test_plan_json_lists_the_secrets_to_set(capsys) -> None:
    code = cli.main(["plan", "--stack", "prod", "--format", "json", "--out", str(ROOT / "build" / "test-secrets-to-set")])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [s["name"] for s in doc["secretsToSet"]] == _required("compyle")
    assert doc["secretsToSet"][0]["command"] == f"pulumi config set --secret prodkit:{_required('compyle')[0]} --stack prod"


def test_a_secret_set_in_the_stack_file_is_not_listed(tmp_path: Path, capsys) -> None:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    doc = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())
    doc["config"]["prodkit:ANTHROPIC_API_KEY"] = {"secure": "v1:AAAA:BBBB"}  # what `pulumi config set --secret` writes
    (tmp_path / "Pulumi.staging.yaml").write_text(yaml.safe_dump(doc))
    cfg = cli.load_stack(tmp_path, "staging", [])
    assert "ANTHROPIC_API_KEY" not in cfg.unset_secrets
    assert set(cfg.unset_secrets) == set(_required("compyle")) - {"ANTHROPIC_API_KEY"}
    assert cfg.secrets["ANTHROPIC_API_KEY"] == config.PLACEHOLDER  # planned offline, never decrypted


def test_nothing_to_set_means_no_section(tmp_path: Path, capsys) -> None:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    doc = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())
    for name in _required("compyle"):
        doc["config"][f"prodkit:{name}"] = {"secure": "v1:AAAA:BBBB"}
    (tmp_path / "Pulumi.staging.yaml").write_text(yaml.safe_dump(doc))
    code = cli.main(["plan", "--stack", "staging", "--dir", str(tmp_path), "--out", str(tmp_path / "out")])
    assert code == 0
    assert "Secrets to set" not in capsys.readouterr().out


def test_app_override_lists_the_new_apps_secrets(capsys) -> None:
    cfg = cli.load_stack(ROOT, "staging", ["prodkit:app=copilot"])
    assert list(cfg.unset_secrets) == _required("copilot")


def test_the_real_program_refuses_to_run_without_a_required_secret() -> None:
    # stacks/__main__.py resolves with offline=False: the missing secret is the one-paragraph error, naming the
    # command, before anything is registered.
    plain, _ = config.read_stack_file(ROOT / "Pulumi.prod.yaml")
    with pytest.raises(InputError) as err:
        config.resolve("prod", plain, {})
    message = str(err.value)
    assert "pulumi config set --secret prodkit:" in message and "--stack prod" in message
    assert "\n" not in message.strip()
