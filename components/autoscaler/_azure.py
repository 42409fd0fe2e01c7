"""Azure backend of Autoscaler: the scale block of the service's Container App (no resource of its own).

Container Apps scale with KEDA: the app's ``template.scale`` holds ``minReplicas``/``maxReplicas`` (0-1000), the
cooldown before scaling in (``cooldownPeriod``: the ``scale_down`` stabilization window), the polling interval
(30 s) and the rules:

* ``cpu`` / ``memory``: KEDA's cpu and memory scalers, ``type: Utilization`` with the target percentage;
* ``queue``: KEDA's ``redis`` scaler on the list length (``listName``, ``listLength`` per replica), against the
  linked Managed Redis over TLS (``enableTLS``), authenticated with the access key the Container App holds as a
  Key Vault-referenced secret (``auth: password -> <redis>-password``).

Differences from Kubernetes/AWS: Container Apps has no per-direction policies (``scale_up``/``scale_down`` rates
and the scale-up window are KEDA/HPA defaults), and CPU/memory utilisation is of the replica's allocation (there is
no request/limit split). ``requests_per_target`` (AWS ALB) is refused; use an HTTP concurrency rule instead (not
offered by the cloud-neutral contract). ``schedules`` are refused (no scheduled scaling on Container Apps; KEDA's
cron scaler would add replicas, not change min/max).

The Container App is registered only once this component has resolved its scale block, so the app and its rules
are created in one revision.
"""

from __future__ import annotations

from typing import Any

import pulumi

from .._core import InputError, Platform

MAX_REPLICAS = 1000
POLLING_INTERVAL_SECONDS = 30


def validate(args: Any, platform: Platform) -> None:
    """Container Apps limits: replicas 0-1000, no request-count target, no scheduled min/max."""
    for field, value in (("autoscaling.min_replicas", args.min_replicas), ("autoscaling.max_replicas", args.max_replicas)):
        if not 0 <= value <= MAX_REPLICAS:
            raise InputError(field, value, f"allowed on Container Apps: 0 to {MAX_REPLICAS}")
    if args.requests_per_target is not None:
        raise InputError("autoscaling.requests_per_target", args.requests_per_target, "requests-per-target scaling is AWS (ALB) only; on Azure scale on cpu_percent, memory_percent or a queue")
    if args.schedules:
        raise InputError("autoscaling.schedules", [s.name for s in args.schedules], "Container Apps has no scheduled min/max changes")


def scale_block(args: Any) -> dict[str, Any]:
    """The Container App's `template.scale` (snake_case keys, as the SDK's ScaleArgs)."""
    rules: list[dict[str, Any]] = []
    if args.cpu_percent is not None:
        rules.append({"name": "cpu", "custom": {"type": "cpu", "metadata": {"type": "Utilization", "value": str(args.cpu_percent)}}})
    if args.memory_percent is not None:
        rules.append({"name": "memory", "custom": {"type": "memory", "metadata": {"type": "Utilization", "value": str(args.memory_percent)}}})
    if args.queue is not None:
        peer = args.queue.redis.link.peer
        rules.append({"name": "queue", "custom": {
            "type": "redis",
            "metadata": {"address": peer.address, "listName": args.queue.list_name, "listLength": str(args.queue.target_length),
                         "enableTLS": "true", "databaseIndex": "0"},
            "auth": [{"secret_ref": peer.password_secret, "trigger_parameter": "password"}],
        }})
    return {
        "min_replicas": args.min_replicas, "max_replicas": args.max_replicas,
        "cooldown_period": args.scale_down.stabilization_window_seconds, "polling_interval": POLLING_INTERVAL_SECONDS,
        "rules": rules,
    }


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    handle = args.service.handle
    if getattr(handle, "set_scale", None) is None:
        raise InputError("autoscaling.service", getattr(handle, "name", "?"), "the WebService must be created with autoscaled=True on Azure (its Container App then waits for this scale block)")
    if args.queue is not None and args.queue.redis.link.name not in handle.linked:
        raise InputError("autoscaling.queue", args.queue.list_name, "the service must link the queue's ManagedRedis (it holds the password secret the scale rule uses)")
    handle.set_scale(scale_block(args))
    return {"min_replicas": args.min_replicas, "max_replicas": args.max_replicas}
