"""Autoscaler: scales a WebService between min and max on CPU, memory, request rate or queue depth.

| cloud | implementation | queue depth |
|---|---|---|
| aws | Application Auto Scaling target + target-tracking policies (CPU, memory, ALB requests per target), cooldowns, scheduled actions | step scaling on a CloudWatch metric the app publishes (its task role may PutMetricData in `prodkit/<app>` only; Monitoring alarms when it goes silent) |
| gcp | sets min/max instances and the CPU utilisation target on the Cloud Run service (no resource of its own); concurrency is the WebService's `gcp.concurrency`; memory is not a Cloud Run scaling signal | CREMA (Cloud Run External Metrics Autoscaling, KEDA redis-lists scaler) service + its config in Parameter Manager |
| azure | sets min/max replicas, cooldown (`scale_down` window) and cpu/memory (KEDA utilisation) rules on the Container App; Container Apps has no per-direction policies, so `scale_up`/`scale_down` rates are not applied | KEDA `redis` scaler rule on the list length, TLS, password from Key Vault |
| kubernetes | HorizontalPodAutoscaler autoscaling/v2 with behaviour (stabilization windows, policies) | KEDA ScaledObject on Redis list length (replaces the HPA: KEDA owns one) |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

import pulumi

from .._core import Component, InputError
from .._core.units import in_range


@dataclass(frozen=True, kw_only=True)
class ScalingPolicy:
    """How fast to scale in one direction."""

    stabilization_window_seconds: int
    """Look-back window before acting (also the cooldown on AWS). Required."""
    type: Literal["Percent", "Pods"] = "Percent"
    """Change by a percentage or by a number of replicas. Default: "Percent"."""
    value: int = 100
    """How much per period. Default: 100."""
    period_seconds: int = 60
    """Period of the policy. Default: 60 s."""
    extra: Sequence["ScalingPolicy"] = ()
    """More policies in the same direction (the largest change wins scaling up, the smallest scaling down). Default: none."""

    def __post_init__(self) -> None:
        in_range("stabilization_window_seconds", self.stabilization_window_seconds, 0, 3600, "s")
        in_range("value", self.value, 1, 1000)
        in_range("period_seconds", self.period_seconds, 1, 1800, "s")
        if self.type not in ("Percent", "Pods"):
            raise InputError("scaling policy type", self.type, "allowed: Percent, Pods")


@dataclass(frozen=True, kw_only=True)
class QueueTrigger:
    """Scale on the length of a Redis list (a work queue)."""

    redis: Any
    """The ManagedRedis holding the queue. Required."""
    list_name: str
    """Redis list key. Required."""
    target_length: int = 100
    """Items per replica before scaling out. Default: 100."""


@dataclass(frozen=True, kw_only=True)
class ScheduledScaling:
    """A scheduled change of min/max (e.g. business hours)."""

    name: str
    """Kebab-case role. Required."""
    schedule: str
    """Cron expression (UTC). Required."""
    min_replicas: int
    """New minimum. Required."""
    max_replicas: int
    """New maximum. Required."""


@dataclass(frozen=True, kw_only=True)
class AutoscalerArgs:
    """Arguments of :class:`Autoscaler`."""

    service: Any
    """The WebService to scale (created with `autoscaled=True`). Required."""
    min_replicas: int
    """Lower bound. Required."""
    max_replicas: int
    """Upper bound. Required."""
    cpu_percent: int | None = None
    """Target average CPU utilisation. Default: none."""
    memory_percent: int | None = None
    """Target average memory utilisation. Default: none."""
    requests_per_target: int | None = None
    """Target requests per replica per minute (AWS ALB only). Default: none."""
    queue: QueueTrigger | None = None
    """Queue-depth trigger. Default: none."""
    scale_up: ScalingPolicy = ScalingPolicy(stabilization_window_seconds=60)
    """Scale-out behaviour. Default: 60 s window, +100% per minute."""
    scale_down: ScalingPolicy = ScalingPolicy(stabilization_window_seconds=300, value=50)
    """Scale-in behaviour. Default: 300 s window, -50% per minute."""
    schedules: Sequence[ScheduledScaling] = ()
    """Scheduled min/max changes (AWS scheduled actions). Default: none."""

    def __post_init__(self) -> None:
        in_range("autoscaling.min_replicas", self.min_replicas, 1, 1000)
        in_range("autoscaling.max_replicas", self.max_replicas, 1, 1000)
        if self.min_replicas > self.max_replicas:
            raise InputError("autoscaling.min_replicas", self.min_replicas, f"must not exceed max_replicas ({self.max_replicas})")
        for key in ("cpu_percent", "memory_percent"):
            value = getattr(self, key)
            if value is not None:
                in_range(f"autoscaling.{key}", value, 10, 95, "%")
        if self.requests_per_target is not None:
            in_range("autoscaling.requests_per_target", self.requests_per_target, 1, 1_000_000)
        if not any((self.cpu_percent, self.memory_percent, self.requests_per_target, self.queue)):
            raise InputError("autoscaling", "no metric", "set at least one of cpu_percent, memory_percent, requests_per_target, queue")


class Autoscaler(Component):
    """Scales a WebService.

    Example: ``Autoscaler("api-scaling", AutoscalerArgs(service=api, min_replicas=2, max_replicas=10, cpu_percent=70), platform)``

    Cost: none by itself; the replicas it adds (GCP queue depth: the CREMA service, one always-on instance).
    """

    ARGS = AutoscalerArgs
    OUTPUTS = ("min_replicas", "max_replicas")

    min_replicas: pulumi.Output[int]
    """Lower bound in force."""
    max_replicas: pulumi.Output[int]
    """Upper bound in force."""
