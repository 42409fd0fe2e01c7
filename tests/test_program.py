"""The real Pulumi program (stacks/__main__.py), as `pulumi up` runs it, under the mock engine: config from the
runtime, secrets from secure config, the same exports on every stack, and bad input as a RunError (a message,
no traceback)."""

from __future__ import annotations

import runpy

import pulumi
import pytest

from components._core import InputError
from conftest import ROOT
from stacks import cli, config, engine
from stacks.spec import load_app
from stacks.targets import target_of

EXPORTS = {"url", "network_id", "db_host", "redis_host", "services", "ingress_hostname", "dns_records"}


def run_program(stack: str, **overrides: str):
    plain, secure = config.read_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    values = {**plain, **overrides}
    # No secret is committed: set the app's required ones, as `pulumi config set --secret` would before `pulumi up`.
    app = load_app(str(values["prodkit:app"]))
    secure = set(secure) | {f"prodkit:{n}" for n, s in app.secrets.items() if s.source == "config" and not s.optional}
    # ... and the stack secrets its target requires (e.g. the ghcr.io credential of the ECR pull-through cache).
    try:
        offline = cli.load_stack(ROOT, stack, [f"{k}={v}" for k, v in overrides.items()])
        secure |= {f"prodkit:{n}" for n in target_of(offline.cloud).required_secrets(offline)}
    except InputError:
        pass  # bad input: the program itself must report it (test_bad_input_is_a_run_error...)
    values.update({k: "placeholder-value" for k in secure})
    exported: dict[str, object] = {}
    real_export = pulumi.export

    def program() -> None:
        pulumi.export = lambda key, value: exported.__setitem__(key, value)
        try:
            runpy.run_path(str(ROOT / "stacks" / "__main__.py"), run_name="__main__")
        finally:
            pulumi.export = real_export

    inventory = engine.run(program, stack=stack, config=values, secret_keys=sorted(secure))
    return inventory, exported


@pytest.mark.parametrize("stack", ["staging", "prod", "aws-staging", "aws-prod", "gcp-staging", "gcp-prod", "azure-staging", "azure-prod"])
def test_every_stack_file_runs_as_a_program_with_the_same_exports(stack):
    inventory, exported = run_program(stack)
    assert set(exported) == EXPORTS
    assert len(inventory.custom()) > 40


def test_config_secrets_reach_the_secret_store_not_plain_env():
    inventory, _ = run_program("staging")
    secrets = [r for r in inventory.resources if r.type == "kubernetes:core/v1:Secret" and r.name == "fastapi-secrets"]
    assert secrets and secrets[0].inputs["stringData"] == "[secret]"
    assert secrets[0].raw_inputs["stringData"]["ANTHROPIC_API_KEY"] == "placeholder-value"


def test_bad_input_is_a_run_error_without_traceback_noise():
    with pytest.raises(pulumi.RunError, match="prodkit:profile: got 'production'; allowed: prod, staging"):
        run_program("staging", **{"prodkit:profile": "production"})


def _env_names(inventory, deployment: str) -> set[str]:
    d = inventory.named(deployment)
    return {e["name"] for e in d.inputs["spec"]["template"]["spec"]["containers"][0].get("env", [])}


def test_optional_secret_left_out_when_unset():
    inventory, _ = run_program("staging")
    assert "SENTRY_DSN" not in _env_names(inventory, "fastapi-deployment")
    assert "SENTRY_DSN" not in inventory.named("fastapi-secrets").raw_inputs["stringData"]


def test_optional_secret_injected_by_reference_when_set(tmp_path):
    import shutil

    import yaml

    for name in ("Pulumi.yaml", "Pulumi.staging.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    doc = yaml.safe_load((tmp_path / "Pulumi.staging.yaml").read_text())
    doc["config"]["prodkit:SENTRY_DSN"] = {"secure": "v1:placeholder:SENTRY_DSN"}
    (tmp_path / "Pulumi.staging.yaml").write_text(yaml.safe_dump(doc))
    from stacks import cli

    cfg = cli.load_stack(tmp_path, "staging", [])
    inventory, _ = cli.run_plan(cfg)
    env = {e["name"]: e for e in inventory.named("fastapi-deployment").inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SENTRY_DSN"]["valueFrom"]["secretKeyRef"]["key"] == "SENTRY_DSN"
    assert "value" not in env["SENTRY_DSN"]


def test_only_config_secrets_can_be_optional():
    from components._core import InputError
    from stacks.spec import parse

    data = {
        "name": "demo", "routes": [],
        "services": {"api": {"image": "r/api", "tag": "1.0.0", "port": 8080, "health": {"path": "/h"}, "secrets": ["JWT_SECRET"]}},
        "secrets": {"JWT_SECRET": {"source": "generated", "optional": True}},
    }
    with pytest.raises(InputError, match="only `source: config` secrets can be optional"):
        parse(data, "demo.yaml")
