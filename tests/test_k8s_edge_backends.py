"""Kubernetes backends of TlsIngress, Autoscaler, BackupSchedule, Monitoring and ClusterAddons.

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
from components.tls_ingress import KubernetesIngressOptions
from components.tls_ingress._k8s import role_of
from stacks import engine

NS_NAME = "demo-prod"
PLATFORM = Platform(cloud=Cloud.KUBERNETES, app="demo", stack="prod")
NGINX = "nginx.ingress.kubernetes.io"


def network():
    return NS(handle=NS(namespace=NS_NAME, ingress_namespace="ingress-nginx", monitoring_namespace="monitoring"))


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


def ingresses(inv):
    return {r.name: r for r in inv.of_type("kubernetes:networking.k8s.io/v1:Ingress")}


def test_ingress_routes_with_different_annotations_become_separate_ingresses_named_by_path():
    inv, _ = run_ingress(compyle_ingress())
    assert set(ingresses(inv)) == {"edge-root", "edge-api-agents", "edge-api-stream"}
    for name, r in ingresses(inv).items():
        assert r.get("metadata.name") == name
        assert r.get("metadata.namespace") == NS_NAME
        assert r.get("metadata.labels.app.kubernetes.io/component") is None  # dotted keys are not nested
        assert r.inputs["metadata"]["labels"]["app.kubernetes.io/component"] == "tls-ingress"


def test_ingress_routes_with_identical_settings_share_one_ingress():
    api = service("api", 8080)
    inv, _ = run_ingress(compyle_ingress(routes=[Route(path="/", service=api), Route(path="/health", service=api)]))
    assert list(ingresses(inv)) == ["edge-root"]
    paths = [p["path"] for p in ingresses(inv)["edge-root"].get("spec.rules.0.http.paths")]
    assert paths == ["/health", "/"]  # longest prefix first


def test_ingress_long_route_gets_its_timeouts_rate_limit_and_body_size():
    ann = ingresses(run_ingress(compyle_ingress())[0])["edge-api-agents"].inputs["metadata"]["annotations"]
    assert ann[f"{NGINX}/proxy-read-timeout"] == "600"
    assert ann[f"{NGINX}/proxy-send-timeout"] == "600"
    assert ann[f"{NGINX}/limit-rpm"] == "60"
    assert ann[f"{NGINX}/limit-burst-multiplier"] == "1"
    assert ann[f"{NGINX}/proxy-body-size"] == "100m"


def test_ingress_streaming_route_turns_buffering_off_and_others_keep_it():
    found = ingresses(run_ingress(compyle_ingress())[0])
    stream = found["edge-api-stream"].inputs["metadata"]["annotations"]
    assert stream[f"{NGINX}/proxy-buffering"] == "off"
    assert stream[f"{NGINX}/proxy-request-buffering"] == "off"
    assert f"{NGINX}/proxy-buffering" not in found["edge-root"].inputs["metadata"]["annotations"]


def test_ingress_every_object_redirects_to_https_and_serves_the_tls_secret():
    for r in ingresses(run_ingress(compyle_ingress())[0]).values():
        ann = r.inputs["metadata"]["annotations"]
        assert ann[f"{NGINX}/ssl-redirect"] == "true"
        assert ann[f"{NGINX}/force-ssl-redirect"] == "true"
        assert r.get("spec.tls") == [{"hosts": ["app.example.com"], "secretName": "edge-tls"}]
        assert r.get("spec.ingressClassName") == "nginx"
        assert r.get("spec.rules.0.host") == "app.example.com"


def test_ingress_only_the_primary_object_asks_cert_manager_for_the_shared_certificate():
    found = ingresses(run_ingress(compyle_ingress())[0])
    annotated = [n for n, r in found.items() if "cert-manager.io/cluster-issuer" in r.inputs["metadata"]["annotations"]]
    assert annotated == ["edge-root"]
    assert found["edge-root"].inputs["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"


def test_ingress_class_and_issuer_come_from_kubernetes_options():
    opts = KubernetesIngressOptions(cluster_issuer="letsencrypt-staging", ingress_class="internal")
    root = ingresses(run_ingress(compyle_ingress(kubernetes=opts))[0])["edge-root"]
    assert root.get("spec.ingressClassName") == "internal"
    assert root.inputs["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-staging"


def test_ingress_security_headers_come_from_a_configmap_referenced_by_custom_headers():
    args = compyle_ingress(headers=SecurityHeaders(hsts_max_age_seconds=63072000, content_security_policy="default-src 'self'", frame_options="DENY"))
    inv, _ = run_ingress(args)
    cm = inv.named("edge-headers")
    assert cm.type == "kubernetes:core/v1:ConfigMap"
    assert cm.get("data") == {
        "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Content-Security-Policy": "default-src 'self'",
    }
    for r in ingresses(inv).values():
        ann = r.inputs["metadata"]["annotations"]
        assert ann[f"{NGINX}/custom-headers"] == f"{NS_NAME}/edge-headers"
        assert f"{NGINX}/configuration-snippet" not in ann


def test_ingress_without_csp_sends_no_csp_header():
    inv, _ = run_ingress(compyle_ingress())
    assert "Content-Security-Policy" not in inv.named("edge-headers").get("data")


def test_ingress_cors_annotations_list_the_allowed_origins():
    inv, _ = run_ingress(compyle_ingress(cors_origins=["https://yourdomain.com", "https://www.yourdomain.com"]))
    ann = ingresses(inv)["edge-root"].inputs["metadata"]["annotations"]
    assert ann[f"{NGINX}/enable-cors"] == "true"
    assert ann[f"{NGINX}/cors-allow-origin"] == "https://yourdomain.com, https://www.yourdomain.com"


def test_ingress_without_cors_origins_enables_no_cors():
    ann = ingresses(run_ingress(compyle_ingress())[0])["edge-root"].inputs["metadata"]["annotations"]
    assert f"{NGINX}/enable-cors" not in ann


def test_ingress_backends_use_the_service_handle_name_and_port():
    found = ingresses(run_ingress(compyle_ingress())[0])
    assert found["edge-api-agents"].get("spec.rules.0.http.paths.0") == {
        "path": "/api/agents", "pathType": "Prefix",
        "backend": {"service": {"name": "fastapi-svc", "port": {"number": 8000}}},
    }
    assert found["edge-root"].get("spec.rules.0.http.paths.0.backend.service") == {"name": "nextjs-svc", "port": {"number": 3000}}


def test_ingress_outputs_the_https_url_and_the_domain():
    _, outputs = run_ingress(compyle_ingress())
    assert outputs == {"url": ["https://app.example.com/"], "hostname": ["app.example.com"]}


def test_ingress_refuses_a_private_service():
    private = service("internal", 8080, public=False)
    with pytest.raises(InputError, match=r"routes\[/\]\.service.*public=True"):
        run_ingress(compyle_ingress(routes=[Route(path="/", service=private)]))


def test_ingress_refuses_a_csp_nginx_would_reject():
    with pytest.raises(InputError, match="content_security_policy"):
        run_ingress(compyle_ingress(headers=SecurityHeaders(content_security_policy="default-src 'self'\nscript-src *")))


def test_ingress_refuses_paths_whose_names_collide():
    api = service("api", 8080)
    with pytest.raises(InputError, match="collides"):
        run_ingress(compyle_ingress(routes=[Route(path="/api/v1", service=api), Route(path="/api-v1", service=api, timeout_seconds=5)]))


@pytest.mark.parametrize("path, role", [("/", "root"), ("/api/agents", "api-agents"), ("/api/stream", "api-stream"), ("/v1.2", "v1-2")])
def test_ingress_role_is_derived_from_the_path(path, role):
    assert role_of(path) == role


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


def test_addons_are_pinned_helm_releases_in_their_own_namespaces():
    inv, outputs = run_addons()
    releases = {r.name: r for r in inv.of_type("kubernetes:helm.sh/v3:Release")}
    assert set(releases) == {f"addons-{a}" for a in ("ingress-nginx", "cert-manager", "cloudnative-pg", "keda", "prometheus-operator-crds")}
    assert outputs == [["ingress-nginx", "cert-manager", "cloudnative-pg", "keda", "prometheus-operator-crds"]]
    cm = releases["addons-cert-manager"]
    assert (cm.get("chart"), cm.get("version"), cm.get("namespace")) == ("cert-manager", "v1.21.1", "cert-manager")
    assert cm.get("repositoryOpts.repo") == "https://charts.jetstack.io"
    for r in releases.values():
        assert r.get("createNamespace") is True
        assert r.get("version")


def test_addons_ingress_controller_allows_the_tls_ingress_headers_and_no_snippets():
    config = run_addons()[0].named("addons-ingress-nginx").get("values.controller.config")
    assert config["allow-snippet-annotations"] == "false"
    assert set(config["global-allowed-response-headers"].split(",")) >= {"Strict-Transport-Security", "X-Content-Type-Options", "Content-Security-Policy"}


def test_addons_cluster_issuer_uses_acme_http01_through_nginx():
    issuer = run_addons()[0].named("addons-cluster-issuer")
    assert issuer.type == "kubernetes:cert-manager.io/v1:ClusterIssuer"
    assert issuer.get("metadata.name") == "letsencrypt-prod"
    assert issuer.get("spec.acme.email") == "ops@example.com"
    assert issuer.get("spec.acme.server") == "https://acme-v02.api.letsencrypt.org/directory"
    assert issuer.get("spec.acme.solvers") == [{"http01": {"ingress": {"ingressClassName": "nginx"}}}]


def test_addons_without_cert_manager_create_no_issuer():
    inv, outputs = run_addons(cert_manager=False, acme_email=None)
    assert inv.of_type("ClusterIssuer") == []
    assert "cert-manager" not in outputs[0]


def test_addons_without_an_acme_email_register_an_account_without_contact():
    issuer = run_addons(acme_email=None)[0].named("addons-cluster-issuer")
    assert "email" not in issuer.get("spec.acme")


def test_addons_refuse_a_malformed_acme_email():
    with pytest.raises(InputError, match="acme_email"):
        ClusterAddonsArgs(acme_email="ops at example")


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
