"""AppSpec x Profile x Platform -> components.

`compose` runs twice with one code path: first with :class:`Checker`, which builds and validates every Args
object (and the chosen cloud's `validate`) without registering anything; then with :class:`Builder`, which
creates the components. So bad input fails before the first resource exists, in `prodkit plan` and in
`pulumi up` alike.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

import pulumi

from components import (
    AlertThresholds, Autoscaler, AutoscalerArgs, BackupSchedule, BackupScheduleArgs, ManagedPostgres,
    ManagedPostgresArgs, ManagedRedis, ManagedRedisArgs, Metrics, Monitoring, MonitoringArgs, Network, NetworkArgs,
    Pooler, Probe, Probes, QueueTrigger, Route, ScalingPolicy, SecurityHeaders, SharedVolume, TlsIngress,
    TlsIngressArgs, VolumeBackup, WebService, WebServiceArgs,
)
from components._core import InputError, Platform
from components._core.units import cpu_millicores, size_gib, size_mib

from .config import StackConfig
from .spec import AppSpec, ProbeSpec, ServiceSpec
from .targets import Target, target_of

_REF = re.compile(r"\$\{([^}]+)\}")


def placeholder(cls: type, name: str, args: Any, platform: Platform) -> Any:
    """An instance of the component class that was never constructed: it stands in for the component during the
    check pass so that Args type checks pass, and registers nothing. Its handle and link are None (validators
    must not need them) and its outputs are None."""
    obj = object.__new__(cls)
    obj.__dict__.update(_name=name, args=args, platform=platform, handle=None, link=None, is_placeholder=True)
    for key in cls.OUTPUTS:
        obj.__dict__[key] = None
    return obj


class Checker:
    """Validates Args and the cloud backend's limits; registers nothing."""

    def __call__(self, cls: type, name: str, args: Any, platform: Platform, opts: Any = None) -> Any:
        cls.check(args, platform)
        return placeholder(cls, name, args, platform)


class Builder:
    """Creates the components."""

    def __call__(self, cls: type, name: str, args: Any, platform: Platform, opts: Any = None) -> Any:
        return cls(name, args, platform, opts)


@dataclass
class Composition:
    """What `compose` made, for exports, the diagram and the text plan."""

    platform: Platform
    components: dict[str, Any] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    """(from, to, label) between component names."""
    exports: dict[str, Any] = field(default_factory=dict)


def platform_of(cfg: StackConfig) -> Platform:
    return Platform(cloud=cfg.cloud, app=cfg.app.name, stack=cfg.stack, region=cfg.region, namespace=cfg.namespace)


def _probe(health_path: str, p: ProbeSpec) -> Probe:
    return Probe(
        path=p.path or health_path, initial_delay_seconds=p.initial_delay_seconds, period_seconds=p.period_seconds,
        timeout_seconds=p.timeout_seconds, failure_threshold=p.failure_threshold,
    )


def _scaling_policy(spec: Any, default: ScalingPolicy) -> ScalingPolicy:
    if spec is None:
        return default
    items = list(spec.policies) or [None]
    made = [
        ScalingPolicy(stabilization_window_seconds=spec.stabilization_window_seconds, type=i.type, value=i.value, period_seconds=i.period_seconds)
        if i is not None else ScalingPolicy(stabilization_window_seconds=spec.stabilization_window_seconds, type=default.type, value=default.value, period_seconds=default.period_seconds)
        for i in items
    ]
    first = made[0]
    return ScalingPolicy(
        stabilization_window_seconds=first.stabilization_window_seconds, type=first.type, value=first.value,
        period_seconds=first.period_seconds, extra=tuple(made[1:]),
    )


def _secret_value(cfg: StackConfig, name: str, platform: Platform, generated: dict[str, Any], make: bool) -> Any:
    spec = cfg.app.secrets[name]
    if spec.source == "config":
        value = cfg.secrets[name]
        # Offline the value is a placeholder string; mark it secret so it is handled like the real one.
        return pulumi.Output.secret(value) if make and isinstance(value, str) else value
    if not make:
        return "[generated]"
    if name not in generated:
        import pulumi_random as random

        generated[name] = random.RandomPassword(
            f"secret-{name.lower().replace('_', '-')}", length=spec.length, special=False,
        ).result
    return generated[name]


def compose(cfg: StackConfig, make: Any) -> Composition:
    """Create (or, with Checker, validate) every component of the app."""
    app: AppSpec = cfg.app
    prof = cfg.profile
    platform = platform_of(cfg)
    comp = Composition(platform=platform)
    building = isinstance(make, Builder)
    target = target_of(cfg.cloud)
    generated: dict[str, Any] = {}
    protect = prof.deletion_protection
    public = app.public_services()
    target.before(cfg, comp, make, building)

    net = make(
        Network, "network",
        NetworkArgs(
            cidr=cfg.vpc_cidr, zones=prof.zones, nat_per_zone=prof.nat_per_zone,
            flow_log_retention_days=prof.log_retention_days, **target.network(cfg),
        ),
        platform,
    )
    comp.components["network"] = net

    stores: dict[str, Any] = {}
    if app.postgres:
        pg = app.postgres
        retention = min(max(app.backups.database.retention_days if app.backups.database else 7, prof.min_backup_retention_days), prof.max_backup_retention_days)
        stores["postgres"] = make(
            ManagedPostgres, "postgres",
            ManagedPostgresArgs(
                network=net, version=pg.version, size=prof.postgres_size or pg.size,
                storage_gib=size_gib("spec.postgres.storage", pg.storage), database=pg.database, username=pg.username,
                extensions=pg.extensions, parameters=pg.parameters,
                high_availability=prof.high_availability if pg.high_availability is None else pg.high_availability,
                backup_retention_days=retention, backup_window=pg.backup_window, deletion_protection=protect,
                pooler=Pooler(mode=pg.pooler.mode, default_pool_size=pg.pooler.default_pool_size, max_client_connections=pg.pooler.max_client_connections) if pg.pooler else None,
                **target.postgres(cfg),
            ),
            platform,
        )
    if app.redis:
        rd = app.redis
        stores["redis"] = make(
            ManagedRedis, "redis",
            ManagedRedisArgs(
                network=net, version=rd.version, memory_mib=size_mib("spec.redis.maxmemory", rd.maxmemory),
                maxmemory_policy=rd.maxmemory_policy, persistence=rd.persistence,
                storage_gib=size_gib("spec.redis.storage", rd.storage),
                high_availability=prof.high_availability if rd.high_availability is None else rd.high_availability,
                snapshot_retention_days=min(prof.min_backup_retention_days, 35), deletion_protection=protect,
                **target.redis(cfg),
            ),
            platform,
        )
    comp.components.update(stores)

    made: dict[str, Any] = {}
    for name in call_order(app):  # a service is made after the services it calls (their ECS services first on AWS)
        calls = [made[c] for c in calls_of(app.services[name]) if c in made]
        with spec_field(f"services.{name}"):  # errors name the spec field: services.api.image
            made[name] = _service(cfg, target, name, app.services[name], net, stores, public, platform, generated, make, building, calls)
    services: dict[str, Any] = {name: made[name] for name in app.services}
    for name, svc in app.services.items():
        for dep in svc.uses:
            comp.edges.append((name, dep, "DATABASE_URL" if dep == "postgres" else "REDIS_URL"))
        calls: dict[str, list[str]] = {}  # ${services.X.url} in env: a service-to-service call
        for env_name, value in svc.env.items():
            for ref in _REF.findall(value):
                if ref.startswith("services."):
                    calls.setdefault(ref.split(".")[1], []).append(env_name)
        for callee, names in calls.items():
            comp.edges.append((name, callee, ", ".join(sorted(names))))
    comp.components.update(services)
    # The ingress comes before the autoscalers: on AWS, request-count scaling needs the load balancer.

    if app.routes:
        routes = [
            Route(
                path=r.path, service=services[r.service], rate_limit_per_minute=r.rate_limit_per_minute,
                timeout_seconds=r.timeout_seconds, streaming=r.streaming,
                body_size_mib=max(1, size_mib("body_size", r.body_size) // 1),
            )
            for r in app.routes
        ]
        h = app.headers
        ingress = make(
            TlsIngress, "ingress",
            TlsIngressArgs(
                network=net, domain=cfg.domain, routes=routes,
                headers=SecurityHeaders(hsts_max_age_seconds=h.hsts_max_age_seconds, content_security_policy=h.content_security_policy, frame_options=h.frame_options),
                cors_origins=tuple(o.replace("${domain}", cfg.domain) for o in app.cors_origins),
                waf_mode=prof.waf_mode, deletion_protection=protect, access_log_retention_days=prof.log_retention_days,
                **target.ingress(cfg),
            ),
            platform,
        )
        comp.components["ingress"] = ingress
        for r in app.routes:
            comp.edges.append(("ingress", r.service, r.path))

    for name, svc in app.services.items():
        if svc.autoscaling:
            a = svc.autoscaling
            cap = prof.max_replicas
            queue = QueueTrigger(redis=stores["redis"], list_name=a.queue.list_name, target_length=a.queue.target_length) if a.queue else None
            comp.components[f"{name}-autoscaler"] = make(
                Autoscaler, f"{name}-autoscaler",
                AutoscalerArgs(
                    service=services[name], min_replicas=min(a.min, cap) if cap else a.min,
                    max_replicas=min(a.max, max(cap, 2)) if cap else a.max,
                    cpu_percent=a.cpu_percent, memory_percent=a.memory_percent,
                    queue=queue, **target.autoscaler(cfg, a),
                    scale_up=_scaling_policy(a.scale_up, ScalingPolicy(stabilization_window_seconds=60)),
                    scale_down=_scaling_policy(a.scale_down, ScalingPolicy(stabilization_window_seconds=300, value=50)),
                ),
                platform,
            )
            comp.edges.append((f"{name}-autoscaler", name, "scales"))

    b = app.backups
    if b.database or b.volumes:
        db_retention = b.database.retention_days if b.database else 7
        comp.components["backups"] = make(
            BackupSchedule, "backups",
            BackupScheduleArgs(
                database=stores.get("postgres") if b.database else None,
                schedule=b.database.schedule if b.database else "0 3 * * *",
                retention_days=max(db_retention, prof.min_backup_retention_days),
                volumes=[
                    VolumeBackup(service=services[v.service], volume=v.volume, schedule=v.schedule, retention_days=max(v.retention_days, prof.min_backup_retention_days))
                    for v in b.volumes
                ],
                deletion_protection=protect, **target.backups(cfg),
            ),
            platform,
        )
        if b.database:
            comp.edges.append(("backups", "postgres", b.database.schedule))
        for v in b.volumes:
            comp.edges.append(("backups", v.service, f"{v.volume} {v.schedule}"))

    if prof.alarms:
        al = app.alerts
        comp.components["monitoring"] = make(
            Monitoring, "monitoring",
            MonitoringArgs(
                services=list(services.values()), stores=list(stores.values()),
                thresholds=AlertThresholds(error_rate_percent=al.error_rate_percent, latency_p95_seconds=al.latency_p95_seconds, memory_percent=al.memory_percent, cpu_percent=al.cpu_percent),
                notify_emails=cfg.alert_emails, **target.monitoring(cfg),
            ),
            platform,
        )

    target.after(cfg, comp, building)
    if building:
        ingress = comp.components.get("ingress")
        comp.exports = {
            "url": ingress.url if ingress else pulumi.Output.from_input(""),
            "network_id": net.network_id,
            "db_host": stores["postgres"].host if "postgres" in stores else pulumi.Output.from_input(""),
            "redis_host": stores["redis"].host if "redis" in stores else pulumi.Output.from_input(""),
            "services": {n: s.service_name for n, s in services.items()},
            # Where the domain must point (the load balancer's DNS name) and the DNS records the user must create
            # by hand (cloud-specific, e.g. AWS without a Route 53 zone); empty when nothing is left to do.
            "ingress_hostname": ingress.hostname if ingress else pulumi.Output.from_input(""),
            "dns_records": pulumi.Output.from_input([]),
        }
        comp.exports.update(target.exports(cfg, comp))
    return comp


def calls_of(svc: ServiceSpec) -> list[str]:
    """The services whose `${services.NAME.url}` appears in this service's env values, in order of appearance."""
    out: list[str] = []
    for value in svc.env.values():
        for ref in _REF.findall(value):
            parts = ref.split(".")
            if len(parts) == 3 and parts[0] == "services" and parts[1] not in out:
                out.append(parts[1])
    return out


def call_order(app: AppSpec) -> list[str]:
    """The spec's services, each after the ones it calls (spec order otherwise). A cycle of calls is cut where it
    closes: the service reached again is not waited for."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        if state.get(name):
            return
        state[name] = 1
        for other in calls_of(app.services[name]):
            if other != name:
                visit(other)
        state[name] = 2
        order.append(name)

    for name in app.services:
        visit(name)
    return order


def _service(cfg: StackConfig, target: Target, name: str, svc: ServiceSpec, net: Any, stores: dict[str, Any], public: set[str],
             platform: Platform, generated: dict[str, Any], make: Any, building: bool, calls: list[Any] = ()) -> Any:
    prof = cfg.profile
    tag = cfg.image_tags.get(name, svc.tag)
    image = f"{svc.image}:{tag}"
    replicas = svc.autoscaling.min if svc.autoscaling else svc.replicas
    if prof.max_replicas:
        replicas = min(replicas, prof.max_replicas)
    env = {k: _render(v, cfg, target) for k, v in svc.env.items()}
    # Optional secrets the stack did not set are left out, not injected empty.
    present = [s for s in svc.secrets if cfg.app.secrets[s].source == "generated" or s in cfg.secrets]
    secrets = {s: _secret_value(cfg, s, platform, generated, building) for s in present}
    files = {
        path: _secret_value(cfg, s, platform, generated, building)
        for path, s in svc.secret_files.items() if cfg.app.secrets[s].source == "generated" or s in cfg.secrets
    }
    h = svc.health
    args = WebServiceArgs(
        network=net, image=image, port=svc.port,
        probes=Probes(
            liveness=_probe(h.path, h.liveness), readiness=_probe(h.path, h.readiness),
            startup=_probe(h.path, h.startup) if h.startup else None, command=h.command,
        ),
        replicas=replicas,
        cpu_millicores=cpu_millicores("cpu", svc.cpu),
        cpu_limit_millicores=cpu_millicores("cpu_limit", svc.cpu_limit) if svc.cpu_limit else None,
        memory_mib=size_mib("memory", svc.memory),
        memory_limit_mib=size_mib("memory_limit", svc.memory_limit) if svc.memory_limit else None,
        env=env, secrets=secrets, secret_files=files,
        volumes=[SharedVolume(name=v.name, mount_path=v.mount_path, size_gib=size_gib("size", v.size), storage_class=v.storage_class) for v in svc.volumes],
        links=[stores[d] for d in svc.uses], public=name in public, internet_egress=svc.internet_egress,
        metrics=Metrics(port=svc.metrics.port, path=svc.metrics.path) if svc.metrics else None,
        autoscaled=svc.autoscaling is not None, log_retention_days=prof.log_retention_days,
        request_timeout_seconds=svc.timeout_seconds or max((r.timeout_seconds for r in cfg.app.routes if r.service == name), default=60),
        deletion_protection=prof.deletion_protection, calls=list(calls),
        **target.service(cfg, name, svc),
    )
    return make(WebService, name, args, platform)


#: WebServiceArgs fields -> the service's spec keys they come from.
_SERVICE_FIELDS = {
    "cpu_millicores": "cpu", "cpu_limit_millicores": "cpu_limit", "memory_mib": "memory", "memory_limit_mib": "memory_limit",
    "request_timeout_seconds": "timeout_seconds", "probes": "health", "secret_files": "secret_files",
    "aws.task_memory_mib": "aws.task_memory",
}


@contextlib.contextmanager
def spec_field(at: str) -> Iterator[None]:
    """Re-raise an Args error of the block as the spec field it comes from (`image` -> `services.api.image`)."""
    try:
        yield
    except InputError as exc:
        if exc.field.startswith(("prodkit:", at)) or ":" in exc.field:
            raise
        head, dot, rest = exc.field.partition(".")
        field = _SERVICE_FIELDS.get(exc.field) or _SERVICE_FIELDS.get(head, head) + dot + rest
        raise InputError(f"{at}.{field}", exc.value, exc.allowed, exc.hint) from None


def _render(value: str, cfg: StackConfig, target: Target) -> str:
    """Resolve ${domain}, ${url} and ${services.NAME.url} in plain env values."""

    def sub(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref == "domain":
            return cfg.domain
        if ref == "url":
            return f"https://{cfg.domain}"
        other = ref.split(".")[1]
        return target.service_url(cfg, other, cfg.app.services[other].port)

    return _REF.sub(sub, value)
