"""Monitoring on Kubernetes: Prometheus Operator ServiceMonitors and one PrometheusRule.

Every object carries the labels the cluster's Prometheus selects (``KubernetesMonitoringOptions.labels``, from
the stack's ``prodkit:monitoringLabels``; default ``release: kube-prometheus-stack``, what a stock
kube-prometheus-stack's serviceMonitorSelector, podMonitorSelector and ruleSelector match).

- ``{name}-{service}``: a ServiceMonitor (monitoring.coreos.com/v1) per WebService that exposes metrics. It
  selects the service's Service by the WebService's selector labels and scrapes its port named ``metrics``
  every 30 s at the configured path.
- ``{name}-{store}``: a PodMonitor per CloudNativePG cluster among the stores, scraping the instances' ``metrics``
  port (9187). The operator's own ``enablePodMonitor`` is deprecated and cannot carry these labels.
- ``{name}-alerts``: a PrometheusRule with HighErrorRate (share of 5xx responses), HighLatency (p95 from the
  ``http_request_duration_seconds`` histogram), HighMemoryUsage and HighCpu (working set / CPU use against the
  container limits, from cAdvisor and kube-state-metrics). Every expression is scoped to the app's namespace, so
  the rule cannot fire for another tenant's pods. Routing to people is Alertmanager's job (cluster-wide).

The HTTP alerts assume the conventional metric names the seeds use (``http_requests_total`` with a ``status``
label, ``http_request_duration_seconds``); resource alerts cover every container of the namespace, data stores
included.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pulumi
from .._core import kube as k8s

from .._core import Cloud, InputError, Platform, options_for
from . import AlertThresholds, KubernetesMonitoringOptions, MonitoringArgs

COMPONENT = "monitoring"
SCRAPE_INTERVAL = "30s"
METRICS_PORT_NAME = "metrics"


def validate(args: MonitoringArgs, platform: Platform) -> None:
    namespaces = set()
    for svc in args.services:
        handle = getattr(svc, "handle", None)
        if handle is None:  # placeholder in the stack's check pass; checked again when built
            continue
        if not getattr(handle, "namespace", None):
            raise InputError("monitoring.services", type(svc).__name__, "pass WebService components")
        if isinstance(handle.namespace, str):
            namespaces.add(handle.namespace)
    if len(namespaces) > 1:
        raise InputError("monitoring.services", sorted(namespaces), "watch services of one namespace (one Network) per Monitoring")


def _metadata(platform: Platform, name: str, namespace: Any, selected_by: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "labels": {**platform.labels(COMPONENT), **platform.k8s_labels(COMPONENT, name), **(selected_by or {})},
    }


def _number(value: float) -> str:
    """PromQL literal without float noise: 0.05, 1, 2.5."""
    return f"{value:g}"


def alert_rules(namespace: str, t: AlertThresholds) -> list[dict[str, Any]]:
    """The four alerts, scoped to `namespace` (a plain string: PromQL is built as text)."""
    ns = f'namespace="{namespace}"'
    containers = f'{ns}, container!="", container!="POD"'
    return [
        {
            "alert": "HighErrorRate",
            "expr": (
                f'sum by (namespace, service) (rate(http_requests_total{{{ns}, status=~"5.."}}[5m]))\n'
                f"/\nsum by (namespace, service) (rate(http_requests_total{{{ns}}}[5m]))\n"
                f"> {_number(t.error_rate_percent / 100)}"
            ),
            "for": "5m",
            "labels": {"severity": "critical"},
            "annotations": {
                "summary": "High error rate on {{ $labels.service }}",
                "description": (
                    f"More than {_number(t.error_rate_percent)}% of requests to {{{{ $labels.service }}}} in "
                    "{{ $labels.namespace }} failed with 5xx for 5 minutes (now {{ $value | humanizePercentage }})."
                ),
            },
        },
        {
            "alert": "HighLatency",
            "expr": (
                "histogram_quantile(0.95,\n"
                f"  sum by (namespace, service, le) (rate(http_request_duration_seconds_bucket{{{ns}}}[5m]))\n"
                f") > {_number(t.latency_p95_seconds)}"
            ),
            "for": "10m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "High p95 latency on {{ $labels.service }}",
                "description": (
                    f"95th percentile latency of {{{{ $labels.service }}}} has been above {_number(t.latency_p95_seconds)}s "
                    "for 10 minutes (now {{ $value | humanizeDuration }})."
                ),
            },
        },
        {
            "alert": "HighMemoryUsage",
            "expr": (
                f"max by (namespace, pod, container) (container_memory_working_set_bytes{{{containers}}})\n"
                "/ on (namespace, pod, container)\n"
                f'max by (namespace, pod, container) (kube_pod_container_resource_limits{{{ns}, resource="memory"}})\n'
                f"> {_number(t.memory_percent / 100)}"
            ),
            "for": "5m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "Container {{ $labels.container }} of {{ $labels.pod }} is close to its memory limit",
                "description": (
                    f"Working set above {t.memory_percent}% of the memory limit for 5 minutes "
                    "(now {{ $value | humanizePercentage }}); the container will be OOM-killed at 100%."
                ),
            },
        },
        {
            "alert": "HighCpu",
            "expr": (
                f"sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{{{containers}}}[5m]))\n"
                "/ on (namespace, pod, container)\n"
                f'max by (namespace, pod, container) (kube_pod_container_resource_limits{{{ns}, resource="cpu"}})\n'
                f"> {_number(t.cpu_percent / 100)}"
            ),
            "for": "5m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "Container {{ $labels.container }} of {{ $labels.pod }} is using most of its CPU limit",
                "description": (
                    f"CPU use above {t.cpu_percent}% of the limit for 5 minutes (now {{{{ $value | humanizePercentage }}}}); "
                    "requests are being throttled."
                ),
            },
        },
    ]


def build(name: str, args: MonitoringArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    selected_by = dict(options_for(args, Cloud.KUBERNETES, KubernetesMonitoringOptions).labels)
    namespace = args.services[0].handle.namespace
    monitors = []
    for svc in args.services:
        handle = svc.handle
        metrics = getattr(handle, "metrics", None)
        if metrics is None:
            continue
        sm_name = f"{name}-{handle.name}"
        monitors.append(sm_name)
        k8s.apiextensions.CustomResource(
            sm_name,
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata=_metadata(platform, sm_name, handle.namespace, selected_by),
            spec={
                "selector": {"matchLabels": handle.selector},
                "namespaceSelector": {"matchNames": [handle.namespace]},
                "endpoints": [{"port": METRICS_PORT_NAME, "path": metrics.path, "interval": SCRAPE_INTERVAL, "scheme": "http"}],
            },
            opts=child,
        )

    for store in args.stores:
        handle = getattr(store, "handle", None)
        instances = getattr(handle, "instances", None)
        if not getattr(handle, "cluster_name", None) or not instances:
            continue  # Redis exposes no exporter
        pm_name = f"{name}-{handle.cluster_name}"
        monitors.append(pm_name)
        k8s.apiextensions.CustomResource(
            pm_name,
            api_version="monitoring.coreos.com/v1",
            kind="PodMonitor",
            metadata=_metadata(platform, pm_name, handle.namespace, selected_by),
            spec={
                "selector": {"matchLabels": dict(instances)},
                "namespaceSelector": {"matchNames": [handle.namespace]},
                "podMetricsEndpoints": [{"port": METRICS_PORT_NAME, "interval": SCRAPE_INTERVAL}],
            },
            opts=child,
        )

    rule_name = f"{name}-alerts"
    groups = pulumi.Output.from_input(namespace).apply(
        lambda ns: [{"name": f"{platform.app}.rules", "rules": alert_rules(ns, args.thresholds)}]
    )
    k8s.apiextensions.CustomResource(
        rule_name,
        api_version="monitoring.coreos.com/v1",
        kind="PrometheusRule",
        metadata=_metadata(platform, rule_name, namespace, selected_by),
        spec={"groups": groups},
        opts=child,
    )
    return {
        "alerts_id": rule_name,
        "handle": SimpleNamespace(namespace=namespace, service_monitors=monitors, prometheus_rule=rule_name),
    }
