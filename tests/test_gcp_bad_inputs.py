"""Bad input on GCP exits 2 before anything is registered: one paragraph naming the field, the value and what is
allowed (Cloud Run cpu/memory and concurrency, Memorystore tier sizes, region, project id)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from components import ManagedRedisArgs, Network, Probe, Probes, WebServiceArgs
from components._core import Cloud, InputError, Platform
from components.redis import GcpRedisOptions
from components.redis._gcp import memory_size_gb
from components.redis._gcp import validate as validate_redis
from components.web_service import GcpWebServiceOptions
from components.web_service._gcp import cloud_run_size
from stacks import cli, engine
from test_bad_inputs import assert_clear, spec_with

ROOT = Path(__file__).resolve().parent.parent
PLATFORM = Platform(cloud=Cloud.GCP, app="demo", stack="prod", region="us-central1")


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.gcp-staging.yaml", "Pulumi.gcp-prod.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


@pytest.fixture(autouse=True)
def nothing_registered(monkeypatch):
    """The check pass must refuse bad input before the engine runs the program."""
    def refuse(*a, **k):
        raise AssertionError("the engine ran: a resource could have been registered before the input was refused")
    monkeypatch.setattr(engine, "run", refuse)


def plan(project: Path, capsys, *sets: str) -> tuple[int, str]:
    args = ["plan", "--stack", "gcp-staging", "--dir", str(project), "--out", str(project / "out")]
    for s in sets:
        args += ["-c", s]
    code = cli.main(args)
    return code, capsys.readouterr().err


def set_gcp(service: str, **values):
    def mutate(data):
        data["services"][service]["gcp"] = values
    return mutate


def test_cloud_run_cpu_size_it_does_not_offer(project, capsys):
    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'autopr', set_gcp('engine', cpu='3'))}")
    assert_clear(code, err, "gcp.cpu", "'3'", "1, 2, 4, 6, 8")


def test_cloud_run_memory_the_cpu_does_not_allow(project, capsys):
    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'autopr', set_gcp('engine', cpu='1', memory='8Gi'))}")
    assert_clear(code, err, "gcp.memory_mib", "8192", "with 1 CPU Cloud Run allows 512 to 4096 MiB")


def test_cpu_limit_beyond_cloud_run(project, capsys):
    def mutate(data):
        data["services"]["engine"]["cpu_limit"] = "16"
    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'autopr', mutate)}")
    assert_clear(code, err, "services.engine.cpu_limit", "16000", "at most 8 CPU")


@pytest.mark.parametrize("value", [0, 1001])
def test_concurrency_outside_1_to_1000(project, capsys, value):
    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'autopr', set_gcp('engine', concurrency=value))}")
    assert_clear(code, err, "gcp.concurrency", str(value), "1 to 1000")


def test_memorystore_size_no_tier_offers(project, capsys):
    def mutate(data):
        data["redis"]["maxmemory"] = "400Gi"
        data["redis"]["storage"] = "500Gi"
    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'autopr', mutate)}")
    assert_clear(code, err, "redis.memory_mib", "409600", "STANDARD_HA offers 1-300 GB")


def test_read_replicas_need_standard_ha_and_5_gb():
    net = object.__new__(Network)
    small = ManagedRedisArgs(network=net, memory_mib=1024, high_availability=True, gcp=GcpRedisOptions(read_replicas=1))
    with pytest.raises(InputError, match="5 GB or more"):
        validate_redis(small, PLATFORM)
    basic = ManagedRedisArgs(network=net, memory_mib=8192, high_availability=False, gcp=GcpRedisOptions(read_replicas=1))
    with pytest.raises(InputError, match="STANDARD_HA"):
        validate_redis(basic, PLATFORM)


@pytest.mark.parametrize("region", ["us-east-1", "us-central1-a", "mars"])
def test_invalid_region(project, capsys, region):
    code, err = plan(project, capsys, f"prodkit:region={region}")
    assert_clear(code, err, "prodkit:region", repr(region), "a GCP region such as 'us-central1'")


@pytest.mark.parametrize("project_id", ["Acme_Prod", "ab", "1acme-prod", "acme-prod-", "my-google-project"])
def test_invalid_project_id(project, capsys, project_id):
    code, err = plan(project, capsys, f"gcp:project={project_id}")
    assert_clear(code, err, "gcp:project", repr(project_id), "6-30 lowercase letters")


def test_missing_project_names_the_command(project, capsys):
    stack = project / "Pulumi.gcp-staging.yaml"
    stack.write_text("\n".join(line for line in stack.read_text().splitlines() if "gcp:project" not in line) + "\n")
    code, err = plan(project, capsys)
    assert_clear(code, err, "prodkit:project", "pulumi config set gcp:project")


def test_project_key_is_gcp_only(project, capsys):
    code, err = plan(project, capsys, "prodkit:cloud=aws", "prodkit:project=acme-autopr")
    assert_clear(code, err, "prodkit:project", "gcp only")


def test_queue_scaling_refuses_requests_per_target(project, capsys):
    def mutate(data):
        data["services"]["engine"]["autoscaling"]["requests_per_target"] = 100
    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'autopr', mutate)}")
    assert_clear(code, err, "autoscaling.requests_per_target", "gcp.concurrency")


# --- pure sizing ---------------------------------------------------------------------------------------------

def _svc(**kw):
    return WebServiceArgs(network=None, image="ghcr.io/a/b:1", port=8080, probes=Probes(liveness=Probe(path="/h"), readiness=Probe(path="/h")), **kw)


@pytest.mark.parametrize("cpu,cpu_limit,memory,expected", [
    (250, 1000, 256, ("1", 512)),         # fractional and tiny: rounded up to 1 CPU / 512 MiB (gen2 minimum)
    (1000, 2000, 2048, ("2", 2048)),
    (2000, 4000, 4096, ("4", 4096)),
    (1000, 1000, 6144, ("2", 6144)),      # 6 GiB does not fit 1 CPU (max 4 GiB): 2 CPU
    (2000, 4000, 1024, ("4", 2048)),      # 4 CPU needs at least 2 GiB
    (6000, 6000, 2048, ("6", 4096)),      # 6 CPU needs at least 4 GiB
])
def test_cloud_run_size_rounds_up_to_an_offered_combination(cpu, cpu_limit, memory, expected):
    assert cloud_run_size(_svc(cpu_millicores=cpu, cpu_limit_millicores=cpu_limit, memory_mib=memory)) == expected


def test_explicit_cloud_run_size_is_checked_strictly():
    assert cloud_run_size(_svc(gcp=GcpWebServiceOptions(cpu="4", memory_mib=16384))) == ("4", 16384)
    with pytest.raises(InputError, match="with 4 CPU Cloud Run allows 2048 to 16384 MiB"):
        cloud_run_size(_svc(gcp=GcpWebServiceOptions(cpu="4", memory_mib=1024)))


def test_memorystore_capacity_has_headroom():
    net = object.__new__(Network)
    assert memory_size_gb(ManagedRedisArgs(network=net, memory_mib=3072)) == 4  # 3 GiB dataset + 25 %
    assert memory_size_gb(ManagedRedisArgs(network=net, memory_mib=1024, gcp=GcpRedisOptions(memory_size_gb=5))) == 5


def test_cpu_target_beyond_cloud_run(project, capsys):
    def mutate(data):
        data["services"]["engine"]["autoscaling"]["cpu_percent"] = 95
    code, err = plan(project, capsys, f"prodkit:app={spec_with(project, 'autopr', mutate)}")
    assert_clear(code, err, "autoscaling.cpu_percent", "95", "10 to 90 %")


def test_project_and_region_must_agree_with_the_provider(project, capsys):
    code, err = plan(project, capsys, "prodkit:project=other-project")
    assert_clear(code, err, "prodkit:project", "'other-project'", "differs from gcp:project")
    code, err = plan(project, capsys, "prodkit:region=europe-west4")
    assert_clear(code, err, "prodkit:region", "'europe-west4'", "differs from gcp:region")
