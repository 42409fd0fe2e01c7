"""Every needed path open, nothing else (issue 7 item 3).

For every seed app and profile, the planned NetworkPolicies and the pods the plan creates (Deployments,
StatefulSets, and the pods CloudNativePG and cert-manager create from the plan: instances, poolers, HTTP-01
solvers) are evaluated with Kubernetes NetworkPolicy semantics (tests/netpol_eval.py, and why it is home-made),
with synthetic pods for the peers outside the app namespace (the Gateway's Envoy proxies, the CNPG operator,
Prometheus, KEDA, kube-dns) and addresses outside the cluster (S3, another object store, the internet).
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import pytest

from components import ManagedPostgres, ManagedPostgresArgs, Network, NetworkArgs
from components._core import Cloud, Platform
from components.autoscaler._k8s import KEDA_NAMESPACE, KEDA_OPERATOR_LABELS
from components.network import KubernetesNetworkOptions
from components.network._k8s import ACME_SOLVER_LABELS, ACME_SOLVER_PORT, GATEWAY_PROXY_LABELS
from components.postgres import KubernetesPostgresOptions
from components.postgres._k8s import OPERATOR_NAMESPACE, OPERATOR_POD_LABELS
from conftest import APPS, PROFILES, planned
from netpol_eval import Cluster, Endpoint
from stacks import engine
from stacks.manifests import manifest_of

OPTS = KubernetesNetworkOptions()
INGRESS_NS, MONITORING_NS = OPTS.ingress_namespace, OPTS.monitoring_namespace
S3 = Endpoint("s3", "52.216.10.20")
INTERNET = Endpoint("internet", "93.184.216.34")
CLUSTER_ADDRESS = Endpoint("some-node", "10.0.3.4")
_ips = itertools.count(10)


def _ip() -> str:
    n = next(_ips)
    return f"10.244.{n // 250}.{n % 250 + 1}"


GATEWAY = Endpoint("gateway-proxy", _ip(), INGRESS_NS, {**GATEWAY_PROXY_LABELS, "gateway.envoyproxy.io/owning-gateway-name": "web"})
INGRESS_OTHER = Endpoint("envoy-gateway-controller", _ip(), INGRESS_NS, {"app.kubernetes.io/name": "gateway-helm", "control-plane": "envoy-gateway"})
OPERATOR = Endpoint("cnpg-operator", _ip(), OPERATOR_NAMESPACE, dict(OPERATOR_POD_LABELS))
BARMAN_PLUGIN = Endpoint("barman-cloud-plugin", _ip(), OPERATOR_NAMESPACE, {"app.kubernetes.io/name": "plugin-barman-cloud"})
PROMETHEUS = Endpoint("prometheus", _ip(), MONITORING_NS, {"app.kubernetes.io/name": "prometheus"})
KEDA = Endpoint("keda-operator", _ip(), KEDA_NAMESPACE, dict(KEDA_OPERATOR_LABELS))
KEDA_OTHER = Endpoint("keda-metrics-apiserver", _ip(), KEDA_NAMESPACE, {"app.kubernetes.io/name": "keda-operator-metrics-apiserver"})
DNS = Endpoint("coredns", _ip(), "kube-system", {"k8s-app": "kube-dns"})
STRANGER = Endpoint("stranger", _ip(), "other-tenant", {"app.kubernetes.io/name": "api"})


class World:
    """The app namespace's pods and policies plus the peers around it."""

    def __init__(self, inventory, cfg):
        self.cfg = cfg
        objects = [manifest_of(r) for r in inventory.resources if r.type.startswith("kubernetes:") and (r.raw_inputs or {}).get("kind")]
        self.ns = next(o["metadata"]["name"] for o in objects if o["kind"] == "Namespace")
        policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
        self.cluster = Cluster(policies, {})
        self.pods: dict[str, Endpoint] = {}
        for o in objects:
            if o["kind"] in ("Deployment", "StatefulSet"):
                tpl = o["spec"]["template"]
                ports = {p["name"]: p["containerPort"] for c in tpl["spec"]["containers"] for p in c.get("ports", []) if p.get("name")}
                self.pods[o["metadata"]["name"]] = Endpoint(o["metadata"]["name"], _ip(), self.ns, tpl["metadata"]["labels"], ports)
            elif o["kind"] == "Cluster":  # CloudNativePG instances (labels: the operator's + inheritedMetadata)
                name = o["metadata"]["name"]
                labels = {**o["spec"].get("inheritedMetadata", {}).get("labels", {}), "cnpg.io/cluster": name,
                          "cnpg.io/podRole": "instance", "cnpg.io/instanceRole": "primary",
                          "app.kubernetes.io/name": "cloudnative-pg", "app.kubernetes.io/instance": name}
                for i in range(o["spec"]["instances"]):
                    self.pods[f"{name}-{i + 1}"] = Endpoint(f"{name}-{i + 1}", _ip(), self.ns, labels, {"postgresql": 5432, "metrics": 9187, "status": 8000})
            elif o["kind"] == "Pooler":  # pkg/specs/pgbouncer/deployments.go
                name, cluster = o["metadata"]["name"], o["spec"]["cluster"]["name"]
                labels = {**o["spec"]["template"]["metadata"]["labels"], "cnpg.io/poolerName": name, "cnpg.io/cluster": cluster,
                          "cnpg.io/podRole": "pooler"}
                self.pods[name] = Endpoint(name, _ip(), self.ns, labels, {"pgbouncer": 5432, "metrics": 9127})
        self.pods["acme-solver"] = Endpoint("acme-solver", _ip(), self.ns, dict(ACME_SOLVER_LABELS), {"http": ACME_SOLVER_PORT})
        self.objects = objects

    def ok(self, src, dst, port, protocol="TCP") -> bool:
        return self.cluster.allowed(src, dst, port, protocol)

    def pod(self, name) -> Endpoint:
        return self.pods[name]

    def instances(self) -> list[Endpoint]:
        return [p for p in self.pods.values() if p.labels.get("cnpg.io/podRole") == "instance"]

    def services(self):
        return {name: svc for name, svc in self.cfg.app.services.items()}


@lru_cache(maxsize=None)
def world(app: str, profile: str) -> World:
    cfg, inventory, _ = planned(app, profile, "kubernetes")
    return World(inventory, cfg)


COMBOS = [(a, p) for a in APPS for p in PROFILES]


def redis_endpoint(w: World) -> Endpoint:
    """Where REDIS_URL points: the HAProxy when HA, else the Redis pod."""
    return w.pods.get("redis-haproxy") or w.pod("redis")


def postgres_endpoints(w: World) -> list[Endpoint]:
    poolers = [p for p in w.pods.values() if p.labels.get("cnpg.io/podRole") == "pooler"]
    return poolers or w.instances()


# ------------------------------------------------------------------------------------------ needed paths


@pytest.mark.parametrize("app,profile", COMBOS)
def test_gateway_reaches_every_routed_service_on_its_port(app, profile):
    w = world(app, profile)
    for route in w.cfg.app.routes:
        svc = w.cfg.app.services[route.service]
        assert w.ok(GATEWAY, w.pod(route.service), svc.port), (route.path, route.service)


@pytest.mark.parametrize("app,profile", COMBOS)
def test_gateway_reaches_the_acme_http01_solver(app, profile):
    w = world(app, profile)
    assert w.ok(GATEWAY, w.pod("acme-solver"), ACME_SOLVER_PORT)
    assert not w.ok(GATEWAY, w.pod("acme-solver"), 8080)
    assert not w.ok(INGRESS_OTHER, w.pod("acme-solver"), ACME_SOLVER_PORT)  # the proxies only
    assert not w.ok(STRANGER, w.pod("acme-solver"), ACME_SOLVER_PORT)
    assert not w.ok(w.pod("acme-solver"), INTERNET, 443)  # it only serves


@pytest.mark.parametrize("app,profile", COMBOS)
def test_services_reach_their_stores_on_their_ports(app, profile):
    w = world(app, profile)
    for name, svc in w.services().items():
        src = w.pod(name)
        if "postgres" in svc.uses:
            for db in postgres_endpoints(w):
                assert w.ok(src, db, 5432), (name, db.name)
        if "redis" in svc.uses:
            assert w.ok(src, redis_endpoint(w), 6379), name


@pytest.mark.parametrize("app,profile", COMBOS)
def test_poolers_and_redis_proxies_reach_their_backends(app, profile):
    w = world(app, profile)
    for pooler in [p for p in w.pods.values() if p.labels.get("cnpg.io/podRole") == "pooler"]:
        for inst in w.instances():
            assert w.ok(pooler, inst, 5432), pooler.name
    if "redis-haproxy" in w.pods:
        assert w.ok(w.pod("redis-haproxy"), w.pod("redis"), 6379)
        assert w.ok(w.pod("redis"), w.pod("redis"), 6379)  # replication
        assert w.ok(w.pod("redis"), w.pod("redis"), 26379)  # Sentinel gossip


@pytest.mark.parametrize("app,profile", COMBOS)
def test_cnpg_operator_reaches_instances_on_8000_and_5432(app, profile):
    w = world(app, profile)
    for inst in w.instances():
        assert w.ok(OPERATOR, inst, 8000) and w.ok(OPERATOR, inst, 5432), inst.name
        assert not w.ok(BARMAN_PLUGIN, inst, 5432)  # the operator's pods only


@pytest.mark.parametrize("app,profile", COMBOS)
def test_instances_reach_each_other(app, profile):
    w = world(app, profile)
    for a, b in itertools.product(w.instances(), repeat=2):
        assert w.ok(a, b, 5432) and w.ok(a, b, 8000), (a.name, b.name)


@pytest.mark.parametrize("app,profile", COMBOS)
def test_prometheus_reaches_metrics_ports(app, profile):
    w = world(app, profile)
    for name, svc in w.services().items():
        if svc.metrics:
            assert w.ok(PROMETHEUS, w.pod(name), svc.metrics.port), name
            if svc.metrics.port != svc.port:
                assert not w.ok(PROMETHEUS, w.pod(name), svc.port), name  # the metrics port only
    for inst in w.instances():
        assert w.ok(PROMETHEUS, inst, 9187)
        assert not w.ok(PROMETHEUS, inst, 5432)


@pytest.mark.parametrize("app,profile", COMBOS)
def test_keda_reaches_the_queue_redis_only(app, profile):
    w = world(app, profile)
    queued = any(s.autoscaling and s.autoscaling.queue for s in w.services().values())
    if not queued:
        # No queue trigger: nothing opens the app's Redis (if any) to KEDA.
        if "redis" in w.pods or "redis-haproxy" in w.pods:
            assert not w.ok(KEDA, redis_endpoint(w), 6379)
        return
    assert w.ok(KEDA, redis_endpoint(w), 6379)
    assert not w.ok(KEDA_OTHER, redis_endpoint(w), 6379)
    for db in postgres_endpoints(w):
        assert not w.ok(KEDA, db, 5432)


@pytest.mark.parametrize("app,profile", COMBOS)
def test_every_pod_resolves_names(app, profile):
    w = world(app, profile)
    for pod in w.pods.values():
        assert w.ok(pod, DNS, 53, "UDP") and w.ok(pod, DNS, 53, "TCP"), pod.name
        assert not w.ok(pod, DNS, 80), pod.name


@pytest.mark.parametrize("app,profile", COMBOS)
def test_instances_reach_s3_for_backups_and_nothing_else_outside(app, profile):
    w = world(app, profile)
    for inst in w.instances():
        assert w.ok(inst, S3, 443)
        assert not w.ok(inst, INTERNET, 80) and not w.ok(inst, INTERNET, 9000)
        # The default object store (S3) is public: the backup rule does not open private addresses.
        assert not w.ok(inst, CLUSTER_ADDRESS, 9000)


# ---------------------------------------------------------------------------------- unrelated pairs denied


@pytest.mark.parametrize("app,profile", COMBOS)
def test_other_namespaces_reach_no_app_pod(app, profile):
    w = world(app, profile)
    for pod in w.pods.values():
        for port in set(pod.ports.values()) | {80, 443, 5432, 6379, 8000, 8080}:
            assert not w.ok(STRANGER, pod, port), (pod.name, port)


@pytest.mark.parametrize("app,profile", COMBOS)
def test_gateway_reaches_no_store_and_no_private_service(app, profile):
    w = world(app, profile)
    routed = {r.service for r in w.cfg.app.routes}
    for name, svc in w.services().items():
        if name not in routed:
            assert not w.ok(GATEWAY, w.pod(name), svc.port), name
        assert not w.ok(INGRESS_OTHER, w.pod(name), svc.port), name
    for db in postgres_endpoints(w) + w.instances():
        assert not w.ok(GATEWAY, db, 5432)
    if "redis" in w.pods:
        assert not w.ok(GATEWAY, redis_endpoint(w), 6379)


@pytest.mark.parametrize("app,profile", COMBOS)
def test_services_reach_only_their_own_stores(app, profile):
    w = world(app, profile)
    for name, svc in w.services().items():
        src = w.pod(name)
        if "redis" in w.pods and "redis" not in svc.uses:
            assert not w.ok(src, redis_endpoint(w), 6379), name
            assert not w.ok(src, w.pod("redis"), 6379), name
        if "postgres" not in svc.uses:
            for db in postgres_endpoints(w):
                assert not w.ok(src, db, 5432), name
        if "redis-haproxy" in w.pods and "redis" in svc.uses:
            # Clients go through the proxy: the Sentinel port of the nodes is for the nodes.
            assert not w.ok(src, w.pod("redis"), 26379), name
        if w.pods.get("postgres-pooler") is not None:
            for inst in w.instances():
                assert not w.ok(src, inst, 5432), name  # through the pooler only
        if svc.internet_egress:
            assert w.ok(src, INTERNET, 443), name
        assert not w.ok(src, INTERNET, 80), name
        assert not w.ok(src, CLUSTER_ADDRESS, 443), name  # no private addresses, no metadata API


@pytest.mark.parametrize("app,profile", COMBOS)
def test_stores_call_nothing_outside(app, profile):
    w = world(app, profile)
    stores = [p for p in w.pods.values() if p.name.startswith("redis")]
    for pod in stores:
        for dst, port in ((INTERNET, 443), (INTERNET, 80), (S3, 443), (CLUSTER_ADDRESS, 6379)):
            assert not w.ok(pod, dst, port), (pod.name, dst.name, port)
        for name in w.services():
            assert not w.ok(pod, w.pod(name), w.cfg.app.services[name].port), (pod.name, name)


# ------------------------------------------------------------------------ a custom object-store endpoint


PLATFORM = Platform(cloud=Cloud.KUBERNETES, app="demo", stack="prod")


def minio_world(**options) -> World:
    def prog():
        net = Network("net", NetworkArgs(), PLATFORM)
        ManagedPostgres("db", ManagedPostgresArgs(network=net, kubernetes=KubernetesPostgresOptions(
            backup_bucket="s3://backups", backup_endpoint_url="https://minio.storage.example:9000", **options)), PLATFORM)

    inventory = engine.run(prog)
    return World(inventory, None)


def test_instances_reach_a_custom_object_store_on_its_port_only():
    w = minio_world()
    minio_public, minio_private = Endpoint("minio", "198.51.100.7"), Endpoint("minio-in-cluster", "10.96.44.5")
    for inst in w.instances():
        assert w.ok(inst, minio_public, 9000) and w.ok(inst, minio_private, 9000)
        assert not w.ok(inst, minio_public, 9001)


def test_with_the_api_server_named_443_to_anywhere_is_closed():
    api = Endpoint("kube-apiserver", "172.20.0.1")
    w = minio_world(api_server_cidrs=["172.20.0.1/32"])
    for inst in w.instances():
        assert w.ok(inst, api, 443) and w.ok(inst, api, 6443)
        assert not w.ok(inst, INTERNET, 443)  # no backup rule on 443 when the store has its own endpoint
        assert w.ok(inst, Endpoint("minio", "198.51.100.7"), 9000)


def test_evaluator_applies_default_deny_and_both_ends():
    """The evaluator itself: isolation per direction, AND of both ends, peers and ports."""
    a = Endpoint("a", "10.1.0.1", "ns", {"app": "a"})
    b = Endpoint("b", "10.1.0.2", "ns", {"app": "b"}, {"http": 8080})
    deny = {"kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "ns"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
    assert Cluster([], {}).allowed(a, b, 8080)
    assert not Cluster([deny], {}).allowed(a, b, 8080)
    out = {"kind": "NetworkPolicy", "metadata": {"name": "out", "namespace": "ns"},
           "spec": {"podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Egress"],
                    "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "b"}}}], "ports": [{"port": "http"}]}]}}
    inn = {"kind": "NetworkPolicy", "metadata": {"name": "in", "namespace": "ns"},
           "spec": {"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["b"]}]},
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}], "ports": [{"port": 8000, "endPort": 8100}]}]}}
    assert not Cluster([deny, out], {}).allowed(a, b, 8080)  # b's ingress still isolated
    assert Cluster([deny, out, inn], {}).allowed(a, b, 8080)
    assert not Cluster([deny, out, inn], {}).allowed(a, b, 8081)  # egress names port 8080 only
    assert not Cluster([deny, out, inn], {}).allowed(b, a, 8080)


def test_api_server_cidrs_from_stack_config_close_443_to_the_internet():
    from conftest import ROOT
    from stacks import cli

    cfg = cli.load_stack(ROOT, "prod", ["prodkit:app=chat", "prodkit:cloud=kubernetes", "prodkit:apiServerCidrs=[172.20.0.1/32]",
                                        "prodkit:backupEndpoint=https://minio.storage.example:9000"])
    inventory, _ = cli.run_plan(cfg)
    w = World(inventory, cfg)
    for inst in w.instances():
        assert w.ok(inst, Endpoint("kube-apiserver", "172.20.0.1"), 443)
        assert not w.ok(inst, INTERNET, 443) and not w.ok(inst, S3, 443)
        assert w.ok(inst, Endpoint("minio", "198.51.100.7"), 9000)


def test_bad_api_server_cidrs_are_a_clear_input_error():
    from components import InputError
    from conftest import ROOT
    from stacks import cli

    with pytest.raises(InputError, match=r"prodkit:apiServerCidrs.*not-a-cidr"):
        cli.load_stack(ROOT, "prod", ["prodkit:app=chat", "prodkit:cloud=kubernetes", "prodkit:apiServerCidrs=[not-a-cidr]"])
