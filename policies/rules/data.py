"""Data protection: encryption at rest, backups with retention in bounds, point-in-time recovery; in prod also
deletion protection, `protect` on stateful resources and high availability."""

from __future__ import annotations

import re
from typing import Any, Mapping

from ._util import (
    BACKUP_PLAN, BARMAN_OBJECT_STORE, BACKUP_SELECTION, BACKUP_VAULT, CNPG_CLUSTER, CNPG_SCHEDULED_BACKUP, EFS, EFS_BACKUP_POLICY,
    ECS_SERVICE, APPAUTOSCALING_TARGET, K8S_DEPLOYMENT, K8S_HPA, K8S_PVC, K8S_STATEFULSET, KEDA_SCALED_OBJECT, LB,
    RDS_INSTANCE, REDIS_GROUP, S3_BUCKETS, S3_PAB, S3_SSE, as_int, get, items, k8s_name, mapping, namespace_of,
    of_type, refers_to, same_component, unknown, violated_true,
)
from .registry import rule

#: Backup retention bounds (days) of the profiles: staging keeps 7, prod 30; RDS allows at most 35.
MIN_RETENTION_DAYS = 7
MAX_RETENTION_DAYS = 35
_BACKUP_CHECKLIST = "Database backups running and tested; Configure backup strategy; Automated backup strategy implemented"


@rule(
    "encryption-at-rest",
    description="Encrypt data at rest: RDS storage, ElastiCache, EFS, backup vaults with a KMS key, KMS keys rotated.",
    severity="high",
    checklist="Encryption at rest (seed 001 storage-encrypted / at-rest-encryption-enabled; architecture)",
    seeds=("001",),
    types=(RDS_INSTANCE, REDIS_GROUP, EFS, BACKUP_VAULT, "aws:kms/key:Key"),
)
def encryption_at_rest(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == RDS_INSTANCE:
        return ["storageEncrypted is not true: the database volume, its snapshots and replicas are unencrypted"] if violated_true(props.get("storageEncrypted")) else []
    if resource_type == REDIS_GROUP:
        return ["atRestEncryptionEnabled is not true: snapshots and swap are unencrypted"] if violated_true(props.get("atRestEncryptionEnabled")) else []
    if resource_type == EFS:
        return ["encrypted is not true: the shared file system is unencrypted"] if violated_true(props.get("encrypted")) else []
    if resource_type == BACKUP_VAULT:
        return [] if props.get("kmsKeyArn") else ["backup vault has no kmsKeyArn: recovery points use the AWS-managed key, which key policies cannot restrict"]
    # kms Key
    if props.get("customerMasterKeySpec", props.get("keySpec", "SYMMETRIC_DEFAULT")) in (None, "SYMMETRIC_DEFAULT") and violated_true(props.get("enableKeyRotation")):
        return ["enableKeyRotation is not true: the key material is never rotated"]
    return []


def _bucket_links(resources: list[dict[str, Any]], types: tuple[str, ...], bucket: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Configuration resources (SSE, public access block) that point at a bucket."""
    out = []
    for cfg in of_type(resources, *types):
        ref = get(cfg, "inputs", "bucket")
        link = refers_to(ref, bucket)
        if link or (link is None and same_component(cfg, bucket)):
            out.append(cfg)
    return out


@rule(
    "s3-bucket-encrypted",
    description="Give every S3 bucket a default server-side encryption configuration (SSE-S3 or SSE-KMS).",
    severity="medium",
    checklist="Encryption at rest (backups and logs)",
    seeds=("000", "004"),
    types=(*S3_BUCKETS, *S3_SSE),
    scope="stack",
)
def s3_bucket_encrypted(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    for bucket in of_type(resources, *S3_BUCKETS):
        inline = get(bucket, "inputs", "serverSideEncryptionConfiguration")
        configs = _bucket_links(resources, S3_SSE, bucket)
        ok = bool(inline) or any(
            get(rule_, "applyServerSideEncryptionByDefault", "sseAlgorithm") in ("AES256", "aws:kms", "aws:kms:dsse")
            for cfg in configs for rule_ in items(get(cfg, "inputs", "rules"))
        )
        if not ok:
            out.append((bucket["urn"], "bucket has no server-side encryption configuration of the stack (BucketServerSideEncryptionConfiguration with AES256 or aws:kms)"))
    return out


@rule(
    "s3-public-access-blocked",
    description="Block all public access on every S3 bucket (all four BucketPublicAccessBlock flags true).",
    severity="high",
    checklist="Review and restrict database access (backups and logs are data too)",
    seeds=("003",),
    types=(*S3_BUCKETS, S3_PAB),
    scope="stack",
)
def s3_public_access_blocked(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    out = []
    for bucket in of_type(resources, *S3_BUCKETS):
        blocks = _bucket_links(resources, (S3_PAB,), bucket)
        if not blocks:
            out.append((bucket["urn"], "bucket has no BucketPublicAccessBlock"))
            continue
        missing = sorted({f for b in blocks for f in flags if violated_true(get(b, "inputs", f))})
        if missing and not any(all(get(b, "inputs", f) is True for f in flags) for b in blocks):
            out.append((bucket["urn"], f"BucketPublicAccessBlock leaves {', '.join(missing)} off"))
    return out


def _days(policy: Any) -> int | None:
    """CNPG retentionPolicy ("30d", "4w", "1m") in days."""
    m = re.fullmatch(r"\s*(\d+)\s*([dwm])\s*", str(policy or ""))
    if not m:
        return None
    return int(m.group(1)) * {"d": 1, "w": 7, "m": 30}[m.group(2)]


def _bounds(days: int | None, what: str) -> list[str]:
    if days is None:
        return []
    if days < MIN_RETENTION_DAYS or days > MAX_RETENTION_DAYS:
        return [f"{what} is {days} days; keep backups {MIN_RETENTION_DAYS}-{MAX_RETENTION_DAYS} days"]
    return []


@rule(
    "backup-retention",
    description=f"Keep database backups {MIN_RETENTION_DAYS}-{MAX_RETENTION_DAYS} days (RDS, CNPG retentionPolicy) and AWS Backup recovery points at least {MIN_RETENTION_DAYS} days.",
    severity="high",
    checklist=_BACKUP_CHECKLIST,
    seeds=("000", "001", "003", "004"),
    types=(RDS_INSTANCE, CNPG_CLUSTER, BARMAN_OBJECT_STORE, BACKUP_PLAN),
)
def backup_retention(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == RDS_INSTANCE:
        days = as_int(props.get("backupRetentionPeriod"))
        if days is None and not unknown(props.get("backupRetentionPeriod")):
            return ["backupRetentionPeriod is not set (the API default is 1 day, and 0 turns automated backups off)"]
        return _bounds(days, "backupRetentionPeriod")
    if resource_type == CNPG_CLUSTER:
        policy = get(props, "spec", "backup", "retentionPolicy")
        if unknown(policy):
            return []
        if not policy:
            return ["spec.backup.retentionPolicy is not set: base backups and WAL are kept forever or never pruned"] if get(props, "spec", "backup") else []
        days = _days(policy)
        return [f"spec.backup.retentionPolicy {policy!r} is not '<n>d|w|m'"] if days is None else _bounds(days, "spec.backup.retentionPolicy")
    if resource_type == BARMAN_OBJECT_STORE:  # the Barman Cloud plugin's recovery window
        policy = get(props, "spec", "retentionPolicy")
        if unknown(policy):
            return []
        if not policy:
            return ["spec.retentionPolicy is not set: base backups and WAL are never pruned"]
        days = _days(policy)
        return [f"spec.retentionPolicy {policy!r} is not '<n>d|w|m'"] if days is None else _bounds(days, "spec.retentionPolicy")
    out = []
    for r in items(props.get("rules")):
        after = as_int(get(r, "lifecycle", "deleteAfter"))
        if after is not None and after < MIN_RETENTION_DAYS:
            out.append(f"rule {get(r, 'ruleName')}: recovery points are deleted after {after} days (< {MIN_RETENTION_DAYS})")
    return out


@rule(
    "point-in-time-recovery",
    description="Keep point-in-time recovery on: RDS automated backups (retention > 0), CNPG WAL archiving to an object store.",
    severity="high",
    checklist=f"{_BACKUP_CHECKLIST}; RPO 1 hour / RTO < 1 hour",
    seeds=("001", "004"),
    types=(RDS_INSTANCE, CNPG_CLUSTER),
)
def point_in_time_recovery(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == RDS_INSTANCE:
        days = as_int(props.get("backupRetentionPeriod"))
        return ["backupRetentionPeriod is 0: automated backups and point-in-time recovery are off"] if days == 0 else []
    store = get(props, "spec", "backup", "barmanObjectStore")
    if store is None and get(props, "spec", "backup", "volumeSnapshot") is None and not get(props, "spec", "plugins"):
        return ["no WAL archiver (spec.plugins with the Barman Cloud plugin): no point-in-time recovery"]
    return []


@rule(
    "backup-scheduled",
    description="Schedule backups of every database and shared file system (CNPG ScheduledBackup; AWS Backup selection or EFS backup policy).",
    severity="high",
    checklist=_BACKUP_CHECKLIST,
    seeds=("000", "001", "002", "003", "004"),
    types=(CNPG_CLUSTER, CNPG_SCHEDULED_BACKUP, EFS, BACKUP_SELECTION, EFS_BACKUP_POLICY),
    scope="stack",
)
def backup_scheduled(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    scheduled = {(namespace_of(mapping(s.get("inputs"))), get(s, "inputs", "spec", "cluster", "name"))
                 for s in of_type(resources, CNPG_SCHEDULED_BACKUP)}
    for cluster in of_type(resources, CNPG_CLUSTER):
        key = (namespace_of(mapping(cluster.get("inputs"))), k8s_name(cluster))
        if key not in scheduled:
            out.append((cluster["urn"], f"no ScheduledBackup targets cluster {key[1]}: only WAL is archived, no base backups are taken"))
    selections = of_type(resources, BACKUP_SELECTION)
    policies = of_type(resources, EFS_BACKUP_POLICY)
    for fs in of_type(resources, EFS):
        by_selection = any(
            refers_to(arn, fs) or (unknown(arn) and same_component(sel, fs))
            for sel in selections for arn in items(get(sel, "inputs", "resources")))
        by_policy = any(
            (refers_to(get(p, "inputs", "fileSystemId"), fs) is not False)
            and str(get(p, "inputs", "backupPolicy", "status", default="")).upper() == "ENABLED" for p in policies)
        if not (by_selection or by_policy):
            out.append((fs["urn"], "no AWS Backup selection or enabled EFS backup policy covers this file system"))
    return out


@rule(
    "deletion-protection",
    description="Turn on deletion protection (and a final snapshot) for databases and load balancers in prod.",
    severity="high",
    checklist="Disaster recovery plan documented (deletion protection in prod; architecture)",
    seeds=("001",),
    types=(RDS_INSTANCE, LB),
    prod_only=True,
)
def deletion_protection(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == LB:
        return ["enableDeletionProtection is not true"] if violated_true(props.get("enableDeletionProtection")) else []
    out = []
    if violated_true(props.get("deletionProtection")):
        out.append("deletionProtection is not true")
    if props.get("skipFinalSnapshot") is True:
        out.append("skipFinalSnapshot is true: deleting the instance leaves no snapshot")
    return out


#: Resources holding data that `pulumi destroy` or a replacement must never delete in prod.
STATEFUL_TYPES = (RDS_INSTANCE, REDIS_GROUP, EFS, BACKUP_VAULT, *S3_BUCKETS, K8S_PVC, CNPG_CLUSTER, K8S_STATEFULSET)


@rule(
    "stateful-protected",
    description="Set protect=True on every stateful resource in prod (databases, caches, file systems, vaults, buckets, PVCs, StatefulSets).",
    severity="high",
    checklist="Disaster recovery plan documented (protect stateful resources in prod; architecture)",
    seeds=("001", "004"),
    types=STATEFUL_TYPES,
    prod_only=True,
)
def stateful_protected(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if options.get("protect") is True:
        return []
    return ["stateful resource without protect=True: a `pulumi destroy` or a replacement deletes its data"]


def _autoscaled(options: Mapping[str, Any], field: str) -> bool:
    return any(str(p).replace("/", ".").strip(".") == field for p in items(options.get("ignoreChanges")))


@rule(
    "high-availability",
    description="Run prod with redundancy: Multi-AZ RDS, ElastiCache failover, >= 2 CNPG instances, >= 2 replicas/tasks (or autoscaler minimum).",
    severity="high",
    checklist="Auto-scaling tested; Disaster recovery plan documented (Multi-AZ/HA in prod)",
    seeds=("001", "002", "004"),
    types=(RDS_INSTANCE, REDIS_GROUP, CNPG_CLUSTER, K8S_DEPLOYMENT, K8S_HPA, KEDA_SCALED_OBJECT, ECS_SERVICE, APPAUTOSCALING_TARGET),
    prod_only=True,
)
def high_availability(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == RDS_INSTANCE:
        return ["multiAz is not true: a zone outage takes the database down"] if violated_true(props.get("multiAz")) else []
    if resource_type == REDIS_GROUP:
        out = []
        if violated_true(props.get("automaticFailoverEnabled")):
            out.append("automaticFailoverEnabled is not true")
        if violated_true(props.get("multiAzEnabled")):
            out.append("multiAzEnabled is not true")
        nodes = as_int(props.get("numCacheClusters"))
        if nodes is not None and nodes < 2:
            out.append(f"numCacheClusters is {nodes}: no replica to fail over to")
        return out
    if resource_type == CNPG_CLUSTER:
        n = as_int(get(props, "spec", "instances"))
        return [f"spec.instances is {n}: run at least 2 (3 recommended) for failover"] if n is not None and n < 2 else []
    if resource_type == K8S_HPA:
        n = as_int(get(props, "spec", "minReplicas"))
        return [f"minReplicas is {n}: a single pod is a single point of failure"] if n is not None and n < 2 else []
    if resource_type == KEDA_SCALED_OBJECT:
        n = as_int(get(props, "spec", "minReplicaCount"))
        return [f"minReplicaCount is {n if n is not None else 0}: scale-to-zero/one is not HA"] if (n or 0) < 2 and not unknown(get(props, "spec", "minReplicaCount")) else []
    if resource_type == APPAUTOSCALING_TARGET:
        n = as_int(props.get("minCapacity"))
        return [f"minCapacity is {n}: run at least 2 tasks"] if n is not None and n < 2 and str(props.get("serviceNamespace")) == "ecs" else []
    if resource_type == ECS_SERVICE:
        if _autoscaled(options, "desiredCount"):
            return []
        n = as_int(props.get("desiredCount"))
        return [f"desiredCount is {n}: run at least 2 tasks (or let an Autoscaler own the count)"] if n is not None and n < 2 else []
    # Deployment: the replica count, unless an autoscaler owns it (ignoreChanges spec.replicas; its minimum is checked on the HPA/ScaledObject).
    if _autoscaled(options, "spec.replicas"):
        return []
    n = as_int(get(props, "spec", "replicas"))
    if n is None and not unknown(get(props, "spec", "replicas")):
        n = 1
    return [f"spec.replicas is {n}: run at least 2 replicas (or let an Autoscaler own the count)"] if n is not None and n < 2 else []
