"""Bad input exits 2 with one paragraph naming the field, the value and what is allowed; no traceback,
nothing registered (the check pass runs before the engine)."""

from __future__ import annotations

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
    for name in ("Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"):
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


def test_cloud_without_backend_is_refused_by_name(project, capsys):
    code, err = plan(project, capsys, "prodkit:cloud=gcp")
    assert_clear(code, err, "gcp", "no gcp backend yet", "kubernetes")


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
    assert_clear(code, err, "aws.task_memory_mib", "512", "Fargate allows memory of 2Gi")


# --- AWS-only limits: each exits 2 before anything is registered -----------------------------------------------


def test_waf_rate_limit_below_minimum(project, capsys):
    def mutate(d):
        d["routes"][0]["rate_limit_per_minute"] = 5

    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'compyle', mutate)}", "prodkit:cloud=aws")
    assert_clear(code, err, "rate_limit_per_minute", "5", "10")


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
    assert_clear(code, err, "cidr", cidr, needle)
