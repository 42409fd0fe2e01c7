"""Autoscaler on AWS: Application Auto Scaling of an ECS service's desired count.

What it creates:

- ``{name}-target``: the scalable target ``service/<cluster>/<service>`` / ``ecs:service:DesiredCount`` with
  ``min_capacity``/``max_capacity`` (the WebService, created with ``autoscaled=True``, ignores drift in
  ``desiredCount``). Tagged with ``platform.labels("autoscaler")``. No ``role_arn``: ECS uses its service-linked
  role.
- Target tracking, one policy per metric asked for: ``{name}-cpu`` (ECSServiceAverageCPUUtilization),
  ``{name}-memory`` (ECSServiceAverageMemoryUtilization), ``{name}-requests`` (ALBRequestCountPerTarget with
  resource label ``<load balancer ARN suffix>/<target group ARN suffix>``). Cooldowns: scale-out =
  ``scale_up.stabilization_window_seconds`` (0 means AWS's usual 60 s: a zero cooldown lets one spike add tasks
  every minute before the first ones are healthy), scale-in = ``scale_down.stabilization_window_seconds``.
  Several target-tracking policies combine as AWS documents: scale out when any asks, scale in only when all agree.
- Queue depth: AWS has no metric for the length of a Redis list, so the app publishes one. **The app must call
  PutMetricData every minute** with namespace ``prodkit/<app>``, metric ``QueueDepth``, dimension
  ``QueueName=<list_name>`` (e.g. ``LLEN`` of the list). ``{name}-queue-out`` / ``{name}-queue-in`` are step
  scaling policies driven by ``{name}-queue-high`` (depth >= ``target_length`` for a minute: +1 task, +2 from
  3x, +4 from 5x) and ``{name}-queue-low`` (depth below half of ``target_length`` for the scale-down window:
  -1 task). Missing data (the app stopped publishing) neither scales out nor in; so that a silent queue does not
  pin the service at its minimum unnoticed, the scaled service's handle carries ``queue_metric`` and Monitoring
  adds a "queue metric missing" alarm (missing data = breaching) to its topic.
- ``{name}-put-metric``: a policy on the scaled service's task role allowing ``cloudwatch:PutMetricData`` only with
  ``cloudwatch:namespace`` = ``prodkit/<app>`` (the action has no resource-level permissions; the namespace
  condition is the scope). A service without internet egress reaches CloudWatch through the Network's
  ``monitoring`` endpoint (``AwsNetworkOptions(monitoring_endpoint=True)``; refused without it).
- ``{name}-{schedule.name}``: a scheduled action per ``schedules`` entry, the five-field cron converted to
  ``cron(...)`` (UTC).

``requests_per_target`` needs the load balancer's ARN suffix, which only the TlsIngress knows: it publishes it
on the routed WebService's handle (``load_balancer_arn_suffix``), so create the Autoscaler after the TlsIngress.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi_aws as aws

from .._core import InputError, Platform
from ..backup_schedule._aws import to_aws_cron
from . import AutoscalerArgs

COMPONENT = "autoscaler"
NAMESPACE, DIMENSION = "ecs", "ecs:service:DesiredCount"
#: Scale-out cooldown used when the spec asks for an immediate scale-up (stabilization window 0).
DEFAULT_SCALE_OUT_COOLDOWN = 60
QUEUE_METRIC = "QueueDepth"


def queue_namespace(platform: Platform) -> str:
    """CloudWatch namespace the app publishes its queue depth to."""
    return f"prodkit/{platform.app}"


def validate(args: AutoscalerArgs, platform: Platform) -> None:
    """ALB request-count scaling needs the service behind a load balancer, and that balancer already created."""
    # During the stack's check pass the service is a placeholder without a handle: only its Args are known.
    handle = getattr(args.service, "handle", None)
    placeholder = handle is None
    if not placeholder and getattr(handle, "cluster_name", None) is None:
        raise InputError("autoscaling.service", type(args.service).__name__, "expected a WebService created on AWS (ECS)")
    if args.requests_per_target is not None:
        public = (getattr(getattr(args.service, "args", None), "public", True) if placeholder
                  else getattr(handle, "target_group_arn_suffix", None) is not None)
        if not public:
            raise InputError(
                "autoscaling.requests_per_target", args.requests_per_target,
                "scaling on ALB requests needs a public service (behind the TlsIngress load balancer); use cpu_percent or memory_percent",
            )
        if not placeholder and getattr(handle, "load_balancer_arn_suffix", None) is None:
            raise InputError(
                "autoscaling.requests_per_target", args.requests_per_target,
                "the service's load balancer is unknown: create the TlsIngress that routes to this service before the Autoscaler",
            )
    for schedule in args.schedules:
        to_aws_cron(f"autoscaling.schedules[{schedule.name}].schedule", schedule.schedule)
    if args.queue is not None:
        from ..web_service._aws import network_features

        svc_args = getattr(args.service, "args", None)
        egress = getattr(handle, "internet_egress", None) if not placeholder else getattr(svc_args, "internet_egress", True)
        network = getattr(svc_args, "network", None) if placeholder else None
        has_endpoint = (network_features(network).monitoring if network is not None
                        else bool(getattr(handle, "monitoring_endpoint", False)))
        if egress is False and not has_endpoint:
            raise InputError(
                "autoscaling.queue", args.queue.list_name,
                "the service publishes its queue depth to CloudWatch but has no internet egress and the Network has no monitoring endpoint",
                "Create the Network with AwsNetworkOptions(monitoring_endpoint=True), or give the service internet_egress.",
            )


def build(name: str, args: AutoscalerArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    handle = args.service.handle
    tags = platform.labels(COMPONENT)
    target = aws.appautoscaling.Target(
        f"{name}-target",
        service_namespace=NAMESPACE,
        scalable_dimension=DIMENSION,
        resource_id=pulumi.Output.concat("service/", handle.cluster_name, "/", handle.service_name),
        min_capacity=args.min_replicas,
        max_capacity=args.max_replicas,
        tags=tags,
        opts=child,
    )
    scale_out = args.scale_up.stabilization_window_seconds or DEFAULT_SCALE_OUT_COOLDOWN
    scale_in = args.scale_down.stabilization_window_seconds
    on_target = dict(resource_id=target.resource_id, scalable_dimension=target.scalable_dimension,
                     service_namespace=target.service_namespace)

    def tracking(role: str, metric: str, value: float, label: pulumi.Input[str] | None = None) -> None:
        aws.appautoscaling.Policy(
            f"{name}-{role}",
            name=platform.physical_name(f"{name}-{role}", limit=255),
            policy_type="TargetTrackingScaling",
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=value,
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type=metric, resource_label=label),
                scale_out_cooldown=scale_out,
                scale_in_cooldown=scale_in,
            ),
            opts=child,
            **on_target,
        )

    if args.cpu_percent is not None:
        tracking("cpu", "ECSServiceAverageCPUUtilization", args.cpu_percent)
    if args.memory_percent is not None:
        tracking("memory", "ECSServiceAverageMemoryUtilization", args.memory_percent)
    if args.requests_per_target is not None:
        label = pulumi.Output.concat(handle.load_balancer_arn_suffix, "/", handle.target_group_arn_suffix)
        tracking("requests", "ALBRequestCountPerTarget", args.requests_per_target, label)

    if args.queue is not None:
        _queue_scaling(name, args, platform, child, tags, on_target, scale_out, scale_in)
        _publish_permission(name, args, platform, child)

    for schedule in args.schedules:
        aws.appautoscaling.ScheduledAction(
            f"{name}-{schedule.name}",
            name=platform.physical_name(f"{name}-{schedule.name}", limit=255),
            schedule=to_aws_cron(f"autoscaling.schedules[{schedule.name}].schedule", schedule.schedule),
            timezone="Etc/UTC",
            scalable_target_action=aws.appautoscaling.ScheduledActionScalableTargetActionArgs(
                min_capacity=schedule.min_replicas, max_capacity=schedule.max_replicas),
            opts=child,
            **on_target,
        )

    return {
        "min_replicas": target.min_capacity,
        "max_replicas": target.max_capacity,
        "handle": SimpleNamespace(resource_id=target.resource_id),
    }


def _publish_permission(name: str, args: AutoscalerArgs, platform: Platform, child: pulumi.ResourceOptions) -> None:
    """The scaled service may publish metrics to the app's namespace only; Monitoring learns the metric."""
    handle = args.service.handle
    aws.iam.RolePolicy(
        f"{name}-put-metric", role=handle.task_role_id,
        policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": queue_namespace(platform)}},
        }]}),
        opts=child,
    )
    handle.queue_metric = SimpleNamespace(
        namespace=queue_namespace(platform), metric=QUEUE_METRIC, dimensions={"QueueName": args.queue.list_name},
        list_name=args.queue.list_name,
    )


def _queue_scaling(name: str, args: AutoscalerArgs, platform: Platform, child: pulumi.ResourceOptions,
                   tags: dict[str, str], on_target: dict[str, Any], scale_out: int, scale_in: int) -> None:
    """Step scaling on the app-published QueueDepth metric (see the module docstring for the contract)."""
    queue = args.queue
    threshold = queue.target_length
    step = aws.appautoscaling.PolicyStepScalingPolicyConfigurationStepAdjustmentArgs
    out_policy = aws.appautoscaling.Policy(
        f"{name}-queue-out",
        name=platform.physical_name(f"{name}-queue-out", limit=255),
        policy_type="StepScaling",
        step_scaling_policy_configuration=aws.appautoscaling.PolicyStepScalingPolicyConfigurationArgs(
            adjustment_type="ChangeInCapacity",
            cooldown=scale_out,
            metric_aggregation_type="Maximum",
            # Bounds are relative to the alarm threshold (target_length).
            step_adjustments=[
                step(metric_interval_lower_bound="0", metric_interval_upper_bound=str(2 * threshold), scaling_adjustment=1),
                step(metric_interval_lower_bound=str(2 * threshold), metric_interval_upper_bound=str(4 * threshold), scaling_adjustment=2),
                step(metric_interval_lower_bound=str(4 * threshold), scaling_adjustment=4),
            ],
        ),
        opts=child,
        **on_target,
    )
    in_policy = aws.appautoscaling.Policy(
        f"{name}-queue-in",
        name=platform.physical_name(f"{name}-queue-in", limit=255),
        policy_type="StepScaling",
        step_scaling_policy_configuration=aws.appautoscaling.PolicyStepScalingPolicyConfigurationArgs(
            adjustment_type="ChangeInCapacity",
            cooldown=scale_in,
            metric_aggregation_type="Maximum",
            step_adjustments=[step(metric_interval_upper_bound="0", scaling_adjustment=-1)],
        ),
        opts=child,
        **on_target,
    )
    common = dict(
        namespace=queue_namespace(platform),
        metric_name=QUEUE_METRIC,
        dimensions={"QueueName": queue.list_name},
        statistic="Maximum",
        period=60,
        treat_missing_data="notBreaching",
        tags=tags,
        opts=child,
    )
    aws.cloudwatch.MetricAlarm(
        f"{name}-queue-high",
        name=platform.physical_name(f"{name}-queue-high", limit=255),
        alarm_description=f"Queue {queue.list_name} holds {threshold}+ items: add tasks",
        comparison_operator="GreaterThanOrEqualToThreshold",
        threshold=threshold,
        evaluation_periods=1,
        alarm_actions=[out_policy.arn],
        **common,
    )
    aws.cloudwatch.MetricAlarm(
        f"{name}-queue-low",
        name=platform.physical_name(f"{name}-queue-low", limit=255),
        alarm_description=f"Queue {queue.list_name} below {threshold // 2} items: remove a task",
        comparison_operator="LessThanThreshold",
        threshold=threshold // 2,
        evaluation_periods=max(1, scale_in // 60),
        alarm_actions=[in_policy.arn],
        **common,
    )
