"""The text form of a plan: the inventory grouped by component with the settings that matter, then verdicts."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any, Callable, Mapping

#: type suffix -> the inputs worth showing in a review (dotted paths into the inputs).
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "apps/v1:Deployment": ("spec.replicas", "spec.template.spec.containers.0.image", "spec.template.spec.containers.0.resources"),
    "apps/v1:StatefulSet": ("spec.replicas", "spec.template.spec.containers.0.image"),
    "networking.k8s.io/v1:Ingress": ("metadata.annotations", "spec.rules.0.host"),
    "gateway.networking.k8s.io/v1:Gateway": ("spec.gatewayClassName", "spec.listeners"),
    "gateway.networking.k8s.io/v1:HTTPRoute": ("spec.parentRefs.0.sectionName", "spec.rules.0.matches", "spec.rules.0.timeouts"),
    "gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy": ("spec.rateLimit.local.rules.0.limit", "spec.requestBuffer"),
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
    "cloudrunv2/service:Service": ("ingress", "invokerIamDisabled", "deletionProtection", "template.maxInstanceRequestConcurrency", "template.timeout",
                                   "template.scaling", "template.containers.0.image", "template.containers.0.resources.limits", "template.vpcAccess.egress"),
    "sql/databaseInstance:DatabaseInstance": ("databaseVersion", "settings.tier", "settings.availabilityType", "settings.ipConfiguration.ipv4Enabled",
                                              "settings.ipConfiguration.sslMode", "settings.backupConfiguration", "deletionProtection",
                                              "settings.deletionProtectionEnabled"),
    "redis/instance:Instance": ("tier", "memorySizeGb", "redisVersion", "authEnabled", "transitEncryptionMode", "connectMode", "persistenceConfig.persistenceMode"),
    "compute/securityPolicy:SecurityPolicy": ("rules",),
    "compute/sSLPolicy:SSLPolicy": ("minTlsVersion", "profile"),
    "compute/backendService:BackendService": ("loadBalancingScheme", "logConfig.enable", "customResponseHeaders"),
    "compute/uRLMap:URLMap": ("defaultUrlRedirect", "hostRules"),
    "storage/bucket:Bucket": ("publicAccessPrevention", "uniformBucketLevelAccess", "retentionPolicy", "versioning"),
    "compute/firewall:Firewall": ("direction", "priority", "denies", "allows"),
    "cloudscheduler/job:Job": ("schedule",),
}


_MOCK_ID = re.compile(r"\bid-[0-9a-f]{12}\b")
WIDTH = 110


def _short(value: Any, ids: Mapping[str, str] | None = None) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    if ids:  # provider ids do not exist before a deploy: name the resource instead of showing a mock id
        text = _MOCK_ID.sub(lambda m: ids.get(m.group(0), "(id after deploy)"), text)
    return text if len(text) <= WIDTH else cut(text, WIDTH)


def cut(text: str, width: int) -> str:
    """`text` shortened to at most `width` characters at a word or punctuation boundary, never mid-word."""
    if len(text) <= width:
        return text
    head = text[: width - 3]
    stop = max(head.rfind(c) for c in " ,;")
    if stop < width // 2:
        stop = max(head.rfind(c) for c in " ,;:/=-_.")
    return (head[: stop + 1] if stop >= width // 3 else head).rstrip(" ,;") + "..."


def mock_ids(inventory: Any) -> dict[str, str]:
    """Mock provider id -> the name of the resource it stands for."""
    from .engine import _fake

    return {_fake("id", f"{r.type}::{r.name}"): r.name for r in inventory.resources}


def _settings(resource: Any, ids: Mapping[str, str] | None = None) -> list[str]:
    for suffix, paths in KEY_SETTINGS.items():
        if resource.type.endswith(suffix):
            shown = []
            for path in paths:
                value = resource.get(path)
                if value is not None:
                    shown.append(f"{path.split('.')[-1] if '.' in path and not path.split('.')[-1].isdigit() else path}={_short(value, ids)}")
            return shown
    return []


def _onoff(v: Any) -> str:
    return "on" if v else "off"


#: Profile fields a reviewer cares about: (label, how a value reads).
_PROFILE_WORDS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "zones": ("zones", str),
    "nat_per_zone": ("NAT", lambda v: "per zone" if v else "one shared"),
    "high_availability": ("database/cache HA", _onoff),
    "deletion_protection": ("deletion protection + protect", _onoff),
    "min_backup_retention_days": ("backup retention floor", lambda v: f"{v} d"),
    "max_backup_retention_days": ("database backup retention cap", lambda v: f"{v} d"),
    "log_retention_days": ("log retention", lambda v: f"{v} d"),
    "waf_mode": ("WAF and rate rules", str),
    "alarms": ("alarms", _onoff),
    "max_replicas": ("replicas", lambda v: f"capped at {v}" if v else "as the spec"),
    "spot_weight": ("FARGATE_SPOT weight", lambda v: str(v) if v else "none"),
    "exec_enabled": ("ECS Exec", _onoff),
    "postgres_size": ("database size", lambda v: v or "as the spec"),
    "install_addons": ("cluster add-ons installed", _onoff),
    "enforce_policies": ("policies", lambda v: "mandatory" if v else "advisory"),
}


def _word(field: str, value: Any) -> str:
    label, fmt = _PROFILE_WORDS[field]
    return f"{label} {fmt(value)}"


def profile_lines(profile: Any) -> list[str]:
    """What the profile chose: for a profile other than prod, what it relaxes against prod; overrides named."""
    import dataclasses

    from .profiles import PROFILES

    prod = PROFILES["prod"]
    base = PROFILES.get(profile.name, prod)
    fields = [f.name for f in dataclasses.fields(profile) if f.name in _PROFILE_WORDS]
    if profile.name != "prod":
        relaxed = [f"{_word(f, getattr(profile, f))} (prod {_PROFILE_WORDS[f][1](getattr(prod, f))})" for f in fields if getattr(profile, f) != getattr(prod, f)]
        lines = [f"Profile {profile.name}, against prod: " + ("; ".join(relaxed) or "the same settings") + "."]
    else:
        lines = ["Profile prod: " + "; ".join(_word(f, getattr(profile, f)) for f in fields) + "."]
    overridden = [f"{f}: {getattr(base, f)!r} -> {getattr(profile, f)!r}" for f in fields if getattr(profile, f) != getattr(base, f)]
    if overridden:
        lines.append("Changed by prodkit:overrides: " + "; ".join(overridden) + ".")
    return lines


def policy_line(profile: Any) -> str:
    """How many rules the plan ran and what the profile made of them."""
    from policies import RULES

    run = [r for r in RULES if "plan" in r.engines and (profile.name == "prod" or not r.prod_only)]
    skipped = sorted(r.id for r in RULES if "plan" in r.engines and r.prod_only and profile.name != "prod")
    level = "mandatory (a violation fails the plan)" if profile.enforce_policies else "advisory (reported, the plan passes)"
    text = f"Policy pack: {len(run)} rules run, every violation {level}"
    if skipped:
        text += f"; {len(skipped)} prod-only rules not run in {profile.name}: " + ", ".join(skipped)
    return text + "."


def verdicts(violations: list[dict[str, Any]]) -> str:
    if not violations:
        return "Policy verdicts: all rules pass."
    mandatory = [v for v in violations if v["level"] == "mandatory"]
    lines = [f"Policy verdicts: {len(mandatory)} mandatory, {len(violations) - len(mandatory)} advisory violation(s)"]
    for v in sorted(violations, key=lambda v: (v["level"] != "mandatory", v["policy"], v["urn"])):
        name = v["urn"].rsplit("::", 1)[-1]
        lines.append(f"  [{v['level']}] {v['policy']} {name}: {v['message']}")
    return "\n".join(lines)


def dns_section(inventory: Any) -> list[str]:
    """AWS: the DNS records of the domain. With a Route 53 zone `pulumi up` creates them; without one the user
    must, and the first `pulumi up` waits (30 min) for the certificate's validation record. Offline the record
    names and values are placeholders: only their kind and purpose are known before `pulumi up`."""
    certs = [r for r in inventory.resources if r.type == "aws:acm/certificate:Certificate"]
    if not certs:
        return []
    domain = certs[0].inputs.get("domainName", "?")
    records = [r for r in inventory.resources if r.type == "aws:route53/record:Record"]
    if records:
        zone = records[0].inputs.get("zoneId", "?")
        return [f"DNS: Route 53 zone {zone} gets the certificate's validation CNAME and the A alias {domain} -> "
                "load balancer; `pulumi up` creates both, nothing to do by hand.", ""]
    return [
        "DNS to create before the first deploy finishes (no prodkit:hostedZoneId), at your DNS provider:",
        f"  CNAME  _<token>.{domain}.  ->  _<token>.acm-validations.aws.   ACM validation of the certificate",
        f"  CNAME  {domain}  ->  <load balancer DNS name>   (at a zone apex: your provider's ALIAS/ANAME)",
        "  Names and values exist once `pulumi up` has created the certificate and load balancer: while it waits",
        "  for validation (up to 30 min) read them with `aws acm describe-certificate` (README \"DNS on AWS\"),",
        "  afterwards with `pulumi stack output dns_records`. The HTTPS listener waits for the certificate.",
        "",
    ]


def set_secret_command(name: str, stack: str) -> str:
    """The command that sets a required secret (the CLI prompts for the value, or reads it from stdin)."""
    return f"pulumi config set --secret prodkit:{name} --stack {stack}"


def secrets_to_set(cfg: Any) -> list[str]:
    """Lines listing the required secrets the stack has not set, with the command for each ([] when none)."""
    unset = list(getattr(cfg, "unset_secrets", ()) or ())
    stack_unset = set(getattr(cfg, "unset_stack_secrets", ()) or ())
    if stack_unset:
        from .targets import target_of

        unset += [name for name in target_of(cfg.cloud).required_secrets(cfg) if name in stack_unset and name not in unset]
    if not unset:
        return []
    lines = [f"Secrets to set before deploying ({len(unset)}; planned here with placeholders, `pulumi up` refuses to run without them):"]
    for name in unset:
        from .config import STACK_SECRETS

        description = cfg.app.secrets[name].description if name in cfg.app.secrets else STACK_SECRETS.get(name, "")
        lines.append(f"  {set_secret_command(name, cfg.stack)}" + (f"    # {description}" if description else ""))
    lines.append("  (each command prompts for the value; pipe a file for multi-line values, e.g. `... < key.pem`)")
    return lines


def text(cfg: Any, inventory: Any, violations: list[dict[str, Any]], problems: list[Any], out: Path) -> str:
    lines = [
        f"prodkit plan: app {cfg.app.name}, cloud {cfg.cloud.value}, profile {cfg.profile.name}, stack {cfg.stack}",
        *(textwrap.fill(line, WIDTH, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False)
          for line in [*profile_lines(cfg.profile), policy_line(cfg.profile)]),
        f"{len(inventory.custom())} resources in {sum(1 for r in inventory.resources if r.type.startswith('prodkit:'))} components",
        "",
    ]
    ids = mock_ids(inventory)
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
            settings = _settings(r, ids)
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
    lines.extend(dns_section(inventory))
    lines.append(f"Diagram: {out / 'architecture.md'}")
    lines.append("")
    lines.extend(before_deploying(cfg))
    lines.append(verdicts(violations))
    return "\n".join(lines)


def before_deploying(cfg: Any) -> list[str]:
    """The "secrets to set before deploying" section (lines ending with a blank one), or nothing."""
    found = secrets_to_set(cfg)
    return [*found, ""] if found else []
