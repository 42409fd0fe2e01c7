"""ManagedPostgres: a private PostgreSQL endpoint with TLS required and automated backups, same contract on every cloud.

| cloud | implementation | high_availability means | TLS | backups | extensions (pgvector) |
|---|---|---|---|---|---|
| aws | RDS PostgreSQL, gp3 with storage autoscaling, KMS, isolated subnets, managed master password; the app role `<username>_app` created during `pulumi up` by a bootstrap Lambda | Multi-AZ standby | parameter group `rds.force_ssl=1` (never overridable) | automated + PITR (`backup_retention_days`), final snapshot, AWS Backup copies | created by the bootstrap Lambda as the master user |
| gcp | Cloud SQL for PostgreSQL (Enterprise), private IP only (`ipv4_enabled` false, private services access), Query Insights, CMEK with `customer_managed_keys`, app user password in Secret Manager | REGIONAL | `ssl_mode` ENCRYPTED_ONLY | automated backups (start time, retained count) + PITR (transaction-log retention), deletion protection (provider + API) | `CREATE EXTENSION vector` by the app/migration (Cloud SQL ships it) |
| azure | PostgreSQL Flexible Server, VNet-injected (delegated subnet + private DNS zone), public access disabled, storage auto-grow, admin password generated into Key Vault, CanNotDelete lock with deletion protection, `dataEncryption` with the stack's Key Vault key when the Network has one (geo-backups with the paired-region key) | ZoneRedundant HA (standby in another zone) | `require_secure_transport` ON, TLS 1.2 minimum | retention (`backup_retention_days`) + geo-redundant backup (`azure.geo_redundant_backup`) | `azure.extensions` allow-lists VECTOR and the other requested extensions; `CREATE EXTENSION` by the app/migration |
| kubernetes | CloudNativePG `Cluster` (operator-managed, in-cluster), `standard` image pinned to a minor release, generated credentials Secret | 3 instances (1 primary, 2 replicas, PodDisruptionBudget) | server TLS by the operator, `hostssl` only | Barman Cloud plugin: `ObjectStore` (bucket, retention) as WAL archiver; ScheduledBackup `method: plugin` (BackupSchedule) | created at bootstrap (`postInitApplicationSQL`) |
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence

from urllib.parse import urlparse

import pulumi

from .._core import Component, InputError, one_of
from .._core.units import in_range, time_window

SIZES = ("small", "medium", "large", "xlarge")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: PostgreSQL minor release per major of the CloudNativePG `standard` operand images (ghcr.io/cloudnative-pg/
#: postgresql, image catalog of 2026-08-17). Bump with the images' weekly rebuilds; a minor update is a rolling
#: restart (switchover), never a data migration.
PG_MINOR = {"14": "14.24", "15": "15.19", "16": "16.15", "17": "17.11"}
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
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
    log_retention_days: int = 30
    """Retention of the RDS log exports (``postgresql``, ``upgrade``) and the bootstrap function's logs, one of
    CloudWatch's allowed values. Default: 30 days; the stack passes the profile's log retention."""


@dataclass(frozen=True, kw_only=True)
class GcpPostgresOptions:
    """GCP-only settings of ManagedPostgres (Cloud SQL)."""

    tier: str | None = None
    """Cloud SQL machine tier. Default: derived from `size` (small=db-custom-2-7680, medium=db-custom-4-15360,
    large=db-custom-8-30720, xlarge=db-custom-16-61440)."""
    query_insights: bool = True
    """Query Insights (query plans, client addresses off). Default: on."""


@dataclass(frozen=True, kw_only=True)
class AzurePostgresOptions:
    """Azure-only settings of ManagedPostgres (PostgreSQL Flexible Server)."""

    sku_name: str | None = None
    """Compute SKU, e.g. "Standard_D4ds_v5" (General Purpose) or "Standard_B2ms" (Burstable, no HA). Default:
    derived from `size` (small=Standard_B2ms without HA or Standard_D2ds_v5 with it, medium=Standard_D4ds_v5,
    large=Standard_D8ds_v5, xlarge=Standard_D16ds_v5)."""
    geo_redundant_backup: bool = False
    """Keep backups in the paired region too (set at creation only). Default: off; prod turns it on."""


@dataclass(frozen=True, kw_only=True)
class KubernetesPostgresOptions:
    """Kubernetes-only settings of ManagedPostgres (CloudNativePG)."""

    image: str = "ghcr.io/cloudnative-pg/postgresql:{minor}-standard-bookworm"
    """Operand image; `{minor}` is replaced by the pinned minor release of the major version (PG_MINOR, e.g.
    16.15), `{version}` by the major. The `standard` images ship pgvector (and no barman-cloud binaries: the
    Barman Cloud plugin brings its own). Default: "ghcr.io/cloudnative-pg/postgresql:{minor}-standard-bookworm"."""
    image_pull_policy: str = "IfNotPresent"
    """imagePullPolicy of the instances: "Always" re-checks the registry on every start (prod profiles). Default:
    "IfNotPresent"."""
    storage_class: str | None = None
    """StorageClass of the data volumes. Default: the cluster default."""
    backup_bucket: str | None = None
    """S3-compatible bucket ("s3://bucket/prefix") for base backups and WAL archiving (PITR). Default: none
    (no continuous archiving; the policy pack flags it)."""
    backup_endpoint_url: str | None = None
    """S3 endpoint for non-AWS object stores. Default: AWS S3."""
    backup_credentials_secret: str = "backup-s3-credentials"
    """Existing Secret with ACCESS_KEY_ID / ACCESS_SECRET_KEY. Default: "backup-s3-credentials"."""
    api_server_cidrs: Sequence[str] = ()
    """Addresses of the Kubernetes API server the instance and pooler managers watch (ports 443/6443). Default:
    any address on those ports (the API's address differs per cluster); set it to close 443 to the internet."""

    def __post_init__(self) -> None:
        if self.image_pull_policy not in _PULL_POLICIES:
            raise one_of("postgres.kubernetes.image_pull_policy", self.image_pull_policy, _PULL_POLICIES)
        for cidr in self.api_server_cidrs:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except (ValueError, TypeError):
                raise InputError("postgres.kubernetes.api_server_cidrs", cidr, "allowed: CIDR blocks such as '10.0.0.1/32'") from None
        if self.backup_endpoint_url is not None:
            url = urlparse(self.backup_endpoint_url)
            if url.scheme != "https" or not url.hostname:
                raise InputError("postgres.kubernetes.backup_endpoint_url", self.backup_endpoint_url, "allowed: an https:// URL (credentials and WAL must not cross the network in clear)")


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
    azure: AzurePostgresOptions | None = None
    """Azure-only options. Default: AzurePostgresOptions() on Azure; an error on other clouds."""

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

    Cost: AWS RDS instance-hours (x2 with Multi-AZ) + gp3 GB-month + backups beyond the DB size; Kubernetes the
    instances' requests and volumes; Azure Flexible Server vCore-hours (x2 with HA) + storage GB-month + backup
    storage beyond the server size (x2 geo-redundant); GCP Cloud SQL vCPU + memory hours (x2 REGIONAL) + SSD
    GB-month.
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
