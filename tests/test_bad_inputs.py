"""Bad input exits 2 with one paragraph naming the field, the value and what is allowed; no traceback,
nothing registered (the check pass runs before the engine)."""

from __future__ import annotations

import re
import copy
import shutil
from pathlib import Path

import pytest
import yaml

from components._core import InputError
from stacks import cli
from stacks.spec import APPS_DIR

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A copy of the project's Pulumi files in a temp folder, to edit freely."""
    for name in ("Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml", "Pulumi.aws-staging.yaml", "Pulumi.aws-prod.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def plan(project: Path, capsys: pytest.CaptureFixture[str], *sets: str, stack: str = "staging") -> tuple[int, str]:
    args = ["plan", "--stack", stack, "--dir", str(project), "--out", str(project / "out")]
    for s in sets:
        args += ["-c", s]
    code = cli.main(args)
    err = capsys.readouterr().err
    return code, err


def spec_with(project: Path, app: str, mutate) -> str:
    data = yaml.safe_load((APPS_DIR / f"{app}.yaml").read_text())
    data = copy.deepcopy(data)
    mutate(data)
    path = project / f"{app}-broken.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def assert_clear(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    assert err.count("\n") <= 2, f"expected one paragraph, got:\n{err}"
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"


def test_unknown_app_names_the_bundled_ones(project, capsys):
    code, err = plan(project, capsys, "prodkit:app=compile")
    assert_clear(code, err, "prodkit:app", "'compile'", "compyle", "Did you mean 'compyle'")


def test_unknown_cloud_lists_the_four(project, capsys):
    code, err = plan(project, capsys, "prodkit:cloud=k8s")
    assert_clear(code, err, "prodkit:cloud", "'k8s'", "aws, azure, gcp, kubernetes")


def test_unknown_profile(project, capsys):
    code, err = plan(project, capsys, "prodkit:profile=production")
    assert_clear(code, err, "prodkit:profile", "'production'", "prod, staging")


def test_azure_without_a_location_names_the_key_and_the_command(project, capsys):
    # Every cloud has backends now; what a Kubernetes stack file lacks for Azure is the location.
    code, err = plan(project, capsys, "prodkit:cloud=azure")
    assert_clear(code, err, "prodkit:location", "required on Azure", "pulumi config set prodkit:location")


def test_unknown_override_key(project, capsys):
    code, err = plan(project, capsys, "prodkit:overrides={log_retention: 30}")
    assert_clear(code, err, "prodkit:overrides.log_retention", "unknown override key", "Did you mean 'log_retention_days'")


def test_unknown_config_key(project, capsys):
    code, err = plan(project, capsys, "prodkit:domian=x.example.com")
    assert_clear(code, err, "prodkit:domian", "unknown config key", "Did you mean 'domain'")


def test_min_replicas_above_max(project, capsys):
    def mutate(d):
        d["services"]["engine"]["autoscaling"]["min"] = 12

    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'autopr', mutate)}")
    assert_clear(code, err, "autoscaling.min", "12", "must not exceed autoscaling.max (10)")


def test_route_to_unknown_service(project, capsys):
    def mutate(d):
        d["routes"][0]["service"] = "frontend"

    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'compyle', mutate)}")
    assert_clear(code, err, "routes[0].service", "'frontend'", "allowed:")


def test_memory_in_decimal_units_suggests_binary(project, capsys):
    def mutate(d):
        first = next(iter(d["services"]))
        d["services"][first]["memory_limit"] = "8GB"

    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'compyle', mutate)}")
    assert_clear(code, err, "memory_limit", "'8GB'", "Mi, Gi or Ti", "Did you mean '8Gi'")


def test_invalid_cron_schedule(project, capsys):
    def mutate(d):
        d["backups"]["database"]["schedule"] = "0 25 * * *"

    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'compyle', mutate)}")
    assert_clear(code, err, "backups.database.schedule", "'0 25 * * *'", "cron")


def test_negative_retention(project, capsys):
    def mutate(d):
        d["backups"]["database"]["retention_days"] = -1

    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'compyle', mutate)}")
    assert_clear(code, err, "retention_days", "-1", "from 1 to")


def test_missing_required_secret_names_the_command():
    # The real program (offline=False: `pulumi preview`/`up`) refuses to run without a required secret; the offline
    # plan lists it instead (tests/test_secrets_to_set.py).
    from stacks import config

    plain, _ = config.read_stack_file(ROOT / "Pulumi.staging.yaml")
    with pytest.raises(InputError) as err:
        config.resolve("staging", plain, {"GITHUB_CLIENT_SECRET": "x", "GITHUB_APP_PRIVATE_KEY": "y"})
    assert "prodkit:ANTHROPIC_API_KEY" in str(err.value)
    assert "pulumi config set --secret prodkit:ANTHROPIC_API_KEY" in str(err.value)


def test_plaintext_secret_in_stack_file_is_refused(project, capsys):
    stack_file = project / "Pulumi.staging.yaml"
    doc = yaml.safe_load(stack_file.read_text())
    secret = "prodkit:ANTHROPIC_API_KEY"
    doc["config"][secret] = "sk-live-plaintext"
    stack_file.write_text(yaml.safe_dump(doc))
    code, err = plan(project, capsys)
    assert_clear(code, err, secret, "must be encrypted")
    assert "sk-live-plaintext" not in err


def test_unknown_spec_key_suggests_the_right_one(project, capsys):
    def mutate(d):
        first = next(iter(d["services"]))
        d["services"][first]["replica"] = 3

    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'compyle', mutate)}")
    assert_clear(code, err, ".replica", "unknown key", "Did you mean 'replicas'")


def test_latest_image_tag_is_refused(project, capsys):
    code, err = plan(project, capsys, "prodkit:imageTags={api: latest}")
    assert code == 2 and "latest" in err and "Traceback" not in err


def test_missing_stack_file(project, capsys):
    code, err = plan(project, capsys, stack="qa")
    assert_clear(code, err, "--stack", "'qa'", "Pulumi.qa.yaml")


def test_bad_format_flag_exits_2(project, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["plan", "--stack", "staging", "--format", "yaml"])
    assert exc.value.code == 2


def test_check_rejects_a_non_inventory(tmp_path, capsys):
    bad = tmp_path / "inv.json"
    bad.write_text('{"hello": 1}')
    code = cli.main(["check", str(bad)])
    err = capsys.readouterr().err
    assert_clear(code, err, "INVENTORY", "resources")


def test_fargate_size_aws_rejects(project, capsys):
    def mutate(d):
        d["services"]["engine"]["aws"] = {"task_cpu_units": 1024, "task_memory": "512Mi"}

    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'autopr', mutate)}", "prodkit:cloud=aws")
    assert_clear(code, err, "services.engine.aws.task_memory: got '512Mi'", "Fargate allows memory of 2Gi")  # the spec field as written


# --- AWS-only limits: each exits 2 before anything is registered -----------------------------------------------


def test_waf_rate_limit_below_minimum(project, capsys):
    def mutate(d):
        d["routes"][0]["rate_limit_per_minute"] = 5

    spec = spec_with(project, "compyle", mutate)
    code, err = plan(project, capsys, f"prodkit:app={spec}", "prodkit:cloud=aws")
    assert_clear(code, err, "routes[0].rate_limit_per_minute: got 5", "10")
    assert f"{spec} line {line_of(spec, 'rate_limit_per_minute: 5')}" in err  # the route by index and line, as written


def test_rds_retention_above_35_days(project, capsys):
    code, err = plan(project, capsys, "prodkit:cloud=aws", "prodkit:overrides={max_backup_retention_days: 40, min_backup_retention_days: 40}")
    assert_clear(code, err, "retention_days", "40", "35")


def test_route_path_alb_cannot_match(project, capsys):
    def mutate(d):
        d["routes"][0]["path"] = "/api/" + "a" * 130

    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'compyle', mutate)}", "prodkit:cloud=aws")
    assert_clear(code, err, "128")


@pytest.mark.parametrize("cidr,needle", [("10.0.0.0/33", "CIDR notation"), ("10.0.0.0/24", "/16 to /20"), ("8.8.0.0/16", "private")])
def test_invalid_or_too_small_vpc_cidr(project, capsys, cidr, needle):
    code, err = plan(project, capsys, "prodkit:cloud=aws", f"prodkit:vpcCidr={cidr}")
    assert_clear(code, err, "prodkit:vpcCidr", cidr, needle)  # the key as written, not network.cidr


@pytest.mark.parametrize("value, needles", [
    ("{name: Public, namespace: gateways}", ("prodkit:sharedGateway.name", "'Public'", "DNS label")),
    ("{name: public, namespce: gateways}", ("prodkit:sharedGateway.namespce", "unknown key", "namespace")),
    ("{name: public}", ("prodkit:sharedGateway.namespace", "required")),
    ("{name: public, namespace: gateways, httpsSection: Web_Secure}", ("prodkit:sharedGateway.httpsSection", "'Web_Secure'")),
    ("public", ("prodkit:sharedGateway", "expected a mapping")),
])
def test_bad_shared_gateway_is_named_by_its_config_key(project, capsys, value, needles):
    code, err = plan(project, capsys, f"prodkit:sharedGateway={value}")
    assert_clear(code, err, *needles)


# --- where the bad value was written (issue 10, item 5) -------------------------------------------------------


def raw_spec(project: Path, app: str, edit) -> str:
    """A bundled spec's text edited as a user would (comments and all), saved in the project."""
    text = edit((APPS_DIR / f"{app}.yaml").read_text())
    path = project / f"{app}-edited.yaml"
    path.write_text(text)
    return str(path)


def line_of(path: str, needle: str) -> int:
    return next(i for i, line in enumerate(Path(path).read_text().splitlines(), 1) if needle in line)


def test_spec_yaml_syntax_error_names_file_line_and_column(project, capsys):
    spec = raw_spec(project, "compyle", lambda t: t.replace("services:\n", "services:\n  broken: [unclosed\n", 1))
    code, err = plan(project, capsys, f"prodkit:app={spec}")
    assert_clear(code, err, spec, "invalid YAML", "line ", "column ")
    assert re.search(rf"{re.escape(spec)} line \d+, column \d+", err)


def test_stack_file_yaml_syntax_error_names_file_line_and_column(project, capsys):
    (project / "Pulumi.staging.yaml").write_text("config:\n  prodkit:app: compyle\n  prodkit:cloud: [kubernetes\n")
    code, err = plan(project, capsys)
    assert_clear(code, err, "Pulumi.staging.yaml line ", "column ", "invalid YAML")


def test_duplicate_key_in_a_spec_names_both_lines(project, capsys):
    spec = raw_spec(project, "compyle", lambda t: t.replace("    port: 8000", "    port: 8000\n    port: 8001", 1))
    second = line_of(spec, "port: 8001")
    code, err = plan(project, capsys, f"prodkit:app={spec}")
    assert_clear(code, err, f"{spec} line {second}", "duplicate key 'port'", f"already set at line {second - 1}")


def test_duplicate_key_in_a_stack_file_names_both_lines(project, capsys):
    stack = project / "Pulumi.staging.yaml"
    lines = stack.read_text().splitlines()
    first = next(i for i, line in enumerate(lines, 1) if line.strip().startswith("prodkit:app:"))
    lines.insert(first, "  prodkit:app: autopr")
    stack.write_text("\n".join(lines) + "\n")
    code, err = plan(project, capsys)
    assert_clear(code, err, f"Pulumi.staging.yaml line {first + 1}", "duplicate key 'prodkit:app'", f"already set at line {first}")


def test_unpinned_image_names_the_spec_file_and_the_service_field(project, capsys):
    spec = raw_spec(project, "copilot", lambda t: t.replace('tag: "1.0.0"                             # «API', 'tag: "latest"                            # «API', 1))
    assert "latest" in Path(spec).read_text()
    code, err = plan(project, capsys, f"prodkit:app={spec}")
    assert_clear(code, err, spec, "services.api.image", "latest", "pin a tag")
    assert f"line {line_of(spec, 'image: llmcopilot/api-server')}" in err


def test_bad_postgres_version_names_the_spec_file_and_line(project, capsys):
    spec = raw_spec(project, "copilot", lambda t: t.replace('  version: "16"', '  version: "8"', 1))
    code, err = plan(project, capsys, f"prodkit:app={spec}")
    line = line_of(spec, 'version: "8"')
    assert_clear(code, err, f"{spec} line {line}", "postgres.version", "'8'", "14, 15, 16, 17")


def test_spec_field_path_is_as_written_without_a_spec_prefix(project, capsys):
    def mutate(d):
        d["services"]["fastapi"]["replicas"] = 0

    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'compyle', mutate)}")
    assert_clear(code, err, ": services.fastapi.replicas: got 0")
    assert "spec.services" not in err


def test_domain_is_reported_as_the_config_key(project, capsys):
    code, err = plan(project, capsys, "prodkit:domain=bad_domain")
    assert_clear(code, err, "prodkit:domain (set with -c)", "'bad_domain'")
    assert not err.split("bad input: ", 1)[1].startswith("domain:")


def test_domain_in_the_stack_file_names_the_file_and_line(project, capsys):
    stack = project / "Pulumi.staging.yaml"
    doc = yaml.safe_load(stack.read_text())
    doc["config"]["prodkit:domain"] = "Bad_Domain"
    stack.write_text(yaml.safe_dump(doc, sort_keys=False))
    line = next(i for i, text in enumerate(stack.read_text().splitlines(), 1) if "prodkit:domain" in text)
    code, err = plan(project, capsys)
    assert_clear(code, err, f"Pulumi.staging.yaml line {line}", "prodkit:domain", "'Bad_Domain'")


def test_yaml_11_boolean_in_the_stack_file_is_explained(project, capsys):
    stack = project / "Pulumi.staging.yaml"
    stack.write_text(stack.read_text().replace("config:\n", "config:\n  prodkit:overrides:\n    waf_mode: off\n", 1))
    line = next(i for i, text in enumerate(stack.read_text().splitlines(), 1) if "waf_mode: off" in text)
    code, err = plan(project, capsys)
    assert_clear(code, err, f"Pulumi.staging.yaml line {line}, column 5", "prodkit:overrides.waf_mode", "got False", "YAML reads off as false; quote it: 'off'")


def test_yaml_11_boolean_given_with_dash_c_is_explained(project, capsys):
    code, err = plan(project, capsys, "prodkit:overrides={waf_mode: off}")
    assert_clear(code, err, "prodkit:overrides.waf_mode (set with -c)", "YAML reads off as false; quote it: 'off'")


def test_yaml_11_boolean_in_a_spec_is_explained(project, capsys):
    spec = raw_spec(project, "copilot", lambda t: t.replace("  frame_options: DENY", "  frame_options: no", 1))
    code, err = plan(project, capsys, f"prodkit:app={spec}")
    assert_clear(code, err, f"{spec} line {line_of(spec, 'frame_options: no')}", "headers.frame_options", "got False", "YAML reads no as false; quote it: 'no'")


def test_missing_spec_path_is_file_not_found(project, capsys):
    missing = project / "nowhere" / "app.yaml"
    code, err = plan(project, capsys, f"prodkit:app={missing}")
    assert_clear(code, err, f"file not found: {missing}")
    assert "compyle" not in err  # not the list of bundled apps


def test_unknown_stack_lists_the_stack_files_with_did_you_mean(project, capsys):
    code, err = plan(project, capsys, stack="stagin")
    present = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project.glob("Pulumi.*.yaml"))
    assert {"prod", "staging"} <= set(present)
    assert_clear(code, err, "--stack", "'stagin'", "stacks here: " + ", ".join(present), "Did you mean 'staging'?")


# --- what AWS would refuse at apply time (issue 8): named as the user wrote it ------------------------------------


@pytest.mark.parametrize("days", [10, 45, 100])
def test_log_retention_outside_cloudwatch_values(project, capsys, days):
    code, err = plan(project, capsys, f"prodkit:overrides={{log_retention_days: {days}}}", stack="aws-staging")
    assert_clear(code, err, "prodkit:overrides.log_retention_days", str(days), "CloudWatch Logs accepts only", "1, 3, 5, 7, 14, 30")


def test_one_zone_on_aws(project, capsys):
    code, err = plan(project, capsys, "prodkit:overrides={zones: 1}", stack="aws-prod")
    assert_clear(code, err, "prodkit:overrides.zones", "1", "at least 2 zones")


def test_prodkit_region_differs_from_aws_region(project, capsys):
    code, err = plan(project, capsys, "prodkit:region=eu-west-1", stack="aws-staging")
    assert_clear(code, err, "prodkit:region", "'eu-west-1'", "aws:region (us-east-1)")


def test_image_a_no_egress_service_cannot_pull(project, capsys):
    # chat's frontend comes from ghcr.io and has no internet egress: without the cache it could never start.
    code, err = plan(project, capsys, "prodkit:app=chat", "prodkit:ecrPullThroughCache=false", stack="aws-staging")
    assert_clear(code, err, "services.frontend.image", "ghcr.io/kirotodo/kirotodo-frontend:1.0.0",
                 "push it to ECR", "internet_egress", "prodkit:ecrPullThroughCache")


def test_pull_through_cache_credential_is_listed_offline_and_required_by_the_program(project, capsys):
    # Offline (prodkit plan) the unset ghcr.io credential is planned as a placeholder and listed with its command.
    code = cli.main(["plan", "--stack", "aws-staging", "--dir", str(project), "--out", str(project / "out")])
    out = capsys.readouterr().out
    assert code == 0, out
    section = out[out.index("Secrets to set before deploying"):]
    assert "pulumi config set --secret prodkit:GHCR_CREDENTIALS --stack aws-staging" in section
    assert "DOCKERHUB_CREDENTIALS" not in section  # autopr pulls nothing from Docker Hub: not required
    # The real program (secrets decrypted by the engine, nothing offline) refuses to run without it.
    from stacks import app as composition, config

    plain, _ = config.read_stack_file(project / "Pulumi.aws-staging.yaml")
    secrets = {"GITHUB_TOKEN": "t", "OPENAI_API_KEY": "k"}
    cfg = config.resolve("aws-staging", plain, secrets)
    with pytest.raises(InputError) as exc:
        composition.compose(cfg, composition.Checker())
    message = str(exc.value)
    for needle in ("prodkit:GHCR_CREDENTIALS", "ghcr.io", "pulumi config set --secret prodkit:GHCR_CREDENTIALS USERNAME:TOKEN --stack aws-staging"):
        assert needle in message, message


def test_pull_through_cache_flag_must_be_a_boolean(project, capsys):
    code, err = plan(project, capsys, "prodkit:ecrPullThroughCache=maybe", stack="aws-staging")
    assert_clear(code, err, "prodkit:ecrPullThroughCache", "'maybe'", "true or false")


def test_health_command_not_in_docker_form(project, capsys):
    def mutate(d):
        d["services"]["engine"]["health"]["command"] = ["curl", "-f", "http://localhost:8080/api/health"]

    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'autopr', mutate)}", stack="aws-staging")
    assert_clear(code, err, "services.engine.health.command", "curl", '"CMD"')
