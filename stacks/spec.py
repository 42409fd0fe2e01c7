"""App specs: the cloud-neutral description of an app (stacks/apps/*.yaml), validated on load.

A spec names sizes as people write them ("4Gi", "500m", "0 3 * * *"); :mod:`stacks.app` turns a validated
spec plus a profile into component Args. Every error names the file, the dotted field, the value and what is
allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping

from components._core import InputError, dns_label, one_of
from components._core.units import cpu_millicores, cron, in_range, size_gib, size_mib
from components.web_service import looks_secret

from . import schema

APPS_DIR = Path(__file__).parent / "apps"
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_REF = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True, kw_only=True)
class ProbeSpec:
    """Timing of one probe; the path comes from `health.path` unless set."""

    path: str | None = None
    initial_delay_seconds: int = 0
    period_seconds: int = 10
    timeout_seconds: int = 5
    failure_threshold: int = 3


@dataclass(frozen=True, kw_only=True)
class HealthSpec:
    path: str
    liveness: ProbeSpec = ProbeSpec()
    readiness: ProbeSpec = ProbeSpec()
    startup: ProbeSpec | None = None
    command: tuple[str, ...] | None = None
    """Container health check command (Docker form: ["CMD", "/app/healthcheck"] or ["CMD-SHELL", "..."]), used
    where the platform checks containers itself (ECS). Default: none (routed services: the load balancer's check)."""


@dataclass(frozen=True, kw_only=True)
class VolumeSpec:
    name: str
    mount_path: str
    size: str
    storage_class: str | None = None


@dataclass(frozen=True, kw_only=True)
class MetricsSpec:
    port: int
    path: str = "/metrics"


@dataclass(frozen=True, kw_only=True)
class PolicyItemSpec:
    type: Literal["Percent", "Pods"]
    value: int
    period_seconds: int = 60


@dataclass(frozen=True, kw_only=True)
class PolicySpec:
    stabilization_window_seconds: int
    policies: tuple[PolicyItemSpec, ...] = ()


@dataclass(frozen=True, kw_only=True)
class QueueSpec:
    list_name: str
    target_length: int = 100


@dataclass(frozen=True, kw_only=True)
class AutoscalingSpec:
    min: int
    max: int
    cpu_percent: int | None = None
    memory_percent: int | None = None
    requests_per_target: int | None = None
    queue: QueueSpec | None = None
    scale_up: PolicySpec | None = None
    scale_down: PolicySpec | None = None


@dataclass(frozen=True, kw_only=True)
class AwsServiceSpec:
    """AWS-only knobs of a service (ignored on other clouds)."""

    task_cpu_units: int | None = None
    task_memory: str | None = None
    fargate_spot: bool = True
    """May run on FARGATE_SPOT where the profile uses spot (set false for work that must not be interrupted)."""


@dataclass(frozen=True, kw_only=True)
class GcpServiceSpec:
    """GCP-only knobs of a service (ignored on other clouds)."""

    concurrency: int = 80
    """Cloud Run requests per instance, 1-1000 (seed 001: 80)."""
    cpu: str | None = None
    """Explicit Cloud Run CPU ("1", "2", "4", "6", "8"); default: the CPU limit rounded up."""
    memory: str | None = None
    """Explicit Cloud Run memory (e.g. "4Gi"); default: the memory limit rounded up."""


@dataclass(frozen=True, kw_only=True)
class ServiceSpec:
    image: str
    """Repository without tag, e.g. ghcr.io/acme/api."""
    tag: str
    """Default tag; stacks override it with prodkit:imageTags."""
    port: int
    health: HealthSpec
    replicas: int = 2
    cpu: str = "500m"
    cpu_limit: str | None = None
    memory: str = "512Mi"
    memory_limit: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    secret_files: Mapping[str, str] = field(default_factory=dict)
    volumes: tuple[VolumeSpec, ...] = ()
    uses: tuple[Literal["postgres", "redis"], ...] = ()
    internet_egress: bool = False
    metrics: MetricsSpec | None = None
    autoscaling: AutoscalingSpec | None = None
    aws: AwsServiceSpec | None = None
    gcp: GcpServiceSpec | None = None
    """GCP-only settings (ignored on other clouds)."""
    timeout_seconds: int | None = None
    """Longest request the service serves (calls from other services included). Default: the longest timeout of
    the routes targeting it, else 60 s."""
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class SecretSpec:
    source: Literal["config", "generated"]
    """config: the user sets it with `pulumi config set --secret prodkit:NAME`; generated: pulumi_random."""
    length: int = 48
    optional: bool = False
    """A config secret the app runs without (e.g. SENTRY_DSN): injected when set, left out otherwise."""
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class RouteSpec:
    path: str
    service: str
    rate_limit_per_minute: int = 600
    timeout_seconds: int = 60
    streaming: bool = False
    body_size: str = "10Mi"


@dataclass(frozen=True, kw_only=True)
class HeadersSpec:
    hsts_max_age_seconds: int = 31536000
    content_security_policy: str | None = None
    frame_options: Literal["DENY", "SAMEORIGIN"] = "SAMEORIGIN"


@dataclass(frozen=True, kw_only=True)
class PoolerSpec:
    mode: Literal["transaction", "session"] = "transaction"
    default_pool_size: int = 20
    max_client_connections: int = 1000


@dataclass(frozen=True, kw_only=True)
class PostgresSpec:
    version: str = "16"
    size: Literal["small", "medium", "large", "xlarge"] = "small"
    storage: str = "20Gi"
    database: str = "app"
    username: str = "app"
    extensions: tuple[str, ...] = ()
    parameters: Mapping[str, str] = field(default_factory=dict)
    pooler: PoolerSpec | None = None
    backup_window: str = "03:00-04:00"
    high_availability: bool | None = None
    """Force HA on/off; default: the profile decides."""


@dataclass(frozen=True, kw_only=True)
class RedisSpec:
    version: str = "7"
    maxmemory: str = "1Gi"
    maxmemory_policy: str = "allkeys-lru"
    persistence: bool = True
    storage: str = "10Gi"
    high_availability: bool | None = None
    """Force HA (Sentinel / failover) on/off; default: the profile decides."""


@dataclass(frozen=True, kw_only=True)
class DatabaseBackupSpec:
    schedule: str = "0 3 * * *"
    retention_days: int = 7


@dataclass(frozen=True, kw_only=True)
class VolumeBackupSpec:
    service: str
    volume: str
    schedule: str
    retention_days: int = 30


@dataclass(frozen=True, kw_only=True)
class BackupsSpec:
    database: DatabaseBackupSpec | None = None
    volumes: tuple[VolumeBackupSpec, ...] = ()
    rpo_minutes: int | None = None
    rto_minutes: int | None = None


@dataclass(frozen=True, kw_only=True)
class AlertsSpec:
    error_rate_percent: float = 5.0
    latency_p95_seconds: float = 2.0
    memory_percent: int = 90
    cpu_percent: int = 80


@dataclass(frozen=True, kw_only=True)
class AppSpec:
    name: str
    services: Mapping[str, ServiceSpec]
    routes: tuple[RouteSpec, ...]
    seed: str = ""
    description: str = ""
    secrets: Mapping[str, SecretSpec] = field(default_factory=dict)
    headers: HeadersSpec = HeadersSpec()
    cors_origins: tuple[str, ...] = ()
    postgres: PostgresSpec | None = None
    redis: RedisSpec | None = None
    backups: BackupsSpec = BackupsSpec()
    alerts: AlertsSpec = AlertsSpec()

    def public_services(self) -> set[str]:
        return {r.service for r in self.routes}


def bundled_apps() -> list[str]:
    return sorted(p.stem for p in APPS_DIR.glob("*.yaml"))


def spec_path(ref: str) -> Path:
    """The file of a bundled app name ("compyle") or of a path to a spec file."""
    if ref in bundled_apps():
        return APPS_DIR / f"{ref}.yaml"
    if "/" in ref or "\\" in ref or ref.endswith((".yaml", ".yml")):
        return Path(ref)
    raise one_of("prodkit:app", ref, bundled_apps() + ["<path to a spec .yaml file>"])


def load_app(ref: str) -> AppSpec:
    """A bundled app name ("compyle") or a path to a spec file ("file not found: PATH" when it is missing)."""
    from . import yamlsource

    path = spec_path(ref)
    data, source = yamlsource.load(path)  # syntax errors and duplicate keys name file, line and column
    return parse(data, str(path), source)


def parse(data: object, source: str, where: object = None) -> AppSpec:
    """Validate spec data; every error names the file (line and column when known) and the field path as
    written in the spec (``services.fastapi.image``)."""
    from . import yamlsource

    try:
        spec = schema.load(AppSpec, data, "spec")
        _check(spec)
        return spec
    except InputError as exc:
        field = exc.field.removeprefix("spec.").removeprefix("spec")
        if field.startswith(source):  # already names the file
            raise
        located = where.where(field) if isinstance(where, yamlsource.Source) else source
        hint = yamlsource.bool_hint(exc.value, where.typed(field)) if isinstance(where, yamlsource.Source) else ""
        hint = " ".join(h for h in (exc.hint, hint) if h) or None
        allowed = exc.allowed if not hint or exc.allowed.endswith((".", "?", "!")) else exc.allowed + "."
        raise InputError(f"{located}: {field or '(top level)'}", exc.value, allowed, hint) from None


def _check(spec: AppSpec) -> None:
    """Cross-field checks the types cannot express; unit strings are parsed here so bad ones fail on load."""
    dns_label("spec.name", spec.name)
    if not spec.services:
        raise InputError("spec.services", {}, "declare at least one service")
    for secret, declared in spec.secrets.items():
        if not _ENV_NAME.match(secret):
            raise InputError(f"spec.secrets.{secret}", secret, "secret names are UPPER_SNAKE_CASE environment variable names")
        if declared.optional and declared.source != "config":
            raise InputError(f"spec.secrets.{secret}.optional", True, "only `source: config` secrets can be optional (generated ones always exist)")
    for name, svc in spec.services.items():
        at = f"spec.services.{name}"
        dns_label(at, name)
        cpu = cpu_millicores(f"{at}.cpu", svc.cpu)
        if svc.cpu_limit is not None and cpu_millicores(f"{at}.cpu_limit", svc.cpu_limit) < cpu:
            raise InputError(f"{at}.cpu_limit", svc.cpu_limit, f"must be at least cpu ({svc.cpu})")
        mem = size_mib(f"{at}.memory", svc.memory)
        if svc.memory_limit is not None and size_mib(f"{at}.memory_limit", svc.memory_limit) < mem:
            raise InputError(f"{at}.memory_limit", svc.memory_limit, f"must be at least memory ({svc.memory})")
        in_range(f"{at}.port", svc.port, 1, 65535)
        cmd = svc.health.command
        if cmd is not None and (len(cmd) < 2 or cmd[0] not in ("CMD", "CMD-SHELL")):
            raise InputError(f"{at}.health.command", list(cmd), 'allowed: ["CMD", program, args...] or ["CMD-SHELL", "one shell command"], e.g. ["CMD", "/app/healthcheck"]')
        in_range(f"{at}.replicas", svc.replicas, 1, 1000)
        for key in svc.env:
            if not _ENV_NAME.match(key):
                raise InputError(f"{at}.env.{key}", key, "environment variable names are UPPER_SNAKE_CASE")
            if looks_secret(key):
                raise InputError(f"{at}.env.{key}", svc.env[key], "this looks like a secret: declare it under `secrets:` and list it in the service's `secrets`, never as a plain value")
        for ref in [*svc.secrets, *svc.secret_files.values()]:
            if ref not in spec.secrets:
                raise InputError(f"{at}.secrets", ref, "not declared under the spec's `secrets:`; declared: " + (", ".join(spec.secrets) or "none"))
        for dep in svc.uses:
            if getattr(spec, dep) is None:
                raise InputError(f"{at}.uses", dep, f"the spec declares no `{dep}:` section")
        for vol in svc.volumes:
            size_gib(f"{at}.volumes.{vol.name}.size", vol.size)
        if svc.autoscaling:
            a = svc.autoscaling
            if a.min > a.max:
                raise InputError(f"{at}.autoscaling.min", a.min, f"must not exceed autoscaling.max ({a.max})")
            if a.queue and "redis" not in svc.uses:
                raise InputError(f"{at}.autoscaling.queue", a.queue.list_name, "a queue trigger reads Redis: add redis to the service's `uses`")
        for value in svc.env.values():
            for ref in _REF.findall(value):
                _check_ref(spec, f"{at}.env", ref)
    paths = set()
    for i, route in enumerate(spec.routes):
        at = f"spec.routes[{i}]"
        if route.service not in spec.services:
            raise one_of(f"{at}.service", route.service, spec.services)
        if route.path in paths:
            raise InputError(f"{at}.path", route.path, "each path may be routed once")
        paths.add(route.path)
        size_mib(f"{at}.body_size", route.body_size)
    if spec.postgres:
        size_gib("spec.postgres.storage", spec.postgres.storage)
    if spec.redis:
        size_mib("spec.redis.maxmemory", spec.redis.maxmemory)
        size_gib("spec.redis.storage", spec.redis.storage)
    b = spec.backups
    if b.database:
        if spec.postgres is None:
            raise InputError("spec.backups.database", "database backups", "the spec declares no `postgres:` section")
        cron("spec.backups.database.schedule", b.database.schedule)
        in_range("spec.backups.database.retention_days", b.database.retention_days, 1, 3653, "days")
    for i, vb in enumerate(b.volumes):
        at = f"spec.backups.volumes[{i}]"
        if vb.service not in spec.services:
            raise one_of(f"{at}.service", vb.service, spec.services)
        vols = [v.name for v in spec.services[vb.service].volumes]
        if vb.volume not in vols:
            raise one_of(f"{at}.volume", vb.volume, vols)
        cron(f"{at}.schedule", vb.schedule)
        in_range(f"{at}.retention_days", vb.retention_days, 1, 3653, "days")


def _check_ref(spec: AppSpec, at: str, ref: str) -> None:
    """Env values may say ${domain}, ${url} or ${services.NAME.url}."""
    if ref in ("domain", "url"):
        return
    parts = ref.split(".")
    if len(parts) == 3 and parts[0] == "services" and parts[2] == "url":
        if parts[1] not in spec.services:
            raise one_of(f"{at} ${{{ref}}}", parts[1], spec.services)
        return
    raise InputError(at, "${" + ref + "}", "allowed references: ${domain}, ${url}, ${services.<name>.url}")
