"""BackupSchedule: scheduled, retained, encrypted copies of the database and the shared volumes.

| cloud | implementation | database | volumes |
|---|---|---|---|
| aws | AWS Backup vault (KMS) + plan (schedule, retention, optional cross-region copy) + selection | RDS instance | EFS file systems |
| gcp | Cloud SQL automated backups (start time from the schedule, retention from the spec, set on the instance) + with `gcp.export_bucket`: a versioned, retention-locked bucket (uniform access, public access prevention) receiving scheduled exports | Cloud SQL | Storage Transfer Service job copying the volume's bucket to a retention-locked backup bucket on the schedule |
| azure | Data Protection backup vault (soft delete, immutability with deletion protection) + policy on the schedule with `retention_days` + backup instance; the vault's identity gets the roles Azure Backup needs; vaults on the stack's Key Vault key when the Network has one | Flexible Server long-term backups (beside its own 7-35 day PITR backups) | Azure Files share backup with the same vault's schedule and retention |
| kubernetes | CNPG ScheduledBackup `method: plugin` (Barman Cloud plugin) into the cluster's ObjectStore (bucket, retention); Velero Schedules for volumes | CNPG Cluster | Velero `Schedule` per volume: file-system backup (node-agent), cron, `ttl` = retention |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import pulumi

from .._core import Component, InputError
from .._core.units import cron, in_range

_BUCKET = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[A-Za-z0-9._\-/]*)?$")


@dataclass(frozen=True, kw_only=True)
class VolumeBackup:
    """A shared volume of a WebService to back up."""

    service: Any
    """The WebService that owns the volume. Required."""
    volume: str
    """The SharedVolume name. Required."""
    schedule: str
    """Cron expression (UTC), e.g. "0 4 * * 0" weekly. Required."""
    retention_days: int = 30
    """How long copies are kept. Default: 30 days."""

    def __post_init__(self) -> None:
        cron(f"backups.volumes[{self.volume}].schedule", self.schedule)
        in_range(f"backups.volumes[{self.volume}].retention_days", self.retention_days, 1, 3653, "days")


@dataclass(frozen=True, kw_only=True)
class KubernetesBackupOptions:
    """Kubernetes-only settings of BackupSchedule."""

    bucket: str = "s3://prodkit-backups"
    """The stack's backup bucket ("s3://bucket/prefix"), reported as `destination`: database backups land there
    through the ManagedPostgres's ObjectStore (same bucket, endpoint and credentials); volume backups go to
    Velero's BackupStorageLocation. Default: "s3://prodkit-backups"."""
    endpoint_url: str | None = None
    """S3 endpoint for non-AWS object stores (MinIO, R2, GCS interop); must be https. Default: AWS S3."""
    credentials_secret: str = "backup-s3-credentials"
    """Existing Secret with ACCESS_KEY_ID / ACCESS_SECRET_KEY (read by the ObjectStore). Default: "backup-s3-credentials"."""
    velero_namespace: str = "velero"
    """Namespace of Velero, where volume backup Schedules live. Default: "velero"."""
    velero_storage_location: str | None = None
    """Velero BackupStorageLocation of volume backups. Default: Velero's default location."""

    def __post_init__(self) -> None:
        if not _BUCKET.match(self.bucket):
            raise InputError("backups.bucket", self.bucket, "allowed: 's3://bucket' or 's3://bucket/prefix'")
        if not re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", self.velero_namespace) or len(self.velero_namespace) > 63:
            raise InputError("backups.kubernetes.velero_namespace", self.velero_namespace, "allowed: a namespace name (DNS label)")


@dataclass(frozen=True, kw_only=True)
class AwsBackupOptions:
    """AWS-only settings of BackupSchedule."""

    copy_region: str | None = None
    """Region to copy every recovery point to. Default: none."""


@dataclass(frozen=True, kw_only=True)
class GcpBackupOptions:
    """GCP-only settings of BackupSchedule."""

    project: str | None = None
    """Project id (Storage Transfer Service jobs, Cloud Scheduler). Default: the provider's project."""
    export_bucket: bool = True
    """Also export the database on the schedule to a versioned, retention-locked bucket (copies outside Cloud SQL,
    which deletes automated backups with the instance). Default: on."""


@dataclass(frozen=True, kw_only=True)
class AzureBackupOptions:
    """Azure-only settings of BackupSchedule (Data Protection backup vault)."""

    vault_redundancy: str = "GeoRedundant"
    """Storage redundancy of the backup vault: "LocallyRedundant", "ZoneRedundant" or "GeoRedundant". Default:
    "GeoRedundant"; staging uses "LocallyRedundant"."""

    def __post_init__(self) -> None:
        if self.vault_redundancy not in ("LocallyRedundant", "ZoneRedundant", "GeoRedundant"):
            raise InputError("azure.vault_redundancy", self.vault_redundancy, "allowed: GeoRedundant, LocallyRedundant, ZoneRedundant")


@dataclass(frozen=True, kw_only=True)
class BackupScheduleArgs:
    """Arguments of :class:`BackupSchedule`."""

    database: Any = None
    """The ManagedPostgres to back up. Default: none."""
    schedule: str = "0 3 * * *"
    """Database backup schedule, cron (UTC). Default: daily 03:00."""
    retention_days: int = 7
    """Database backup retention. Default: 7 days."""
    volumes: Sequence[VolumeBackup] = ()
    """Shared volumes to back up. Default: none."""
    deletion_protection: bool = True
    """Protect the vault/bucket/backups from deletion. Default: on; staging opts out."""
    aws: AwsBackupOptions | None = None
    """AWS-only options. Default: AwsBackupOptions() on AWS; an error on other clouds."""
    kubernetes: KubernetesBackupOptions | None = None
    """Kubernetes-only options. Default: KubernetesBackupOptions() on Kubernetes; an error on other clouds."""
    gcp: GcpBackupOptions | None = None
    """GCP-only options. Default: GcpBackupOptions() on GCP; an error on other clouds."""
    azure: AzureBackupOptions | None = None
    """Azure-only options. Default: AzureBackupOptions() on Azure; an error on other clouds."""

    def __post_init__(self) -> None:
        cron("backups.database.schedule", self.schedule)
        in_range("backups.database.retention_days", self.retention_days, 1, 3653, "days")
        if self.database is None and not self.volumes:
            raise InputError("backups", "nothing", "name a database or at least one volume to back up")


class BackupSchedule(Component):
    """Scheduled backups with retention.

    Example: ``BackupSchedule("backups", BackupScheduleArgs(database=db, schedule="0 2 * * *", retention_days=30), platform)``

    Cost: AWS Backup warm storage GB-month; GCP bucket storage of the exports and copies; Kubernetes the object
    storage used.
    """

    ARGS = BackupScheduleArgs
    OUTPUTS = ("destination",)

    destination: pulumi.Output[str]
    """Where the copies go: vault ARN (aws), bucket URL (kubernetes, gcp), vault id (azure)."""
