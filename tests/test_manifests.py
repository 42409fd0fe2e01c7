"""stacks.manifests: Kubernetes manifests written to disk (secrets redacted) and validated strictly offline."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace as NS

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from components import (
    Autoscaler, AutoscalerArgs, BackupSchedule, BackupScheduleArgs, Metrics, Monitoring, MonitoringArgs, QueueTrigger,
    Route, ScalingPolicy, SecurityHeaders, TlsIngress, TlsIngressArgs, VolumeBackup,
)
from components._core import Cloud, Link, Platform, SecretRef
from components.postgres._k8s import object_store_spec, plugin_entry
from components.cluster_addons import ClusterAddons, ClusterAddonsArgs
from stacks import engine, manifests

NS_NAME = "demo-prod"
PLATFORM = Platform(cloud=Cloud.KUBERNETES, app="demo", stack="prod")

#: The upstream CRDs the packaged schemas were compacted from (present in the development workspace).
UPSTREAM_CRDS = Path(__file__).resolve().parent.parent.parent / "shared" / "crds"


def _service(name, port, **extra):
    handle = dict(namespace=NS_NAME, name=name, service_name=name, port=port, selector={"app.kubernetes.io/name": name},
                  pvcs={}, metrics=None, public=True)
    handle.update(extra)
    return NS(handle=NS(**handle))


def edge_app():
    """Every object the five edge backends create, around stand-in services and stores."""
    net = NS(handle=NS(namespace=NS_NAME, ingress_namespace="envoy-gateway-system", monitoring_namespace="monitoring"))
    api = _service("api", 8000, metrics=Metrics(port=9090), pvcs={"workspaces": "api-workspaces"})
    web = _service("web", 3000)
    redis = NS(
        handle=NS(service_name="cache", namespace=NS_NAME, password_secret="cache-auth", password_key="password"),
        link=Link(kind="redis", name="cache", port=6379, env={"REDIS_URL": SecretRef("cache-url", "url")},
                  peer=NS(selector={"app.kubernetes.io/name": "cache"}, client_label=("prodkit.io/client-cache", "true"))),
    )
    db = NS(handle=NS(cluster_name="db", namespace=NS_NAME, object_store="db-backups"))
    TlsIngress("edge", TlsIngressArgs(
        network=net, domain="app.example.com", cors_origins=["https://app.example.com"],
        headers=SecurityHeaders(content_security_policy="default-src 'self'"),
        routes=[Route(path="/api/agents", service=api, timeout_seconds=600, rate_limit_per_minute=60),
                Route(path="/api/stream", service=api, streaming=True), Route(path="/", service=web)],
    ), PLATFORM)
    Autoscaler("api-scaling", AutoscalerArgs(service=api, min_replicas=2, max_replicas=10, cpu_percent=75, memory_percent=80,
                                             scale_up=ScalingPolicy(stabilization_window_seconds=0, value=100, period_seconds=15)), PLATFORM)
    Autoscaler("worker-scaling", AutoscalerArgs(service=web, min_replicas=2, max_replicas=5, cpu_percent=70,
                                                queue=QueueTrigger(redis=redis, list_name="jobs")), PLATFORM)
    BackupSchedule("backups", BackupScheduleArgs(database=db, schedule="0 * * * *", retention_days=30,
                                                 volumes=[VolumeBackup(service=api, volume="workspaces", schedule="0 4 * * 0")]), PLATFORM)
    Monitoring("monitoring", MonitoringArgs(services=[api, web]), PLATFORM)
    ClusterAddons("addons", ClusterAddonsArgs(acme_email="ops@example.com"), PLATFORM)


def meta(name):
    return {"name": name, "namespace": NS_NAME}


@pytest.fixture(scope="module")
def edge_manifests(tmp_path_factory):
    out = tmp_path_factory.mktemp("edge")
    problems = manifests.write_and_validate(engine.run(edge_app), out)
    return out, problems


def test_every_edge_backend_object_is_strictly_valid(edge_manifests):
    _, problems = edge_manifests
    assert problems == []


def test_one_stably_named_file_per_kubernetes_object_and_none_for_helm_releases(edge_manifests):
    out, _ = edge_manifests
    names = sorted(p.name for p in out.iterdir())
    assert "httproute-edge-api-agents.yaml" in names
    assert "backendtrafficpolicy-edge-api-agents.yaml" in names
    assert "gateway-edge.yaml" in names
    assert "scheduledbackup-backups-database.yaml" in names
    assert "clusterissuer-letsencrypt-prod.yaml" in names
    assert "gatewayclass-eg.yaml" in names
    assert not [n for n in names if n.startswith("release-")]
    edge = [n for n in names if n.split("-")[0] in ("envoyproxy", "gateway", "httproute", "backendtrafficpolicy", "clienttrafficpolicy", "securitypolicy")]
    # EnvoyProxy, Gateway, ClientTrafficPolicy, redirect + 3 HTTPRoutes, 3 BackendTrafficPolicies, SecurityPolicy
    assert len(edge) == 11
    assert not [n for n in names if n.startswith("ingress-")]
    assert "schedule-demo-prod-api-workspaces.yaml" in names


def test_written_manifest_reads_back_as_the_object():
    def prog():
        k8s.core.v1.ConfigMap("cm", metadata=meta("settings"), data={"LOG_LEVEL": "info"})

    inv = engine.run(prog)
    manifest = manifests.manifest_of(inv.named("cm"))
    assert list(manifest)[:3] == ["apiVersion", "kind", "metadata"]
    assert manifest == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("settings"), "data": {"LOG_LEVEL": "info"}}


def test_secret_values_are_redacted_on_disk(tmp_path):
    def prog():
        k8s.core.v1.Secret("s", metadata=meta("app-secrets"), type="Opaque",
                           string_data={"OPENAI_API_KEY": pulumi.Output.secret("sk-live-123")}, data={"token": "c2VjcmV0"})

    problems = manifests.write_and_validate(engine.run(prog), tmp_path)
    text = (tmp_path / "secret-app-secrets.yaml").read_text()
    assert "sk-live-123" not in text and "c2VjcmV0" not in text
    written = yaml.safe_load(text)
    assert written["stringData"] == {"OPENAI_API_KEY": "REDACTED"}
    assert written["data"] == {"token": "REDACTED"}
    assert problems == []


def test_pulumi_secret_inside_another_kind_is_redacted_on_disk(tmp_path):
    def prog():
        k8s.core.v1.ConfigMap("cm", metadata=meta("leaky"), data={"DSN": pulumi.Output.secret("postgres://u:pw@h/db"), "MODE": "x"})

    manifests.write_and_validate(engine.run(prog), tmp_path)
    written = yaml.safe_load((tmp_path / "configmap-leaky.yaml").read_text())
    assert written["data"]["DSN"] == "REDACTED"
    assert "pw@h" not in (tmp_path / "configmap-leaky.yaml").read_text()


def test_unknown_custom_resource_kind_is_a_problem(tmp_path):
    def prog():
        k8s.apiextensions.CustomResource("w", api_version="widgets.example.com/v1", kind="Widget", metadata=meta("w"), spec={})

    problems = manifests.write_and_validate(engine.run(prog), tmp_path)
    assert len(problems) == 1
    p = problems[0]
    assert (p.file, p.kind, p.name, p.is_error) == ("widget-w.yaml", "Widget", "w", True)
    assert "unknown kind Widget" in p.message


def test_custom_resource_with_an_unknown_field_is_a_problem():
    manifest = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": meta("so"),
                "spec": {"scaleTargetRef": {"name": "api", "kindd": "Deployment"},
                         "triggers": [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}}]}}
    assert manifests.validate_manifest(manifest) == [("error", "spec.scaleTargetRef: Additional properties are not allowed ('kindd' was unexpected)")]


def test_custom_resource_of_an_unserved_version_is_a_problem():
    manifest = {"apiVersion": "keda.sh/v1beta1", "kind": "ScaledObject", "metadata": meta("so"), "spec": {}}
    assert manifests.validate_manifest(manifest) == [("error", "keda.sh/v1beta1 is not a served version of the ScaledObject CRD")]


def test_preserve_unknown_fields_stay_open():
    # PrometheusRule rule labels/annotations are free-form maps; Cluster parameters too.
    manifest = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": meta("db"),
                "spec": {"instances": 1, "storage": {"size": "20Gi"}, "postgresql": {"parameters": {"work_mem": "10MB"}}}}
    assert manifests.validate_manifest(manifest) == []


def test_builtin_kind_is_validated_strictly():
    manifest = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("api"),
                "spec": {"selector": {"matchLabels": {"a": "b"}}, "replicas": "3", "template": {"spec": {"containers": []}}, "paused2": True}}
    messages = [m for _, m in manifests.validate_manifest(manifest)]
    assert any("paused2" in m for m in messages)
    assert any(m.startswith("spec.replicas:") for m in messages)


def test_object_without_an_explicit_name_is_a_problem():
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": NS_NAME}, "data": {}}
    assert manifests.validate_manifest(manifest) == [("error", "metadata.name is missing (objects must be named explicitly, not auto-named)")]


def test_crd_schemas_ship_inside_the_package_so_nothing_is_skipped(tmp_path, monkeypatch):
    monkeypatch.delenv("PRODKIT_CRDS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # no ../shared anywhere near
    assert manifests.crd_dir() == manifests.PACKAGED_CRDS
    assert manifests.PACKAGED_CRDS.is_relative_to(Path(manifests.__file__).parent)
    index = json.loads((manifests.PACKAGED_CRDS / "index.json").read_text())
    for key in ("gateway.networking.k8s.io/HTTPRoute", "gateway.envoyproxy.io/BackendTrafficPolicy", "barmancloud.cnpg.io/ObjectStore",
                "velero.io/Schedule", "postgresql.cnpg.io/Cluster", "cert-manager.io/ClusterIssuer"):
        assert (manifests.PACKAGED_CRDS / index[key]).is_file(), key
    readme = (manifests.PACKAGED_CRDS / "README.md").read_text()
    for name in index.values():
        assert name.split("_")[0] in readme
    assert "Apache-2.0" in readme

    def prog():
        k8s.apiextensions.CustomResource("so", api_version="keda.sh/v1alpha1", kind="ScaledObject", metadata=meta("so"),
                                         spec={"scaleTargetRef": {"name": "api"}, "triggers": [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}}]})

    assert manifests.write_and_validate(engine.run(prog), tmp_path / "out") == []


def _compact_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("compact_crds", Path(__file__).resolve().parent.parent / "scripts" / "compact_crds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _as_upstream_crd(packaged_file: Path) -> dict:
    """A CustomResourceDefinition rebuilt from a packaged file (what an upstream YAML CRD holds, minus descriptions)."""
    data = json.loads(packaged_file.read_text())
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{data['plural']}.{data['group']}"},
            "spec": {"group": data["group"], "scope": data["scope"], "names": {"kind": data["kind"], "plural": data["plural"]},
                     "versions": [{"name": v["name"], "served": True, "storage": i == 0, "schema": {"openAPIV3Schema": v["schema"]}}
                                  for i, v in enumerate(data["versions"])]}}


def test_packaged_crd_schemas_are_the_compacted_upstream_crds(tmp_path):
    """The packaged files are what scripts/compact_crds.py makes of the upstream CRDs: compared with ../shared/crds
    where it exists; elsewhere the regeneration is replayed on CRDs rebuilt from the packaged files themselves."""
    compact = _compact_module()
    packaged = {p.name: p.read_text() for p in manifests.PACKAGED_CRDS.glob("*.json")}
    source = UPSTREAM_CRDS
    if not source.is_dir():
        source = tmp_path / "crds"
        source.mkdir()
        for name in packaged:
            if name != "index.json":
                (source / name.replace(".json", ".yaml")).write_text(yaml.safe_dump(_as_upstream_crd(manifests.PACKAGED_CRDS / name)))
    assert compact.render(source) == packaged, "run: python scripts/compact_crds.py"
    assert compact.strip({"properties": {"description": {"type": "string", "description": "x"}}, "description": "y"}) == \
        {"properties": {"description": {"type": "string"}}}


def test_packaged_and_upstream_crds_validate_alike(monkeypatch):
    """The compact form keeps what validation reads: a CEL rule and a schema error are found through both."""
    bad_route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": meta("r"),
                 "spec": {"parentRefs": [{"name": "edge"}], "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/a/../b"}}]}]}}
    found = manifests.validate_manifest(bad_route)
    assert found == [("error", "CEL: spec.rules[0].matches[0].path: must not contain '/../' when type one of ['Exact', 'PathPrefix']")]
    if UPSTREAM_CRDS.is_dir():
        assert manifests.validate_manifest(bad_route, crds=UPSTREAM_CRDS) == found


def test_gateway_with_duplicate_listener_names_breaks_a_cel_rule():
    listener = {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": "app.example.com",
                "tls": {"mode": "Terminate", "certificateRefs": [{"name": "edge-tls"}]}}
    gateway = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": meta("edge"),
               "spec": {"gatewayClassName": "eg", "listeners": [listener]}}
    assert manifests.validate_manifest(gateway) == []
    gateway["spec"]["listeners"].append({**listener, "protocol": "HTTP", "port": 80, "tls": None})
    del gateway["spec"]["listeners"][1]["tls"]
    assert ("error", "CEL: spec.listeners: Listener name must be unique within the Gateway") in manifests.validate_manifest(gateway)


def test_cel_rules_see_schema_defaults_and_kubernetes_string_functions():
    # RequestRedirect and URLRewrite in one rule is refused by a CEL rule; the path match type comes from the default.
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": meta("r"),
             "spec": {"parentRefs": [{"name": "edge"}], "rules": [{"matches": [{"path": {"value": "/x"}}], "filters": [
                 {"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}, {"type": "URLRewrite", "urlRewrite": {"hostname": "a.example.com"}}]}]}}
    messages = [m for _, m in manifests.validate_manifest(route)]
    assert any("May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both" in m for m in messages), messages
    from stacks import cel
    assert cel.KUBERNETES_FUNCTIONS["split"]("a,b,c", ",", 2) == ["a", "b,c"]
    assert cel.KUBERNETES_FUNCTIONS["upperAscii"]("gé") == "Gé"
    timeouts = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": meta("r"),
                "spec": {"parentRefs": [{"name": "edge"}], "rules": [{"timeouts": {"request": "10s", "backendRequest": "20s"}}]}}
    assert manifests.validate_manifest(timeouts) == [("error", "CEL: spec.rules[0].timeouts: backendRequest timeout cannot be longer than request timeout")]


def test_crd_folder_can_be_set_by_environment(tmp_path, monkeypatch):
    folder = tmp_path / "crds"
    folder.mkdir()
    (folder / "keda.sh_scaledobjects.yaml").write_text(yaml.safe_dump(_as_upstream_crd(manifests.PACKAGED_CRDS / "keda.sh_scaledobjects.json"), sort_keys=False))
    monkeypatch.setenv("PRODKIT_CRDS_DIR", str(folder))
    assert manifests.crd_dir() == folder
    rule = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": meta("r"), "spec": {}}
    assert manifests.validate_manifest(rule)[0][1].startswith("unknown kind PrometheusRule")


def test_barman_cloud_object_store_and_plugin_entry_are_valid():
    for endpoint in (None, "https://minio.example.com"):
        store = {"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore", "metadata": meta("db-backups"),
                 "spec": object_store_spec("s3://backups/app", endpoint, "backup-s3-credentials", 30)}
        assert manifests.validate_manifest(store) == []
    cluster = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": meta("db"),
               "spec": {"instances": 3, "storage": {"size": "20Gi"}, "plugins": [plugin_entry("db")]}}
    assert manifests.validate_manifest(cluster) == []
