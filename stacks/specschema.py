"""The app spec (stacks/apps/*.yaml) as a JSON Schema and as a Markdown reference, both from the dataclasses the
loader uses (:mod:`stacks.spec`), so the documentation cannot drift from what `prodkit plan` accepts.

    prodkit schema                      # the JSON Schema (docs/app-spec.schema.json)
    python scripts/app_spec.py          # rewrites docs/app-spec.md and docs/app-spec.schema.json

Editors read the schema through the first line of a spec: ``# yaml-language-server: $schema=<path or URL>``.
The loader checks more than the schema can say (a route's service exists, limits are at least requests, cron
expressions parse); the schema catches typos, types and closed choices while typing.
"""

from __future__ import annotations

import ast
import collections.abc
import json
import dataclasses
import inspect
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from . import spec as S

SCHEMA_ID = "https://prodkit.dev/schemas/app-spec.schema.json"

#: Descriptions of fields that carry no docstring in stacks/spec.py ("Class.field").
DESCRIPTIONS: dict[str, str] = {
    "AppSpec.name": "App name: a DNS label (lowercase letters, digits, '-'); prefixes resource names.",
    "AppSpec.services": "The app's containers, by name (a DNS label). Each is a WebService.",
    "AppSpec.routes": "Public HTTPS routes of the ingress, matched by path prefix; each targets one service.",
    "AppSpec.seed": "Which deployment guide the spec comes from (bundled specs: the seed number).",
    "AppSpec.description": "One or two sentences shown by `prodkit apps`.",
    "AppSpec.secrets": "Secrets the services use, by environment variable name (UPPER_SNAKE_CASE).",
    "AppSpec.headers": "Security headers the ingress adds to every response.",
    "AppSpec.cors_origins": "Origins allowed by CORS (never '*'); `${domain}` is the stack's domain.",
    "AppSpec.postgres": "A PostgreSQL database (RDS on AWS, CloudNativePG on Kubernetes); services list `postgres` in `uses`.",
    "AppSpec.redis": "A Redis cache/queue (ElastiCache on AWS, a StatefulSet on Kubernetes); services list `redis` in `uses`.",
    "AppSpec.backups": "Backup schedules of the database and of service volumes.",
    "AppSpec.alerts": "Alert thresholds (Prometheus rules on Kubernetes, CloudWatch alarms on AWS).",
    "ServiceSpec.port": "The port the container listens on.",
    "ServiceSpec.health": "The HTTP health endpoint and probe timings.",
    "ServiceSpec.replicas": "Replicas when not autoscaled (staging caps them).",
    "ServiceSpec.cpu": "CPU request, Kubernetes units: '500m' or '2'.",
    "ServiceSpec.cpu_limit": "CPU limit (default: twice the request); at least `cpu`.",
    "ServiceSpec.memory": "Memory request in binary units: '512Mi', '4Gi'.",
    "ServiceSpec.memory_limit": "Memory limit (default: the request); at least `memory`.",
    "ServiceSpec.env": "Plain environment variables. Values may use ${domain}, ${url} and ${services.NAME.url}; secret-looking names are refused (declare them under `secrets`).",
    "ServiceSpec.secrets": "Names of the spec's `secrets` injected as environment variables (by reference, never as values).",
    "ServiceSpec.secret_files": "Secrets mounted as read-only files: absolute path -> secret name.",
    "ServiceSpec.volumes": "Shared (ReadWriteMany) volumes: EFS on AWS, a PVC on Kubernetes.",
    "ServiceSpec.uses": "Stores the service connects to: DATABASE_URL / REDIS_URL are injected and the network path opened.",
    "ServiceSpec.internet_egress": "May call the internet (LLM providers, GitHub); otherwise egress is limited to the app.",
    "ServiceSpec.metrics": "A Prometheus metrics endpoint (ServiceMonitor on Kubernetes).",
    "ServiceSpec.autoscaling": "Autoscaling bounds and targets; replaces `replicas`.",
    "ServiceSpec.aws": "AWS-only settings (ignored on other clouds).",
    "ServiceSpec.description": "What the service is (shown in the docs and plan).",
    "HealthSpec.path": "HTTP path of the health endpoint, used by every probe unless a probe sets its own.",
    "HealthSpec.liveness": "Liveness probe timings (restarts a stuck container).",
    "HealthSpec.readiness": "Readiness probe timings (takes a container out of the load balancer).",
    "HealthSpec.startup": "Startup probe timings for slow starters (liveness waits for it).",
    "ProbeSpec.initial_delay_seconds": "Seconds before the first probe.",
    "ProbeSpec.period_seconds": "Seconds between probes.",
    "ProbeSpec.timeout_seconds": "Seconds a probe may take.",
    "ProbeSpec.failure_threshold": "Failed probes in a row before acting.",
    "VolumeSpec.name": "Volume name (a DNS label), referenced by `backups.volumes[].volume`.",
    "VolumeSpec.mount_path": "Absolute path inside the container.",
    "VolumeSpec.size": "Size in binary units: '500Gi'.",
    "VolumeSpec.storage_class": "Kubernetes StorageClass with ReadWriteMany (default: the cluster's).",
    "MetricsSpec.port": "Port serving the metrics.",
    "MetricsSpec.path": "HTTP path of the metrics.",
    "PolicyItemSpec.type": "Scale by a percentage of replicas or by a number of pods.",
    "PolicyItemSpec.value": "The percentage or the pod count.",
    "PolicyItemSpec.period_seconds": "Window the value applies to.",
    "PolicySpec.stabilization_window_seconds": "Seconds of stable metrics before scaling this way.",
    "PolicySpec.policies": "Rate limits of scaling.",
    "QueueSpec.list_name": "Redis list whose length drives scaling (KEDA on Kubernetes).",
    "QueueSpec.target_length": "Queue length per replica.",
    "AutoscalingSpec.min": "Fewest replicas.",
    "AutoscalingSpec.max": "Most replicas (staging caps it).",
    "AutoscalingSpec.cpu_percent": "Target average CPU utilisation.",
    "AutoscalingSpec.memory_percent": "Target average memory utilisation.",
    "AutoscalingSpec.requests_per_target": "Target requests per replica (AWS ALB request count).",
    "AutoscalingSpec.queue": "Scale on a Redis queue's length (needs `redis` in `uses`).",
    "AutoscalingSpec.scale_up": "How fast to scale out.",
    "AutoscalingSpec.scale_down": "How fast to scale in.",
    "AwsServiceSpec.task_cpu_units": "Fargate task CPU units (256 = 0.25 vCPU); default from cpu_limit.",
    "AwsServiceSpec.task_memory": "Fargate task memory ('2Gi'); default from memory_limit; must be a valid Fargate size for the CPU.",
    "SecretSpec.length": "Length of a generated secret.",
    "SecretSpec.description": "What the secret is (shown in error messages and the plan).",
    "RouteSpec.path": "Path prefix ('/', '/api/agents'); each path once.",
    "RouteSpec.service": "The service receiving the route (a key of `services`).",
    "RouteSpec.rate_limit_per_minute": "Requests per minute per client IP before 429.",
    "RouteSpec.timeout_seconds": "Longest request on this route (streaming and agent calls need minutes).",
    "RouteSpec.streaming": "Server-sent events / streaming: no response buffering.",
    "RouteSpec.body_size": "Largest request body ('10Mi').",
    "HeadersSpec.hsts_max_age_seconds": "Strict-Transport-Security max-age.",
    "HeadersSpec.content_security_policy": "Content-Security-Policy header value (none when unset).",
    "HeadersSpec.frame_options": "X-Frame-Options.",
    "PoolerSpec.mode": "PgBouncer pool mode.",
    "PoolerSpec.default_pool_size": "Server connections per user/database pair.",
    "PoolerSpec.max_client_connections": "Client connections the pooler accepts.",
    "PostgresSpec.version": "PostgreSQL major version, quoted: '16'.",
    "PostgresSpec.size": "Size class, mapped to an instance class / CPU and memory per cloud (staging uses small).",
    "PostgresSpec.storage": "Storage in binary units: '100Gi'.",
    "PostgresSpec.database": "Database created for the app.",
    "PostgresSpec.username": "Owner role of the database.",
    "PostgresSpec.extensions": "Extensions to enable ('vector' for pgvector).",
    "PostgresSpec.parameters": "PostgreSQL parameters (values as strings); TLS enforcement cannot be turned off.",
    "PostgresSpec.pooler": "A PgBouncer pooler in front of the database (RDS Proxy on AWS).",
    "PostgresSpec.backup_window": "Daily UTC window for automated backups: 'HH:MM-HH:MM'.",
    "RedisSpec.version": "Redis major version, quoted: '7'.",
    "RedisSpec.maxmemory": "Memory for data ('1Gi').",
    "RedisSpec.maxmemory_policy": "Eviction policy when full (allkeys-lru for caches, noeviction for queues).",
    "RedisSpec.persistence": "Append-only file / snapshots, so a restart keeps the data.",
    "RedisSpec.storage": "Disk for persistence (Kubernetes).",
    "DatabaseBackupSpec.schedule": "Cron expression (UTC) of the database backup.",
    "DatabaseBackupSpec.retention_days": "Days to keep backups (the profile's floor applies: 7 in staging, 30 in prod).",
    "VolumeBackupSpec.service": "The service owning the volume.",
    "VolumeBackupSpec.volume": "The volume's name.",
    "VolumeBackupSpec.schedule": "Cron expression (UTC).",
    "VolumeBackupSpec.retention_days": "Days to keep volume backups.",
    "BackupsSpec.database": "Scheduled database backups (needs `postgres`).",
    "BackupsSpec.volumes": "Scheduled backups of service volumes.",
    "BackupsSpec.rpo_minutes": "Recovery point objective the backups must meet.",
    "BackupsSpec.rto_minutes": "Recovery time objective.",
    "AlertsSpec.error_rate_percent": "Alert when more than this share of requests fail with 5xx.",
    "AlertsSpec.latency_p95_seconds": "Alert when p95 latency exceeds this.",
    "AlertsSpec.memory_percent": "Alert when memory use exceeds this share of the limit.",
    "AlertsSpec.cpu_percent": "Alert when CPU use exceeds this share.",
}

_PATTERNS: dict[str, dict[str, Any]] = {
    "ServiceSpec.cpu": {"pattern": r"^([0-9]+m|[0-9]+(\.[0-9]+)?)$"},
    "ServiceSpec.cpu_limit": {"pattern": r"^([0-9]+m|[0-9]+(\.[0-9]+)?)$"},
    "ServiceSpec.memory": {"pattern": r"^[0-9]+(\.[0-9]+)?(Mi|Gi|Ti)$"},
    "ServiceSpec.memory_limit": {"pattern": r"^[0-9]+(\.[0-9]+)?(Mi|Gi|Ti)$"},
    "VolumeSpec.size": {"pattern": r"^[0-9]+(\.[0-9]+)?(Mi|Gi|Ti)$"},
    "VolumeSpec.mount_path": {"pattern": "^/"},
    "RouteSpec.path": {"pattern": "^/"},
    "RouteSpec.body_size": {"pattern": r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi)$"},
    "PostgresSpec.storage": {"pattern": r"^[0-9]+(\.[0-9]+)?(Mi|Gi|Ti)$"},
    "PostgresSpec.backup_window": {"pattern": r"^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$"},
    "RedisSpec.maxmemory": {"pattern": r"^[0-9]+(\.[0-9]+)?(Mi|Gi|Ti)$"},
    "RedisSpec.storage": {"pattern": r"^[0-9]+(\.[0-9]+)?(Mi|Gi|Ti)$"},
    "ServiceSpec.port": {"minimum": 1, "maximum": 65535},
    "ServiceSpec.replicas": {"minimum": 1, "maximum": 1000},
    "DatabaseBackupSpec.retention_days": {"minimum": 1, "maximum": 3653},
    "VolumeBackupSpec.retention_days": {"minimum": 1, "maximum": 3653},
    "AppSpec.name": {"pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"},
}
_KEYS: dict[str, dict[str, Any]] = {
    "AppSpec.services": {"pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"},
    "AppSpec.secrets": {"pattern": "^[A-Z_][A-Z0-9_]*$"},
    "ServiceSpec.env": {"pattern": "^[A-Z_][A-Z0-9_]*$"},
    "ServiceSpec.secret_files": {"pattern": "^/"},
}


def _docstrings(cls: type) -> dict[str, str]:
    """Attribute docstrings (a string literal right after a field) of a dataclass."""
    try:
        body = ast.parse(inspect.getsource(cls)).body[0].body
    except (OSError, TypeError):
        return {}
    docs = {}
    for node, nxt in zip(body, body[1:] + [None]):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(getattr(nxt, "value", None), ast.Constant):
            docs[node.target.id] = " ".join(str(nxt.value.value).split())
    return docs


def description(cls: type, name: str) -> str:
    return _docstrings(cls).get(name) or DESCRIPTIONS.get(f"{cls.__name__}.{name}", "")


def dataclasses_of(root: type = S.AppSpec) -> list[type]:
    """Every dataclass reachable from `root`, root first, then in order of first use."""
    seen: list[type] = []

    def visit(tp: Any) -> None:
        if dataclasses.is_dataclass(tp):
            if tp in seen:
                return
            seen.append(tp)
            for f in dataclasses.fields(tp):
                visit(typing.get_type_hints(tp)[f.name])
        for arg in get_args(tp):
            visit(arg)

    visit(root)
    return seen


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        value = f.default_factory()  # type: ignore[misc]
    else:
        return dataclasses.MISSING
    if dataclasses.is_dataclass(value):
        return dataclasses.MISSING  # a nested default object: its fields carry their own defaults
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, collections.abc.Mapping):
        return dict(value)
    return value


def _type(tp: Any) -> dict[str, Any]:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [o for o in get_args(tp) if o is not type(None)]
        inner = [_type(o) for o in options]
        schema = inner[0] if len(inner) == 1 else {"anyOf": inner}
        if type(None) in get_args(tp):
            return {"anyOf": [schema, {"type": "null"}]}
        return schema
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if dataclasses.is_dataclass(tp):
        return {"$ref": f"#/$defs/{tp.__name__}"}
    if origin in (tuple, list, collections.abc.Sequence):
        return {"type": "array", "items": _type(get_args(tp)[0])}
    if origin in (dict, collections.abc.Mapping):
        return {"type": "object", "additionalProperties": _type(get_args(tp)[1])}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    if tp is Any:
        return {}
    raise TypeError(f"specschema: unsupported type {tp!r}")


def _object(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    props: dict[str, Any] = {}
    required = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        schema = _type(hints[f.name])
        key = f"{cls.__name__}.{f.name}"
        if key in _PATTERNS:
            target = schema if "type" in schema else next((s for s in schema.get("anyOf", []) if "type" in s and s["type"] != "null"), schema)
            target.update(_PATTERNS[key])
        if key in _KEYS:
            schema["propertyNames"] = _KEYS[key]
        text = description(cls, f.name)
        if text:
            schema = {"description": text, **schema}
        default = _default(f)
        if default is dataclasses.MISSING:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
                required.append(f.name)
        elif default is not None:
            schema["default"] = default
        props[f.name] = schema
    out: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": props}
    if cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}("):
        out = {"description": " ".join(cls.__doc__.split()), **out}
    if required:
        out["required"] = required
    return out


def json_schema() -> dict[str, Any]:
    classes = dataclasses_of()
    root = _object(S.AppSpec)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "prodkit app spec",
        "description": "An app for prodkit (stacks/apps/*.yaml, or a file named by prodkit:app). Reference: docs/app-spec.md.",
        **{k: v for k, v in root.items() if k != "description"},
        "$defs": {cls.__name__: _object(cls) for cls in classes if cls is not S.AppSpec},
    }


def _type_text(tp: Any) -> str:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_text(o) for o in get_args(tp) if o is not type(None)) + (" (optional)" if type(None) in get_args(tp) else "")
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in get_args(tp))
    if dataclasses.is_dataclass(tp):
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    if origin in (tuple, list, collections.abc.Sequence):
        return f"list of {_type_text(get_args(tp)[0])}"
    if origin in (dict, collections.abc.Mapping):
        return f"map of {_type_text(get_args(tp)[0])} to {_type_text(get_args(tp)[1])}"
    return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(tp, str(tp))


def markdown() -> str:
    out = [
        "# App spec reference",
        "",
        "Generated by `scripts/app_spec.py` from `stacks/spec.py` (a test keeps it current). An app spec is the",
        "cloud-neutral description of an app: `stacks/apps/*.yaml` are the bundled ones (`prodkit apps` lists them);",
        "`prodkit:app` in a stack file names a bundled app or the path of your own spec. The JSON Schema of this",
        "format is [`app-spec.schema.json`](app-spec.schema.json) (also `prodkit schema`); start a spec with",
        "`# yaml-language-server: $schema=<path to app-spec.schema.json>` and editors complete and check it.",
        "",
        "Units are written as people write them: CPU `500m` or `2`, memory and sizes in binary units (`512Mi`,",
        "`4Gi`), schedules as cron expressions in UTC. Strings YAML might read otherwise are quoted: versions",
        "(`\"16\"`), tags (`\"1.0.0\"`), and words such as `off`, `on`, `yes`, `no` (YAML 1.1 reads them as booleans).",
        "Env values may say `${domain}` (the stack's domain), `${url}` (`https://` + domain) and",
        "`${services.NAME.url}` (another service's in-cluster URL; drawn as an edge in the diagram).",
        "",
        "A minimal spec:",
        "",
        "```yaml",
        "# yaml-language-server: $schema=https://prodkit.dev/schemas/app-spec.schema.json",
        "name: shop",
        "services:",
        "  api:",
        "    image: ghcr.io/acme/api",
        '    tag: "1.0.0"',
        "    port: 8080",
        "    health: {path: /health}",
        "    uses: [postgres]",
        "routes:",
        "  - {path: /, service: api}",
        "postgres:",
        '  version: "16"',
        "```",
        "",
    ]
    for cls in dataclasses_of():
        hints = typing.get_type_hints(cls)
        out += [f"## {cls.__name__}", ""]
        if cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}("):
            out += [" ".join(cls.__doc__.split()), ""]
        out += ["| field | type | default | description |", "|---|---|---|---|"]
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            default = _default(f)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
                shown = "**required**"
            elif default is dataclasses.MISSING:
                shown = "(defaults of each field)"
            elif default is None:
                shown = "unset"
            else:
                shown = f"`{json.dumps(default)}`"
            text = description(cls, f.name).replace("|", "\\|")
            out.append(f"| `{f.name}` | {_type_text(hints[f.name])} | {shown} | {text} |")
        out.append("")
    return "\n".join(out)
