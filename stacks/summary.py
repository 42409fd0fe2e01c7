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
    "ecs/service:Service": ("desiredCount", "networkConfiguration.assignPublicIp", "deploymentCircuitBreaker", "enableExecuteCommand",
                            "serviceConnectConfiguration.services.0.timeout"),
    "ecs/taskDefinition:TaskDefinition": ("cpu", "memory", "containerDefinitions.name=app.stopTimeout"),
    "lb/targetGroup:TargetGroup": ("deregistrationDelay", "healthCheck.path"),
    "secretsmanager/secret:Secret": ("kmsKeyId", "recoveryWindowInDays"),
    "efs/fileSystem:FileSystem": ("encrypted", "kmsKeyId", "throughputMode"),
    "sns/topic:Topic": ("kmsMasterKeyId",),
    "kms/key:Key": ("enableKeyRotation", "deletionWindowInDays"),
    "ecr/pullThroughCacheRule:PullThroughCacheRule": ("upstreamRegistryUrl", "ecrRepositoryPrefix"),
    "route53/record:Record": ("type", "name", "aliases.0.evaluateTargetHealth"),
    "lambda/function:Function": ("runtime", "timeout"),
    "lambda/invocation:Invocation": ("functionName",),
    "rds/proxy:Proxy": ("requireTls", "idleClientTimeout"),
    "backup/vault:Vault": ("kmsKeyArn", "forceDestroy"),
    "lb/loadBalancer:LoadBalancer": ("internal", "idleTimeout", "enableDeletionProtection", "dropInvalidHeaderFields"),
    "lb/listener:Listener": ("port", "protocol", "sslPolicy"),
    "wafv2/webAcl:WebAcl": ("scope",),
    "appautoscaling/target:Target": ("minCapacity", "maxCapacity"),
    "backup/plan:Plan": ("rules",),
    "ec2/natGateway:NatGateway": ("subnetId",),
    "cloudwatch/logGroup:LogGroup": ("retentionInDays", "kmsKeyId"),
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
    # Azure (azure-native tokens, matched in full)
    "azure-native:app:ManagedEnvironment": ("publicNetworkAccess", "vnetConfiguration.internal", "zoneRedundant", "peerTrafficConfiguration.encryption"),
    "azure-native:app:ContainerApp": ("configuration.ingress.external", "configuration.ingress.allowInsecure", "template.scale.minReplicas",
                                      "template.scale.maxReplicas", "template.containers.0.image", "template.containers.0.resources"),
    "azure-native:dbforpostgresql:Server": ("version", "sku", "highAvailability.mode", "backup", "network.publicNetworkAccess", "storage.storageSizeGB"),
    "azure-native:dbforpostgresql:Configuration": ("configurationName", "value"),
    "azure-native:redisenterprise:RedisEnterprise": ("sku", "highAvailability", "minimumTlsVersion", "publicNetworkAccess"),
    "azure-native:redisenterprise:Database": ("clientProtocol", "evictionPolicy", "clusteringPolicy", "persistence", "accessKeysAuthentication"),
    "azure-native:keyvault:Vault": ("properties.enablePurgeProtection", "properties.enableRbacAuthorization", "properties.softDeleteRetentionInDays",
                                    "properties.publicNetworkAccess", "properties.networkAcls.defaultAction"),
    "azure-native:storage:StorageAccount": ("sku", "publicNetworkAccess", "minimumTlsVersion", "enableHttpsTrafficOnly", "allowBlobPublicAccess",
                                            "allowSharedKeyAccess", "networkRuleSet.defaultAction"),
    "azure-native:storage:FileShare": ("enabledProtocols", "shareQuota", "accessTier"),
    "azure-native:cdn:Profile": ("sku", "originResponseTimeoutSeconds"),
    "azure-native:cdn:AFDCustomDomain": ("hostName", "tlsSettings.certificateType", "tlsSettings.minimumTlsVersion"),
    "azure-native:cdn:AFDOrigin": ("hostName", "enforceCertificateNameCheck", "sharedPrivateLinkResource.groupId"),
    "azure-native:cdn:AFDOriginGroup": ("healthProbeSettings.probePath", "healthProbeSettings.probeProtocol"),
    "azure-native:cdn:Route": ("patternsToMatch", "supportedProtocols", "httpsRedirect", "forwardingProtocol", "linkToDefaultDomain"),
    "azure-native:cdn:SecurityPolicy": ("parameters.type", "parameters.associations.0.patternsToMatch"),
    "azure-native:frontdoor:Policy": ("policySettings.mode", "policySettings.enabledState", "policySettings.requestBodyCheck", "managedRules.managedRuleSets.0.ruleSetType", "managedRules.managedRuleSets.0.ruleSetAction"),
    "azure-native:network:VirtualNetwork": ("addressSpace.addressPrefixes", "enableDdosProtection"),
    "azure-native:network:Subnet": ("addressPrefix", "defaultOutboundAccess", "delegations.0.serviceName"),
    "azure-native:network:NatGateway": ("idleTimeoutInMinutes",),
    "azure-native:network:PrivateEndpoint": ("privateLinkServiceConnections.0.groupIds",),
    "azure-native:operationalinsights:Workspace": ("retentionInDays", "features.disableLocalAuth"),
    "azure-native:monitor:MetricAlert": ("criteria.allOf.0.metricName", "criteria.allOf.0.threshold", "windowSize", "severity"),
    "azure-native:dataprotection:BackupVault": ("properties.storageSettings", "properties.securitySettings.immutabilitySettings",
                                                "properties.securitySettings.softDeleteSettings"),
    "azure-native:dataprotection:BackupPolicy": ("properties.policyRules.0.trigger.schedule.repeatingTimeIntervals",
                                                 "properties.policyRules.1.lifecycles.0.deleteAfter.duration"),
    "azure-native:recoveryservices:Vault": ("properties.publicNetworkAccess", "properties.redundancySettings.standardTierStorageRedundancy",
                                            "properties.securitySettings.immutabilitySettings", "properties.securitySettings.softDeleteSettings"),
    "azure-native:recoveryservices:ProtectionPolicy": ("properties.schedulePolicy.scheduleRunFrequency",
                                                       "properties.retentionPolicy.dailySchedule.retentionDuration"),
    "azure-native:authorization:ManagementLockByScope": ("level",),
}


def setting(inputs: Any, path: str) -> Any:
    """The input at a KEY_SETTINGS path, or None. Parts are keys, list indexes, or `key=value` (the list item whose
    key has that value, e.g. `containerDefinitions.name=app.stopTimeout`); a JSON string on the way (an ECS
    task definition's containerDefinitions) is read as the document it holds."""
    node = inputs
    for part in path.split("."):
        if isinstance(node, str) and node[:1] in "[{":
            try:
                node = json.loads(node)
            except ValueError:
                return None
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, list) and "=" in part:
            key, _, want = part.partition("=")
            node = next((item for item in node if isinstance(item, dict) and str(item.get(key)) == want), None)
            if node is None:
                return None
        else:
            return None
    return node


def settings_of(type_: str) -> tuple[str, ...]:
    """The KEY_SETTINGS paths of a resource type (every entry whose key ends the type)."""
    return tuple(p for suffix, paths in KEY_SETTINGS.items() if type_.endswith(suffix) for p in paths)


_MOCK_ID = re.compile(r"\bid-[0-9a-f]{12}\b")
#: A mock ARN (arn:aws:<service>:<region>:<account>:<resource name>) of a resource of the plan.
_MOCK_ARN = re.compile(r"\barn:aws:[a-z0-9-]+:[a-z0-9-]*:\d{12}:([A-Za-z0-9-]+)(?![A-Za-z0-9/:!-])")
WIDTH = 110


def _short(value: Any, ids: Mapping[str, str] | None = None) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    if ids:  # provider ids do not exist before a deploy: name the resource instead of showing a mock id or ARN
        text = _MOCK_ID.sub(lambda m: ids.get(m.group(0), "(id after deploy)"), text)
        names = set(ids.values())
        text = _MOCK_ARN.sub(lambda m: m.group(1) if m.group(1) in names else m.group(0), text)
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


#: Last path parts too generic to read alone ("mode=Prevention"): shown with their parent ("policySettings.mode").
_GENERIC = {"mode", "type", "state", "enabledState", "name"}


def _label(path: str) -> str:
    parts = path.split(".")
    if len(parts) == 1 or parts[-1].isdigit():
        return path
    return ".".join(parts[-2:]) if parts[-1] in _GENERIC and not parts[-2].isdigit() else parts[-1]


def _settings(resource: Any, ids: Mapping[str, str] | None = None) -> list[str]:
    shown = []
    for path in settings_of(resource.type):
        value = setting(resource.inputs, path)
        if value is not None:
            shown.append(f"{_label(path)}={_short(value, ids)}")
    return shown


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


#: Profile fields that mean something on some clouds only (the others are left out of the header).
_PROFILE_CLOUDS: dict[str, tuple[str, ...]] = {
    "spot_weight": ("aws",), "exec_enabled": ("aws",), "install_addons": ("kubernetes",),
    "zones": ("aws", "gcp", "azure"), "nat_per_zone": ("aws", "gcp", "azure"),
}


def _word(field: str, value: Any) -> str:
    label, fmt = _PROFILE_WORDS[field]
    return f"{label} {fmt(value)}"


def profile_lines(profile: Any, cloud: str | None = None) -> list[str]:
    """What the profile chose: for a profile other than prod, what it relaxes against prod; overrides named. With
    a cloud, fields that mean nothing there (Fargate spot on Kubernetes) are left out."""
    import dataclasses

    from .profiles import PROFILES

    prod = PROFILES["prod"]
    base = PROFILES.get(profile.name, prod)
    fields = [f.name for f in dataclasses.fields(profile) if f.name in _PROFILE_WORDS
              and (cloud is None or cloud in _PROFILE_CLOUDS.get(f.name, (cloud,)))]
    if profile.name != "prod":
        relaxed = [f"{_word(f, getattr(profile, f))} (prod {_PROFILE_WORDS[f][1](getattr(prod, f))})" for f in fields if getattr(profile, f) != getattr(prod, f)]
        lines = [f"Profile {profile.name}, against prod: " + ("; ".join(relaxed) or "the same settings") + "."]
    else:
        lines = ["Profile prod: " + "; ".join(_word(f, getattr(profile, f)) for f in fields) + "."]
    overridden = [f"{f}: {getattr(base, f)!r} -> {getattr(profile, f)!r}" for f in fields if getattr(profile, f) != getattr(base, f)]
    if overridden:
        lines.append("Changed by prodkit:overrides: " + "; ".join(overridden) + ".")
    return lines


def policy_line(profile: Any, inventory: Any = None) -> str:
    """How many rules the plan ran and what the profile made of them. With an inventory, only the rules that
    apply to a resource type of this stack count (an AWS stack runs no Azure rule)."""
    from policies import RULES

    types = {r.type for r in inventory.resources} if inventory is not None else None
    applicable = [r for r in RULES if "plan" in r.engines and (types is None or any(r.applies_to(t) for t in types))]
    run = [r for r in applicable if profile.name == "prod" or not r.prod_only]
    skipped = sorted(r.id for r in applicable if r.prod_only and profile.name != "prod")
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
          for line in [*profile_lines(cfg.profile, cfg.cloud.value), policy_line(cfg.profile, inventory)]),
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
