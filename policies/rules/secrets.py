"""Secrets: only by reference. No literal value for a secret-looking variable, no secret value inlined in a
workload definition, secret values marked secret in Pulumi, secret stores encrypted."""

from __future__ import annotations

import re
from typing import Any, Mapping

from ._util import (
    ECS_TASK, K8S_CONFIGMAP, K8S_SECRET, POD_WORKLOADS, REDACTED, SM_SECRET, SM_VERSION, container_definitions,
    containers, get, items, looks_secret, mapping, pod_spec, secret_data_values, unknown, walk,
)
from .registry import rule

_CHECKLIST = "All secrets stored in environment variables or secrets manager; Secrets management system in place"


@rule(
    "no-literal-secret-env",
    description="Pass secret-looking variables (*_KEY, *_SECRET, *_TOKEN, *PASSWORD*, DATABASE_URL, REDIS_URL, *_DSN) only by secret reference.",
    severity="high",
    checklist=_CHECKLIST,
    seeds=("000", "001", "002", "004"),
    types=(*POD_WORKLOADS, ECS_TASK, K8S_CONFIGMAP),
)
def no_literal_secret_env(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    if resource_type == ECS_TASK:
        for c in container_definitions(props):
            for env in items(c.get("environment")):
                if looks_secret(get(env, "name")):
                    out.append(f"container {c.get('name')}: {get(env, 'name')} is a plain `environment` value; move it to `secrets` with valueFrom (Secrets Manager ARN)")
        return out
    if resource_type == K8S_CONFIGMAP:
        for key in mapping(props.get("data")):
            if looks_secret(key):
                out.append(f"ConfigMap key {key} looks like a secret; ConfigMaps are readable in clear text: use a Secret")
        return out
    for label, c in containers(pod_spec(resource_type, props)):
        for env in items(c.get("env")):
            name = get(env, "name")
            if not looks_secret(name):
                continue
            if get(env, "valueFrom", "secretKeyRef") is not None:
                continue
            if "value" in mapping(env):
                out.append(f"{label}: {name} has a literal value; use valueFrom.secretKeyRef")
            else:
                out.append(f"{label}: {name} does not come from a Secret (valueFrom.secretKeyRef)")
    return out


@rule(
    "no-secret-in-workload-spec",
    description="Keep secret values out of Deployments, StatefulSets, CronJobs, task definitions and ConfigMaps.",
    severity="high",
    checklist=_CHECKLIST,
    seeds=("000", "001", "002"),
    types=(*POD_WORKLOADS, ECS_TASK, K8S_CONFIGMAP),
    # Relies on prodkit plan redacting secret values; CrossGuard hands policies plaintext, where
    # no-literal-secret-env catches secret-looking names instead.
    engines=("plan",),
)
def no_secret_in_workload_spec(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if any(v == REDACTED for v in walk(props)):
        return ["a secret value is inlined in the definition (shown as [secret]); store it in a Secret / Secrets Manager and reference it"]
    return []


@rule(
    "secret-values-marked-secret",
    description="Mark every value of a Kubernetes Secret or Secrets Manager version as a Pulumi secret (encrypted in state, redacted in previews).",
    severity="high",
    checklist=_CHECKLIST,
    seeds=("000", "001", "002", "004"),
    types=(K8S_SECRET, SM_VERSION),
    engines=("plan",),
)
def secret_values_marked_secret(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == SM_VERSION:
        for key in ("secretString", "secretBinary"):
            value = props.get(key)
            if value is not None and value != REDACTED and not unknown(value):
                return [f"{key} is stored in clear text in the Pulumi state and preview; wrap it in pulumi.Output.secret"]
        return []
    clear = sorted(k for k, v in secret_data_values(props) if v is not None and v != REDACTED and not unknown(v))
    if clear:
        return [f"Secret keys {', '.join(clear)} are in clear text in the Pulumi state and preview; wrap the values in pulumi.Output.secret"]
    return []


_KMS = re.compile(r"^(arn:aws[a-z-]*:kms:|alias/|[0-9a-f]{8}-[0-9a-f]{4}-|mrk-)")


@rule(
    "secret-store-encrypted",
    description="Encrypt Secrets Manager secrets with a KMS key (a customer key, or the aws/secretsmanager default).",
    severity="low",
    checklist="Secrets management system in place (secrets encrypted at rest)",
    seeds=("001", "004"),
    types=(SM_SECRET,),
)
def secret_store_encrypted(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    """Secrets Manager always encrypts; without kmsKeyId it uses the AWS-managed aws/secretsmanager key, which
    this rule accepts. A kmsKeyId that is not a KMS key reference is refused."""
    key = props.get("kmsKeyId")
    if key is None or unknown(key):
        return []
    if not isinstance(key, str) or not _KMS.match(key):
        return [f"kmsKeyId {key!r} is not a KMS key ARN, alias or id"]
    return []
