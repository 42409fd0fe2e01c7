"""Operability: log retention, alarms for every service and data store, flow logs, container insights, access
logs, least-privilege IAM, and the four prodkit tags/labels (app, stack, component, managed-by) everywhere."""

from __future__ import annotations

from typing import Any, Mapping

from ._util import (
    CNPG_CLUSTER, ECS_CLUSTER, ECS_SERVICE, FLOW_LOG, HELM_RELEASE, LB, LOG_GROUP, METRIC_ALARM, PROM_RULE,
    RDS_INSTANCE, REDIS_GROUP, SERVING_WORKLOADS, VPC, as_int, get, items, mapping, of_type, parse_json, refers_to,
    unknown, walk,
)
from .registry import rule

TAG_KEYS = ("app", "stack", "component", "managed-by")
#: On Kubernetes each fact may be carried by the plain key or its recommended-label equivalent
#: (components._core.Platform.labels() / k8s_labels(); prodkit objects carry both).
K8S_LABEL_KEYS = {
    "app": ("app", "app.kubernetes.io/part-of"),
    "stack": ("stack", "prodkit.io/stack"),
    "component": ("component", "app.kubernetes.io/component"),
    "managed-by": ("managed-by", "app.kubernetes.io/managed-by"),
}

#: AWS resource types prodkit creates whose SDK Args accept `tags` (read from pulumi-aws 7.x).
AWS_TAGGABLE = (
    "aws:acm/certificate:Certificate", "aws:appautoscaling/target:Target", "aws:backup/plan:Plan",
    "aws:backup/vault:Vault", "aws:cloudwatch/logGroup:LogGroup", "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "aws:ec2/eip:Eip", "aws:ec2/flowLog:FlowLog",
    "aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway", "aws:ec2/routeTable:RouteTable",
    "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/subnet:Subnet", "aws:ec2/vpc:Vpc", "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:ecs/cluster:Cluster", "aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition",
    "aws:efs/accessPoint:AccessPoint", "aws:efs/fileSystem:FileSystem", "aws:elasticache/parameterGroup:ParameterGroup",
    "aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/subnetGroup:SubnetGroup", "aws:iam/role:Role",
    "aws:kms/key:Key", "aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule", "aws:lb/loadBalancer:LoadBalancer",
    "aws:lb/targetGroup:TargetGroup", "aws:rds/instance:Instance", "aws:rds/parameterGroup:ParameterGroup",
    "aws:rds/proxy:Proxy", "aws:rds/subnetGroup:SubnetGroup", "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2",
    "aws:secretsmanager/secret:Secret", "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace",
    "aws:sns/topic:Topic", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:wafv2/webAcl:WebAcl",
)
#: GCP resource types prodkit creates whose SDK Args accept labels (read from pulumi-gcp 9.x), and where the labels
#: go: most take `labels`; alert policies and notification channels `userLabels` (a channel's `labels` are its
#: configuration, e.g. the email address), Cloud SQL `settings.userLabels`. Other GCP types (firewalls, URL maps,
#: IAM members, log buckets and sinks, service accounts, ...) have no labels in the API. Any other GCP resource
#: given a `labels` map is checked too.
GCP_LABELLED = {
    "gcp:cloudrunv2/service:Service": ("labels",), "gcp:compute/globalAddress:GlobalAddress": ("labels",),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": ("labels",), "gcp:compute/securityPolicy:SecurityPolicy": ("labels",),
    "gcp:dns/managedZone:ManagedZone": ("labels",), "gcp:kms/cryptoKey:CryptoKey": ("labels",),
    "gcp:monitoring/alertPolicy:AlertPolicy": ("userLabels",), "gcp:monitoring/notificationChannel:NotificationChannel": ("userLabels",),
    "gcp:parametermanager/parameter:Parameter": ("labels",), "gcp:redis/instance:Instance": ("labels",),
    "gcp:secretmanager/secret:Secret": ("labels",), "gcp:sql/databaseInstance:DatabaseInstance": ("settings", "userLabels"),
    "gcp:storage/bucket:Bucket": ("labels",), "gcp:workflows/workflow:Workflow": ("labels",),
}


def _gcp_label_ok(text: str, key: bool) -> bool:
    """GCP label rules: at most 63 characters of lowercase letters (international ones too), digits, '_' and '-';
    keys start with a lowercase letter."""
    if len(text) > 63 or (key and not (text[:1].isalpha() and not text[:1].isupper())):
        return False
    return all(c in "_-" or c.isdigit() or (c.isalpha() and not c.isupper()) for c in text)


def _gcp_labels(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    path = GCP_LABELLED.get(resource_type) or (("labels",) if "labels" in props else None)
    if path is None:
        return []
    labels = get(props, *path)
    if unknown(labels):
        return []
    labels = mapping(labels)
    where = ".".join(path)
    out = []
    missing = [k for k in TAG_KEYS if not labels.get(k)]
    if missing:
        out.append(f"{where} lack {', '.join(missing)}")
    bad = sorted(f"{k}={v}" for k, v in labels.items()
                 if isinstance(k, str) and isinstance(v, str) and not unknown(v) and not (_gcp_label_ok(k, True) and _gcp_label_ok(v, False)))
    if bad:
        out.append(f"{where} {', '.join(bad)} not valid on GCP (lowercase letters, digits, '_' and '-', at most 63 characters; keys start with a letter)")
    return out


#: Kubernetes types without ObjectMeta labels of their own.
_UNLABELLED_K8S = (HELM_RELEASE, "kubernetes:helm.sh/v4:Chart", "kubernetes:yaml:ConfigFile", "kubernetes:yaml/v2:ConfigGroup",
                   "kubernetes:kustomize/v2:Directory", "kubernetes:core/v1:ConfigMapPatch")


@rule(
    "resource-labels",
    description="Tag every taggable AWS resource and label every labelable GCP resource and Kubernetes object with app, stack, component and managed-by.",
    severity="low",
    checklist="Monitoring dashboards configured; Runbook created for common issues (resources attributable by app/stack/component)",
    seeds=("001",),
    types=("aws:*", "gcp:*", "kubernetes:*"),
)
def resource_labels(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type.startswith("gcp:"):
        return _gcp_labels(resource_type, props)
    if resource_type.startswith("aws:"):
        if resource_type not in AWS_TAGGABLE and "tags" not in props:
            return []
        tags = props.get("tags")
        if unknown(tags):
            return []
        tags = {**mapping(props.get("tagsAll")), **mapping(tags)}
        missing = [k for k in TAG_KEYS if not tags.get(k)]
        return [f"tags lack {', '.join(missing)}"] if missing else []
    if resource_type in _UNLABELLED_K8S or resource_type.endswith("List") or "metadata" not in props and resource_type.startswith("kubernetes:helm"):
        return []
    labels = get(props, "metadata", "labels")
    if unknown(labels):
        return []
    labels = mapping(labels)
    missing = [fact for fact, keys in K8S_LABEL_KEYS.items() if not any(labels.get(k) for k in keys)]
    return [f"metadata.labels lack {', '.join(f'{m} (or {K8S_LABEL_KEYS[m][1]})' for m in missing)}"] if missing else []


@rule(
    "log-retention",
    description="Set a retention period on every CloudWatch log group (never keep logs forever by default).",
    severity="low",
    checklist="Configure log aggregation (bounded retention)",
    seeds=("003", "004"),
    types=(LOG_GROUP,),
)
def log_retention(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    days = props.get("retentionInDays")
    if unknown(days):
        return []
    if not as_int(days):
        return ["retentionInDays is not set: logs are kept forever (and billed forever)"]
    return []


def _alarm_dimensions(alarm: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    props = mapping(alarm.get("inputs"))
    dims = [mapping(props.get("dimensions"))]
    dims += [mapping(get(q, "metric", "dimensions")) for q in items(props.get("metricQueries"))]
    return [d for d in dims if d]


def _has_alarm(target: Mapping[str, Any], alarms: list[Mapping[str, Any]], keys: tuple[str, ...], value: Any) -> bool | None:
    if not isinstance(value, str) or unknown(value):
        return None  # cannot tell
    for alarm in alarms:
        for dims in _alarm_dimensions(alarm):
            for key in keys:
                v = dims.get(key)
                if v == value or unknown(v) or (key == "CacheClusterId" and isinstance(v, str) and v.startswith(value + "-")):
                    return True
    return False


@rule(
    "alarms-exist",
    description="Alarm on every ECS service, RDS instance and ElastiCache group (CloudWatch), and on Kubernetes workloads (a PrometheusRule).",
    severity="medium",
    checklist="Alerts set up for critical metrics; Set up monitoring and alerts; Prometheus, Grafana, and alerting configured",
    seeds=("001", "003", "004"),
    types=(ECS_SERVICE, RDS_INSTANCE, REDIS_GROUP, METRIC_ALARM, PROM_RULE, *SERVING_WORKLOADS, CNPG_CLUSTER),
    scope="stack",
)
def alarms_exist(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    alarms = of_type(resources, METRIC_ALARM)
    for svc in of_type(resources, ECS_SERVICE):
        if _has_alarm(svc, alarms, ("ServiceName",), get(svc, "inputs", "name")) is False:
            out.append((svc["urn"], f"no CloudWatch alarm has dimension ServiceName={get(svc, 'inputs', 'name')}"))
    for db in of_type(resources, RDS_INSTANCE):
        if _has_alarm(db, alarms, ("DBInstanceIdentifier",), get(db, "inputs", "identifier")) is False:
            out.append((db["urn"], f"no CloudWatch alarm has dimension DBInstanceIdentifier={get(db, 'inputs', 'identifier')}"))
    for group in of_type(resources, REDIS_GROUP):
        if _has_alarm(group, alarms, ("ReplicationGroupId", "CacheClusterId"), get(group, "inputs", "replicationGroupId")) is False:
            out.append((group["urn"], f"no CloudWatch alarm has dimension ReplicationGroupId/CacheClusterId of {get(group, 'inputs', 'replicationGroupId')}"))
    workloads = of_type(resources, *SERVING_WORKLOADS, CNPG_CLUSTER)
    if workloads:
        rules = [r for p in of_type(resources, PROM_RULE) for r in walk(get(p, "inputs", "spec", "groups")) if isinstance(r, Mapping) and r.get("alert")]
        has_rule_object = bool(of_type(resources, PROM_RULE))
        groups_unknown = any(unknown(get(p, "inputs", "spec", "groups")) for p in of_type(resources, PROM_RULE))
        if not has_rule_object or (not rules and not groups_unknown):
            out.append((workloads[0]["urn"], "the stack runs workloads but no PrometheusRule with alerting rules exists (HighErrorRate, HighLatency, HighMemoryUsage...)"))
    return out


@rule(
    "vpc-flow-logs",
    description="Record flow logs of every VPC.",
    severity="low",
    checklist="Configure firewall rules; Configure log aggregation (network audit trail)",
    seeds=("003",),
    types=(VPC, FLOW_LOG),
    scope="stack",
)
def vpc_flow_logs(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    logs = of_type(resources, FLOW_LOG)
    out = []
    for vpc in of_type(resources, VPC):
        if not any(refers_to(get(f, "inputs", "vpcId"), vpc) is not False for f in logs):
            out.append((vpc["urn"], "no FlowLog records this VPC's traffic"))
    return out


@rule(
    "ecs-container-insights",
    description="Turn on CloudWatch Container Insights on every ECS cluster.",
    severity="low",
    checklist="Monitoring dashboards configured",
    seeds=("001",),
    types=(ECS_CLUSTER,),
)
def ecs_container_insights(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    for s in items(props.get("settings")):
        if get(s, "name") == "containerInsights" and get(s, "value") in ("enabled", "enhanced"):
            return []
    return ["containerInsights is not enabled: no per-task CPU/memory metrics for dashboards and alarms"]


@rule(
    "lb-access-logs",
    description="Write access logs of every application load balancer to S3.",
    severity="low",
    checklist="Configure log aggregation",
    seeds=("003",),
    types=(LB,),
)
def lb_access_logs(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if get(props, "accessLogs", "enabled") is True and get(props, "accessLogs", "bucket"):
        return []
    return ["accessLogs are not enabled: no record of who called what"]


def _statements(policy: Any) -> list[Mapping[str, Any]]:
    doc = parse_json(policy)
    st = get(doc, "Statement") if isinstance(doc, Mapping) else None
    if isinstance(st, Mapping):
        return [st]
    return [s for s in items(st) if isinstance(s, Mapping)]


def _as_list(value: Any) -> list[Any]:
    return items(value) if items(value) else ([value] if value is not None else [])


@rule(
    "iam-least-privilege",
    description="Grant no wildcard actions on all resources and let no one ('*') assume a role.",
    severity="high",
    checklist="RBAC and authentication configured",
    seeds=("004",),
    types=("aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"),
)
def iam_least_privilege(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    if resource_type == "aws:iam/role:Role":
        for st in _statements(props.get("assumeRolePolicy")):
            principal = st.get("Principal")
            aws_principals = _as_list(get(principal, "AWS")) if isinstance(principal, Mapping) else _as_list(principal)
            if st.get("Effect") == "Allow" and "*" in aws_principals and not st.get("Condition"):
                out.append("the trust policy lets any AWS principal ('*') assume the role")
        for inline in items(props.get("inlinePolicies")):
            out += iam_least_privilege("aws:iam/rolePolicy:RolePolicy", {"policy": get(inline, "policy")}, options)
        return out
    for st in _statements(props.get("policy")):
        if st.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in _as_list(st.get("Action"))]
        resources = [str(r) for r in _as_list(st.get("Resource"))]
        wild = [a for a in actions if a == "*" or a.endswith(":*")]
        if wild and "*" in resources:
            out.append(f"allows {', '.join(wild)} on every resource ('*')")
    return out
