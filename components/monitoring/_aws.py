"""Monitoring on AWS: CloudWatch alarms per service and per data store, sent to an encrypted SNS topic.

What it creates (every taggable resource tagged with ``platform.labels("monitoring")``):

- ``{name}-topic`` + ``{name}-topic-policy``: the SNS topic (``alerts_id``), encrypted with the stack's
  customer-managed KMS key (the Network's, read from the watched services' handles). Not the AWS managed
  ``alias/aws/sns`` key: its key policy cannot be changed to let CloudWatch use it, and alarms publishing to a topic
  encrypted with it fail silently; the stack key's policy lets ``cloudwatch.amazonaws.com`` of this account encrypt
  messages. Only this account's CloudWatch alarms may publish, and never without TLS. ``{name}-email-<hash>``: one email subscription per ``notify_emails`` entry
  (each address must confirm the subscription mail once; the role is a hash, so addresses stay out of URNs).
- Per WebService ``<svc>`` (its component name): ``{name}-<svc>-cpu`` (AWS/ECS CPUUtilization >
  ``cpu_percent`` for 5 minutes), ``{name}-<svc>-memory`` (MemoryUtilization > ``memory_percent`` for 5 minutes)
  and, for public services whose load balancer is known (the TlsIngress publishes its ARN suffix on the service
  handle; create Monitoring after it), ``{name}-<svc>-5xx`` (metric math ``100 * HTTPCode_Target_5XX_Count /
  RequestCount`` > ``error_rate_percent`` for 5 minutes) and ``{name}-<svc>-latency`` (TargetResponseTime p95 >
  ``latency_p95_seconds`` for 10 minutes). A public service without a known load balancer gets no ALB alarms and
  a warning at plan time.
- Per ManagedPostgres ``<db>``: ``{name}-<db>-cpu`` (RDS CPUUtilization > 80 %), ``{name}-<db>-storage``
  (FreeStorageSpace < 10 % of the allocated storage, read from the handle's ``storage_gib``; 20 GiB assumed when
  the handle does not say).
- Per ManagedRedis ``<cache>``: ``{name}-<cache>-memory`` (DatabaseMemoryUsagePercentage > 80 % on the
  replication group's first member ``<id>-001``; replicas hold the same dataset, so one node speaks for all).

- Per service scaled on queue depth (its handle carries ``queue_metric``, set by the Autoscaler; create Monitoring
  after it): ``{name}-<svc>-queue-missing``: no ``QueueDepth`` data point for 5 minutes. Missing data is
  *breaching* here: the app stopped publishing, so queue scaling is blind and the service sits at its minimum.

Every other alarm: ``alarm_actions`` and ``ok_actions`` = the topic (people learn when it is over too), missing
data is ``notBreaching`` (a scaled-to-zero or idle service does not page).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi
import pulumi_aws as aws

from .._core import InputError, Platform
from . import MonitoringArgs

COMPONENT = "monitoring"
#: Data-store thresholds (not in AlertThresholds: they are the same for every app).
STORE_CPU_PERCENT = 80
STORE_FREE_STORAGE_FRACTION = 0.10
CACHE_MEMORY_PERCENT = 80
DEFAULT_STORAGE_GIB = 20
GIB = 1024 ** 3


def _role(component: Any, kind: str, index: int) -> str:
    """A stable kebab-case role for a watched component: its logical name, else its position."""
    link = getattr(component, "link", None)
    handle = getattr(component, "handle", None)
    for candidate in (getattr(link, "name", None), getattr(handle, "name", None),
                      getattr(component, "pulumi_resource_name", None)):
        if isinstance(candidate, str) and candidate:
            return candidate
    return f"{kind}-{index}"


def build(name: str, args: MonitoringArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    tags = platform.labels(COMPONENT)
    account = aws.get_caller_identity_output().account_id

    key_arn = next((k for k in (getattr(getattr(s, "handle", None), "kms_key_arn", None) for s in args.services) if k is not None), None)
    if key_arn is None:
        raise InputError("monitoring.services", [type(s).__name__ for s in args.services],
                         "expected WebServices created on AWS: their Network's stack key encrypts the alert topic")
    topic = aws.sns.Topic(
        f"{name}-topic", name=platform.physical_name(f"{name}-alerts", limit=256), kms_master_key_id=key_arn,
        tags=tags, opts=child,
    )
    aws.sns.TopicPolicy(
        f"{name}-topic-policy", arn=topic.arn,
        policy=pulumi.Output.all(topic.arn, account).apply(lambda v: _topic_policy(v[0], v[1])), opts=child,
    )
    for email in args.notify_emails:
        digest = hashlib.sha1(str(email).strip().lower().encode()).hexdigest()[:8]
        aws.sns.TopicSubscription(f"{name}-email-{digest}", topic=topic.arn, protocol="email", endpoint=email, opts=child)

    def alarm(role: str, description: str, missing: str = "notBreaching", **kwargs: Any) -> aws.cloudwatch.MetricAlarm:
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{role}",
            name=platform.physical_name(role, limit=255),
            alarm_description=description,
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            treat_missing_data=missing,
            tags=tags,
            opts=child,
            **kwargs,
        )

    t = args.thresholds
    for index, service in enumerate(args.services):
        svc = _role(service, "service", index)
        h = service.handle
        ecs = {"ClusterName": h.cluster_name, "ServiceName": h.service_name}
        alarm(f"{svc}-cpu", f"{svc}: CPU above {t.cpu_percent} % for 5 minutes",
              namespace="AWS/ECS", metric_name="CPUUtilization", dimensions=ecs, statistic="Average",
              period=60, evaluation_periods=5, comparison_operator="GreaterThanThreshold", threshold=t.cpu_percent)
        alarm(f"{svc}-memory", f"{svc}: memory above {t.memory_percent} % of the task size for 5 minutes",
              namespace="AWS/ECS", metric_name="MemoryUtilization", dimensions=ecs, statistic="Average",
              period=60, evaluation_periods=5, comparison_operator="GreaterThanThreshold", threshold=t.memory_percent)
        queue = getattr(h, "queue_metric", None)
        if queue is not None:
            alarm(f"{svc}-queue-missing",
                  f"{svc}: no {queue.metric} of queue {queue.list_name} published for 5 minutes: queue scaling is blind",
                  missing="breaching", namespace=queue.namespace, metric_name=queue.metric, dimensions=queue.dimensions,
                  statistic="SampleCount", period=60, evaluation_periods=5, comparison_operator="LessThanThreshold",
                  threshold=1)
        tg_suffix = getattr(h, "target_group_arn_suffix", None)
        if tg_suffix is None:
            continue  # private service: no load balancer metrics
        lb_suffix = getattr(h, "load_balancer_arn_suffix", None)
        if lb_suffix is None:
            pulumi.log.warn(
                f"monitoring: no 5xx/latency alarms for {svc}: its load balancer is unknown "
                "(create Monitoring after the TlsIngress that routes to it)")
            continue
        alb = {"LoadBalancer": lb_suffix, "TargetGroup": tg_suffix}

        def query(qid: str, metric: str) -> Any:
            return aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=qid, return_data=False,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace="AWS/ApplicationELB", metric_name=metric, dimensions=alb, stat="Sum", period=60),
            )

        alarm(f"{svc}-5xx", f"{svc}: more than {t.error_rate_percent:g} % of requests answered 5xx for 5 minutes",
              metric_queries=[
                  query("errors", "HTTPCode_Target_5XX_Count"),
                  query("requests", "RequestCount"),
                  aws.cloudwatch.MetricAlarmMetricQueryArgs(
                      id="rate", label="5xx rate (%)", return_data=True,
                      # No traffic is not an error: 0 instead of a division by zero.
                      expression="IF(requests > 0, 100 * errors / requests, 0)"),
              ],
              evaluation_periods=5, comparison_operator="GreaterThanThreshold", threshold=t.error_rate_percent)
        alarm(f"{svc}-latency", f"{svc}: p95 response time above {t.latency_p95_seconds:g} s for 10 minutes",
              namespace="AWS/ApplicationELB", metric_name="TargetResponseTime", dimensions=alb,
              extended_statistic="p95", period=60, evaluation_periods=10,
              comparison_operator="GreaterThanThreshold", threshold=t.latency_p95_seconds)

    for index, store in enumerate(args.stores):
        role = _role(store, "store", index)
        kind = getattr(getattr(store, "link", None), "kind", None)
        h = store.handle
        if kind == "postgres":
            rds = {"DBInstanceIdentifier": h.instance_identifier}
            storage_gib = getattr(h, "storage_gib", None) or DEFAULT_STORAGE_GIB
            alarm(f"{role}-cpu", f"{role}: database CPU above {STORE_CPU_PERCENT} % for 5 minutes",
                  namespace="AWS/RDS", metric_name="CPUUtilization", dimensions=rds, statistic="Average",
                  period=60, evaluation_periods=5, comparison_operator="GreaterThanThreshold", threshold=STORE_CPU_PERCENT)
            alarm(f"{role}-storage", f"{role}: less than 10 % of {storage_gib} GiB storage free",
                  namespace="AWS/RDS", metric_name="FreeStorageSpace", dimensions=rds, statistic="Minimum",
                  period=300, evaluation_periods=1, comparison_operator="LessThanThreshold",
                  threshold=int(storage_gib * GIB * STORE_FREE_STORAGE_FRACTION))
        elif kind == "redis":
            node = pulumi.Output.concat(h.replication_group_id, "-001")
            alarm(f"{role}-memory", f"{role}: cache memory above {CACHE_MEMORY_PERCENT} % of maxmemory for 5 minutes",
                  namespace="AWS/ElastiCache", metric_name="DatabaseMemoryUsagePercentage",
                  dimensions={"CacheClusterId": node}, statistic="Maximum", period=60, evaluation_periods=5,
                  comparison_operator="GreaterThanThreshold", threshold=CACHE_MEMORY_PERCENT)

    return {"alerts_id": topic.arn}


def _topic_policy(topic_arn: str, account: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountManages",
                "Effect": "Allow",
                "Principal": {"AWS": account},
                "Action": ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish"],
                "Resource": topic_arn,
            },
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    })
