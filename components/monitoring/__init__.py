"""Monitoring: metrics scraping and the alerts every production service needs, routed to people.

| cloud | implementation | alerts |
|---|---|---|
| aws | CloudWatch alarms per service (CPU, memory, ALB 5xx rate, p95 target response time, queue metric missing for queue-scaled services) and per data store (RDS CPU, free storage, Redis memory) to an SNS topic encrypted with the stack's KMS key | SNS email subscriptions |
| gcp | Cloud Monitoring alert policies per service (5xx ratio, p95 latency, instances at max) and per data store (Cloud SQL CPU and disk, Redis memory) | email notification channels |
| azure | Azure Monitor metric alerts per Container App (CPU, memory, restarts), per Flexible Server (CPU, storage) and Managed Redis (memory), and on the Front Door profile (5xx share, latency) when an ingress is given | action group with one email receiver per address |
| kubernetes | ServiceMonitor per service exposing metrics, PrometheusRule with HighErrorRate / HighLatency / HighMemoryUsage / HighCpu, labelled for the cluster's Prometheus selectors (default `release: kube-prometheus-stack`) | Alertmanager routes (cluster-wide) |
"""

from __future__ import annotations

from dataclasses import dataclass
import re
from dataclasses import field
from typing import Any, Mapping, Sequence

import pulumi

from .._core import Component, InputError
from .._core.units import in_range


@dataclass(frozen=True, kw_only=True)
class AlertThresholds:
    """When to page."""

    error_rate_percent: float = 5.0
    """HighErrorRate: 5xx responses above this share for 5 minutes. Default: 5 %."""
    latency_p95_seconds: float = 2.0
    """HighLatency: p95 latency above this for 10 minutes. Default: 2 s."""
    memory_percent: int = 90
    """HighMemoryUsage: memory above this share of the limit for 5 minutes. Default: 90 %."""
    cpu_percent: int = 80
    """HighCpu: CPU above this share for 5 minutes. Default: 80 %."""

    def __post_init__(self) -> None:
        in_range("alerts.error_rate_percent", self.error_rate_percent, 0.1, 100, "%")
        in_range("alerts.latency_p95_seconds", self.latency_p95_seconds, 0.01, 600, "s")
        in_range("alerts.memory_percent", self.memory_percent, 10, 100, "%")
        in_range("alerts.cpu_percent", self.cpu_percent, 10, 100, "%")


_LABEL = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
#: What a stock kube-prometheus-stack selects: its Prometheus's serviceMonitorSelector, podMonitorSelector and
#: ruleSelector match `release: <helm release name>` (the chart's `*SelectorNilUsesHelmValues` defaults), and
#: the release is conventionally named kube-prometheus-stack.
DEFAULT_MONITORING_LABELS = {"release": "kube-prometheus-stack"}


@dataclass(frozen=True, kw_only=True)
class KubernetesMonitoringOptions:
    """Kubernetes-only settings of Monitoring (Prometheus Operator objects)."""

    labels: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_MONITORING_LABELS))
    """Labels on every ServiceMonitor, PodMonitor and PrometheusRule, matching the cluster Prometheus's
    serviceMonitorSelector / podMonitorSelector / ruleSelector (a monitor it does not select is never scraped).
    Default: {"release": "kube-prometheus-stack"}."""

    def __post_init__(self) -> None:
        for key, value in self.labels.items():
            if not isinstance(key, str) or not _LABEL.match(key):
                raise InputError("monitoring.kubernetes.labels", key, "allowed: Kubernetes label keys ([prefix/]name)")
            if not isinstance(value, str) or not _VALUE.match(value):
                raise InputError(f"monitoring.kubernetes.labels.{key}", value, "allowed: a label value (at most 63 letters, digits, '-', '_', '.')")


@dataclass(frozen=True, kw_only=True)
class AzureMonitoringOptions:
    """Azure-only settings of Monitoring."""

    ingress: Any = None
    """The TlsIngress (Front Door) whose 5xx share and latency the error-rate and latency alerts watch. Default:
    none (only per-service CPU, memory and restart alerts)."""


@dataclass(frozen=True, kw_only=True)
class MonitoringArgs:
    """Arguments of :class:`Monitoring`."""

    services: Sequence[Any]
    """WebServices to watch. Required (at least one)."""
    stores: Sequence[Any] = ()
    """ManagedPostgres / ManagedRedis to watch. Default: none."""
    thresholds: AlertThresholds = AlertThresholds()
    """Alert thresholds. Default: AlertThresholds()."""
    notify_emails: Sequence[str] = ()
    """Who gets alerts (managed clouds). Default: nobody (alerts visible in the console only)."""
    kubernetes: KubernetesMonitoringOptions | None = None
    """Kubernetes-only options. Default: KubernetesMonitoringOptions() on Kubernetes; an error on other clouds."""
    azure: AzureMonitoringOptions | None = None
    """Azure-only options. Default: AzureMonitoringOptions() on Azure; an error on other clouds."""

    def __post_init__(self) -> None:
        if not self.services:
            raise InputError("monitoring.services", [], "watch at least one service")
        for email in self.notify_emails:
            if "@" not in str(email):
                raise InputError("alerts.notify_emails", email, "allowed: email addresses")


class Monitoring(Component):
    """Scraping and alerting for the app.

    Example: ``Monitoring("monitoring", MonitoringArgs(services=[api], stores=[db]), platform)``

    Cost: AWS $0.10 per alarm-month + SNS; GCP alert policy conditions; Kubernetes the Prometheus storage.
    """

    ARGS = MonitoringArgs
    OUTPUTS = ("alerts_id",)

    alerts_id: pulumi.Output[str]
    """The alert rule set: PrometheusRule name (kubernetes), SNS topic ARN (aws) or action group id (azure)."""
