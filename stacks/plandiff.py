"""`prodkit diff BASE.json HEAD.json`: what a change does to the infrastructure, offline.

Both files are `prodkit plan --format json` documents (or the `inventory.json` a plan writes). Resources are
matched by URN with the `urn:pulumi:STACK::PROJECT::` prefix left out, so two stacks of one app (staging vs
prod) compare too. A resource is

- **added** / **removed** when its URN exists on one side only (a resource whose type and name stay but whose
  URN changes, e.g. a new parent without an alias, is **replaced**: Pulumi deletes and recreates it);
- **replaced** when a property the provider cannot update in place changes (:data:`REPLACE_ON`);
- **changed** otherwise, with every changed property as a dotted path (``spec.replicas: 1 -> 3``).

Secret values never appear: the plan already redacts them (``[secret]``), and values under a Kubernetes
Secret's ``data``/``stringData`` or of secret-looking keys are shown as ``[secret]`` whatever they are.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from components._core import InputError

REDACTED = "[secret]"

#: Properties the provider replaces on (delete + create, not an in-place update), per resource type.
#: Pulumi's schemas mark these `replaceOnChanges` / the Terraform bridge's ForceNew, and the Kubernetes API
#: refuses updates to immutable fields; those schemas are not installed with the SDKs, so this table lists the
#: properties of the types prodkit creates (a dotted prefix covers everything below it; "*" means any input).
#: Sources: the Pulumi AWS registry pages (Terraform ForceNew arguments) and the Kubernetes API reference
#: (immutable fields).
REPLACE_ON: dict[str, tuple[str, ...]] = {
    "aws:rds/instance:Instance": (
        "identifier", "identifierPrefix", "engine", "storageEncrypted", "kmsKeyId", "dbName", "username",
        "availabilityZone", "characterSetName", "timezone", "snapshotIdentifier", "restoreToPointInTime",
    ),
    "aws:rds/parameterGroup:ParameterGroup": ("name", "namePrefix", "family", "description"),
    "aws:rds/subnetGroup:SubnetGroup": ("name", "namePrefix"),
    "aws:rds/proxy:Proxy": ("name", "engineFamily"),
    "aws:elasticache/replicationGroup:ReplicationGroup": (
        "replicationGroupId", "atRestEncryptionEnabled", "kmsKeyId", "subnetGroupName", "port",
        "snapshotArns", "snapshotName", "preferredCacheClusterAzs", "dataTieringEnabled",
    ),
    "aws:elasticache/subnetGroup:SubnetGroup": ("name",),
    "aws:elasticache/parameterGroup:ParameterGroup": ("name", "family", "description"),
    "aws:ecs/taskDefinition:TaskDefinition": ("*",),  # task definitions are immutable: every change is a new revision
    "aws:ecs/service:Service": ("name", "cluster", "launchType", "schedulingStrategy", "iamRole", "deploymentController"),
    "aws:ecs/cluster:Cluster": ("name",),
    "aws:lb/loadBalancer:LoadBalancer": ("name", "namePrefix", "internal", "loadBalancerType"),
    "aws:lb/targetGroup:TargetGroup": ("name", "namePrefix", "port", "protocol", "protocolVersion", "vpcId", "targetType"),
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "namePrefix", "vpcId", "description"),
    "aws:ec2/natGateway:NatGateway": ("subnetId", "allocationId", "connectivityType"),
    "aws:ec2/eip:Eip": ("domain",),
    "aws:kms/key:Key": ("keyUsage", "customerMasterKeySpec", "multiRegion"),
    "aws:efs/fileSystem:FileSystem": ("encrypted", "kmsKeyId", "performanceMode", "creationToken", "availabilityZoneName"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix", "logGroupClass"),
    "aws:secretsmanager/secret:Secret": ("name", "namePrefix"),
    "aws:acm/certificate:Certificate": ("domainName", "subjectAlternativeNames", "keyAlgorithm"),
    "aws:wafv2/webAcl:WebAcl": ("name", "scope"),
    "aws:backup/vault:Vault": ("name", "kmsKeyArn"),
    "aws:iam/role:Role": ("name", "namePrefix"),
    "aws:sns/topic:Topic": ("name", "namePrefix", "fifoTopic"),
    "random:index/randomPassword:RandomPassword": ("*",),  # every input is a keeper: a change is a new password
    "kubernetes:apps/v1:Deployment": ("spec.selector",),
    "kubernetes:apps/v1:StatefulSet": ("spec.selector", "spec.serviceName", "spec.volumeClaimTemplates", "spec.podManagementPolicy"),
    "kubernetes:core/v1:PersistentVolumeClaim": (
        "spec.storageClassName", "spec.accessModes", "spec.volumeMode", "spec.volumeName", "spec.selector", "spec.dataSource",
    ),
    "kubernetes:core/v1:Secret": ("type",),
    "kubernetes:core/v1:Service": ("spec.clusterIP",),
    "kubernetes:batch/v1:Job": ("spec.template", "spec.selector"),
}
#: Every Kubernetes object is replaced when its name or namespace changes.
KUBERNETES_REPLACE_ON = ("metadata.name", "metadata.namespace")

_SECRET_KEY = re.compile(r"(?i)(password|secret|token|private_?key|api_?key|_dsn$)")
_URN_PREFIX = re.compile(r"^urn:pulumi:[^:]+::[^:]+::")


@dataclass
class Change:
    path: str
    old: Any
    new: Any


@dataclass
class ResourceDiff:
    key: str
    """The URN without the stack and project."""
    type: str
    name: str
    action: str
    """added | removed | replaced | changed"""
    changes: list[Change] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    """Why a replacement: the replace-on properties that changed, or the URN change."""


@dataclass
class PlanDiff:
    base: dict[str, Any]
    head: dict[str, Any]
    resources: list[ResourceDiff]

    def of(self, action: str) -> list[ResourceDiff]:
        return [r for r in self.resources if r.action == action]

    def as_json(self) -> dict[str, Any]:
        return {
            "base": _describe(self.base), "head": _describe(self.head),
            "summary": {a: len(self.of(a)) for a in ("added", "removed", "replaced", "changed")},
            "resources": [
                {"urn": r.key, "type": r.type, "name": r.name, "action": r.action, "reasons": r.reasons,
                 "changes": [{"path": c.path, "old": c.old, "new": c.new} for c in r.changes]}
                for r in self.resources
            ],
        }


def load(path: Path, label: str) -> dict[str, Any]:
    """A plan document from disk, checked for the shape `prodkit plan --format json` writes."""
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(label, str(path), "file not found; make one with `prodkit plan --stack STACK --format json > plan.json` (or use the plan's inventory.json)") from None
    except json.JSONDecodeError as exc:
        raise InputError(label, str(path), f"not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("resources"), list):
        raise InputError(label, str(path), "expected a `prodkit plan --format json` document: an object with a `resources` list")
    for i, r in enumerate(doc["resources"]):
        if not isinstance(r, dict) or not {"urn", "type", "inputs"} <= set(r):
            raise InputError(f"{label} {path}: resources[{i}]", r if not isinstance(r, dict) else sorted(r), "each resource needs urn, type and inputs")
    return doc


def key_of(urn: str) -> str:
    return _URN_PREFIX.sub("", urn)


def _restack(resources: list[dict[str, Any]], old: str, new: str) -> list[dict[str, Any]]:
    """The resources with the stack name `old` read as `new` in every string value (names, tags, namespaces)."""
    word = re.compile(rf"(?<![A-Za-z0-9]){re.escape(old)}(?![A-Za-z0-9])")

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return word.sub(new, v)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return [{**r, "inputs": walk(r.get("inputs") or {})} for r in resources]


def diff(base: dict[str, Any], head: dict[str, Any]) -> PlanDiff:
    """Compare two plan documents (custom resources only: components have no inputs of their own).

    Two different stacks (staging vs prod) compare as stacks of one app: names derived from the stack name
    (``autopr-aws-staging-postgres``) are read with the head's stack name, so only real differences show."""
    base_resources = base["resources"]
    if base.get("stack") and head.get("stack") and base["stack"] != head["stack"]:
        base_resources = _restack(base_resources, str(base["stack"]), str(head["stack"]))
    before = {key_of(r["urn"]): r for r in base_resources if not str(r["type"]).startswith("prodkit:")}
    after = {key_of(r["urn"]): r for r in head["resources"] if not str(r["type"]).startswith("prodkit:")}
    out: list[ResourceDiff] = []
    gone = sorted(set(before) - set(after))
    new = sorted(set(after) - set(before))
    # Same type and name under another URN (re-parented, renamed parent): Pulumi replaces it.
    moved_from = {(before[k]["type"], before[k].get("name")): k for k in gone}
    paired: set[str] = set()
    for k in new:
        r = after[k]
        old_key = moved_from.get((r["type"], r.get("name")))
        if old_key is not None and old_key not in paired:
            paired.add(old_key)
            changes = _changes(before[old_key], r)
            out.append(ResourceDiff(k, r["type"], r.get("name", ""), "replaced", changes, [f"URN changed from {old_key}"]))
        else:
            out.append(ResourceDiff(k, r["type"], r.get("name", ""), "added"))
    for k in gone:
        if k not in paired:
            r = before[k]
            out.append(ResourceDiff(k, r["type"], r.get("name", ""), "removed"))
    for k in sorted(set(before) & set(after)):
        old, cur = before[k], after[k]
        changes = _changes(old, cur)
        if not changes:
            continue
        triggers = replace_triggers(cur["type"], [c.path for c in changes])
        action = "replaced" if triggers else "changed"
        out.append(ResourceDiff(k, cur["type"], cur.get("name", ""), action, changes, [f"{t} changed" for t in triggers]))
    order = {"removed": 0, "replaced": 1, "added": 2, "changed": 3}
    out.sort(key=lambda d: (order[d.action], d.key))
    return PlanDiff(base, head, out)


def replace_triggers(type_: str, paths: Iterable[str]) -> list[str]:
    """The replace-on properties among changed dotted paths."""
    rules = REPLACE_ON.get(type_, ())
    if type_.startswith("kubernetes:"):
        rules = rules + KUBERNETES_REPLACE_ON
    hits: list[str] = []
    for path in paths:
        if path.startswith(("protect", "retainOnDelete", "ignoreChanges")):
            continue  # resource options, not provider inputs
        for rule in rules:
            if rule == "*" or path == rule or path.startswith(rule + "."):
                hit = path.split(".")[0] if rule == "*" else rule
                if hit not in hits:
                    hits.append(hit)
    return hits


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    a = dict(_flatten(_redact(old.get("inputs") or {}, new.get("type", ""))))
    b = dict(_flatten(_redact(new.get("inputs") or {}, new.get("type", ""))))
    for opt in ("protect", "retainOnDelete"):
        a[opt], b[opt] = bool(old.get(opt)), bool(new.get(opt))
    changes = []
    for path in sorted(set(a) | set(b), key=_path_key):
        if a.get(path, _MISSING) != b.get(path, _MISSING):
            changes.append(Change(path, a.get(path), b.get(path)))
    return changes


_MISSING = object()


def _path_key(path: str) -> tuple[Any, ...]:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.split("."))


def _redact(inputs: dict[str, Any], type_: str) -> dict[str, Any]:
    def walk(value: Any, key: str, under_secret: bool) -> Any:
        if under_secret or (isinstance(value, str) and _SECRET_KEY.search(key) and not isinstance(value, bool)):
            if isinstance(value, dict):
                return {k: walk(v, k, True) for k, v in value.items()}
            return REDACTED if value not in (None, "", REDACTED) else value
        if isinstance(value, dict):
            return {k: walk(v, k, False) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key, False) for v in value]
        return value

    secret_object = type_ == "kubernetes:core/v1:Secret"
    return {k: walk(v, k, secret_object and k in ("data", "stringData")) for k, v in inputs.items()}


def _flatten(value: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Leaves as dotted paths; empty containers are leaves too (so `[]` -> `[x]` shows)."""
    if isinstance(value, str) and value[:1] in "[{":
        try:  # JSON documents held in a string (ECS container definitions, IAM policies) diff by field
            value = json.loads(value)
        except ValueError:
            pass
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            yield from _flatten(v, f"{prefix}.{i}" if prefix else str(i))
    else:
        yield prefix, value


def _describe(doc: dict[str, Any]) -> str:
    parts = [f"{k} {doc[k]}" for k in ("app", "cloud", "profile", "stack") if doc.get(k)]
    return ", ".join(parts) or "plan"


def _value(v: Any, limit: int = 80) -> str:
    text = "(absent)" if v is None else (v if isinstance(v, str) else json.dumps(v, sort_keys=True))
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else _cut(text, limit)


def _cut(text: str, limit: int) -> str:
    """Shorten at a word or punctuation boundary, never mid-word."""
    head = text[: limit - 1]
    cut = max(head.rfind(c) for c in " ,;/:")
    return (head[:cut] if cut > limit // 2 else head).rstrip() + "…"


def _short_type(t: str) -> str:
    return t.split(":", 1)[-1]


def text(d: PlanDiff, max_changes: int = 40) -> str:
    """The diff for a terminal."""
    summary = ", ".join(f"{len(d.of(a))} {a}" for a in ("added", "removed", "replaced", "changed"))
    lines = [f"prodkit diff: {_describe(d.base)} -> {_describe(d.head)}", f"{summary}"]
    if _restacked(d):
        lines.append(f"(two stacks: the stack name {d.base['stack']} in values is read as {d.head['stack']})")
    if not d.resources:
        lines.append("No infrastructure change.")
    for r in d.resources:
        mark = {"added": "+", "removed": "-", "replaced": "+-", "changed": "~"}[r.action]
        why = f" ({'; '.join(r.reasons)})" if r.reasons else ""
        lines.append(f"{mark} {r.action} {_short_type(r.type)} {r.name}{why}")
        for c in r.changes[:max_changes]:
            lines.append(f"    {c.path}: {_value(c.old)} -> {_value(c.new)}")
        if len(r.changes) > max_changes:
            lines.append(f"    ... and {len(r.changes) - max_changes} more properties")
    return "\n".join(lines)


def _restacked(d: PlanDiff) -> bool:
    return bool(d.base.get("stack") and d.head.get("stack") and d.base["stack"] != d.head["stack"])


def _md(text_: str) -> str:
    return text_.replace("|", "\\|").replace("`", "'")


def markdown(d: PlanDiff, max_changes: int = 40) -> str:
    """The diff for a pull-request comment."""
    lines = [
        f"**{_describe(d.base)}** → **{_describe(d.head)}**: "
        + ", ".join(f"{len(d.of(a))} {a}" for a in ("added", "removed", "replaced", "changed")),
        "",
    ]
    if _restacked(d):
        lines += [f"_Two stacks: the stack name `{d.base['stack']}` in values is read as `{d.head['stack']}`._", ""]
    if not d.resources:
        lines.append("No infrastructure change.")
        return "\n".join(lines)
    lines += ["| | resource | type | why |", "|---|---|---|---|"]
    icon = {"added": "➕ added", "removed": "🗑️ removed", "replaced": "♻️ replaced", "changed": "✏️ changed"}
    for r in d.resources:
        lines.append(f"| {icon[r.action]} | `{_md(r.name)}` | `{_md(_short_type(r.type))}` | {_md('; '.join(r.reasons))} |")
    changed = [r for r in d.resources if r.changes]
    if changed:
        lines += ["", "<details><summary>changed properties</summary>", ""]
        for r in changed:
            lines += [f"**{_md(r.name)}** (`{_md(_short_type(r.type))}`, {r.action})", "", "| property | before | after |", "|---|---|---|"]
            for c in r.changes[:max_changes]:
                lines.append(f"| `{_md(c.path)}` | `{_md(_value(c.old, 60))}` | `{_md(_value(c.new, 60))}` |")
            if len(r.changes) > max_changes:
                lines.append(f"| ... and {len(r.changes) - max_changes} more | | |")
            lines.append("")
        lines.append("</details>")
    return "\n".join(lines)
