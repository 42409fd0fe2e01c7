"""Autoscaler on GCP: scaling is a property of the Cloud Run service, not a resource of its own.

What it sets on the WebService's Cloud Run service (template ``scaling``): ``min_instance_count`` =
``min_replicas``, ``max_instance_count`` = ``max_replicas`` and, with ``cpu_percent``, ``cpu_utilization`` (the CPU
threshold before Cloud Run scales out, 10-90 %; Cloud Run's default is 60 %). Requests per instance are the WebService's
``gcp.concurrency``; Cloud Run scales out when either is reached. ``memory_percent`` has no Cloud Run equivalent
(Cloud Run does not scale on memory): it is kept for the other clouds and the Monitoring alert on memory covers it.
Scale-up/-down windows are Cloud Run's own (it scales in after about 15 minutes idle).

Queue depth (``queue``): Cloud Run cannot scale on a Redis list by itself, so this deploys CREMA (Cloud Run
External Metrics Autoscaling, Google's KEDA-based autoscaler for Cloud Run) as the real mechanism:

- ``{name}-crema-config`` (+ ``-version``): a Parameter Manager YAML parameter holding the CremaConfig: one
  ScaledObject targeting the service, ``min``/``max`` replicas, a KEDA ``redis`` (Redis Lists) trigger on
  ``list_name`` with ``listLength`` = ``target_length`` over TLS, the HPA behaviour from ``scale_up``/``scale_down``,
  and a TriggerAuthentication reading the Memorystore AUTH string and server CA from Secret Manager;
- ``{name}-crema-sa``: its service account, with ``roles/parametermanager.parameterViewer`` (project),
  ``roles/run.developer`` on the scaled service only, ``roles/iam.serviceAccountUser`` on the scaled service's
  service account only, ``secretmanager.secretAccessor`` on the two Redis secrets only, and ``roles/run.invoker``
  on itself (CREMA polls by invoking itself every 30 s);
- ``{name}-crema``: the CREMA Cloud Run service (pinned image ``crema-v1/autoscaler:1.2``), one instance with
  always-allocated CPU, internal ingress, Direct VPC egress to reach Memorystore, a TCP startup probe,
  deletion protection as the scaled service.

The scaled service ignores drift in its service-level ``scaling`` (CREMA writes the instance count there).

Cost: CREMA runs one always-on instance (1 CPU / 512 MiB, ~$45/month); Parameter Manager free tier.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from .._core import InputError, Platform
from . import AutoscalerArgs

COMPONENT = "autoscaler"
CREMA_IMAGE = "us-central1-docker.pkg.dev/cloud-run-oss-images/crema-v1/autoscaler:1.2"
CREMA_BASE_IMAGE = "us-central1-docker.pkg.dev/serverless-runtimes/google-24/runtimes/java25"
POLLING_SECONDS = 30


def validate(args: AutoscalerArgs, platform: Platform) -> None:
    handle = getattr(args.service, "handle", None)
    if handle is not None and not hasattr(handle, "set_scaling"):
        raise InputError("autoscaling.service", type(args.service).__name__, "expected a WebService created on GCP (Cloud Run)")
    if handle is not None and handle.set_scaling is None:
        raise InputError("autoscaling.service", handle.name, "create the WebService with autoscaled=True: Cloud Run's scaling is set by this Autoscaler")
    if args.requests_per_target is not None:
        raise InputError("autoscaling.requests_per_target", args.requests_per_target,
                         "Cloud Run scales on concurrent requests per instance: set the service's gcp.concurrency instead")
    if args.schedules:
        raise InputError("autoscaling.schedules", args.schedules[0].name,
                         "Cloud Run has no scheduled scaling; raise min_replicas or use a Cloud Scheduler job of your own")
    if args.queue is not None and getattr(args.queue.redis, "handle", None) is not None and getattr(args.queue.redis.handle, "auth_secret_id", None) is None:
        raise InputError("autoscaling.queue.redis", type(args.queue.redis).__name__, "expected a ManagedRedis created on GCP (Memorystore)")
    if args.cpu_percent is not None and args.cpu_percent > 90:
        raise InputError("autoscaling.cpu_percent", args.cpu_percent, "Cloud Run's CPU utilisation target is 10 to 90 %")
    if args.max_replicas > 1000:
        raise InputError("autoscaling.max_replicas", args.max_replicas, "Cloud Run allows at most 1000 instances per service")


def _behavior(policy: Any) -> dict[str, Any]:
    items = [policy, *policy.extra]
    return {
        "stabilizationWindowSeconds": policy.stabilization_window_seconds,
        "policies": [{"type": p.type, "value": p.value, "periodSeconds": p.period_seconds} for p in items],
    }


def crema_config(args: AutoscalerArgs, service_id: Any, host: Any, port: Any, auth_secret: Any, ca_secret: Any) -> pulumi.Output[str]:
    """The CremaConfig document (JSON is YAML) for a queue-depth trigger."""
    q = args.queue
    return pulumi.Output.json_dumps({
        "apiVersion": "crema/v1",
        "kind": "CremaConfig",
        "spec": {
            "pollingInterval": POLLING_SECONDS,
            "triggerAuthentications": [{
                "metadata": {"name": "redis-auth"},
                "spec": {"gcpSecretManager": {"secrets": [
                    {"parameter": "password", "id": auth_secret, "version": "latest"},
                    {"parameter": "ca", "id": ca_secret, "version": "latest"},
                ]}},
            }],
            "scaledObjects": [{
                "spec": {
                    "scaleTargetRef": {"name": service_id},
                    "minReplicaCount": args.min_replicas,
                    "maxReplicaCount": args.max_replicas,
                    "triggers": [{
                        "type": "redis", "name": "queue-depth",
                        "metadata": {
                            "address": pulumi.Output.concat(host, ":", pulumi.Output.from_input(port).apply(str)),
                            "listName": q.list_name, "listLength": str(q.target_length), "enableTLS": "true",
                        },
                        "authenticationRef": {"name": "redis-auth"},
                    }],
                    "advanced": {"horizontalPodAutoscalerConfig": {"behavior": {
                        "scaleUp": _behavior(args.scale_up), "scaleDown": _behavior(args.scale_down),
                    }}},
                },
            }],
        },
    })


def build(name: str, args: AutoscalerArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    handle = args.service.handle
    scaling: dict[str, Any] = {"min_instance_count": args.min_replicas, "max_instance_count": args.max_replicas}
    if args.cpu_percent is not None:
        scaling["cpu_utilization"] = round(args.cpu_percent / 100, 2)
    handle.set_scaling(scaling)
    if args.queue is not None:
        _crema(name, args, platform, child, handle)
    return {"min_replicas": args.min_replicas, "max_replicas": args.max_replicas}


def _crema(name: str, args: AutoscalerArgs, platform: Platform, child: pulumi.ResourceOptions, handle: Any) -> None:
    redis = args.queue.redis.handle
    labels = platform.labels(COMPONENT)
    project = handle.project or gcp.organizations.get_client_config_output(opts=pulumi.InvokeOptions(parent=child.parent)).project

    sa = gcp.serviceaccount.Account(
        f"{name}-crema-sa", project=handle.project, account_id=platform.physical_name(f"{name}-crema", limit=30),
        display_name=f"CREMA autoscaler of {handle.name}", opts=child,
    )
    member = pulumi.Output.concat("serviceAccount:", sa.email)
    param = gcp.parametermanager.Parameter(
        f"{name}-crema-config", project=handle.project, parameter_id=platform.physical_name(f"{name}-crema"), format="YAML", labels=labels, opts=child,
    )
    version = gcp.parametermanager.ParameterVersion(
        f"{name}-crema-config-version", parameter=param.id, parameter_version_id="v1",
        parameter_data=crema_config(args, handle.service_id, redis.host, redis.port, redis.auth_secret_id, redis.ca_secret_id),
        opts=child,
    )
    gcp.projects.IAMMember(f"{name}-crema-config-viewer", project=project, role="roles/parametermanager.parameterViewer", member=member, opts=child)
    gcp.cloudrunv2.ServiceIamMember(
        f"{name}-crema-developer", project=handle.project, name=handle.service_name, location=handle.region, role="roles/run.developer", member=member, opts=child,
    )
    gcp.serviceaccount.IAMMember(
        f"{name}-crema-act-as", service_account_id=pulumi.Output.concat("projects/", project, "/serviceAccounts/", handle.service_account_email),
        role="roles/iam.serviceAccountUser", member=member, opts=child,
    )
    for role, secret_id in (("auth", redis.auth_secret_id), ("ca", redis.ca_secret_id)):
        gcp.secretmanager.SecretIamMember(f"{name}-crema-{role}-access", project=handle.project, secret_id=secret_id, role="roles/secretmanager.secretAccessor",
                                          member=member, opts=child)
    crema = gcp.cloudrunv2.Service(
        f"{name}-crema", project=handle.project, name=platform.physical_name(f"{name}-crema", limit=49), location=handle.region,
        description=f"CREMA: scales {handle.name} on the Redis list {args.queue.list_name}",
        ingress="INGRESS_TRAFFIC_INTERNAL_ONLY", deletion_protection=handle.deletion_protection,
        scaling={"scaling_mode": "MANUAL", "manual_instance_count": 1},
        template={
            "service_account": sa.email,
            "execution_environment": "EXECUTION_ENVIRONMENT_GEN2",
            "vpc_access": {"egress": "ALL_TRAFFIC", "network_interfaces": [{"network": handle.network_id, "subnetwork": handle.subnet_id, "tags": ["prodkit-service"]}]},
            "containers": [{
                "name": "crema", "image": CREMA_IMAGE, "base_image_uri": CREMA_BASE_IMAGE,
                "ports": {"name": "http1", "container_port": 8080},
                # CREMA documents no health path: a TCP startup probe on its port (Cloud Run's liveness probes are
                # HTTP/gRPC only, so an HTTP-less container gets none).
                "startup_probe": {"tcp_socket": {"port": 8080}, "period_seconds": 10, "timeout_seconds": 5, "failure_threshold": 6},
                "resources": {"limits": {"cpu": "1", "memory": "512Mi"}, "cpu_idle": False},
                "envs": [
                    {"name": "CREMA_CONFIG", "value": version.name},
                    {"name": "OUTPUT_SCALER_METRICS", "value": "False"},
                    {"name": "ENABLE_CLOUD_LOGGING", "value": "False"},
                ],
            }],
            "labels": labels,
        },
        labels={**labels, "created-by": "crema"}, opts=child,
    )
    gcp.cloudrunv2.ServiceIamMember(
        f"{name}-crema-self-invoker", project=handle.project, name=crema.name, location=handle.region, role="roles/run.invoker", member=member, opts=child,
    )
