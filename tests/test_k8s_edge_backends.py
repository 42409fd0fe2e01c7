"""Kubernetes backends of TlsIngress (Gateway API on Envoy Gateway), Autoscaler, BackupSchedule, Monitoring and
ClusterAddons.

The Network/WebService/ManagedPostgres/ManagedRedis components are replaced by stand-ins carrying only the
`.handle` / `.link` contract these backends may read, so each test exercises one backend.
"""

from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

from components import (
    AlertThresholds, Autoscaler, AutoscalerArgs, BackupSchedule, BackupScheduleArgs, InputError, Metrics, Monitoring,
    MonitoringArgs, QueueTrigger, Route, ScalingPolicy, ScheduledScaling, SecurityHeaders, TlsIngress, TlsIngressArgs,
    VolumeBackup,
)
from components._core import BackendNotAvailable, Cloud, Link, Platform, SecretRef
from components.backup_schedule import KubernetesBackupOptions
from components.cluster_addons import ClusterAddons, ClusterAddonsArgs
from components.tls_ingress import KubernetesIngressOptions, SharedGateway
from components.tls_ingress._k8s import GATEWAY_DATAPLANE_LABELS, role_of
from stacks import engine

NS_NAME = "demo-prod"
PLATFORM = Platform(cloud=Cloud.KUBERNETES, app="demo", stack="prod")
GW_API = "gateway.networking.k8s.io/v1"
EG_API = "gateway.envoyproxy.io/v1alpha1"


def network():
    return NS(handle=NS(namespace=NS_NAME, ingress_namespace="envoy-gateway-system", monitoring_namespace="monitoring"))


def service(name, port, *, public=True, metrics=None, pvcs=None):
    return NS(
        _name=name,
        handle=NS(
            namespace=NS_NAME, name=name, service_name=f"{name}-svc", port=port,
            selector={"app.kubernetes.io/name": name}, pvcs=pvcs or {}, metrics=metrics, public=public,
        ),
    )


def redis_store():
    return NS(
        handle=NS(service_name="cache", namespace=NS_NAME, password_secret="cache-auth", password_key="password"),
        link=Link(
            kind="redis", name="cache", port=6379, env={"REDIS_URL": SecretRef("cache-auth", "url")},
            peer=NS(selector={"app.kubernetes.io/name": "cache"}, client_label=("prodkit.io/client-cache", "true")),
        ),
    )


def postgres_store():
    return NS(handle=NS(cluster_name="db", namespace=NS_NAME))


def capture(output, into: list):
    output.apply(into.append)


# ------------------------------------------------------------------------------------------------- TlsIngress


def compyle_ingress(**overrides):
    """Seed 000: /api/agents (600 s, 60/min), /api/stream (SSE), / (100/min)."""
    api, web = service("fastapi", 8000), service("nextjs", 3000)
    args = dict(
        network=network(), domain="app.example.com",
        routes=[
            Route(path="/api/agents", service=api, timeout_seconds=600, rate_limit_per_minute=60, body_size_mib=100),
            Route(path="/api/stream", service=api, streaming=True),
            Route(path="/", service=web, rate_limit_per_minute=100),
        ],
    )
    args.update(overrides)
    return TlsIngressArgs(**args)


def run_ingress(args):
    outputs: dict[str, list] = {"url": [], "hostname": []}

    def prog():
        edge = TlsIngress("edge", args, PLATFORM)
        capture(edge.url, outputs["url"])
        capture(edge.hostname, outputs["hostname"])

    return engine.run(prog), outputs


def kinds(inv, kind):
    return {r.name: r for r in inv.of_type(f"kubernetes:{GW_API}:{kind}") + inv.of_type(f"kubernetes:{EG_API}:{kind}")}


def routes_of(inv):
    return kinds(inv, "HTTPRoute")


def the_gateway(inv):
    (gateway,) = kinds(inv, "Gateway").values()
    return gateway


def listener(gateway, name):
    return next(l for l in gateway.get("spec.listeners") if l["name"] == name)


def test_gateway_has_an_https_listener_terminating_tls_from_the_cert_manager_secret_and_an_http_listener():
    gw = the_gateway(run_ingress(compyle_ingress())[0])
    assert gw.name == "edge-gateway" and gw.get("metadata.name") == "edge" and gw.get("metadata.namespace") == NS_NAME
    assert gw.get("spec.gatewayClassName") == "eg"
    assert gw.inputs["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt-prod"}
    https = listener(gw, "https")
    assert (https["protocol"], https["port"], https["hostname"]) == ("HTTPS", 443, "app.example.com")
    assert https["tls"] == {"mode": "Terminate", "certificateRefs": [{"group": "", "kind": "Secret", "name": "edge-tls"}]}
    http = listener(gw, "http")
    assert (http["protocol"], http["port"], http["hostname"]) == ("HTTP", 80, "app.example.com")
    for l in (https, http):
        assert l["allowedRoutes"]["namespaces"] == {"from": "Same"}
    assert gw.get("spec.infrastructure.parametersRef") == {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": "edge-proxy"}


def test_the_http_listeners_only_route_redirects_to_https_with_301():
    inv, _ = run_ingress(compyle_ingress())
    on_http = {n: r for n, r in routes_of(inv).items() if any(p.get("sectionName") == "http" for p in r.get("spec.parentRefs"))}
    assert list(on_http) == ["edge-redirect"]
    redirect = on_http["edge-redirect"]
    assert redirect.get("spec.rules") == [{"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}]
    assert redirect.get("spec.hostnames") == ["app.example.com"]
    # Every other route attaches to the HTTPS listener by name: none can serve plain HTTP.
    for name, r in routes_of(inv).items():
        if name != "edge-redirect":
            assert [p["sectionName"] for p in r.get("spec.parentRefs")] == ["https"], name


def test_one_httproute_per_route_with_a_path_prefix_and_the_service_as_backend():
    routes = routes_of(run_ingress(compyle_ingress())[0])
    assert set(routes) == {"edge-redirect", "edge-api-agents", "edge-api-stream", "edge-root"}
    agents = routes["edge-api-agents"].get("spec.rules.0")
    assert agents["matches"] == [{"path": {"type": "PathPrefix", "value": "/api/agents"}}]
    assert agents["backendRefs"] == [{"name": "fastapi-svc", "port": 8000}]
    assert routes["edge-root"].get("spec.rules.0.backendRefs") == [{"name": "nextjs-svc", "port": 3000}]
    for r in routes.values():
        assert r.inputs["metadata"]["labels"]["app.kubernetes.io/component"] == "tls-ingress"


def test_agent_route_waits_600_seconds_end_to_end_and_idle():
    inv, _ = run_ingress(compyle_ingress())
    assert routes_of(inv)["edge-api-agents"].get("spec.rules.0.timeouts") == {"request": "600s", "backendRequest": "600s"}
    # Envoy's listener stream-idle default (5 min) would cut a silent 10-minute call: the route raises it.
    assert kinds(inv, "BackendTrafficPolicy")["edge-api-agents-traffic"].get("spec.timeout") == {"http": {"streamIdleTimeout": "600s"}}
    assert routes_of(inv)["edge-root"].get("spec.rules.0.timeouts") == {"request": "60s", "backendRequest": "60s"}


def test_streaming_route_has_no_total_timeout_and_no_buffering():
    inv, _ = run_ingress(compyle_ingress())
    assert routes_of(inv)["edge-api-stream"].get("spec.rules.0.timeouts") == {"request": "0s"}
    stream = kinds(inv, "BackendTrafficPolicy")["edge-api-stream-traffic"].get("spec")
    assert "requestBuffer" not in stream
    assert stream["timeout"] == {"http": {"streamIdleTimeout": "60s"}}
    for policy in kinds(inv, "BackendTrafficPolicy").values():
        assert not {"compression", "compressor", "responseOverride"} & set(policy.get("spec")), "a policy must not buffer responses"


def test_every_https_route_sets_hsts_and_security_headers_with_a_standard_filter():
    args = compyle_ingress(headers=SecurityHeaders(hsts_max_age_seconds=63072000, content_security_policy="default-src 'self'", frame_options="DENY"))
    inv, _ = run_ingress(args)
    expected = [
        {"name": "Strict-Transport-Security", "value": "max-age=63072000; includeSubDomains"},
        {"name": "X-Content-Type-Options", "value": "nosniff"},
        {"name": "X-Frame-Options", "value": "DENY"},
        {"name": "Referrer-Policy", "value": "strict-origin-when-cross-origin"},
        {"name": "Content-Security-Policy", "value": "default-src 'self'"},
    ]
    for name, r in routes_of(inv).items():
        if name == "edge-redirect":
            continue
        assert r.get("spec.rules.0.filters") == [{"type": "ResponseHeaderModifier", "responseHeaderModifier": {"set": expected}}], name


def test_security_headers_need_no_controller_configuration():
    # ingress-nginx's custom-headers answered 503 unless the controller listed each header name in
    # global-allowed-response-headers; the standard filter lives in the route itself: no ConfigMap, no annotation.
    inv, _ = run_ingress(compyle_ingress())
    assert inv.of_type("kubernetes:core/v1:ConfigMap") == []
    assert inv.of_type("kubernetes:networking.k8s.io/v1:Ingress") == []
    for r in routes_of(inv).values():
        assert "annotations" not in r.inputs["metadata"]


def test_without_csp_no_csp_header_is_sent():
    filters = routes_of(run_ingress(compyle_ingress())[0])["edge-root"].get("spec.rules.0.filters")
    assert "Content-Security-Policy" not in [h["name"] for h in filters[0]["responseHeaderModifier"]["set"]]


def test_each_route_is_rate_limited_per_client_ip_with_its_own_limit():
    policies = kinds(run_ingress(compyle_ingress())[0], "BackendTrafficPolicy")
    assert set(policies) == {"edge-api-agents-traffic", "edge-api-stream-traffic", "edge-root-traffic"}
    for role, limit in (("api-agents", 60), ("api-stream", 600), ("root", 100)):
        spec = policies[f"edge-{role}-traffic"].get("spec")
        assert spec["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": f"edge-{role}"}]
        assert spec["rateLimit"] == {"type": "Local", "local": {"rules": [
            {"clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": cidr}}], "limit": {"requests": limit, "unit": "Minute"}}
            for cidr in ("0.0.0.0/0", "::/0")]}}


def test_request_body_limit_per_route_answers_413():
    policies = kinds(run_ingress(compyle_ingress())[0], "BackendTrafficPolicy")
    assert policies["edge-api-agents-traffic"].get("spec.requestBuffer") == {"limit": "100Mi"}
    assert policies["edge-root-traffic"].get("spec.requestBuffer") == {"limit": "10Mi"}


def test_client_ip_is_the_real_one_behind_the_cloud_load_balancer():
    inv, _ = run_ingress(compyle_ingress())
    proxy = kinds(inv, "EnvoyProxy")["edge-proxy"].get("spec.provider")
    assert proxy["type"] == "Kubernetes"
    assert proxy["kubernetes"]["envoyService"] == {"type": "LoadBalancer", "externalTrafficPolicy": "Local"}
    assert proxy["kubernetes"]["envoyDeployment"] == {"replicas": 2}
    assert proxy["kubernetes"]["envoyPDB"] == {"minAvailable": 1}
    assert "proxyProtocol" not in kinds(inv, "ClientTrafficPolicy")["edge-client"].get("spec")


def test_proxy_protocol_and_load_balancer_annotations_from_options():
    opts = KubernetesIngressOptions(client_ip="proxy-protocol", proxy_replicas=1,
                                    load_balancer_annotations={"service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": "*"})
    inv, _ = run_ingress(compyle_ingress(kubernetes=opts))
    assert kinds(inv, "ClientTrafficPolicy")["edge-client"].get("spec.proxyProtocol") == {}
    k = kinds(inv, "EnvoyProxy")["edge-proxy"].get("spec.provider.kubernetes")
    assert k["envoyService"]["annotations"] == {"service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": "*"}
    assert "envoyPDB" not in k  # one replica: a PDB would block node drains


def test_tls_minimum_is_1_2_on_the_gateway():
    client = kinds(run_ingress(compyle_ingress())[0], "ClientTrafficPolicy")["edge-client"].get("spec")
    assert client["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge"}]
    assert client["tls"] == {"minVersion": "1.2"}


def test_cors_lists_each_exact_origin_as_its_own_entry():
    origins = ["https://yourdomain.com", "https://www.yourdomain.com"]
    inv, _ = run_ingress(compyle_ingress(cors_origins=origins))
    cors = kinds(inv, "SecurityPolicy")["edge-cors"].get("spec")
    # ingress-nginx got one string joined with ", ", failed its validator and fell back to "*" with credentials.
    assert cors["cors"]["allowOrigins"] == origins
    assert not [o for o in cors["cors"]["allowOrigins"] if "," in o or "*" in o]
    assert {t["name"] for t in cors["targetRefs"]} == {"edge-api-agents", "edge-api-stream", "edge-root"}


def test_without_cors_origins_no_cors_policy():
    assert kinds(run_ingress(compyle_ingress())[0], "SecurityPolicy") == {}


def test_gateway_class_name_and_issuer_come_from_kubernetes_options():
    opts = KubernetesIngressOptions(cluster_issuer="letsencrypt-staging", gateway_class="internal", gateway_name="front")
    inv, _ = run_ingress(compyle_ingress(kubernetes=opts))
    gw = the_gateway(inv)
    assert (gw.get("spec.gatewayClassName"), gw.get("metadata.name")) == ("internal", "front")
    assert gw.inputs["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-staging"
    assert routes_of(inv)["edge-root"].get("spec.parentRefs") == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "front", "sectionName": "https"}]


def test_shared_gateway_mode_creates_no_gateway_and_attaches_across_namespaces():
    shared = SharedGateway(name="public", namespace="gateways", https_section="websecure", http_section="web")
    inv, outputs = run_ingress(compyle_ingress(kubernetes=KubernetesIngressOptions(shared_gateway=shared)))
    assert kinds(inv, "Gateway") == {} and kinds(inv, "EnvoyProxy") == {} and kinds(inv, "ClientTrafficPolicy") == {}
    routes = routes_of(inv)
    assert routes["edge-root"].get("spec.parentRefs") == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "gateways", "name": "public", "sectionName": "websecure"}]
    assert routes["edge-redirect"].get("spec.parentRefs.0.sectionName") == "web"
    assert routes["edge-redirect"].get("spec.parentRefs.0.namespace") == "gateways"
    assert set(kinds(inv, "BackendTrafficPolicy")) == {"edge-api-agents-traffic", "edge-api-stream-traffic", "edge-root-traffic"}
    assert outputs["url"] == ["https://app.example.com/"]


def test_shared_gateway_without_an_http_listener_gets_no_redirect_route():
    shared = SharedGateway(name="public", namespace="gateways", http_section=None)
    assert "edge-redirect" not in routes_of(run_ingress(compyle_ingress(kubernetes=KubernetesIngressOptions(shared_gateway=shared)))[0])


@pytest.mark.parametrize("field, value", [("name", "Public"), ("namespace", "a_b"), ("https_section", "")])
def test_shared_gateway_refuses_names_kubernetes_would_reject(field, value):
    kwargs = {"name": "public", "namespace": "gateways", field: value}
    with pytest.raises(InputError, match=f"shared_gateway.{field}"):
        SharedGateway(**kwargs)


def test_ingress_options_refuse_bad_values():
    with pytest.raises(InputError, match="kubernetes.client_ip"):
        KubernetesIngressOptions(client_ip="xff")
    with pytest.raises(InputError, match="kubernetes.proxy_replicas"):
        KubernetesIngressOptions(proxy_replicas=0)
    with pytest.raises(InputError, match="kubernetes.gateway_name"):
        KubernetesIngressOptions(gateway_name="Edge")


def test_handle_exposes_the_data_plane_labels_for_network_policies():
    handle = []

    def prog():
        edge = TlsIngress("edge", compyle_ingress(), PLATFORM)
        handle.append(edge.handle)

    engine.run(prog)
    h = handle[0]
    assert (h.gateway_name, h.gateway_namespace, h.dataplane_namespace) == ("edge", NS_NAME, "envoy-gateway-system")
    assert h.dataplane_labels == {**GATEWAY_DATAPLANE_LABELS, "gateway.envoyproxy.io/owning-gateway-name": "edge",
                                  "gateway.envoyproxy.io/owning-gateway-namespace": NS_NAME}
    assert GATEWAY_DATAPLANE_LABELS == {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy",
                                        "app.kubernetes.io/managed-by": "envoy-gateway"}
    assert h.route_names == ["edge-api-agents", "edge-api-stream", "edge-root"]


def test_ingress_outputs_the_https_url_and_the_domain():
    _, outputs = run_ingress(compyle_ingress())
    assert outputs == {"url": ["https://app.example.com/"], "hostname": ["app.example.com"]}


def test_ingress_refuses_a_private_service():
    private = service("internal", 8080, public=False)
    with pytest.raises(InputError, match=r"routes\[/\]\.service.*public=True"):
        run_ingress(compyle_ingress(routes=[Route(path="/", service=private)]))


def test_ingress_refuses_a_multi_line_csp():
    with pytest.raises(InputError, match="content_security_policy"):
        run_ingress(compyle_ingress(headers=SecurityHeaders(content_security_policy="default-src 'self'\nscript-src *")))


def test_ingress_refuses_paths_whose_names_collide():
    api = service("api", 8080)
    with pytest.raises(InputError, match="collides"):
        run_ingress(compyle_ingress(routes=[Route(path="/api/v1", service=api), Route(path="/api-v1", service=api, timeout_seconds=5)]))


@pytest.mark.parametrize("path, role", [("/", "root"), ("/api/agents", "api-agents"), ("/api/stream", "api-stream"), ("/v1.2", "v1-2")])
def test_ingress_role_is_derived_from_the_path(path, role):
    assert role_of(path) == role


def test_every_edge_object_is_valid_against_its_crd_and_cel_rules(tmp_path):
    from stacks import manifests

    for opts in (None, KubernetesIngressOptions(shared_gateway=SharedGateway(name="public", namespace="gateways"), client_ip="proxy-protocol")):
        inv, _ = run_ingress(compyle_ingress(kubernetes=opts, cors_origins=["https://app.example.com"]))
        assert manifests.write_and_validate(inv, tmp_path / str(id(opts))) == []


# ------------------------------------------------------------------------------------------------- Autoscaler


def autopr_scaling(**overrides):
    """Seed 001: 2-10 replicas, CPU 75 / memory 80, scale-up 0 s window +100 % or +2 pods per 15 s, scale-down 300 s -50 %/60 s."""
    args = dict(
        service=service("codeflow-engine", 8080), min_replicas=2, max_replicas=10, cpu_percent=75, memory_percent=80,
        scale_up=ScalingPolicy(
            stabilization_window_seconds=0, type="Percent", value=100, period_seconds=15,
            extra=[ScalingPolicy(stabilization_window_seconds=0, type="Pods", value=2, period_seconds=15)],
        ),
        scale_down=ScalingPolicy(stabilization_window_seconds=300, type="Percent", value=50, period_seconds=60),
    )
    args.update(overrides)
    return AutoscalerArgs(**args)


def run_autoscaler(args):
    return engine.run(lambda: Autoscaler("engine-scaling", args, PLATFORM))


def test_hpa_behavior_matches_seed_001():
    hpa = run_autoscaler(autopr_scaling()).named("engine-scaling-hpa")
    assert hpa.type == "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
    assert hpa.get("spec.behavior") == {
        "scaleUp": {
            "stabilizationWindowSeconds": 0, "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}, {"type": "Pods", "value": 2, "periodSeconds": 15}],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 300, "selectPolicy": "Min",
            "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
        },
    }


def test_hpa_targets_the_deployment_with_cpu_and_memory_utilization():
    hpa = run_autoscaler(autopr_scaling()).named("engine-scaling-hpa")
    assert hpa.get("spec.scaleTargetRef") == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "codeflow-engine"}
    assert (hpa.get("spec.minReplicas"), hpa.get("spec.maxReplicas")) == (2, 10)
    assert hpa.get("spec.metrics") == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 75}}},
        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}},
    ]
    assert hpa.get("metadata.namespace") == NS_NAME


def test_queue_trigger_creates_a_keda_scaledobject_and_no_hpa():
    inv = run_autoscaler(autopr_scaling(min_replicas=2, max_replicas=5, cpu_percent=None, memory_percent=None,
                                        queue=QueueTrigger(redis=redis_store(), list_name="workflows")))
    assert inv.of_type("HorizontalPodAutoscaler") == []
    so = inv.named("engine-scaling-scaledobject")
    assert so.type == "kubernetes:keda.sh/v1alpha1:ScaledObject"
    assert so.get("spec.scaleTargetRef.name") == "codeflow-engine"
    assert (so.get("spec.minReplicaCount"), so.get("spec.maxReplicaCount")) == (2, 5)
    assert so.get("spec.triggers") == [{
        "type": "redis", "name": "queue",
        "metadata": {"address": f"cache.{NS_NAME}:6379", "listName": "workflows", "listLength": "100"},
        "authenticationRef": {"name": "engine-scaling-trigger-auth", "kind": "TriggerAuthentication"},
    }]
    assert so.get("spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds") == 300


def test_queue_trigger_reads_the_redis_password_from_its_secret():
    inv = run_autoscaler(autopr_scaling(queue=QueueTrigger(redis=redis_store(), list_name="jobs")))
    auth = inv.named("engine-scaling-trigger-auth")
    assert auth.type == "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"
    assert auth.get("spec") == {"secretTargetRef": [{"parameter": "password", "name": "cache-auth", "key": "password"}]}


def test_queue_trigger_keeps_cpu_and_memory_as_keda_triggers():
    inv = run_autoscaler(autopr_scaling(queue=QueueTrigger(redis=redis_store(), list_name="jobs", target_length=20)))
    triggers = inv.named("engine-scaling-scaledobject").get("spec.triggers")
    assert [t["type"] for t in triggers] == ["redis", "cpu", "memory"]
    assert triggers[0]["metadata"]["listLength"] == "20"
    assert triggers[1] == {"type": "cpu", "name": "cpu", "metricType": "Utilization", "metadata": {"value": "75"}}


def test_queue_trigger_lets_keda_reach_the_redis_pods():
    inv = run_autoscaler(autopr_scaling(queue=QueueTrigger(redis=redis_store(), list_name="jobs")))
    np = inv.named("engine-scaling-keda-redis")
    assert np.get("spec.podSelector.matchLabels") == {"app.kubernetes.io/name": "cache"}
    assert np.get("spec.ingress") == [{
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}},
                  "podSelector": {"matchLabels": {"app.kubernetes.io/name": "keda-operator"}}}],
        "ports": [{"protocol": "TCP", "port": 6379}],
    }]


def test_autoscaler_refuses_request_rate_scaling_on_kubernetes():
    with pytest.raises(InputError, match="requests_per_target.*AWS-only"):
        run_autoscaler(autopr_scaling(requests_per_target=1000))


def test_autoscaler_refuses_scheduled_scaling_on_kubernetes():
    with pytest.raises(InputError, match="schedules.*AWS-only"):
        run_autoscaler(autopr_scaling(schedules=[ScheduledScaling(name="night", schedule="0 20 * * *", min_replicas=1, max_replicas=2)]))


# BackupSchedule (Barman Cloud plugin, Velero): tests/test_k8s_backups.py


# ------------------------------------------------------------------------------------------------- Monitoring


def run_monitoring(**overrides):
    args = dict(
        services=[service("archesai-api", 8080, metrics=Metrics(port=9090, path="/metrics")), service("platform", 3000)],
        thresholds=AlertThresholds(error_rate_percent=5, latency_p95_seconds=1, memory_percent=90),
    )
    args.update(overrides)
    outputs: list = []

    def prog():
        capture(Monitoring("monitoring", MonitoringArgs(**args), PLATFORM).alerts_id, outputs)

    return engine.run(prog), outputs


def test_service_monitor_only_for_services_exposing_metrics():
    inv, _ = run_monitoring()
    monitors = inv.of_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
    assert [m.name for m in monitors] == ["monitoring-archesai-api"]
    assert monitors[0].get("spec") == {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "archesai-api"}},
        "namespaceSelector": {"matchNames": [NS_NAME]},
        "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s", "scheme": "http"}],
    }


def test_prometheus_rule_has_the_seed_004_alerts_with_thresholds():
    inv, outputs = run_monitoring()
    rule = inv.named("monitoring-alerts")
    assert outputs == ["monitoring-alerts"]
    rules = {r["alert"]: r for r in rule.get("spec.groups.0.rules")}
    assert {"HighErrorRate", "HighLatency", "HighMemoryUsage"} <= set(rules)
    assert rules["HighErrorRate"]["for"] == "5m" and rules["HighErrorRate"]["expr"].endswith("> 0.05")
    assert 'status=~"5.."' in rules["HighErrorRate"]["expr"]
    assert rules["HighLatency"]["for"] == "10m"
    assert rules["HighLatency"]["expr"].startswith("histogram_quantile(0.95,") and rules["HighLatency"]["expr"].endswith("> 1")
    assert "container_memory_working_set_bytes" in rules["HighMemoryUsage"]["expr"] and rules["HighMemoryUsage"]["expr"].endswith("> 0.9")
    for r in rules.values():
        assert r["labels"]["severity"] in ("warning", "critical")
        assert r["annotations"]["summary"] and r["annotations"]["description"]


def test_prometheus_rule_is_scoped_to_the_app_namespace():
    rule = run_monitoring()[0].named("monitoring-alerts")
    assert rule.get("metadata.namespace") == NS_NAME
    for r in rule.get("spec.groups.0.rules"):
        assert f'namespace="{NS_NAME}"' in r["expr"]


# ----------------------------------------------------------------------------------------------- ClusterAddons


def run_addons(platform=PLATFORM, **overrides):
    args = dict(acme_email="ops@example.com")
    args.update(overrides)
    outputs: list = []

    def prog():
        capture(ClusterAddons("addons", ClusterAddonsArgs(**args), platform).installed, outputs)

    return engine.run(prog), outputs


ADDONS = ("gateway-crds", "envoy-gateway", "cert-manager", "cloudnative-pg", "plugin-barman-cloud", "velero", "keda", "prometheus-operator-crds")


def releases(inv):
    return {r.name.removeprefix("addons-"): r for r in inv.of_type("kubernetes:helm.sh/v3:Release")}


def test_addons_are_pinned_helm_releases_in_their_own_namespaces():
    inv, outputs = run_addons()
    found = releases(inv)
    assert set(found) == set(ADDONS)
    assert outputs == [list(ADDONS)]
    pinned = {a: (r.get("chart"), r.get("version"), r.get("namespace")) for a, r in found.items()}
    assert pinned == {
        "gateway-crds": ("oci://docker.io/envoyproxy/gateway-crds-helm", "v1.9.3", "envoy-gateway-system"),
        "envoy-gateway": ("oci://docker.io/envoyproxy/gateway-helm", "v1.9.3", "envoy-gateway-system"),
        "cert-manager": ("cert-manager", "v1.21.1", "cert-manager"),
        "cloudnative-pg": ("cloudnative-pg", "0.29.0", "cnpg-system"),
        "plugin-barman-cloud": ("plugin-barman-cloud", "0.8.0", "cnpg-system"),
        "velero": ("velero", "12.1.0", "velero"),
        "keda": ("keda", "2.20.2", "keda"),
        "prometheus-operator-crds": ("prometheus-operator-crds", "31.0.0", "monitoring"),
    }
    assert found["cert-manager"].get("repositoryOpts.repo") == "https://charts.jetstack.io"
    assert found["velero"].get("repositoryOpts.repo") == "https://vmware-tanzu.github.io/helm-charts"
    assert found["envoy-gateway"].get("repositoryOpts") is None  # OCI chart
    for r in found.values():
        assert r.get("createNamespace") is True and r.get("atomic") is True


def test_addons_install_no_ingress_nginx():
    inv, outputs = run_addons()
    assert not [r for r in inv.resources if "nginx" in r.name or "nginx" in str(r.inputs.get("chart", ""))]
    assert "ingress-nginx" not in outputs[0]


def test_addons_gateway_api_crds_come_from_the_standard_channel_once():
    found = releases(run_addons()[0])
    assert found["gateway-crds"].get("values") == {"crds": {"gatewayAPI": {"enabled": True, "channel": "standard"}, "envoyGateway": {"enabled": True}}}
    assert found["envoy-gateway"].get("skipCrds") is True  # the gateway-crds release owns them


def test_addons_create_the_envoy_gateway_gatewayclass():
    gc = run_addons()[0].named("addons-gateway-class")
    assert gc.type == "kubernetes:gateway.networking.k8s.io/v1:GatewayClass"
    assert gc.get("metadata.name") == "eg"
    assert gc.get("spec.controllerName") == "gateway.envoyproxy.io/gatewayclass-controller"


def test_addons_cert_manager_has_gateway_api_support():
    values = releases(run_addons()[0])["cert-manager"].get("values")
    assert values["config"] == {"apiVersion": "controller.config.cert-manager.io/v1alpha1", "kind": "ControllerConfiguration", "enableGatewayAPI": True}
    assert values["crds"] == {"enabled": True}


def test_addons_install_in_dependency_order():
    inv, _ = run_addons()
    urn = {a: r.urn for a, r in releases(inv).items()}
    deps = {a: set(r.dependencies) for a, r in releases(inv).items()}
    assert urn["gateway-crds"] in deps["envoy-gateway"] and urn["gateway-crds"] in deps["cert-manager"]
    assert {urn["cloudnative-pg"], urn["cert-manager"]} <= deps["plugin-barman-cloud"]


def test_addons_barman_cloud_plugin_image_is_pinned():
    values = releases(run_addons()[0])["plugin-barman-cloud"].get("values")
    assert values == {"image": {"tag": "v0.14.0"}, "sidecarImage": {"tag": "v0.14.0"}}


def test_addons_velero_runs_the_node_agent_and_backs_up_to_the_stack_bucket():
    values = releases(run_addons(backup_bucket="s3://demo-backups/prod", backup_endpoint_url="https://minio.example.com")[0])["velero"].get("values")
    assert values["deployNodeAgent"] is True
    assert values["snapshotsEnabled"] is False
    assert values["initContainers"][0]["image"] == "velero/velero-plugin-for-aws:v1.14.2"
    assert values["credentials"] == {"useSecret": True, "existingSecret": "velero-s3-credentials"}
    assert values["configuration"]["backupStorageLocation"] == [{
        "name": "default", "provider": "aws", "bucket": "demo-backups", "default": True, "prefix": "prod/velero",
        "config": {"region": "us-east-1", "s3Url": "https://minio.example.com", "s3ForcePathStyle": "true"}}]


def test_addons_velero_without_a_bucket_creates_no_location():
    values = releases(run_addons()[0])["velero"].get("values")
    assert values["backupsEnabled"] is False and "configuration" not in values


def test_addons_cluster_issuer_solves_http01_through_the_stacks_gateway():
    issuer = run_addons()[0].named("addons-cluster-issuer")
    assert issuer.type == "kubernetes:cert-manager.io/v1:ClusterIssuer"
    assert issuer.get("metadata.name") == "letsencrypt-prod"
    assert issuer.get("spec.acme.email") == "ops@example.com"
    assert issuer.get("spec.acme.server") == "https://acme-v02.api.letsencrypt.org/directory"
    # No namespace: the challenge route's own namespace, i.e. each stack's Gateway "edge"; never an ingress class.
    assert issuer.get("spec.acme.solvers") == [{"http01": {"gatewayHTTPRoute": {"parentRefs": [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge", "sectionName": "http"}]}}}]


def test_addons_cluster_issuer_can_solve_through_a_shared_gateway():
    issuer = run_addons(http01_gateway="public", http01_gateway_namespace="gateways")[0].named("addons-cluster-issuer")
    assert issuer.get("spec.acme.solvers.0.http01.gatewayHTTPRoute.parentRefs.0") == {
        "group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public", "namespace": "gateways", "sectionName": "http"}


def test_addons_default_http01_gateway_is_the_tls_ingress_gateway_name():
    assert ClusterAddonsArgs().http01_gateway == KubernetesIngressOptions().gateway_name
    assert ClusterAddonsArgs().gateway_class == KubernetesIngressOptions().gateway_class
    assert ClusterAddonsArgs().cluster_issuer == KubernetesIngressOptions().cluster_issuer


def test_addons_without_cert_manager_create_no_issuer():
    inv, outputs = run_addons(cert_manager=False, cloudnative_pg=False, acme_email=None)
    assert inv.of_type("ClusterIssuer") == []
    assert "cert-manager" not in outputs[0] and "plugin-barman-cloud" not in outputs[0]


def test_addons_refuse_the_barman_plugin_without_cert_manager():
    with pytest.raises(InputError, match="cluster_addons.cert_manager.*Barman Cloud plugin"):
        ClusterAddonsArgs(cert_manager=False)


def test_addons_without_an_acme_email_register_an_account_without_contact():
    issuer = run_addons(acme_email=None)[0].named("addons-cluster-issuer")
    assert "email" not in issuer.get("spec.acme")


def test_addons_refuse_a_malformed_acme_email():
    with pytest.raises(InputError, match="acme_email"):
        ClusterAddonsArgs(acme_email="ops at example")


@pytest.mark.parametrize("field, value", [("backup_bucket", "demo-backups"), ("backup_endpoint_url", "http://minio:9000")])
def test_addons_refuse_bad_backup_locations(field, value):
    with pytest.raises(InputError, match=f"cluster_addons.{field}"):
        ClusterAddonsArgs(**{field: value})


@pytest.mark.parametrize("cloud", [Cloud.AWS, Cloud.GCP, Cloud.AZURE])
def test_addons_are_refused_on_managed_clouds(cloud):
    with pytest.raises(BackendNotAvailable, match="ClusterAddons component has no"):
        run_addons(platform=Platform(cloud=cloud, app="demo", stack="prod"))


# ------------------------------------------------------------------------------------------- stack check pass


def test_validators_accept_placeholders_whose_handles_are_not_known_yet():
    # The stack's check pass validates every Args before anything exists: components are placeholders then.
    from components.autoscaler import _k8s as autoscaler_k8s
    from components.backup_schedule import _k8s as backup_k8s
    from components.monitoring import _k8s as monitoring_k8s
    from components.tls_ingress import _k8s as ingress_k8s

    placeholder = NS(handle=None, link=None)
    ingress_k8s.validate(TlsIngressArgs(network=placeholder, domain="app.example.com", routes=[Route(path="/", service=placeholder)]), PLATFORM)
    autoscaler_k8s.validate(AutoscalerArgs(service=placeholder, min_replicas=1, max_replicas=3,
                                           queue=QueueTrigger(redis=placeholder, list_name="jobs")), PLATFORM)
    backup_k8s.validate(BackupScheduleArgs(database=placeholder, volumes=[VolumeBackup(service=placeholder, volume="data", schedule="0 4 * * 0")]), PLATFORM)
    monitoring_k8s.validate(MonitoringArgs(services=[placeholder]), PLATFORM)
