"""Monitoring on GCP: Cloud Monitoring alert policies routed to email notification channels.

What it creates (``user_labels`` = the stack's labels on every policy):

- ``{name}-email-<n>``: one email notification channel per ``notify_emails`` address;
- per WebService (Cloud Run metrics of the service's revisions):
  ``{name}-<svc>-5xx`` 5xx responses above ``error_rate_percent`` of all responses for 5 minutes (a ratio of
  ``run.googleapis.com/request_count`` with ``response_code_class="5xx"`` over all);
  ``{name}-<svc>-latency`` p95 of ``request_latencies`` above ``latency_p95_seconds`` for 10 minutes;
  ``{name}-<svc>-at-max`` the instance count at the service's maximum for 5 minutes (scaling has no headroom);
  ``{name}-<svc>-memory`` / ``-cpu`` container memory / CPU utilisation (p99 of instances) above the thresholds;
- per ManagedPostgres: ``{name}-<db>-cpu`` (Cloud SQL CPU above ``cpu_percent``) and ``{name}-<db>-disk``
  (disk above 85 %); per ManagedRedis: ``{name}-<cache>-memory`` (``stats/memory/usage_ratio`` above
  ``memory_percent``).

Every policy notifies every channel, auto-closes 30 minutes after recovery, and carries a documentation text.
Output ``alerts_id``: the notification channel ids, comma-separated (or the first policy's id without emails).

Cost: alert policies are billed per condition ($0.10/condition-month from 2026) and Monitoring metrics of
Cloud Run / Cloud SQL / Memorystore are free.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from .._core import InputError, Platform

COMPONENT = "monitoring"


def validate(args: Any, platform: Platform) -> None:
    for s in args.services:
        h = getattr(s, "handle", None)
        if h is not None and not hasattr(h, "set_scaling"):
            raise InputError("monitoring.services", type(s).__name__, "expected WebServices created on GCP (Cloud Run)")


def _threshold(filter_: Any, value: Any, duration: str, aligner: str, reducer: str, *, denominator: Any = None,
               group_by: list[str] | None = None) -> dict[str, Any]:
    agg = {"alignment_period": "60s", "per_series_aligner": aligner, "cross_series_reducer": reducer, "group_by_fields": group_by or []}
    cond: dict[str, Any] = {
        "filter": filter_, "comparison": "COMPARISON_GT", "threshold_value": value, "duration": duration,
        "aggregations": [agg], "trigger": {"count": 1},
    }
    if denominator is not None:
        cond["denominator_filter"] = denominator
        cond["denominator_aggregations"] = [agg]
    return cond


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    labels = platform.labels(COMPONENT)
    t = args.thresholds
    project_id = getattr(args.services[0].handle, "project", None)
    channels = [
        gcp.monitoring.NotificationChannel(
            f"{name}-email-{i}", project=project_id, type="email", display_name=f"{platform.app}/{platform.stack} on-call {email}",
            labels={"email_address": email}, user_labels=labels, opts=child,
        )
        for i, email in enumerate(args.notify_emails)
    ]
    channel_ids = [c.id for c in channels]
    policies: list[Any] = []

    def policy(role: str, title: str, condition: dict[str, Any], doc: str, severity: str = "ERROR") -> None:
        policies.append(gcp.monitoring.AlertPolicy(
            f"{name}-{role}", project=project_id, display_name=f"{platform.app}/{platform.stack}: {title}", combiner="OR", severity=severity,
            conditions=[{"display_name": title, "condition_threshold": condition}],
            notification_channels=channel_ids, alert_strategy={"auto_close": "1800s"},
            documentation={"content": doc, "mime_type": "text/markdown"}, user_labels=labels, enabled=True, opts=child,
        ))

    for svc in args.services:
        h = svc.handle
        run = pulumi.Output.concat('resource.type="cloud_run_revision" AND resource.labels.service_name="', h.service_name, '"')
        requests = pulumi.Output.concat(run, ' AND metric.type="run.googleapis.com/request_count"')
        policy(f"{h.name}-5xx", f"{h.name} HighErrorRate",
               _threshold(pulumi.Output.concat(requests, ' AND metric.labels.response_code_class="5xx"'), t.error_rate_percent / 100, "300s",
                          "ALIGN_RATE", "REDUCE_SUM", denominator=requests),
               f"More than {t.error_rate_percent}% of {h.name}'s responses are 5xx for 5 minutes.")
        policy(f"{h.name}-latency", f"{h.name} HighLatency",
               _threshold(pulumi.Output.concat(run, ' AND metric.type="run.googleapis.com/request_latencies"'), t.latency_p95_seconds * 1000, "600s",
                          "ALIGN_PERCENTILE_95", "REDUCE_MAX"),
               f"p95 latency of {h.name} above {t.latency_p95_seconds} s for 10 minutes.", "WARNING")
        at_max = h.scaling.apply(lambda s: float(s["max_instance_count"]) - 0.5)
        policy(f"{h.name}-at-max", f"{h.name} InstancesAtMax",
               _threshold(pulumi.Output.concat(run, ' AND metric.type="run.googleapis.com/container/instance_count"'), at_max, "300s",
                          "ALIGN_MAX", "REDUCE_SUM"),
               f"{h.name} has run at its maximum instance count for 5 minutes: raise max_replicas or find the load.", "WARNING")
        policy(f"{h.name}-memory", f"{h.name} HighMemoryUsage",
               _threshold(pulumi.Output.concat(run, ' AND metric.type="run.googleapis.com/container/memory/utilizations"'), t.memory_percent / 100, "300s",
                          "ALIGN_PERCENTILE_99", "REDUCE_MAX"),
               f"Memory of {h.name}'s instances above {t.memory_percent}% of the limit for 5 minutes.")
        policy(f"{h.name}-cpu", f"{h.name} HighCpu",
               _threshold(pulumi.Output.concat(run, ' AND metric.type="run.googleapis.com/container/cpu/utilizations"'), t.cpu_percent / 100, "300s",
                          "ALIGN_PERCENTILE_99", "REDUCE_MAX"),
               f"CPU of {h.name}'s instances above {t.cpu_percent}% for 5 minutes.", "WARNING")

    for store in args.stores:
        link, h = store.link, store.handle
        if link.kind == "postgres":
            project = h.project or gcp.organizations.get_client_config_output(opts=pulumi.InvokeOptions(parent=child.parent)).project
            db = pulumi.Output.concat('resource.type="cloudsql_database" AND resource.labels.database_id="', project, ":", h.instance_name, '"')
            policy(f"{link.name}-cpu", f"{link.name} Cloud SQL HighCpu",
                   _threshold(pulumi.Output.concat(db, ' AND metric.type="cloudsql.googleapis.com/database/cpu/utilization"'), t.cpu_percent / 100, "300s",
                              "ALIGN_MEAN", "REDUCE_MAX"),
                   f"Cloud SQL CPU above {t.cpu_percent}% for 5 minutes.")
            policy(f"{link.name}-disk", f"{link.name} Cloud SQL DiskFull",
                   _threshold(pulumi.Output.concat(db, ' AND metric.type="cloudsql.googleapis.com/database/disk/utilization"'), 0.85, "300s",
                              "ALIGN_MEAN", "REDUCE_MAX"),
                   "Cloud SQL disk above 85% (automatic growth may have reached its limit).")
        elif link.kind == "redis":
            r = pulumi.Output.concat('resource.type="redis_instance" AND resource.labels.instance_id="', h.instance_id, '"')
            policy(f"{link.name}-memory", f"{link.name} Memorystore HighMemoryUsage",
                   _threshold(pulumi.Output.concat(r, ' AND metric.type="redis.googleapis.com/stats/memory/usage_ratio"'), t.memory_percent / 100, "300s",
                              "ALIGN_MEAN", "REDUCE_MAX"),
                   f"Memorystore memory above {t.memory_percent}% of its capacity for 5 minutes.")

    alerts_id = (pulumi.Output.all(*channel_ids).apply(lambda ids: ",".join(ids)) if channels
                 else policies[0].id if policies else "")
    return {"alerts_id": alerts_id}
