"""Kubernetes backends of Network, WebService, ManagedPostgres and ManagedRedis.

Each component is planned with a staging-like Args (no HA, no deletion protection) and a prod-like one (HA,
protection), under the offline engine. Every object is also validated: built-in kinds strictly with
kubernetes-validate (1.35), CloudNativePG kinds against the upstream CRD schema (objects closed, as the API
server's strict field validation does).
"""

from __future__ import annotations

import copy
import functools
import json

import pulumi
import pytest

from components import (
    InputError, ManagedPostgres, ManagedPostgresArgs, ManagedRedis, ManagedRedisArgs, Metrics, Network, NetworkArgs,
    Pooler, Probe, Probes, SharedVolume, WebService, WebServiceArgs,
)
from components._core import Cloud, Platform
from components.network import KubernetesNetworkOptions
from components.web_service import KubernetesWebServiceOptions
from stacks import engine

NS = "demo-prod"
PLATFORM = Platform(cloud=Cloud.KUBERNETES, app="demo", stack="prod")
OPENAI_KEY = "sk-literal-openai-key-123"
PEM = "-----BEGIN PRIVATE KEY-----literal-----END PRIVATE KEY-----"
PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"]


# --------------------------------------------------------------------------------------------- programs


def _probes():
    return Probes(
        liveness=Probe(path="/health", initial_delay_seconds=40, period_seconds=30),
        readiness=Probe(path="/ready", period_seconds=10, timeout_seconds=3),
        startup=Probe(path="/health", failure_threshold=30),
    )


def _program(prod: bool):
    """A Network, a Postgres and a Redis, and an API linked to both (staging-like or prod-like)."""

    def program():
        net = Network("net", NetworkArgs(kubernetes=KubernetesNetworkOptions(quota_cpu="32", quota_memory="128Gi")), PLATFORM)
        db = ManagedPostgres("db", ManagedPostgresArgs(
            network=net, version="16", size="medium" if prod else "small", storage_gib=100 if prod else 20,
            extensions=["vector"], high_availability=prod, deletion_protection=prod,
            parameters={"max_connections": 200},
        ), PLATFORM)
        cache = ManagedRedis("cache", ManagedRedisArgs(
            network=net, memory_mib=1024, high_availability=prod, deletion_protection=prod,
        ), PLATFORM)
        WebService("api", WebServiceArgs(
            network=net, image="ghcr.io/acme/api:1.4.2", port=8000, probes=_probes(),
            replicas=3 if prod else 1, cpu_millicores=2000, cpu_limit_millicores=4000, memory_mib=4096,
            memory_limit_mib=8192, env={"LOG_LEVEL": "info", "WORKSPACE_ROOT": "/workspaces"},
            secrets={"OPENAI_API_KEY": pulumi.Output.secret(OPENAI_KEY)},
            secret_files={"/app/secrets/github-app-key.pem": pulumi.Output.secret(PEM), "/app/secrets/ca.pem": "CA"},
            volumes=[SharedVolume(name="workspaces", mount_path="/workspaces", size_gib=500, storage_class="efs-sc")],
            links=[db, cache], public=True, internet_egress=prod, metrics=Metrics(port=9090) if prod else None,
            autoscaled=prod, deletion_protection=prod,
        ), PLATFORM)

    return program


@functools.lru_cache(maxsize=None)
def plan(profile: str) -> engine.Inventory:
    return engine.run(_program(profile == "prod"), stack="prod")


def run_one(make) -> engine.Inventory:
    """Plan a single component built by `make(net)` next to a Network."""

    def program():
        make(Network("net", NetworkArgs(), PLATFORM))

    return engine.run(program)


def web(inv):
    return inv.named("api-deployment")


def pod_spec(r):
    return r.get("spec.template.spec")


def containers(r, init=True):
    spec = pod_spec(r)
    return list(spec["containers"]) + (list(spec.get("initContainers", [])) if init else [])


def netpol(inv, name):
    return inv.named(name).inputs["spec"]


# --------------------------------------------------------------------------------------------- validation


def manifest_errors(resource) -> list[str]:
    """Strict validation errors of one Kubernetes resource's manifest (empty when valid)."""
    import kubernetes_validate

    manifest = resource.raw_inputs
    group = manifest["apiVersion"].split("/")[0]
    if "." in group and not group.endswith(".k8s.io"):
        from stacks import manifests  # the CRD schemas packaged with prodkit, CEL rules included

        return [message for _, message in manifests.validate_manifest(manifest)]
    try:
        kubernetes_validate.validate(manifest, "1.35", strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [str(exc)]
    return []


def k8s_objects(inv):
    return [r for r in inv.resources if r.custom and r.type.startswith("kubernetes:")]


# ============================================================================================== all


@pytest.mark.parametrize("profile", ["staging", "prod"])
def test_every_object_is_strictly_valid(profile):
    errors = {r.name: manifest_errors(r) for r in k8s_objects(plan(profile))}
    assert {k: v for k, v in errors.items() if v} == {}


def test_validation_is_strict_for_crds():
    # Given a CNPG Cluster with an unknown field, the CRD check rejects it (the check is not vacuous).
    cluster = copy.deepcopy(plan("staging").named("db-cluster"))
    cluster.raw_inputs["spec"]["enableSuperUserAccess"] = False  # wrong case
    assert any("enableSuperUserAccess" in e for e in manifest_errors(cluster))


@pytest.mark.parametrize("profile", ["staging", "prod"])
def test_every_object_has_explicit_name_namespace_and_labels(profile):
    for r in k8s_objects(plan(profile)):
        meta = r.inputs["metadata"]
        assert meta.get("name"), r.name
        if r.type != "kubernetes:core/v1:Namespace":
            assert meta.get("namespace") == NS, r.name
        assert meta["labels"]["managed-by"] == "prodkit" and meta["labels"]["app.kubernetes.io/instance"] == NS, r.name


@pytest.mark.parametrize("profile", ["staging", "prod"])
def test_children_are_parented_to_their_component_and_prefixed(profile):
    inv = plan(profile)
    components = {r.urn: r.name for r in inv.resources if r.type.startswith("prodkit:index:")}
    for r in inv.resources:
        if r.type.startswith("prodkit:index:"):
            continue
        assert r.parent in components, r.name
        assert r.name.startswith(components[r.parent] + "-"), (r.name, components[r.parent])


@pytest.mark.parametrize("profile", ["staging", "prod"])
def test_every_container_is_hardened_with_resources(profile):
    inv = plan(profile)
    workloads = inv.of_type("apps/v1:Deployment") + inv.of_type("apps/v1:StatefulSet")
    assert workloads
    for r in workloads:
        assert pod_spec(r)["securityContext"]["runAsNonRoot"] is True
        assert pod_spec(r)["automountServiceAccountToken"] is False
        for c in containers(r):
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True, (r.name, c["name"])
            assert sc["readOnlyRootFilesystem"] is True, (r.name, c["name"])
            assert sc["allowPrivilegeEscalation"] is False, (r.name, c["name"])
            assert sc["capabilities"]["drop"] == ["ALL"], (r.name, c["name"])
            assert sc["seccompProfile"]["type"] == "RuntimeDefault", (r.name, c["name"])
            assert set(c["resources"]["requests"]) == {"cpu", "memory"}, (r.name, c["name"])
            assert set(c["resources"]["limits"]) == {"cpu", "memory"}, (r.name, c["name"])


@pytest.mark.parametrize("profile", ["staging", "prod"])
def test_every_long_running_container_has_liveness_and_readiness_probes(profile):
    inv = plan(profile)
    for r in inv.of_type("apps/v1:Deployment") + inv.of_type("apps/v1:StatefulSet"):
        for c in containers(r, init=False):
            assert "livenessProbe" in c and "readinessProbe" in c, (r.name, c["name"])


@pytest.mark.parametrize("profile", ["staging", "prod"])
def test_no_env_var_of_any_workload_carries_a_literal_value_from_a_secret(profile):
    inv = plan(profile)
    for r in inv.of_type("apps/v1:Deployment") + inv.of_type("apps/v1:StatefulSet"):
        text = json.dumps(r.raw_inputs)
        assert OPENAI_KEY not in text and "literal" not in text and "random-" not in text, r.name
        assert r.secret_paths == [], r.name


# ============================================================================================== Network


def test_namespace_enforces_audits_and_warns_restricted_pod_security():
    labels = plan("prod").named("net-namespace").inputs["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "latest"
    assert plan("prod").named("net-namespace").inputs["metadata"]["name"] == NS


def test_default_deny_selects_every_pod_in_both_directions():
    spec = netpol(plan("prod"), "net-default-deny")
    assert spec == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_dns_egress_is_open_to_kube_dns_on_udp_and_tcp_53():
    spec = netpol(plan("prod"), "net-allow-dns")
    (rule,) = spec["egress"]
    assert rule["to"] == [{
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }]
    assert sorted((p["protocol"], p["port"]) for p in rule["ports"]) == [("TCP", 53), ("UDP", 53)]


def test_quota_comes_from_the_kubernetes_options():
    assert plan("prod").named("net-quota").get("spec.hard") == {"limits.cpu": "32", "limits.memory": "128Gi"}


def test_limit_range_gives_containers_default_requests_and_limits():
    (limit,) = plan("prod").named("net-limits").get("spec.limits")
    assert limit["type"] == "Container" and set(limit["default"]) == set(limit["defaultRequest"]) == {"cpu", "memory"}


def test_network_handle_and_output_follow_the_contract():
    seen = []

    def program():
        net = Network("net", NetworkArgs(kubernetes=KubernetesNetworkOptions(ingress_namespace="nginx")), PLATFORM)
        net.network_id.apply(seen.append)
        seen.append(net.handle)

    engine.run(program)
    handle = next(s for s in seen if not isinstance(s, str))
    assert (handle.namespace, handle.ingress_namespace, handle.monitoring_namespace) == (NS, "nginx", "monitoring")
    assert NS in seen


def test_namespace_longer_than_a_dns_label_is_refused():
    long = Platform(cloud=Cloud.KUBERNETES, app="a" * 40, stack="s" * 30)
    with pytest.raises(InputError, match="namespace.*63 characters"):
        engine.run(lambda: Network("net", NetworkArgs(), long))


# ============================================================================================== WebService


def test_deployment_name_replicas_and_rolling_update():
    spec = web(plan("staging")).inputs["spec"]
    assert web(plan("staging")).inputs["metadata"]["name"] == "api"
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert spec["revisionHistoryLimit"] > 0


def test_selector_holds_only_stable_labels_and_pods_carry_client_labels():
    spec = web(plan("prod")).inputs["spec"]
    assert spec["selector"]["matchLabels"] == {"app.kubernetes.io/name": "api", "app.kubernetes.io/instance": NS}
    labels = spec["template"]["metadata"]["labels"]
    assert labels["prodkit.io/client-db"] == "true" and labels["prodkit.io/client-cache"] == "true"


def test_autoscaled_deployment_ignores_replica_drift():
    assert web(plan("prod")).ignore_changes == ["spec.replicas"]
    assert web(plan("staging")).ignore_changes == []


def test_pod_security_context_is_restricted():
    sc = pod_spec(web(plan("prod")))["securityContext"]
    assert sc == {
        "runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
        "fsGroupChangePolicy": "OnRootMismatch", "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_resources_use_requests_and_limits_in_kubernetes_units():
    (c,) = containers(web(plan("prod")))
    assert c["resources"] == {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"cpu": "4", "memory": "8Gi"}}


def test_probes_are_http_gets_on_the_named_port_with_the_spec_numbers():
    (c,) = containers(web(plan("prod")))
    assert c["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http", "scheme": "HTTP"}
    assert (c["livenessProbe"]["initialDelaySeconds"], c["livenessProbe"]["periodSeconds"]) == (40, 30)
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready" and c["readinessProbe"]["timeoutSeconds"] == 3
    assert c["startupProbe"]["failureThreshold"] == 30


def test_container_ports_are_named_http_and_metrics():
    (c,) = containers(web(plan("prod")))
    assert [(p["name"], p["containerPort"]) for p in c["ports"]] == [("http", 8000), ("metrics", 9090)]
    (c,) = containers(web(plan("staging")))
    assert [p["name"] for p in c["ports"]] == ["http"]


def test_secrets_are_injected_by_secret_key_ref_only():
    (c,) = containers(web(plan("prod")))
    env = {e["name"]: e for e in c["env"]}
    # The one plain value is a file path (the Redis CA certificate mounted from its Secret), not a secret.
    assert all("value" not in e for name, e in env.items() if name != "REDIS_CA_CERT")
    assert env["REDIS_CA_CERT"] == {"name": "REDIS_CA_CERT", "value": "/etc/prodkit/cache-ca/ca.crt"}
    assert env["OPENAI_API_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "api-secrets", "key": "OPENAI_API_KEY"}}
    assert plan("prod").named("api-secrets").inputs["stringData"] == "[secret]"


def test_linked_stores_inject_their_url_secret_references():
    (c,) = containers(web(plan("prod")))
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"] if "valueFrom" in e}
    assert env["DATABASE_URL"] == {"name": "db-url", "key": "uri"}
    assert env["REDIS_URL"] == {"name": "cache-url", "key": "url"}


def test_plain_env_comes_from_a_config_map():
    inv = plan("prod")
    (c,) = containers(web(inv))
    assert c["envFrom"] == [{"configMapRef": {"name": "api-env"}}]
    assert inv.named("api-env").inputs["data"] == {"LOG_LEVEL": "info", "WORKSPACE_ROOT": "/workspaces"}


def test_secret_files_of_one_directory_share_a_read_only_secret_volume():
    inv = plan("prod")
    spec = pod_spec(web(inv))
    vol = next(v for v in spec["volumes"] if v["name"] == "files-app-secrets")
    assert vol["secret"]["secretName"] == "api-files-app-secrets"
    assert vol["secret"]["items"] == [{"key": "ca.pem", "path": "ca.pem"}, {"key": "github-app-key.pem", "path": "github-app-key.pem"}]
    (c,) = containers(web(inv))
    assert {"name": "files-app-secrets", "mountPath": "/app/secrets", "readOnly": True} in c["volumeMounts"]
    assert inv.named("api-files-app-secrets").inputs["stringData"] == "[secret]"


def test_tmp_is_a_writable_empty_dir():
    (c,) = containers(web(plan("prod")))
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]


def test_pods_spread_over_hosts_and_zones():
    tsc = pod_spec(web(plan("prod")))["topologySpreadConstraints"]
    assert [(t["topologyKey"], t["maxSkew"], t["whenUnsatisfiable"]) for t in tsc] == [
        ("kubernetes.io/hostname", 1, "ScheduleAnyway"), ("topology.kubernetes.io/zone", 1, "ScheduleAnyway"),
    ]


def test_service_account_token_is_not_mounted_by_default():
    assert plan("prod").named("api-sa").inputs["automountServiceAccountToken"] is False


def test_service_account_token_and_pull_secret_when_asked():
    def make(net):
        WebService("api", WebServiceArgs(
            network=net, image="ghcr.io/acme/api:1.0.0", port=8080, probes=_probes(),
            kubernetes=KubernetesWebServiceOptions(automount_service_account_token=True, image_pull_secret="ghcr"),
        ), PLATFORM)

    inv = run_one(make)
    assert inv.named("api-sa").inputs["automountServiceAccountToken"] is True
    assert pod_spec(inv.named("api-deployment"))["imagePullSecrets"] == [{"name": "ghcr"}]


def test_service_is_cluster_ip_on_the_container_port_plus_metrics():
    spec = plan("prod").named("api-service").inputs["spec"]
    assert spec["type"] == "ClusterIP"
    assert [(p["name"], p["port"]) for p in spec["ports"]] == [("http", 8000), ("metrics", 9090)]


def test_metrics_on_the_app_port_still_get_a_metrics_service_port():
    def make(net):
        WebService("api", WebServiceArgs(network=net, image="ghcr.io/acme/api:1.0.0", port=8000, probes=_probes(),
                                         metrics=Metrics(port=8000)), PLATFORM)

    ports = run_one(make).named("api-service").get("spec.ports")
    assert {"name": "metrics", "port": 9090, "targetPort": "http", "protocol": "TCP"} in ports


def test_pdb_exists_only_with_two_or_more_replicas():
    assert plan("prod").named("api-pdb").get("spec.maxUnavailable") == 1
    assert not [r for r in plan("staging").resources if r.name == "api-pdb"]


@pytest.mark.parametrize("profile,protected", [("staging", False), ("prod", True)])
def test_shared_volume_pvc_is_rwx_and_protected_only_in_prod(profile, protected):
    pvc = plan(profile).named("api-workspaces")
    assert pvc.protect is protected and pvc.retain_on_delete is protected
    assert pvc.inputs["spec"] == {
        "accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "500Gi"}}, "storageClassName": "efs-sc",
    }
    (c,) = containers(web(plan(profile)))
    assert {"name": "vol-workspaces", "mountPath": "/workspaces"} in c["volumeMounts"]


def test_ingress_policy_admits_namespace_callers_the_gateway_data_plane_and_monitoring():
    from components.network import KubernetesNetworkOptions as Opts

    rules = netpol(plan("prod"), "api-np-ingress")["ingress"]
    sources = [(r["from"][0], r["ports"][0]["port"]) for r in rules]
    assert ({"podSelector": {}}, 8000) in sources
    # The Envoy proxies only, not every pod of the gateway's namespace.
    proxies = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": Opts().ingress_namespace}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy",
                                        "app.kubernetes.io/managed-by": "envoy-gateway"}},
    }
    assert (proxies, 8000) in sources
    assert ({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}, 9090) in sources


def test_private_service_without_metrics_admits_only_namespace_callers():
    def make(net):
        WebService("api", WebServiceArgs(network=net, image="ghcr.io/acme/api:1.0.0", port=8000, probes=_probes()), PLATFORM)

    rules = run_one(make).named("api-np-ingress").get("spec.ingress")
    assert rules == [{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 8000}]}]


def test_egress_policy_opens_linked_stores_and_https_to_the_internet_only_when_asked():
    egress = netpol(plan("prod"), "api-np-egress")["egress"]
    assert {"to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": "db", "cnpg.io/podRole": "instance"}}}],
            "ports": [{"protocol": "TCP", "port": 5432}]} in egress
    assert {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "cache-haproxy", "app.kubernetes.io/instance": NS}}}],
            "ports": [{"protocol": "TCP", "port": 6379}]} in egress
    internet = [r for r in egress if "ipBlock" in r["to"][0]]
    assert internet == [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": PRIVATE}}], "ports": [{"protocol": "TCP", "port": 443}]}]
    staging = netpol(plan("staging"), "api-np-egress")["egress"]
    assert not [r for r in staging if "ipBlock" in r["to"][0]]


def test_other_web_services_may_call_the_service_on_its_port():
    spec = netpol(plan("prod"), "api-np-callers")
    assert spec["policyTypes"] == ["Egress"]
    assert spec["egress"] == [{"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "api", "app.kubernetes.io/instance": NS}}}],
                               "ports": [{"protocol": "TCP", "port": 8000}]}]


def test_web_service_handle_and_internal_url_follow_the_contract():
    seen = {}

    def make(net):
        svc = WebService("api", WebServiceArgs(
            network=net, image="ghcr.io/acme/api:1.0.0", port=8000, probes=_probes(), metrics=Metrics(port=9090),
            volumes=[SharedVolume(name="workspaces", mount_path="/workspaces", size_gib=10)], public=True,
        ), PLATFORM)
        seen["handle"] = svc.handle
        svc.internal_url.apply(lambda u: seen.setdefault("url", u))

    run_one(make)
    h = seen["handle"]
    assert (h.namespace, h.name, h.service_name, h.port, h.public) == (NS, "api", "api", 8000, True)
    assert h.selector == {"app.kubernetes.io/name": "api", "app.kubernetes.io/instance": NS}
    assert h.pvcs == {"workspaces": "api-workspaces"} and h.metrics.port == 9090
    assert seen["url"] == f"http://api.{NS}.svc.cluster.local:8000"


def test_a_link_clashing_with_an_explicit_secret_is_refused():
    def make(net):
        db = ManagedPostgres("db", ManagedPostgresArgs(network=net, deletion_protection=False), PLATFORM)
        WebService("api", WebServiceArgs(network=net, image="ghcr.io/acme/api:1.0.0", port=8000, probes=_probes(),
                                         secrets={"DATABASE_URL": "postgresql://x"}, links=[db]), PLATFORM)

    with pytest.raises(InputError, match="DATABASE_URL is already set"):
        run_one(make)


@pytest.mark.parametrize("path,match", [("/key.pem", "dedicated directory"), ("/app/secrets/key pem", "file name")])
def test_unmountable_secret_files_are_refused(path, match):
    def make(net):
        WebService("api", WebServiceArgs(network=net, image="ghcr.io/acme/api:1.0.0", port=8000, probes=_probes(),
                                         secret_files={path: "x"}), PLATFORM)

    with pytest.raises(InputError, match=match):
        run_one(make)


# ============================================================================================== ManagedPostgres


@pytest.mark.parametrize("profile,instances", [("staging", 1), ("prod", 3)])
def test_cnpg_cluster_instances_follow_high_availability(profile, instances):
    spec = plan(profile).named("db-cluster").inputs["spec"]
    assert spec["instances"] == instances
    if instances == 3:
        assert (spec["minSyncReplicas"], spec["maxSyncReplicas"]) == (1, 1)
    else:
        assert "minSyncReplicas" not in spec


@pytest.mark.parametrize("profile,protected", [("staging", False), ("prod", True)])
def test_cnpg_cluster_and_credentials_are_protected_only_in_prod(profile, protected):
    inv = plan(profile)
    for name in ("db-cluster", "db-owner", "db-password"):
        assert inv.named(name).protect is protected and inv.named(name).retain_on_delete is protected, name


def test_cnpg_cluster_bootstraps_the_app_database_with_pgvector():
    spec = plan("prod").named("db-cluster").inputs["spec"]
    initdb = spec["bootstrap"]["initdb"]
    assert (initdb["database"], initdb["owner"], initdb["secret"]) == ("app", "app", {"name": "db-owner"})
    assert "CREATE EXTENSION IF NOT EXISTS vector" in initdb["postInitApplicationSQL"]


def test_cnpg_cluster_requires_tls_and_has_no_superuser():
    spec = plan("prod").named("db-cluster").inputs["spec"]
    assert spec["postgresql"]["pg_hba"] == ["hostssl all all all scram-sha-256", "hostnossl all all all reject"]
    assert spec["enableSuperuserAccess"] is False
    # Scraped by Monitoring's PodMonitor: the operator's enablePodMonitor is deprecated.
    assert "monitoring" not in spec


def test_cnpg_cluster_image_storage_parameters_and_resources():
    spec = plan("prod").named("db-cluster").inputs["spec"]
    assert spec["imageName"] == "ghcr.io/cloudnative-pg/postgresql:16.15-standard-bookworm"
    assert spec["storage"]["size"] == "100Gi"
    assert spec["postgresql"]["parameters"]["max_connections"] == "200"
    assert spec["resources"] == {"requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
    assert plan("staging").named("db-cluster").get("spec.resources.requests") == {"cpu": "500m", "memory": "1Gi"}


def test_cnpg_instances_spread_over_hosts_and_zones():
    spec = plan("prod").named("db-cluster").inputs["spec"]
    assert spec["affinity"]["enablePodAntiAffinity"] is True and spec["affinity"]["topologyKey"] == "kubernetes.io/hostname"
    assert spec["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"


def test_owner_credentials_are_a_generated_basic_auth_secret():
    inv = plan("prod")
    owner = inv.named("db-owner")
    assert owner.inputs["type"] == "kubernetes.io/basic-auth" and owner.inputs["stringData"] == "[secret]"
    assert owner.raw_inputs["stringData"]["username"] == "app"
    pw = inv.named("db-password").inputs
    assert (pw["length"], pw["special"]) == (32, False)


def test_database_url_secret_requires_tls_and_targets_the_rw_service():
    uri = plan("prod").named("db-url").raw_inputs["stringData"]["uri"]
    assert uri.startswith("postgresql://app:") and uri.endswith(f"@db-rw.{NS}.svc:5432/app?sslmode=require")
    assert plan("prod").named("db-url").inputs["stringData"] == "[secret]"


def _pooled():
    seen = {}

    def make(net):
        db = ManagedPostgres("db", ManagedPostgresArgs(
            network=net, pooler=Pooler(mode="transaction", default_pool_size=25, max_client_connections=500, instances=3),
            deletion_protection=False,
        ), PLATFORM)
        seen["db"] = db
        db.host.apply(lambda h: seen.setdefault("host", h))

    return run_one(make), seen


def test_pooler_is_pgbouncer_in_front_of_the_primary():
    inv, seen = _pooled()
    spec = inv.named("db-pooler").inputs["spec"]
    assert (spec["cluster"], spec["type"], spec["instances"]) == ({"name": "db"}, "rw", 3)
    assert spec["pgbouncer"] == {
        "poolMode": "transaction", "parameters": {"default_pool_size": "25", "max_client_conn": "500"},
        "pg_hba": ["hostnossl all all all reject", "hostssl all all all scram-sha-256"],  # clients need TLS here too
    }
    assert seen["host"] == f"db-pooler.{NS}.svc"
    assert inv.named("db-url").raw_inputs["stringData"]["uri"].endswith(f"@db-pooler.{NS}.svc:5432/app?sslmode=require")
    assert not [e for r in k8s_objects(inv) for e in manifest_errors(r)]


def test_with_a_pooler_clients_reach_the_pooler_and_only_the_pooler_reaches_postgres():
    inv, seen = _pooled()
    client = {"podSelector": {"matchLabels": {"prodkit.io/client-db": "true"}}}
    assert client not in [f for r in inv.named("db-np-db-ingress").get("spec.ingress") for f in r["from"]]
    pooler_rules = inv.named("db-np-pooler-ingress").get("spec.ingress")
    assert {"from": [client], "ports": [{"protocol": "TCP", "port": 5432}]} in pooler_rules
    assert seen["db"].link.peer.selector == {"cnpg.io/poolerName": "db-pooler"}


def test_postgres_policy_admits_5432_from_clients_operator_status_and_peers():
    spec = netpol(plan("prod"), "db-np-db-ingress")
    assert spec["podSelector"] == {"matchLabels": {"cnpg.io/cluster": "db", "cnpg.io/podRole": "instance"}}
    rules = [(r["from"][0], sorted(p["port"] for p in r["ports"])) for r in spec["ingress"]]
    assert ({"podSelector": {"matchLabels": {"prodkit.io/client-db": "true"}}}, [5432]) in rules
    operator = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cnpg-system"}},
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "cloudnative-pg"}}}
    assert (operator, [5432, 8000]) in rules
    assert ({"podSelector": {"matchLabels": {"cnpg.io/cluster": "db"}}}, [5432, 8000]) in rules


def test_postgres_pods_may_reach_each_other_and_the_api_server():
    egress = netpol(plan("prod"), "db-np-db-egress")["egress"]
    assert {"to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": "db", "cnpg.io/podRole": "instance"}}}],
            "ports": [{"protocol": "TCP", "port": 5432}, {"protocol": "TCP", "port": 8000}]} in egress
    assert {"ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]} in egress


def test_postgres_link_handle_and_outputs_follow_the_contract():
    seen = {}

    def make(net):
        db = ManagedPostgres("db", ManagedPostgresArgs(network=net, deletion_protection=False), PLATFORM)
        seen["db"] = db
        pulumi.Output.all(db.host, db.port, db.url).apply(lambda v: seen.setdefault("out", v))

    run_one(make)
    db = seen["db"]
    assert (db.link.kind, db.link.name, db.link.port) == ("postgres", "db", 5432)
    assert (db.link.env["DATABASE_URL"].store_id, db.link.env["DATABASE_URL"].key) == ("db-url", "uri")
    assert db.link.peer.client_label == ("prodkit.io/client-db", "true")
    assert (db.handle.cluster_name, db.handle.namespace) == ("db", NS)
    host, port, url = seen["out"]
    assert (host, port) == (f"db-rw.{NS}.svc", 5432) and url.endswith("sslmode=require")


# ============================================================================================== ManagedRedis


def redis_conf(inv) -> str:
    return inv.named("cache-config").raw_inputs["data"]["redis.conf"]


def test_redis_conf_persists_with_aof_and_bounds_memory():
    conf = redis_conf(plan("staging")).splitlines()
    for line in ("appendonly yes", "appendfsync everysec", "maxmemory 1024mb", "maxmemory-policy allkeys-lru",
                 "protected-mode yes", "dir /data", 'save ""'):
        assert line in conf
    assert not [line for line in conf if "requirepass" in line or "random-" in line]


def test_redis_password_comes_from_the_secret_via_env():
    sts = plan("staging").named("cache-statefulset")
    (redis,) = containers(sts)
    assert redis["command"] == ["redis-server", "/etc/redis/redis.conf", "--requirepass", "$(REDIS_PASSWORD)"]
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in redis["env"]}
    assert env == {"REDIS_PASSWORD": {"name": "cache-auth", "key": "password"},
                   "REDISCLI_AUTH": {"name": "cache-auth", "key": "password"}}
    assert plan("staging").named("cache-auth").inputs["stringData"] == "[secret]"


def test_redis_probes_ping_with_auth_from_the_environment():
    (redis,) = containers(plan("staging").named("cache-statefulset"))
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        cmd = redis[probe]["exec"]["command"][-1]
        assert "redis-cli" in cmd and "ping" in cmd and "-a " not in cmd


def test_redis_memory_request_and_limit_leave_headroom():
    (redis,) = containers(plan("staging").named("cache-statefulset"))
    assert redis["resources"]["requests"]["memory"] == "1280Mi"
    assert redis["resources"]["limits"]["memory"] == "1536Mi"


def test_redis_runs_as_a_high_uid_with_writable_data_and_tmp_only():
    sts = plan("staging").named("cache-statefulset")
    sc = pod_spec(sts)["securityContext"]
    assert sc["runAsUser"] >= 10000 and sc["runAsGroup"] >= 10000 and sc["fsGroup"] == sc["runAsGroup"]
    (redis,) = containers(sts)
    writable = {m["mountPath"] for m in redis["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/data", "/tmp"}


@pytest.mark.parametrize("profile,protected,retention", [("staging", False, "Delete"), ("prod", True, "Retain")])
def test_redis_statefulset_is_protected_only_in_prod(profile, protected, retention):
    sts = plan(profile).named("cache-statefulset")
    assert sts.protect is protected and sts.retain_on_delete is protected
    assert sts.get("spec.persistentVolumeClaimRetentionPolicy.whenDeleted") == retention
    (claim,) = sts.get("spec.volumeClaimTemplates")
    assert claim["metadata"]["name"] == "data" and claim["spec"]["resources"]["requests"]["storage"] == "10Gi"


def test_single_node_redis_has_one_replica_no_pdb_and_a_direct_client_service():
    inv = plan("staging")
    assert inv.named("cache-statefulset").get("spec.replicas") == 1
    assert not [r for r in inv.resources if r.name in ("cache-pdb", "cache-haproxy")]
    assert inv.named("cache-service").get("spec.selector") == {"app.kubernetes.io/name": "cache", "app.kubernetes.io/instance": NS}


def test_ha_redis_runs_three_nodes_with_sentinel_quorum_two():
    inv = plan("prod")
    sts = inv.named("cache-statefulset")
    assert sts.get("spec.replicas") == 3
    names = [c["name"] for c in pod_spec(sts)["containers"]]
    assert names == ["redis", "sentinel"]
    sentinel = pod_spec(sts)["containers"][1]
    assert sentinel["ports"] == [{"name": "sentinel", "containerPort": 26379, "protocol": "TCP"}]
    init_env = {e["name"]: e.get("value") for e in pod_spec(sts)["initContainers"][0]["env"]}
    assert init_env["QUORUM"] == "2" and init_env["REPLICAS"] == "3"
    script = inv.named("cache-config").raw_inputs["data"]["init.sh"]
    assert "replicaof ${MASTER} 6379" in script and "sentinel monitor ${MASTER_SET} ${MASTER} 6379 ${QUORUM}" in script


def test_ha_redis_clients_go_through_a_primary_routing_proxy():
    inv = plan("prod")
    assert inv.named("cache-service").get("spec.selector") == {"app.kubernetes.io/name": "cache-haproxy", "app.kubernetes.io/instance": NS}
    cfg = inv.named("cache-haproxy-config").raw_inputs["data"]["haproxy.cfg"]
    assert "tcp-check expect string role:master" in cfg and "${REDIS_PASSWORD}" in cfg
    assert cfg.count(f"cache-headless.{NS}.svc.cluster.local:6379") == 3


def test_ha_redis_has_disruption_budgets():
    inv = plan("prod")
    assert inv.named("cache-pdb").get("spec.maxUnavailable") == 1
    assert inv.named("cache-haproxy-pdb").get("spec.maxUnavailable") == 1


def test_redis_url_secret_points_at_the_client_service():
    url = plan("prod").named("cache-url").raw_inputs["stringData"]["url"]
    assert url.startswith("rediss://:") and url.endswith(f"@cache.{NS}.svc.cluster.local:6379/0")  # TLS only
    assert plan("prod").named("cache-url").inputs["stringData"] == "[secret]"


def test_redis_policy_admits_clients_and_peers_only():
    client = {"podSelector": {"matchLabels": {"prodkit.io/client-cache": "true"}}}
    (rule,) = netpol(plan("staging"), "cache-np-ingress")["ingress"]
    assert rule == {"from": [client], "ports": [{"protocol": "TCP", "port": 6379}]}
    rules = netpol(plan("prod"), "cache-np-ingress")["ingress"]
    peers = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "cache", "app.kubernetes.io/instance": NS}}}
    both = [{"protocol": "TCP", "port": 6379}, {"protocol": "TCP", "port": 26379}]
    assert {"from": [client], "ports": both} in rules and {"from": [peers], "ports": both} in rules
    proxy = netpol(plan("prod"), "cache-np-haproxy")
    assert proxy["ingress"] == [{"from": [client], "ports": [{"protocol": "TCP", "port": 6379}]}]


def test_redis_link_handle_and_outputs_follow_the_contract():
    seen = {}

    def make(net):
        cache = ManagedRedis("cache", ManagedRedisArgs(network=net, deletion_protection=False), PLATFORM)
        seen["cache"] = cache
        pulumi.Output.all(cache.host, cache.port).apply(lambda v: seen.setdefault("out", v))

    run_one(make)
    c = seen["cache"]
    assert (c.link.kind, c.link.name, c.link.port) == ("redis", "cache", 6379)
    assert (c.link.env["REDIS_URL"].store_id, c.link.env["REDIS_URL"].key) == ("cache-url", "url")
    assert c.link.peer.client_label == ("prodkit.io/client-cache", "true")
    assert c.link.peer.selector == {"app.kubernetes.io/name": "cache", "app.kubernetes.io/instance": NS}
    h = c.handle
    assert (h.service_name, h.namespace, h.password_secret, h.password_key) == ("cache", NS, "cache-auth", "password")
    assert seen["out"] == [f"cache.{NS}.svc.cluster.local", 6379]


def test_redis_without_persistence_keeps_no_volume_and_no_aof():
    def make(net):
        ManagedRedis("cache", ManagedRedisArgs(network=net, persistence=False, deletion_protection=False), PLATFORM)

    inv = run_one(make)
    assert "appendonly no" in redis_conf(inv).splitlines()
    assert inv.named("cache-statefulset").get("spec.volumeClaimTemplates") is None
    assert not [e for r in k8s_objects(inv) for e in manifest_errors(r)]


# WAL archiving through the Barman Cloud plugin: tests/test_k8s_backups.py
