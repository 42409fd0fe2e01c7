"""Azure backend of Monitoring: Azure Monitor metric alerts and one action group.

What it creates:

* an action group (global) with one email receiver per ``notify_emails`` address (common alert schema);
* per WebService (Container App, namespace ``Microsoft.App/containerApps``): HighCpu (``CpuPercentage`` average >
  ``cpu_percent`` over 5 minutes), HighMemoryUsage (``MemoryPercentage`` > ``memory_percent``), Restarts
  (``RestartCount`` total > 3 in 15 minutes);
* per ManagedPostgres (``Microsoft.DBforPostgreSQL/flexibleServers``): HighCpu (``cpu_percent``) and LowStorage
  (``storage_percent`` > 85);
* per ManagedRedis (``Microsoft.Cache/redisEnterprise``, 5-minute metric grain): HighMemoryUsage (``usedmemorypercentage``
  maximum > ``memory_percent`` over 15 minutes, evaluated every 5);
* with ``azure.ingress`` (the Front Door): HighErrorRate (``Percentage5XX`` > ``error_rate_percent`` over 5 minutes)
  and HighLatency (``TotalLatency`` average > ``latency_p95_seconds``; Azure Monitor metric alerts have no
  percentile aggregation, so the p95 threshold is applied to the average: stricter, never looser).

Log Analytics retention (the profile's log retention) is set on the Network's workspace.

Cost: $0.10 per monitored metric time series per month; email notifications free up to 1,000/month.
"""

from __future__ import annotations

from typing import Any

import pulumi
from .._core.azure import monitor

from .._core import Cloud, Platform, options_for
from . import AzureMonitoringOptions

_COMPONENT = "monitoring"


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    opts = options_for(args, Cloud.AZURE, AzureMonitoringOptions)
    tags = platform.labels(_COMPONENT)
    net = args.services[0].handle.network
    rg = net.resource_group_name
    t = args.thresholds

    group = monitor.ActionGroup(
        f"{name}-action-group", resource_group_name=rg, location="global",
        action_group_name=platform.physical_name(f"{name}-alerts", limit=260),
        group_short_name=platform.app[:12], enabled=True,
        email_receivers=[monitor.MicrosoftCommonEmailReceiverArgs(name=f"email-{i}", email_address=e, use_common_alert_schema=True)
                         for i, e in enumerate(args.notify_emails)],
        tags=tags, opts=child,
    )

    def alert(role: str, scope: Any, namespace: str, metric: str, threshold: float, description: str, *,
              aggregation: str = "Average", window: str = "PT5M", severity: int = 2, frequency: str = "PT1M") -> None:
        monitor.MetricAlert(
            f"{name}-{role}", resource_group_name=rg, location="global", rule_name=platform.physical_name(f"{name}-{role}", limit=260),
            description=description, severity=severity, enabled=True, scopes=[scope], evaluation_frequency=frequency,
            window_size=window, auto_mitigate=True, target_resource_type=namespace,
            criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                all_of=[monitor.MetricCriteriaArgs(
                    criterion_type="StaticThresholdCriterion", name=metric, metric_name=metric, metric_namespace=namespace,
                    operator="GreaterThan", threshold=threshold, time_aggregation=aggregation,
                )],
            ),
            actions=[monitor.MetricAlertActionArgs(action_group_id=group.id)], tags=tags, opts=child,
        )

    for svc in args.services:
        h = svc.handle
        ns = "Microsoft.App/containerApps"
        alert(f"{h.name}-high-cpu", h.app_id, ns, "CpuPercentage", t.cpu_percent, f"HighCpu: {h.name} CPU above {t.cpu_percent}% for 5 minutes")
        alert(f"{h.name}-high-memory", h.app_id, ns, "MemoryPercentage", t.memory_percent, f"HighMemoryUsage: {h.name} memory above {t.memory_percent}% for 5 minutes")
        alert(f"{h.name}-restarts", h.app_id, ns, "RestartCount", 3, f"{h.name} restarted more than 3 times in 15 minutes", aggregation="Total", window="PT15M")
    for store in args.stores:
        h = store.handle
        if hasattr(h, "server_id"):
            ns = "Microsoft.DBforPostgreSQL/flexibleServers"
            alert(f"{store._name}-high-cpu", h.server_id, ns, "cpu_percent", t.cpu_percent, f"Database CPU above {t.cpu_percent}% for 5 minutes")
            alert(f"{store._name}-low-storage", h.server_id, ns, "storage_percent", 85, "Database storage above 85% (auto-grow is on; check growth)", severity=1)
        elif hasattr(h, "cluster_id"):
            # Managed Redis publishes metrics every 5 minutes: evaluate every 5 over 15 minutes.
            alert(f"{store._name}-high-memory", h.cluster_id, "Microsoft.Cache/redisEnterprise", "usedmemorypercentage", t.memory_percent,
                  f"Redis memory above {t.memory_percent}% for 15 minutes", aggregation="Maximum", window="PT15M", frequency="PT5M")
    ingress = opts.ingress
    if ingress is not None and getattr(ingress, "handle", None) is not None:
        ns = "Microsoft.Cdn/profiles"
        alert("high-error-rate", ingress.handle.profile_id, ns, "Percentage5XX", t.error_rate_percent,
              f"HighErrorRate: more than {t.error_rate_percent}% of responses are 5xx for 5 minutes", severity=1)
        alert("high-latency", ingress.handle.profile_id, ns, "TotalLatency", t.latency_p95_seconds * 1000,
              f"HighLatency: average latency above {t.latency_p95_seconds} s for 10 minutes", window="PT10M")
    return {"alerts_id": group.id}
