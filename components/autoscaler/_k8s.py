"""Autoscaler on Kubernetes: an autoscaling/v2 HorizontalPodAutoscaler, or a KEDA ScaledObject for queue depth.

- Without a queue trigger: ``{name}-hpa`` targets the WebService's Deployment with CPU and/or memory
  ``Utilization`` metrics (of the pods' requests) and the scale-up/scale-down behaviour of the Args.
- With ``queue``: ``{name}-scaledobject`` (keda.sh/v1alpha1) instead. KEDA creates and owns its own HPA
  (named ``{name}-hpa`` through ``advanced.horizontalPodAutoscalerConfig.name``); a second HPA on the same
  Deployment would fight it, so none is created. The Redis password is read by KEDA from the store's Secret
  through ``{name}-trigger-auth`` (a TriggerAuthentication), never copied. ``{name}-keda-redis`` is a
  NetworkPolicy admitting the KEDA operator (namespace :data:`KEDA_NAMESPACE`) to the Redis pods, which
  otherwise accept linked services only.

AWS-only knobs (requests per target, scheduled actions) are refused here instead of silently doing nothing.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pulumi
from .._core import kube as k8s

from .._core import InputError, Platform
from . import AutoscalerArgs, ScalingPolicy

COMPONENT = "autoscaler"

#: Namespace of the KEDA operator (ClusterAddons installs it there); it polls Redis for the list length.
KEDA_NAMESPACE = "keda"
#: Pod labels of the KEDA operator (the kedacore chart), the only KEDA pod that polls scalers.
KEDA_OPERATOR_LABELS = {"app.kubernetes.io/name": "keda-operator"}
REDIS_PORT = 6379


def validate(args: AutoscalerArgs, platform: Platform) -> None:
    """Refuse what the Kubernetes backend cannot honour."""
    if args.requests_per_target is not None:
        raise InputError(
            "autoscaling.requests_per_target", args.requests_per_target,
            "request-rate scaling is AWS-only (ALB requests per target); on kubernetes use cpu_percent, memory_percent or queue",
        )
    if args.schedules:
        raise InputError(
            "autoscaling.schedules", [s.name for s in args.schedules],
            "scheduled scaling is AWS-only (scheduled actions); on kubernetes leave it empty",
        )
    # Handles are None in the stack's check pass (placeholders); checked again when the component is built.
    handle = getattr(args.service, "handle", None)
    if handle is not None and not getattr(handle, "name", None):
        raise InputError("autoscaling.service", type(args.service).__name__, "pass the WebService to scale")
    if args.queue is not None:
        redis = getattr(args.queue.redis, "handle", None)
        if redis is not None and not getattr(redis, "password_secret", None):
            raise InputError("autoscaling.queue.redis", type(args.queue.redis).__name__, "pass the ManagedRedis holding the queue")


def _metadata(platform: Platform, name: str, namespace: Any) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "labels": {**platform.labels(COMPONENT), **platform.k8s_labels(COMPONENT, name)},
    }


def _policies(policy: ScalingPolicy) -> list[dict[str, Any]]:
    return [{"type": p.type, "value": p.value, "periodSeconds": p.period_seconds} for p in (policy, *policy.extra)]


def behavior(args: AutoscalerArgs) -> dict[str, Any]:
    """HPA behaviour: the largest change wins scaling up, the smallest scaling down (cautious scale-in)."""
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": args.scale_up.stabilization_window_seconds,
            "selectPolicy": "Max",
            "policies": _policies(args.scale_up),
        },
        "scaleDown": {
            "stabilizationWindowSeconds": args.scale_down.stabilization_window_seconds,
            "selectPolicy": "Min",
            "policies": _policies(args.scale_down),
        },
    }


def _resource_metrics(args: AutoscalerArgs) -> list[dict[str, Any]]:
    return [
        {"type": "Resource", "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": percent}}}
        for resource, percent in (("cpu", args.cpu_percent), ("memory", args.memory_percent))
        if percent is not None
    ]


def build(name: str, args: AutoscalerArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    service = args.service.handle
    namespace = service.namespace
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.name}
    hpa_name = f"{name}-hpa"

    if args.queue is None:
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            hpa_name,
            metadata=_metadata(platform, hpa_name, namespace),
            spec={
                "scaleTargetRef": target,
                "minReplicas": args.min_replicas,
                "maxReplicas": args.max_replicas,
                "metrics": _resource_metrics(args),
                "behavior": behavior(args),
            },
            opts=child,
        )
        return {
            "min_replicas": args.min_replicas,
            "max_replicas": args.max_replicas,
            "handle": SimpleNamespace(kind="HorizontalPodAutoscaler", name=hpa_name, namespace=namespace),
        }

    redis = args.queue.redis.handle
    auth_name = f"{name}-trigger-auth"
    auth = k8s.apiextensions.CustomResource(
        auth_name,
        api_version="keda.sh/v1alpha1",
        kind="TriggerAuthentication",
        metadata=_metadata(platform, auth_name, namespace),
        spec={"secretTargetRef": [
            {"parameter": "password", "name": redis.password_secret, "key": redis.password_key},
            # Redis speaks TLS only: KEDA verifies the server against the store's CA (the CA certificate only).
            *([{"parameter": "ca", "name": redis.tls_secret, "key": redis.ca_key}] if getattr(redis, "tls_secret", None) else []),
        ]},
        opts=child,
    )
    triggers: list[dict[str, Any]] = [
        {
            "type": "redis",
            "name": "queue",
            "metadata": {
                "address": pulumi.Output.format("{0}.{1}:{2}", redis.service_name, redis.namespace, REDIS_PORT),
                "listName": args.queue.list_name,
                # KEDA trigger metadata values are strings.
                "listLength": str(args.queue.target_length),
                **({"enableTLS": "true"} if getattr(redis, "tls_secret", None) else {}),
            },
            "authenticationRef": {"name": auth_name, "kind": "TriggerAuthentication"},
        }
    ]
    for resource, percent in (("cpu", args.cpu_percent), ("memory", args.memory_percent)):
        if percent is not None:
            triggers.append({"type": resource, "name": resource, "metricType": "Utilization", "metadata": {"value": str(percent)}})

    so_name = f"{name}-scaledobject"
    k8s.apiextensions.CustomResource(
        so_name,
        api_version="keda.sh/v1alpha1",
        kind="ScaledObject",
        metadata=_metadata(platform, so_name, namespace),
        spec={
            "scaleTargetRef": target,
            "minReplicaCount": args.min_replicas,
            "maxReplicaCount": args.max_replicas,
            "advanced": {"horizontalPodAutoscalerConfig": {"name": hpa_name, "behavior": behavior(args)}},
            "triggers": triggers,
        },
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[auth])),
    )

    # The Redis NetworkPolicy admits linked services only; KEDA's operator polls the list from its own namespace.
    peer = getattr(getattr(args.queue.redis, "link", None), "peer", None)
    if peer is not None and getattr(peer, "selector", None):
        np_name = f"{name}-keda-redis"
        k8s.networking.v1.NetworkPolicy(
            np_name,
            metadata=_metadata(platform, np_name, redis.namespace),
            spec={
                "podSelector": {"matchLabels": peer.selector},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": KEDA_NAMESPACE}},
                            "podSelector": {"matchLabels": dict(KEDA_OPERATOR_LABELS)},
                        }],
                        "ports": [{"protocol": "TCP", "port": REDIS_PORT}],
                    }
                ],
            },
            opts=child,
        )

    return {
        "min_replicas": args.min_replicas,
        "max_replicas": args.max_replicas,
        "handle": SimpleNamespace(kind="ScaledObject", name=so_name, namespace=namespace),
    }
