"""The text form of a plan: the inventory grouped by component with the settings that matter, then verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: type suffix -> the inputs worth showing in a review (dotted paths into the inputs).
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "apps/v1:Deployment": ("spec.replicas", "spec.template.spec.containers.0.image", "spec.template.spec.containers.0.resources"),
    "apps/v1:StatefulSet": ("spec.replicas", "spec.template.spec.containers.0.image"),
    "networking.k8s.io/v1:Ingress": ("metadata.annotations", "spec.rules.0.host"),
    "autoscaling/v2:HorizontalPodAutoscaler": ("spec.minReplicas", "spec.maxReplicas", "spec.metrics"),
    "postgresql.cnpg.io/v1:Cluster": ("spec.instances", "spec.imageName", "spec.storage.size"),
    "postgresql.cnpg.io/v1:ScheduledBackup": ("spec.schedule",),
    "batch/v1:CronJob": ("spec.schedule", "spec.concurrencyPolicy"),
    "core/v1:PersistentVolumeClaim": ("spec.accessModes", "spec.resources.requests.storage"),
    "keda.sh/v1alpha1:ScaledObject": ("spec.minReplicaCount", "spec.maxReplicaCount", "spec.triggers"),
    "rds/instance:Instance": ("engineVersion", "instanceClass", "multiAz", "storageEncrypted", "deletionProtection", "backupRetentionPeriod", "publiclyAccessible"),
    "elasticache/replicationGroup:ReplicationGroup": ("engineVersion", "nodeType", "numCacheClusters", "transitEncryptionEnabled", "atRestEncryptionEnabled", "automaticFailoverEnabled"),
    "ecs/service:Service": ("desiredCount", "networkConfiguration.assignPublicIp", "deploymentCircuitBreaker"),
    "ecs/taskDefinition:TaskDefinition": ("cpu", "memory"),
    "lb/loadBalancer:LoadBalancer": ("internal", "idleTimeout", "enableDeletionProtection", "dropInvalidHeaderFields"),
    "lb/listener:Listener": ("port", "protocol", "sslPolicy"),
    "wafv2/webAcl:WebAcl": ("scope",),
    "appautoscaling/target:Target": ("minCapacity", "maxCapacity"),
    "backup/plan:Plan": ("rules",),
    "ec2/natGateway:NatGateway": ("subnetId",),
    "cloudwatch/logGroup:LogGroup": ("retentionInDays",),
    "cloudwatch/metricAlarm:MetricAlarm": ("metricName", "threshold"),
}


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 110 else text[:107] + "..."


def _settings(resource: Any) -> list[str]:
    for suffix, paths in KEY_SETTINGS.items():
        if resource.type.endswith(suffix):
            shown = []
            for path in paths:
                value = resource.get(path)
                if value is not None:
                    shown.append(f"{path.split('.')[-1] if '.' in path and not path.split('.')[-1].isdigit() else path}={_short(value)}")
            return shown
    return []


def verdicts(violations: list[dict[str, Any]]) -> str:
    if not violations:
        return "Policy verdicts: all rules pass."
    mandatory = [v for v in violations if v["level"] == "mandatory"]
    lines = [f"Policy verdicts: {len(mandatory)} mandatory, {len(violations) - len(mandatory)} advisory violation(s)"]
    for v in sorted(violations, key=lambda v: (v["level"] != "mandatory", v["policy"], v["urn"])):
        name = v["urn"].rsplit("::", 1)[-1]
        lines.append(f"  [{v['level']}] {v['policy']} {name}: {v['message']}")
    return "\n".join(lines)


def set_secret_command(name: str, stack: str) -> str:
    """The command that sets a required secret (the CLI prompts for the value, or reads it from stdin)."""
    return f"pulumi config set --secret prodkit:{name} --stack {stack}"


def secrets_to_set(cfg: Any) -> list[str]:
    """Lines listing the required secrets the stack has not set, with the command for each ([] when none)."""
    unset = list(getattr(cfg, "unset_secrets", ()) or ())
    if not unset:
        return []
    lines = [f"Secrets to set before deploying ({len(unset)}; planned here with placeholders, `pulumi up` refuses to run without them):"]
    for name in unset:
        description = cfg.app.secrets[name].description if name in cfg.app.secrets else ""
        lines.append(f"  {set_secret_command(name, cfg.stack)}" + (f"    # {description}" if description else ""))
    lines.append("  (each command prompts for the value; pipe a file for multi-line values, e.g. `... < key.pem`)")
    return lines


def text(cfg: Any, inventory: Any, violations: list[dict[str, Any]], problems: list[Any], out: Path) -> str:
    lines = [
        f"prodkit plan: app {cfg.app.name}, cloud {cfg.cloud.value}, profile {cfg.profile.name}, stack {cfg.stack}",
        f"{len(inventory.custom())} resources in {sum(1 for r in inventory.resources if r.type.startswith('prodkit:'))} components",
        "",
    ]
    if secrets_to_set(cfg):
        lines.extend([*secrets_to_set(cfg), ""])
    by_urn = {r.urn: r for r in inventory.resources}

    def component_of(r: Any) -> Any:
        while r.parent in by_urn and not r.type.startswith("prodkit:"):
            r = by_urn[r.parent]
        return r if r.type.startswith("prodkit:") else None

    groups: dict[str, list[Any]] = {}
    loose: list[Any] = []
    for r in inventory.custom():
        owner = component_of(r)
        (groups.setdefault(owner.urn, []) if owner else loose).append(r)
    for urn, members in groups.items():
        comp = by_urn[urn]
        lines.append(f"{comp.type.rsplit(':', 1)[-1]} {comp.name} ({len(members)} resources)")
        for r in members:
            flags = " [protect]" if r.protect else ""
            settings = _settings(r)
            lines.append(f"  {r.type.split(':', 1)[-1]} {r.name}{flags}" + (f"  {'; '.join(settings)}" if settings else ""))
        lines.append("")
    if loose:
        lines.append(f"stack-level ({len(loose)} resources)")
        lines.extend(f"  {r.type.split(':', 1)[-1]} {r.name}" for r in loose)
        lines.append("")
    if cfg.cloud.value == "kubernetes":
        lines.append(f"Manifests: {out / 'manifests'} " + ("all strictly valid" if not problems else f"{len(problems)} problem(s)"))
        for p in problems:
            lines.append(f"  {p}")
    lines.append(f"Diagram: {out / 'architecture.md'}")
    lines.append("")
    lines.append(verdicts(violations))
    return "\n".join(lines)
