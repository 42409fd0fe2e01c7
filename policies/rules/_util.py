"""Helpers shared by the rule modules: safe property access, pod specs, container definitions, references.

Every helper tolerates missing keys, wrong shapes and values unknown during a preview (:data:`UNKNOWN`), so a
rule never crashes on a resource it does not understand and never reports what it cannot see.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Iterator

REDACTED = "[secret]"
"""What `prodkit plan` shows for a value marked secret."""


class _Unknown(str):
    """A value Pulumi cannot know during preview (computed by the provider). Rules treat it as "cannot tell"."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown("<unknown>")


def unknown(value: Any) -> bool:
    return value is UNKNOWN or isinstance(value, _Unknown)


def is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def get(node: Any, *path: Any, default: Any = None) -> Any:
    """get(props, "spec", "template", 0, "name"): None (or default) if any step is missing or mistyped."""
    for step in path:
        if isinstance(step, int):
            if not is_list(node) or step >= len(node):
                return default
            node = node[step]
        else:
            if not is_map(node) or step not in node:
                return default
            node = node[step]
        if node is None:
            return default
    return node


def items(value: Any) -> list[Any]:
    """A list property as a list ([] when missing or unknown)."""
    return list(value) if is_list(value) else []


def mapping(value: Any) -> Mapping[str, Any]:
    return value if is_map(value) else {}


def violated_true(value: Any) -> bool:
    """A setting that must be true is violated when it is known and not true (absent counts as not true)."""
    return value is not True and not unknown(value)


def as_int(value: Any) -> int | None:
    """Numbers arrive as int (plan) or float (CrossGuard); strings of digits too (Kubernetes annotations)."""
    if isinstance(value, bool) or unknown(value):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def parse_json(value: Any) -> Any:
    """A JSON-string property (policies, container definitions) parsed; None if unknown or not JSON."""
    if is_map(value) or is_list(value):
        return value
    if not isinstance(value, str) or unknown(value) or value == REDACTED:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def walk(value: Any) -> Iterator[Any]:
    """Every scalar and container inside a property tree."""
    yield value
    if is_map(value):
        for v in value.values():
            yield from walk(v)
    elif is_list(value):
        for v in value:
            yield from walk(v)


# --- names --------------------------------------------------------------------------------------------------

_SECRET_NAME = re.compile(r"(_KEY|_SECRET|_TOKEN|PASSWORD|^DATABASE_URL$|^REDIS_URL$|_DSN$)")


def looks_secret(name: Any) -> bool:
    """The same test as components.web_service.looks_secret (kept in sync by a test): secret-looking env names
    are *_KEY, *_SECRET, *_TOKEN, *PASSWORD*, DATABASE_URL, REDIS_URL, *_DSN, except *_PATH and *_ID."""
    if not isinstance(name, str):
        return False
    upper = name.upper()
    return bool(_SECRET_NAME.search(upper)) and not upper.endswith("_PATH") and not upper.endswith("_ID")


def short(urn_or_name: str) -> str:
    return urn_or_name.rsplit("::", 1)[-1]


# --- Kubernetes -----------------------------------------------------------------------------------------------

K8S_DEPLOYMENT = "kubernetes:apps/v1:Deployment"
K8S_STATEFULSET = "kubernetes:apps/v1:StatefulSet"
K8S_DAEMONSET = "kubernetes:apps/v1:DaemonSet"
K8S_CRONJOB = "kubernetes:batch/v1:CronJob"
K8S_JOB = "kubernetes:batch/v1:Job"
K8S_POD = "kubernetes:core/v1:Pod"
K8S_SERVICE = "kubernetes:core/v1:Service"
K8S_SECRET = "kubernetes:core/v1:Secret"
K8S_CONFIGMAP = "kubernetes:core/v1:ConfigMap"
K8S_NAMESPACE = "kubernetes:core/v1:Namespace"
K8S_PVC = "kubernetes:core/v1:PersistentVolumeClaim"
K8S_INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
K8S_NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
K8S_HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
CNPG_CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster"
CNPG_POOLER = "kubernetes:postgresql.cnpg.io/v1:Pooler"
CNPG_SCHEDULED_BACKUP = "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup"
BARMAN_OBJECT_STORE = "kubernetes:barmancloud.cnpg.io/v1:ObjectStore"
KEDA_SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
PROM_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
CERT_MANAGER_CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
GW_GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
GW_HTTPROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
EG_BACKEND_TRAFFIC = "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy"
EG_CLIENT_TRAFFIC = "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy"
EG_SECURITY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"


def is_redirect_rule(rule: Any) -> bool:
    """An HTTPRoute rule that only redirects to https (no backend)."""
    filters = [f for f in items(get(rule, "filters")) if isinstance(f, Mapping)]
    return (bool(filters) and not items(get(rule, "backendRefs"))
            and all(f.get("type") == "RequestRedirect" and get(f, "requestRedirect", "scheme") == "https" for f in filters))


def serving_rules(route_props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The rules of an HTTPRoute that forward to backends (not https redirects)."""
    return [r for r in items(get(route_props, "spec", "rules")) if isinstance(r, Mapping) and not is_redirect_rule(r)]


def targets(policy_props: Mapping[str, Any], kind: str, name: Any) -> bool:
    """Whether an Envoy Gateway policy (targetRef/targetRefs) targets the object `kind`/`name` of its namespace."""
    spec = mapping(get(policy_props, "spec"))
    refs = [spec.get("targetRef")] + list(items(spec.get("targetRefs")))
    return any(isinstance(r, Mapping) and r.get("kind") == kind and r.get("name") == name for r in refs)

#: Workloads whose pod template the container rules inspect.
POD_WORKLOADS = (K8S_DEPLOYMENT, K8S_STATEFULSET, K8S_DAEMONSET, K8S_CRONJOB, K8S_JOB, K8S_POD)
#: Long-running workloads (probes, NetworkPolicy coverage, HA).
SERVING_WORKLOADS = (K8S_DEPLOYMENT, K8S_STATEFULSET, K8S_DAEMONSET)


def pod_template(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod template ({"metadata", "spec"}) of a workload; {} for other types."""
    if resource_type == K8S_POD:
        return {"metadata": mapping(props.get("metadata")), "spec": mapping(props.get("spec"))}
    if resource_type == K8S_CRONJOB:
        return mapping(get(props, "spec", "jobTemplate", "spec", "template"))
    return mapping(get(props, "spec", "template"))


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(pod_template(resource_type, props).get("spec"))


def containers(spec: Mapping[str, Any], init: bool = True) -> list[tuple[str, Mapping[str, Any]]]:
    """[(label, container)] for containers (and init containers), label like "container api"."""
    out = [(f"container {get(c, 'name', default='?')}", c) for c in items(spec.get("containers")) if is_map(c)]
    if init:
        out += [(f"init container {get(c, 'name', default='?')}", c) for c in items(spec.get("initContainers")) if is_map(c)]
    return out


def namespace_of(props: Mapping[str, Any]) -> str:
    ns = get(props, "metadata", "namespace")
    return ns if isinstance(ns, str) and not unknown(ns) else "default"


def k8s_name(resource: Mapping[str, Any]) -> str:
    name = get(resource, "inputs", "metadata", "name")
    return name if isinstance(name, str) and not unknown(name) else str(resource.get("name", ""))


def selector_matches(selector: Any, labels: Mapping[str, Any]) -> bool:
    """Kubernetes LabelSelector semantics: {} (or missing) selects everything."""
    sel = mapping(selector)
    for key, value in mapping(sel.get("matchLabels")).items():
        if labels.get(key) != value:
            return False
    for expr in items(sel.get("matchExpressions")):
        key, op, values = get(expr, "key"), get(expr, "operator"), items(get(expr, "values"))
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def empty_selector(selector: Any) -> bool:
    sel = mapping(selector)
    return not mapping(sel.get("matchLabels")) and not items(sel.get("matchExpressions"))


def secret_data_values(props: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(key, value) of a Kubernetes Secret's stringData and (decoded) data; values may be REDACTED."""
    for key, value in mapping(props.get("stringData")).items():
        yield key, value
    for key, value in mapping(props.get("data")).items():
        if isinstance(value, str) and value != REDACTED and not unknown(value):
            try:
                value = base64.b64decode(value, validate=True).decode("utf-8", "replace")
            except ValueError:
                pass
        yield key, value


# --- image references -------------------------------------------------------------------------------------

def image_problem(image: Any) -> str | None:
    """Why an image reference is not pinned, or None (digests and explicit non-latest tags are pinned)."""
    if not isinstance(image, str) or unknown(image) or not image:
        return None
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag (pulls 'latest')"
    tag = last.rsplit(":", 1)[1]
    if not tag or tag.lower() == "latest":
        return f"image {image!r} uses the 'latest' tag"
    return None


# --- AWS ------------------------------------------------------------------------------------------------------

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
RDS_PROXY = "aws:rds/proxy:Proxy"
REDIS_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
ECS_SERVICE = "aws:ecs/service:Service"
ECS_TASK = "aws:ecs/taskDefinition:TaskDefinition"
ECS_CLUSTER = "aws:ecs/cluster:Cluster"
LB = "aws:lb/loadBalancer:LoadBalancer"
LB_LISTENER = "aws:lb/listener:Listener"
LB_TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
WAF_ACL = "aws:wafv2/webAcl:WebAcl"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
EFS = "aws:efs/fileSystem:FileSystem"
EFS_BACKUP_POLICY = "aws:efs/backupPolicy:BackupPolicy"
BACKUP_VAULT = "aws:backup/vault:Vault"
BACKUP_PLAN = "aws:backup/plan:Plan"
BACKUP_SELECTION = "aws:backup/selection:Selection"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
S3_BUCKETS = ("aws:s3/bucketV2:BucketV2", "aws:s3/bucket:Bucket")
S3_SSE = (
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
)
S3_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SM_SECRET = "aws:secretsmanager/secret:Secret"
SM_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
APPAUTOSCALING_TARGET = "aws:appautoscaling/target:Target"


def container_definitions(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """An ECS task definition's containerDefinitions (a JSON string input), [] when unknown."""
    parsed = parse_json(props.get("containerDefinitions"))
    return [c for c in items(parsed) if is_map(c)]


def mock_id(resource: Mapping[str, Any]) -> str:
    """The id the offline engine's mocks give a resource (stacks/engine.py `_fake("id", type::name)`)."""
    return "id-" + hashlib.sha1(f"{resource.get('type')}::{resource.get('name')}".encode()).hexdigest()[:12]


def refs(resource: Mapping[str, Any]) -> set[str]:
    """Strings another resource may use to point at this one: id, arn, physical name (real preview/outputs)
    and the offline engine's deterministic id/arn forms."""
    props = mapping(resource.get("inputs"))
    out = {mock_id(resource)}
    for key in ("id", "arn", "name", "bucket", "identifier", "replicationGroupId"):
        value = props.get(key)
        if isinstance(value, str) and value and not unknown(value):
            out.add(value)
    return out


def refers_to(value: Any, resource: Mapping[str, Any]) -> bool | None:
    """Whether a reference input points at `resource`; None when the reference is unknown (cannot tell)."""
    if not isinstance(value, str) or unknown(value) or not value:
        return None
    if value in refs(resource):
        return True
    # The offline engine's ARNs end with ":<logical name>".
    return value.startswith("arn:") and value.endswith(":" + str(resource.get("name")))


def same_component(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return bool(a.get("parent")) and a.get("parent") == b.get("parent")


def of_type(resources: Sequence[Mapping[str, Any]], *types: str) -> list[Mapping[str, Any]]:
    return [r for r in resources if r.get("type") in types]
