"""ManagedPostgres: a private PostgreSQL endpoint with TLS required and automated backups, same contract on every cloud.

| cloud | implementation | high_availability means | TLS | backups | extensions (pgvector) |
|---|---|---|---|---|---|
| aws | RDS PostgreSQL, gp3 with storage autoscaling, KMS, isolated subnets, managed master password | Multi-AZ standby | parameter group `rds.force_ssl=1` | automated + PITR (`backup_retention_days`), final snapshot, AWS Backup copies | `CREATE EXTENSION vector` by the app/migration (RDS ships it) |
| gcp | Cloud SQL for PostgreSQL (Enterprise), private IP only (`ipv4_enabled` false, private services access), Query Insights, CMEK with `customer_managed_keys`, app user password in Secret Manager | REGIONAL | `ssl_mode` ENCRYPTED_ONLY | automated backups (start time, retained count) + PITR (transaction-log retention), deletion protection (provider + API) | `CREATE EXTENSION vector` by the app/migration (Cloud SQL ships it) |
| azure | PostgreSQL Flexible Server, VNet-injected | ZoneRedundant HA | `require_secure_transport` | retention + geo-redundant backup | `azure.extensions` allow-lists VECTOR |
| kubernetes | CloudNativePG `Cluster` (operator-managed, in-cluster), pgvector image, generated credentials Secret | 3 instances (1 primary, 2 replicas) | server TLS by the operator, `hostssl` only | ScheduledBackup (BackupSchedule) to object storage | created at bootstrap (`postInitApplicationSQL`) |
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence

import pulumi

from .._core import Component, InputError, one_of
from .._core.units import in_range, time_window

SIZES = ("small", "medium", "large", "xlarge")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_EXTENSIONS = ("vector", "pg_stat_statements", "pgcrypto", "uuid-ossp", "pg_trgm", "citext", "hstore")


@dataclass(frozen=True, kw_only=True)
class Pooler:
    """A connection pooler in front of the database (PgBouncer)."""

    mode: Literal["transaction", "session"] = "transaction"
    """Pooling mode. Default: "transaction"."""
    default_pool_size: int = 20
    """Server connections per user/database pair. Default: 20."""
    max_client_connections: int = 1000
    """Client connections accepted. Default: 1000."""
    instances: int = 2
    """Pooler replicas (Kubernetes). Default: 2."""


@dataclass(frozen=True, kw_only=True)
class AwsPostgresOptions:
    """AWS-only settings of ManagedPostgres (RDS)."""

    instance_class: str | None = None
    """RDS instance class. Default: derived from `size` (small=db.t4g.medium, medium=db.m7g.large,
    large=db.m7g.xlarge, xlarge=db.m7g.2xlarge)."""
    performance_insights_retention_days: int = 7
    """Performance Insights retention (7 is free). Default: 7."""
    monitoring_interval_seconds: int = 60
    """Enhanced monitoring interval (0 disables). Default: 60 s."""


@dataclass(frozen=True, kw_only=True)
class GcpPostgresOptions:
    """GCP-only settings of ManagedPostgres (Cloud SQL)."""

    tier: str | None = None
    """Cloud SQL machine tier. Default: derived from `size` (small=db-custom-2-7680, medium=db-custom-4-15360,
    large=db-custom-8-30720, xlarge=db-custom-16-61440)."""
    query_insights: bool = True
    """Query Insights (query plans, client addresses off). Default: on."""


@dataclass(frozen=True, kw_only=True)
class KubernetesPostgresOptions:
    """Kubernetes-only settings of ManagedPostgres (CloudNativePG)."""

    image: str = "ghcr.io/cloudnative-pg/postgresql:{version}-standard-bookworm"
    """Operand image; `{version}` is replaced by the major version. The `standard` images ship pgvector.
    Default: "ghcr.io/cloudnative-pg/postgresql:{version}-standard-bookworm"."""
    storage_class: str | None = None
    """StorageClass of the data volumes. Default: the cluster default."""
    backup_bucket: str | None = None
    """S3-compatible bucket ("s3://bucket/prefix") for base backups and WAL archiving (PITR). Default: none
    (no continuous archiving; the policy pack flags it)."""
    backup_endpoint_url: str | None = None
    """S3 endpoint for non-AWS object stores. Default: AWS S3."""
    backup_credentials_secret: str = "backup-s3-credentials"
    """Existing Secret with ACCESS_KEY_ID / ACCESS_SECRET_KEY. Default: "backup-s3-credentials"."""


@dataclass(frozen=True, kw_only=True)
class ManagedPostgresArgs:
    """Arguments of :class:`ManagedPostgres`."""

    network: Any
    """The Network component to live in. Required."""
    version: str = "16"
    """PostgreSQL major version, "14" to "17". Default: "16"."""
    size: str = "small"
    """Compute size class: small | medium | large | xlarge, mapped per cloud (see options). Default: "small"."""
    storage_gib: int = 20
    """Initial storage; grows automatically up to `max_storage_gib` where the cloud allows. Default: 20 GiB."""
    max_storage_gib: int | None = None
    """Ceiling of storage autoscaling. Default: 5x `storage_gib`."""
    database: str = "app"
    """Database created for the app. Default: "app"."""
    username: str = "app"
    """Owner role of that database. Default: "app"."""
    extensions: Sequence[str] = ()
    """Extensions the app needs, e.g. ["vector"] for pgvector. Default: none."""
    parameters: Mapping[str, str] = field(default_factory=dict)
    """PostgreSQL server parameters (postgresql.conf). Default: the cloud's defaults."""
    high_availability: bool = False
    """Keep a synchronous standby in another zone. Default: single instance."""
    backup_retention_days: int = 7
    """Automated backup / PITR retention, 1-35 days. Default: 7."""
    backup_window: str = "03:00-04:00"
    """Daily UTC window for automated backups. Default: "03:00-04:00"."""
    deletion_protection: bool = True
    """Refuse deletion, take a final snapshot, `protect` and retain on delete. Default: on; staging opts out."""
    pooler: Pooler | None = None
    """PgBouncer pooling in front of the database. Default: none (apps connect directly)."""
    aws: AwsPostgresOptions | None = None
    """AWS-only options. Default: AwsPostgresOptions() on AWS; an error on other clouds."""
    kubernetes: KubernetesPostgresOptions | None = None
    """Kubernetes-only options. Default: KubernetesPostgresOptions() on Kubernetes; an error on other clouds."""
    gcp: GcpPostgresOptions | None = None
    """GCP-only options. Default: GcpPostgresOptions() on GCP; an error on other clouds."""

    def __post_init__(self) -> None:
        if str(self.version) not in ("14", "15", "16", "17"):
            raise one_of("postgres.version", self.version, ["14", "15", "16", "17"])
        if self.size not in SIZES:
            raise one_of("postgres.size", self.size, SIZES)
        in_range("postgres.storage_gib", self.storage_gib, 20, 65536, "GiB")
        if self.max_storage_gib is not None and self.max_storage_gib < self.storage_gib:
            raise InputError("postgres.max_storage_gib", self.max_storage_gib, f"must be at least storage_gib ({self.storage_gib})")
        for ident, value in (("postgres.database", self.database), ("postgres.username", self.username)):
            if not _IDENT.match(value):
                raise InputError(ident, value, "allowed: a lowercase SQL identifier (letters, digits, '_')")
        for ext in self.extensions:
            if ext not in _EXTENSIONS:
                raise one_of("postgres.extensions", ext, _EXTENSIONS)
        in_range("postgres.backup_retention_days", self.backup_retention_days, 1, 35, "days")
        time_window("postgres.backup_window", self.backup_window)

    @property
    def storage_ceiling_gib(self) -> int:
        return self.max_storage_gib or self.storage_gib * 5


class ManagedPostgres(Component):
    """A private PostgreSQL database that requires TLS.

    Example: ``db = ManagedPostgres("db", ManagedPostgresArgs(network=net, version="16", extensions=["vector"]), platform)``

    Cost: AWS RDS instance-hours (x2 with Multi-AZ) + gp3 GB-month + backups beyond the DB size; GCP Cloud SQL
    vCPU + memory hours (x2 REGIONAL) + SSD GB-month; Kubernetes the instances' requests and volumes.
    """

    ARGS = ManagedPostgresArgs
    OUTPUTS = ("host", "port", "url")
    SECRET_OUTPUTS = frozenset({"url"})

    host: pulumi.Output[str]
    """Private hostname clients connect to (the pooler's when one exists)."""
    port: pulumi.Output[int]
    """TCP port, 5432."""
    url: pulumi.Output[str]
    """postgresql://user:password@host:5432/db?sslmode=require. Secret."""
