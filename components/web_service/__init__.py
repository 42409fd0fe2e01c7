"""WebService: a long-running HTTP container service, private by default, reached through TlsIngress.

| cloud | implementation | secrets | shared volumes | replicas owned by |
|---|---|---|---|---|
| aws | ECS Fargate task definition + service in private subnets, FARGATE/FARGATE_SPOT strategy, circuit breaker with rollback, awslogs (stack KMS key); images from ECR, the Network's pull-through cache (rewritten) or, with `internet_egress`, anywhere; container health check only from `probes.command` (routed services: the target group's check); Service Connect per-request/idle timeouts, deregistration delay and stopTimeout (max 120 s) from `request_timeout_seconds`; created after the services in `calls` and after its IAM policies | `secrets[].valueFrom` Secrets Manager ARNs (stack KMS key); exec role reads exactly those | EFS (stack KMS key) with access points | Application Auto Scaling when `autoscaled` (desiredCount ignored) |
| gcp | Cloud Run v2 service (gen2, Direct VPC egress, all traffic through the VPC), own service account, ingress from the load balancer only (routed) or internal only, startup + liveness probes, deletion protection | Secret Manager secrets: env `secret_key_ref`, files as secret volumes; the service account reads exactly its secrets | Cloud Storage FUSE mount of a per-volume bucket (versioned, uniform access, public access prevented) | Cloud Run min/max instances (Autoscaler) |
| azure | Container App (Consumption workload profile) in the Network's internal, VNet-integrated environment; ingress HTTPS only (`allowInsecure` false), reachable from the environment only unless `public` (then Front Door's private link) | Key Vault secrets referenced by URI through a user-assigned identity holding Key Vault Secrets User on exactly those secrets; secret files as a secret volume | Azure Files (SMB) share per volume through the environment's storage (account on the stack's Key Vault key when the Network has one) | Container Apps scale rules (set by the Autoscaler) |
| kubernetes | Deployment + ServiceAccount + Service + PodDisruptionBudget (replicas >= 2), restricted securityContext, probes, topology spread, rolling update maxUnavailable 0, preStop pause and a grace period covering `request_timeout_seconds` | Secret + `secretKeyRef` / mounted secret files | ReadWriteMany PVC | HPA/KEDA when `autoscaled` |
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import pulumi

from .._core import Component, InputError
from .._core.units import in_range

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_ROLE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True, kw_only=True)
class Probe:
    """An HTTP GET health probe."""

    path: str
    """Request path, e.g. "/health". Required."""
    initial_delay_seconds: int = 0
    """Wait before the first probe. Default: 0 (a startup probe guards slow starts)."""
    period_seconds: int = 10
    """Interval between probes. Default: 10 s."""
    timeout_seconds: int = 5
    """Probe timeout. Default: 5 s."""
    failure_threshold: int = 3
    """Consecutive failures before acting. Default: 3."""

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path.startswith("/"):
            raise InputError("probe.path", self.path, "allowed: an absolute HTTP path such as '/health'")
        in_range("probe.initial_delay_seconds", self.initial_delay_seconds, 0, 3600, "s")
        in_range("probe.period_seconds", self.period_seconds, 1, 300, "s")
        in_range("probe.timeout_seconds", self.timeout_seconds, 1, 120, "s")
        in_range("probe.failure_threshold", self.failure_threshold, 1, 30)
        if self.timeout_seconds > self.period_seconds:
            raise InputError("probe.timeout_seconds", self.timeout_seconds, f"must not exceed period_seconds ({self.period_seconds})")


@dataclass(frozen=True, kw_only=True)
class Probes:
    """Liveness, readiness and (optional) startup probes."""

    liveness: Probe
    """Restart the container when it fails. Required."""
    readiness: Probe
    """Take the replica out of the load balancer when it fails. Required."""
    startup: Probe | None = None
    """Hold liveness checks until the app has started. Default: none (liveness initial delay applies)."""
    command: Sequence[str] | None = None
    """Health check run inside the container where the platform checks containers itself (the ECS container
    health check), in Docker's form: ``["CMD", "/app/healthcheck"]`` or ``["CMD-SHELL", "..."]``. Timing comes from
    `liveness`. Default: none: on AWS a routed service is then checked by its target group's HTTP check only, and
    nothing assumes a tool such as curl in the image. Kubernetes keeps the HTTP probes either way."""

    def __post_init__(self) -> None:
        if self.command is not None:
            cmd = list(self.command) if not isinstance(self.command, str) else []
            if len(cmd) < 2 or cmd[0] not in ("CMD", "CMD-SHELL") or not all(isinstance(c, str) and c for c in cmd):
                raise InputError(
                    "health.command", self.command,
                    'allowed: a list starting with "CMD" (then the program and its arguments) or "CMD-SHELL" (then one shell command), e.g. ["CMD", "/app/healthcheck"]',
                )
            object.__setattr__(self, "command", tuple(cmd))


@dataclass(frozen=True, kw_only=True)
class SharedVolume:
    """A filesystem shared by every replica (ReadWriteMany)."""

    name: str
    """Volume role, kebab-case, e.g. "workspaces". Required."""
    mount_path: str
    """Absolute mount path in the container. Required."""
    size_gib: int
    """Capacity. Required."""
    storage_class: str | None = None
    """Kubernetes StorageClass (must support RWX). Default: the cluster default."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _ROLE.match(self.name):
            raise InputError("volume.name", self.name, "allowed: kebab-case, e.g. 'workspaces'")
        if not str(self.mount_path).startswith("/"):
            raise InputError("volume.mount_path", self.mount_path, "allowed: an absolute path such as '/workspaces'")
        in_range("volume.size_gib", self.size_gib, 1, 65536, "GiB")


@dataclass(frozen=True, kw_only=True)
class Metrics:
    """A Prometheus metrics endpoint."""

    port: int
    """Container port serving metrics. Required."""
    path: str = "/metrics"
    """Scrape path. Default: "/metrics"."""


@dataclass(frozen=True, kw_only=True)
class AwsWebServiceOptions:
    """AWS-only settings of a WebService (ECS Fargate)."""

    fargate_weight: int = 1
    """Capacity-provider weight of on-demand FARGATE. Default: 1."""
    fargate_spot_weight: int = 0
    """Capacity-provider weight of FARGATE_SPOT (interruptible, ~70% cheaper). Default: 0 (no spot)."""
    enable_exec: bool = False
    """Allow `aws ecs execute-command` shells into tasks. Default: off."""
    health_check_grace_seconds: int = 60
    """Time after a task starts before failed load-balancer checks count. Default: 60 s."""
    wait_for_steady_state: bool = False
    """`pulumi up` waits until the service's tasks run and pass their checks (and fails when they do not).
    Default: off; prod stacks turn it on."""
    task_cpu_units: int | None = None
    """Explicit Fargate task CPU (256, 512, 1024, 2048, 4096, 8192, 16384 units), validated against Fargate's
    allowed cpu/memory pairs. Default: the smallest Fargate size that holds the CPU and memory limits."""
    task_memory_mib: int | None = None
    """Explicit Fargate task memory, validated with `task_cpu_units`. Default: derived with the CPU (see above)."""


@dataclass(frozen=True, kw_only=True)
class GcpWebServiceOptions:
    """GCP-only settings of a WebService (Cloud Run v2)."""

    project: str | None = None
    """Project id (project-level IAM grants such as `roles/cloudsql.client`). Default: the provider's project."""
    concurrency: int = 80
    """Maximum concurrent requests per instance, 1-1000 (seed 001: 80). Default: 80 (Cloud Run's default)."""
    cpu: str | None = None
    """Explicit Cloud Run CPU limit ("1", "2", "4", "6", "8"), validated with `memory_mib` against Cloud Run's
    allowed combinations. Default: the CPU limit rounded up to the next size Cloud Run offers (at least 1)."""
    memory_mib: int | None = None
    """Explicit Cloud Run memory limit in MiB, validated with `cpu`. Default: the memory limit rounded up to what
    the CPU size requires (at least 512 MiB)."""
    cpu_always_allocated: bool = True
    """Instance-based billing: CPU outside requests (background work, streaming). Default: on."""


@dataclass(frozen=True, kw_only=True)
class AzureWebServiceOptions:
    """Azure-only settings of a WebService (Container App)."""

    cpu: float | None = None
    """Explicit vCPU per replica, validated with `memory_gib` against the Consumption profile's pairs (0.25 to 4
    vCPU in steps of 0.25, with 2 GiB per vCPU). Default: the smallest pair holding the CPU and memory limits."""
    memory_gib: float | None = None
    """Explicit memory per replica in GiB, validated with `cpu`. Default: derived with the CPU (see above)."""


@dataclass(frozen=True, kw_only=True)
class KubernetesWebServiceOptions:
    """Kubernetes-only settings of a WebService."""

    automount_service_account_token: bool = False
    """Mount a Kubernetes API token into pods. Default: off (the app does not call the API)."""
    image_pull_secret: str | None = None
    """Name of an existing docker-registry Secret for private images. Default: none."""
    image_pull_policy: str = "IfNotPresent"
    """imagePullPolicy of the container: "Always" re-checks the registry on every start (prod profiles).
    Default: "IfNotPresent"."""
    prestop_sleep_seconds: int = 10
    """Pause before SIGTERM on shutdown (a preStop `sleep`), so that endpoints, kube-proxy and the Gateway stop
    sending new requests to a terminating pod before it stops accepting them. Default: 10 s."""

    def __post_init__(self) -> None:
        if self.image_pull_policy not in ("Always", "IfNotPresent", "Never"):
            raise InputError("service.kubernetes.image_pull_policy", self.image_pull_policy, "allowed: Always, IfNotPresent, Never")
        in_range("service.kubernetes.prestop_sleep_seconds", self.prestop_sleep_seconds, 0, 120, "s")


@dataclass(frozen=True, kw_only=True)
class WebServiceArgs:
    """Arguments of :class:`WebService`."""

    network: Any
    """The Network component to run in. Required."""
    image: pulumi.Input[str]
    """Container image with an explicit tag or digest ("repo/app:1.4.2"); `latest` is refused. Required."""
    port: int
    """Container port serving HTTP. Required."""
    probes: Probes
    """Health probes. Required."""
    replicas: int = 2
    """Replicas (tasks) when no Autoscaler owns the count; the minimum when one does. Default: 2."""
    cpu_millicores: int = 500
    """CPU request per replica. Default: 500 (0.5 core)."""
    cpu_limit_millicores: int | None = None
    """CPU limit per replica; on Fargate the task size. Default: twice the request."""
    memory_mib: int = 1024
    """Memory request per replica. Default: 1024 MiB."""
    memory_limit_mib: int | None = None
    """Memory limit per replica; on Fargate the task size. Default: equal to the request (no overcommit)."""
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain configuration environment variables. Secret-looking names are refused here. Default: none."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment variable -> secret value; stored in the cloud's secret store and injected by reference,
    never as a literal. Default: none."""
    secret_files: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Absolute file path -> secret content, mounted read-only (e.g. a GitHub App private key). Default: none."""
    volumes: Sequence[SharedVolume] = ()
    """Shared ReadWriteMany volumes. Default: none."""
    links: Sequence[Any] = ()
    """ManagedPostgres / ManagedRedis components to use: injects DATABASE_URL / REDIS_URL as secret references
    and opens exactly that network path. Default: none."""
    public: bool = False
    """Reached from the internet through TlsIngress (admits the ingress/load balancer only). Default: private."""
    internet_egress: bool = False
    """May call the internet (LLM APIs); otherwise egress is limited to DNS and linked stores. Default: off."""
    metrics: Metrics | None = None
    """Prometheus endpoint to scrape. Default: none."""
    autoscaled: bool = False
    """An Autoscaler owns the replica count (the deployment ignores drift in it). Default: off."""
    log_retention_days: int = 30
    """Retention of the service's logs in the cloud's log store. Default: 30 days."""
    request_timeout_seconds: int = 60
    """Longest request the service must be allowed to finish (its longest route or service-to-service call):
    sets drain and grace periods on rollout and scale-in, and timeouts of calls into it. Default: 60 s."""
    calls: Sequence[Any] = ()
    """Other WebServices this one calls by their internal URL. On AWS the ECS service is created after theirs (a
    Service Connect client started before its server cannot resolve it). Default: none."""
    deletion_protection: bool = True
    """Protect shared volumes from deletion (`protect`, retain on delete). Default: on; staging opts out."""
    aws: AwsWebServiceOptions | None = None
    """AWS-only options. Default: AwsWebServiceOptions() on AWS; an error on other clouds."""
    kubernetes: KubernetesWebServiceOptions | None = None
    """Kubernetes-only options. Default: KubernetesWebServiceOptions() on Kubernetes; an error on other clouds."""
    gcp: GcpWebServiceOptions | None = None
    """GCP-only options. Default: GcpWebServiceOptions() on GCP; an error on other clouds."""
    azure: AzureWebServiceOptions | None = None
    """Azure-only options. Default: AzureWebServiceOptions() on Azure; an error on other clouds."""

    def __post_init__(self) -> None:
        if isinstance(self.image, str):
            check_image("image", self.image)
        in_range("port", self.port, 1, 65535)
        in_range("replicas", self.replicas, 1, 1000)
        in_range("cpu_millicores", self.cpu_millicores, 10, 64000, "millicores")
        in_range("memory_mib", self.memory_mib, 16, 512 * 1024, "MiB")
        if self.cpu_limit_millicores is not None and self.cpu_limit_millicores < self.cpu_millicores:
            raise InputError("cpu_limit_millicores", self.cpu_limit_millicores, f"must be at least the request ({self.cpu_millicores})")
        if self.memory_limit_mib is not None and self.memory_limit_mib < self.memory_mib:
            raise InputError("memory_limit_mib", self.memory_limit_mib, f"must be at least the request ({self.memory_mib})")
        for name in list(self.env) + list(self.secrets):
            if not _ENV_NAME.match(name):
                raise InputError("env", name, "environment variable names are UPPER_SNAKE_CASE")
        for name in self.env:
            if looks_secret(name):
                raise InputError(f"env.{name}", "<literal value>", "secret-looking variables must be passed in `secrets` (stored in the secret store, injected by reference)")
        for path in self.secret_files:
            if not str(path).startswith("/"):
                raise InputError("secret_files", path, "allowed: absolute file paths")
        in_range("log_retention_days", self.log_retention_days, 1, 3653, "days")
        in_range("request_timeout_seconds", self.request_timeout_seconds, 1, 3600, "seconds")

    @property
    def cpu_limit(self) -> int:
        return self.cpu_limit_millicores or self.cpu_millicores * 2

    @property
    def memory_limit(self) -> int:
        return self.memory_limit_mib or self.memory_mib


_SECRET_NAME = re.compile(r"(_KEY$|_SECRET$|_TOKEN$|PASSWORD|_DSN$|^DATABASE_URL$|^REDIS_URL$)")


def looks_secret(name: str) -> bool:
    """Names that must come from a secret reference: *_KEY, *_SECRET, *_TOKEN, *PASSWORD*, *_DSN, DATABASE_URL,
    REDIS_URL (the policy pack uses the same test). OPENAI_MAX_TOKENS or GITHUB_APP_PRIVATE_KEY_PATH are config."""
    return bool(_SECRET_NAME.search(name))


def check_image(field_name: str, image: str) -> str:
    """An image reference must pin a tag or digest other than `latest`."""
    ref = image.rsplit("/", 1)[-1]
    if "@sha256:" in image:
        return image
    if ":" not in ref or ref.endswith(":latest") or ref.endswith(":"):
        raise InputError(field_name, image, "pin a tag or digest (e.g. 'ghcr.io/org/api:1.4.2'); 'latest' or no tag is not reproducible")
    return image


class WebService(Component):
    """A private HTTP container service.

    Example: ``WebService("api", WebServiceArgs(network=net, image="ghcr.io/acme/api:1.0.0", port=8080,
    probes=Probes(liveness=Probe(path="/health"), readiness=Probe(path="/health"))), platform)``

    Cost: Kubernetes the pods' requests; AWS Fargate vCPU-hours + GB-hours (spot weight lowers it), logs; Azure
    Container Apps vCPU-seconds + GiB-seconds of running replicas, Key Vault operations; GCP Cloud Run vCPU-seconds
    + GiB-seconds of its instances (min instances always), Secret Manager versions.
    """

    ARGS = WebServiceArgs
    OUTPUTS = ("service_name", "internal_url")

    service_name: pulumi.Output[str]
    """The platform's name of the service (k8s Service, ECS service, Cloud Run service, Container App)."""
    internal_url: pulumi.Output[str]
    """http://host:port other services of the stack use to call it."""
