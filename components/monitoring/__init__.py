"""Monitoring: metrics scraping and the alerts every production service needs, routed to people.

| cloud | implementation | alerts |
|---|---|---|
| aws | CloudWatch alarms per service (CPU, memory, ALB 5xx rate, p95 target response time) and per data store (RDS CPU, free storage, Redis memory) to an SNS topic | SNS email subscriptions |
| gcp | Cloud Monitoring alert policies per service (5xx ratio, p95 latency, instances at max) and per data store (Cloud SQL CPU and disk, Redis memory) | email notification channels |
| azure | Azure Monitor metric alerts + action group | action group emails |
| kubernetes | ServiceMonitor per service exposing metrics, PrometheusRule with HighErrorRate / HighLatency / HighMemoryUsage | Alertmanager routes (cluster-wide) |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

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
    """The alert rule set: PrometheusRule name (kubernetes) or SNS topic ARN (aws)."""
