"""Monitoring on AWS: CloudWatch alarms per service and per data store, sent to an encrypted SNS topic.

What it creates (every taggable resource tagged with ``platform.labels("monitoring")``):

- ``{name}-key`` (+ ``{name}-key-alias``): a customer-managed KMS key (rotated yearly) for the topic. Not the AWS
  managed ``alias/aws/sns`` key: its key policy cannot be changed to let CloudWatch use it, and alarms publishing
  to a topic encrypted with it fail silently. The key policy keeps the account in control and lets
  ``cloudwatch.amazonaws.com`` (of this account only) encrypt messages.
- ``{name}-topic`` + ``{name}-topic-policy``: the SNS topic (``alerts_id``); only this account's CloudWatch alarms
  may publish, and never without TLS. ``{name}-email-<hash>``: one email subscription per ``notify_emails`` entry
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

Every alarm: ``alarm_actions`` and ``ok_actions`` = the topic (people learn when it is over too), missing data is
``notBreaching`` (a scaled-to-zero or idle service does not page).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi
import pulumi_aws as aws

from .._core import Platform
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
    partition = aws.get_partition_output().partition

    key = aws.kms.Key(
        f"{name}-key",
        description=f"{platform.app}-{platform.stack}: alert topic encryption",
        enable_key_rotation=True,
        deletion_window_in_days=7,
        policy=pulumi.Output.all(partition, account).apply(lambda v: _key_policy(v[0], v[1])),
        tags=tags,
        opts=child,
    )
    aws.kms.Alias(f"{name}-key-alias", name=f"alias/{platform.physical_name(name, limit=200)}",
                  target_key_id=key.key_id, opts=child)
    topic = aws.sns.Topic(
        f"{name}-topic", name=platform.physical_name(f"{name}-alerts", limit=256), kms_master_key_id=key.arn,
        tags=tags, opts=child,
    )
    aws.sns.TopicPolicy(
        f"{name}-topic-policy", arn=topic.arn,
        policy=pulumi.Output.all(topic.arn, account).apply(lambda v: _topic_policy(v[0], v[1])), opts=child,
    )
    for email in args.notify_emails:
        digest = hashlib.sha1(str(email).strip().lower().encode()).hexdigest()[:8]
        aws.sns.TopicSubscription(f"{name}-email-{digest}", topic=topic.arn, protocol="email", endpoint=email, opts=child)

    def alarm(role: str, description: str, **kwargs: Any) -> aws.cloudwatch.MetricAlarm:
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{role}",
            name=platform.physical_name(role, limit=255),
            alarm_description=description,
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            treat_missing_data="notBreaching",
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


def _key_policy(partition: str, account: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchAlarmsEncrypt",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                # No aws:SourceAccount condition: CloudWatch's KMS calls through SNS do not reliably carry it, and
                # the key encrypts nothing but this topic (the topic policy restricts the publishers).
                "Resource": "*",
            },
        ],
    })


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
