"""Kubernetes fixes of issue 7 items 4-6 on the planned seed apps: Redis worth trusting (TLS only, patched images,
proxy timeouts, the Sentinel fallback), shutdown that drains, monitors Prometheus selects, images re-pulled in
prod, high UIDs everywhere."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from components import InputError
from components.monitoring import KubernetesMonitoringOptions
from components.redis import KubernetesRedisOptions
from components.redis import _k8s as redis_k8s
from conftest import APPS, PROFILES, ROOT, planned
from stacks import cli

WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")


def pod_spec(r):
    return r.inputs["spec"]["template"]["spec"]


def containers_of(inventory):
    for w in inventory.resources:
        if w.type in WORKLOADS:
            spec = pod_spec(w)
            for c in spec["containers"] + spec.get("initContainers", []):
                yield w, spec, c


def ha_redis():
    """(inventory, redis.conf, init.sh, haproxy.cfg) of a seed whose prod Redis is HA."""
    _, inventory, _ = planned("copilot", "prod", "kubernetes")
    data = inventory.named("redis-config").raw_inputs["data"]
    return inventory, data["redis.conf"], data["init.sh"], inventory.named("redis-haproxy-config").raw_inputs["data"]["haproxy.cfg"]


# ---------------------------------------------------------------------------------------------------- Redis


def test_redis_serves_tls_only_and_replicates_over_tls():
    _, conf, init, _ = ha_redis()
    lines = conf.splitlines()
    assert "port 0" in lines and "tls-port 6379" in lines
    assert "tls-replication yes" in lines
    assert "tls-auth-clients no" in lines  # password auth; clients need no certificate
    assert {"tls-cert-file /tls/tls.crt", "tls-key-file /tls/tls.key", "tls-ca-cert-file /tls/ca.crt"} <= set(lines)
    # Sentinel: TLS to clients, to each other and to the Redis nodes.
    sentinel = init.split("cat > /run/redis/sentinel.conf <<EOF", 1)[1]
    for line in ("port 0", "tls-port 26379", "tls-replication yes", "tls-cert-file /tls/tls.crt"):
        assert f"\n{line}\n" in sentinel, line


def test_redis_url_is_rediss_and_clients_get_the_ca_certificate_only():
    _, inventory, _ = planned("copilot", "prod", "kubernetes")
    assert inventory.named("redis-url").raw_inputs["stringData"]["url"].startswith("rediss://:")
    api = pod_spec(inventory.named("api-deployment"))
    (volume,) = [v for v in api["volumes"] if v.get("secret", {}).get("secretName") == "redis-tls"]
    assert volume["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]  # never tls.key
    env = {e["name"]: e.get("value") for e in api["containers"][0]["env"]}
    assert env["REDIS_CA_CERT"] == "/etc/prodkit/redis-ca/ca.crt"


def test_redis_certificate_comes_from_a_namespaced_ca_for_the_service_names():
    _, inventory, _ = planned("copilot", "prod", "kubernetes")
    ns = inventory.named("network-namespace").get("metadata.name")
    ca = inventory.named("redis-ca-certificate")
    assert ca.get("spec.isCA") is True and ca.get("spec.issuerRef.name") == "redis-selfsigned"
    assert inventory.named("redis-ca-issuer").get("spec") == {"ca": {"secretName": "redis-ca"}}
    cert = inventory.named("redis-tls-certificate")
    assert cert.get("spec.issuerRef") == {"name": "redis-ca", "kind": "Issuer", "group": "cert-manager.io"}
    names = cert.get("spec.dnsNames")
    assert f"redis.{ns}.svc.cluster.local" in names and f"*.redis-headless.{ns}.svc.cluster.local" in names
    assert "127.0.0.1" in cert.get("spec.ipAddresses")


def test_haproxy_keeps_idle_and_blocking_clients_and_verifies_tls():
    _, _, _, cfg = ha_redis()

    def seconds(value):
        number, unit = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", value).groups()
        return int(number) * {"ms": 0.001, "s": 1, None: 0.001, "m": 60, "h": 3600, "d": 86400}[unit]

    timeouts = dict(re.findall(r"^\s*timeout (client|server) (\S+)$", cfg, re.MULTILINE))
    assert seconds(timeouts["client"]) >= 3600 and seconds(timeouts["server"]) >= 3600
    assert "option clitcpka" in cfg and "option srvtcpka" in cfg
    assert re.search(r"^\s*bind :6379 ssl crt ", cfg, re.MULTILINE)
    assert "tcp-check connect ssl" in cfg
    assert "ssl verify required ca-file /tls/ca.crt" in cfg
    assert all("verifyhost" in line for line in cfg.splitlines() if line.strip().startswith("server "))


def _version(image: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.match(r"^[^:]+:(\d+(?:\.\d+)*)", image).group(1).split("."))


def test_redis_and_haproxy_images_are_patched_releases():
    _, inventory, _ = planned("copilot", "prod", "kubernetes")
    images = {c["image"] for _, _, c in containers_of(inventory)}
    redis = [i for i in images if i.startswith("redis:")]
    haproxy = [i for i in images if i.startswith("haproxy:")]
    assert redis and all(_version(i) >= (7, 4, 9) for i in redis), redis  # CVE-2026-23479 and the 2025 Lua RCEs
    assert haproxy and all(_version(i)[:2] >= (3, 2) and _version(i) >= (3, 2, 16) for i in haproxy), haproxy


def test_keda_polls_redis_over_tls_with_the_ca():
    _, inventory, _ = planned("copilot", "prod", "kubernetes")
    (so,) = inventory.of_type("keda.sh/v1alpha1:ScaledObject")
    meta = so.get("spec.triggers.0.metadata")
    assert meta["enableTLS"] == "true"
    (auth,) = inventory.of_type("keda.sh/v1alpha1:TriggerAuthentication")
    assert {"parameter": "ca", "name": "redis-tls", "key": "ca.crt"} in auth.get("spec.secretTargetRef")


FAKE_CLI = r"""#!/bin/sh
# Stand-in redis-cli: answers from $FAKE_DIR/<host>-<port> (missing file: connection refused).
host=""; port=""
while [ $# -gt 0 ]; do
  case "$1" in -h) host="$2"; shift 2 ;; -p) port="$2"; shift 2 ;; *) shift ;; esac
done
f="$FAKE_DIR/${host}-${port}"
[ -f "$f" ] || exit 1
cat "$f"
"""


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX sh")
@pytest.mark.parametrize("answers,expected", [
    # No Sentinel and no primary answer: the replica with the highest offset wins, not ordinal 0.
    ({"redis-0": "role:slave\r\nslave_repl_offset:100\r\n", "redis-2": "role:slave\r\nslave_repl_offset:900\r\n"}, "redis-2"),
    # A node still reporting role:master stays primary.
    ({"redis-0": "role:master\r\nmaster_repl_offset:50\r\n", "redis-2": "role:slave\r\nslave_repl_offset:900\r\n"}, "redis-0"),
    # Nothing reachable: first start of the set, ordinal 0.
    ({}, "redis-0"),
])
def test_sentinel_fallback_picks_the_replica_with_the_highest_offset(tmp_path, answers, expected):
    _, _, init, _ = ha_redis()
    headless = "redis-headless.ns.svc.cluster.local"
    fake, run, bindir = tmp_path / "fake", tmp_path / "run", tmp_path / "bin"
    for d in (fake, run, bindir):
        d.mkdir()
    for node, info in answers.items():
        (fake / f"{node}.{headless}-6379").write_text(info)
    cli_path = bindir / "redis-cli"
    cli_path.write_text(FAKE_CLI)
    cli_path.chmod(cli_path.stat().st_mode | stat.S_IEXEC)
    script = tmp_path / "init.sh"
    script.write_text(init.replace("/run/redis", str(run)))
    env = {
        "PATH": f"{bindir}:{os.environ['PATH']}", "FAKE_DIR": str(fake), "REDIS_PASSWORD": "pw", "POD_NAME": "redis-1",
        "NAMESPACE": "ns", "SERVICE": "redis-headless", "STATEFULSET": "redis", "REPLICAS": "3", "MASTER_SET": "primary",
        "QUORUM": "2",
    }
    subprocess.run(["sh", str(script)], env=env, check=True, capture_output=True, timeout=60)
    conf = (run / "redis.conf").read_text()
    assert f"replicaof {expected}.{headless} 6379" in conf
    assert f"sentinel monitor primary {expected}.{headless} 6379 2" in (run / "sentinel.conf").read_text()


def test_redis_options_refuse_an_unknown_pull_policy():
    with pytest.raises(InputError, match="image_pull_policy"):
        KubernetesRedisOptions(image_pull_policy="Sometimes")


def test_copilot_queue_redis_never_evicts():
    _, inventory, _ = planned("copilot", "prod", "kubernetes")
    assert "maxmemory-policy noeviction" in inventory.named("redis-config").raw_inputs["data"]["redis.conf"].splitlines()


# --------------------------------------------------------------------------------------- shutdown and pods


def test_compyle_agents_service_gets_a_grace_period_covering_its_600s_requests_and_a_prestop_pause():
    _, inventory, _ = planned("compyle", "prod", "kubernetes")
    spec = pod_spec(inventory.named("fastapi-deployment"))
    sleep = spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert sleep >= 5
    assert spec["terminationGracePeriodSeconds"] >= 600 + sleep


@pytest.mark.parametrize("app", APPS)
def test_every_web_service_drains_before_it_stops(app):
    cfg, inventory, _ = planned(app, "prod", "kubernetes")
    for name, svc in cfg.app.services.items():
        spec = pod_spec(inventory.named(f"{name}-deployment"))
        routes = [r.timeout_seconds for r in cfg.app.routes if r.service == name]
        timeout = svc.timeout_seconds or max(routes, default=60)
        sleep = spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert spec["terminationGracePeriodSeconds"] >= timeout + sleep, (app, name)


@pytest.mark.parametrize("app,profile", [(a, p) for a in APPS for p in PROFILES])
def test_image_pull_policy_follows_the_profile(app, profile):
    _, inventory, _ = planned(app, profile, "kubernetes")
    expected = "Always" if profile == "prod" else "IfNotPresent"
    for w, _, c in containers_of(inventory):
        assert c["imagePullPolicy"] == expected, f"{w.name}/{c['name']}"
    for cluster in inventory.of_type("postgresql.cnpg.io/v1:Cluster"):
        assert cluster.get("spec.imagePullPolicy") == expected


@pytest.mark.parametrize("app,profile", [(a, p) for a in APPS for p in PROFILES])
def test_every_container_runs_as_a_high_uid_with_fs_group(app, profile):
    _, inventory, _ = planned(app, profile, "kubernetes")
    for w, spec, c in containers_of(inventory):
        uid = (c.get("securityContext") or {}).get("runAsUser", spec["securityContext"].get("runAsUser"))
        where = f"{w.name}/{c['name']}"
        assert uid is not None and uid >= 10000, where
        assert spec["securityContext"].get("fsGroup") is not None, where
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["capabilities"] == {"drop": ["ALL"]}, where
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, where


def test_single_instance_postgres_has_no_pdb_in_any_seed():
    for app in APPS:
        for profile in PROFILES:
            _, inventory, _ = planned(app, profile, "kubernetes")
            for cluster in inventory.of_type("postgresql.cnpg.io/v1:Cluster"):
                assert cluster.get("spec.enablePDB") is (cluster.get("spec.instances") > 1), (app, profile)


# ---------------------------------------------------------------------------------------------- monitoring


MONITOR_KINDS = ("monitoring.coreos.com/v1:ServiceMonitor", "monitoring.coreos.com/v1:PodMonitor", "monitoring.coreos.com/v1:PrometheusRule")


def test_monitors_and_rules_carry_the_label_kube_prometheus_stack_selects():
    _, inventory, _ = planned("arches", "prod", "kubernetes")
    found = [r for kind in MONITOR_KINDS for r in inventory.of_type(kind)]
    assert {r.type.rsplit(":", 1)[1] for r in found} == {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
    for r in found:
        assert r.get("metadata.labels")["release"] == "kube-prometheus-stack", r.name


def test_postgres_pod_monitor_scrapes_the_instances_metrics_port():
    _, inventory, _ = planned("arches", "prod", "kubernetes")
    (pm,) = inventory.of_type("monitoring.coreos.com/v1:PodMonitor")
    assert pm.get("spec.selector.matchLabels") == {"cnpg.io/cluster": "postgres", "cnpg.io/podRole": "instance"}
    assert pm.get("spec.podMetricsEndpoints") == [{"port": "metrics", "interval": "30s"}]


def test_monitoring_labels_come_from_stack_config(tmp_path):
    cfg = cli.load_stack(ROOT, "prod", ["prodkit:app=arches", "prodkit:cloud=kubernetes",
                                        "prodkit:monitoringLabels={prometheus: platform, team: apps}"])
    inventory, _ = cli.run_plan(cfg)
    for kind in MONITOR_KINDS:
        for r in inventory.of_type(kind):
            labels = r.get("metadata.labels")
            assert labels["prometheus"] == "platform" and labels["team"] == "apps" and "release" not in labels


@pytest.mark.parametrize("value,field", [("[a, b]", "prodkit:monitoringLabels"), ("{'bad key!': x}", "prodkit:monitoringLabels.bad key!")])
def test_bad_monitoring_labels_are_a_clear_input_error(value, field):
    with pytest.raises(InputError) as err:
        cli.load_stack(ROOT, "prod", ["prodkit:app=arches", "prodkit:cloud=kubernetes", f"prodkit:monitoringLabels={value}"])
    assert err.value.field == field if hasattr(err.value, "field") else field in str(err.value)


def test_monitoring_options_refuse_a_bad_label_value():
    with pytest.raises(InputError, match="labels"):
        KubernetesMonitoringOptions(labels={"release": "not a value!"})
