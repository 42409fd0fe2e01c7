"""GCP backend of ManagedPostgres: Cloud SQL for PostgreSQL on a private IP in the Network's private services range.

What it creates:

* ``{name}-instance``: Cloud SQL (Enterprise edition), ``POSTGRES_<version>``, tier from ``size`` (or
  ``gcp.tier``), SSD storage with automatic growth up to ``storage_ceiling_gib``, ``availability_type`` REGIONAL
  with ``high_availability`` (a standby in another zone, synchronous replication), **no public IP**
  (``ipv4_enabled`` false, private network + the Network's allocated range), ``ssl_mode`` ENCRYPTED_ONLY (TLS
  required, client certificates not), automated daily backups starting at the ``backup_window`` start with
  ``backup_retention_days`` retained backups, point-in-time recovery with ``min(7, retention)`` days of
  transaction logs (Enterprise edition's maximum), Query Insights, a weekly maintenance window on Sunday one hour
  after the backup window, database flags (``log_min_duration_statement=1000`` plus ``parameters``), deletion
  protection at the API (``deletion_protection_enabled``) and in the provider (``deletion_protection``), backups
  kept after an instance deletion (``retain_backups_on_delete``) and ``protect`` with ``deletion_protection``;
  CMEK (``encryption_key_name``) when the Network has a Cloud KMS key, after granting the Cloud SQL service agent
  ``roles/cloudkms.cryptoKeyEncrypterDecrypter`` on it;
* ``{name}-database`` and ``{name}-user``: the app's database and login (``username``) with a 40-character
  generated password (pulumi-random); Cloud SQL makes API-created users members of ``cloudsqlsuperuser``, so the
  app's migrations can ``CREATE EXTENSION vector`` (pgvector ships with Cloud SQL; nothing to allow-list) and
  ``pg_stat_statements``;
* Secret Manager: ``{name}-password`` (the password) and ``{name}-url`` (``DATABASE_URL``
  ``postgresql://user:password@<private ip>:5432/db?sslmode=require``) that linked services read by reference.

Pooling: Cloud SQL's managed connection pooling is Enterprise Plus only; with ``pooler`` set the instance keeps
the pool settings as flags (``max_connections``) and the app pools client-side. Say so in the plan: it is listed
in the handle as ``pooler="client-side"``.

Cost: tier vCPU + memory hours (x2 with REGIONAL), SSD GB-month, backups beyond the instance size.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from .._core import Cloud, InputError, Link, Platform, SecretRef, options_for, stateful_opts
from . import GcpPostgresOptions

_COMPONENT = "postgres"
_PORT = 5432
TIERS = {"small": "db-custom-2-7680", "medium": "db-custom-4-15360", "large": "db-custom-8-30720", "xlarge": "db-custom-16-61440"}
_TIER = re.compile(r"^db-custom-(\d+)-(\d+)$")
_FLAG = re.compile(r"^[a-z][a-z0-9_.]*$")
MAX_LOG_DAYS = 7  # Enterprise edition: transaction logs for PITR at most 7 days


def validate(args: Any, platform: Platform) -> None:
    opts = options_for(args, Cloud.GCP, GcpPostgresOptions)
    if opts.tier is not None:
        m = _TIER.match(str(opts.tier))
        if not m:
            raise InputError("gcp.tier", opts.tier, "allowed: a custom Enterprise tier 'db-custom-<vCPUs>-<memory MiB>', e.g. 'db-custom-2-7680'")
        cpus, mem = int(m.group(1)), int(m.group(2))
        if cpus != 1 and (cpus % 2 or cpus > 96):
            raise InputError("gcp.tier", opts.tier, "Cloud SQL custom tiers have 1 or an even number of vCPUs up to 96")
        if mem % 256 or not 921 * cpus <= mem <= 6656 * cpus:
            raise InputError("gcp.tier", opts.tier, f"memory must be a multiple of 256 MiB between 0.9 and 6.5 GiB per vCPU ({921 * cpus}-{6656 * cpus} MiB for {cpus} vCPUs)")
    for key in args.parameters:
        if not _FLAG.match(key) or key == "shared_preload_libraries":
            raise InputError(f"postgres.parameters.{key}", args.parameters[key], "Cloud SQL sets flags by name (lowercase); shared_preload_libraries is managed by Cloud SQL (pg_stat_statements and pgvector need no preload)")
    if not platform.region:
        raise InputError("prodkit:region", "", "Cloud SQL needs a region, e.g. 'us-central1'")


def _hour(hhmm: str) -> int:
    return int(hhmm.split(":")[0])


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    opts = options_for(args, Cloud.GCP, GcpPostgresOptions)
    net = args.network.handle
    labels = platform.labels(_COMPONENT)
    protect = args.deletion_protection
    start = args.backup_window.split("-")[0]
    key_id = getattr(net, "kms_key_id", None)

    depends: list[pulumi.Resource] = [net.psa_connection]
    if key_id is not None:
        agent = gcp.projects.ServiceIdentity(f"{name}-sql-agent", service="sqladmin.googleapis.com", project=net.project, opts=child)
        depends.append(gcp.kms.CryptoKeyIAMMember(
            f"{name}-key-access", crypto_key_id=key_id, role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member=pulumi.Output.concat("serviceAccount:", agent.email), opts=child,
        ))

    flags = {"log_min_duration_statement": "1000", **{k: str(v) for k, v in args.parameters.items()}}
    ceiling = args.storage_ceiling_gib
    instance = gcp.sql.DatabaseInstance(
        f"{name}-instance", project=net.project, name=platform.physical_name(name, limit=80), region=platform.region,
        database_version=f"POSTGRES_{args.version}", deletion_protection=protect, encryption_key_name=key_id,
        settings={
            "tier": opts.tier or TIERS[args.size],
            "edition": "ENTERPRISE",
            "availability_type": "REGIONAL" if args.high_availability else "ZONAL",
            "disk_type": "PD_SSD", "disk_size": args.storage_gib, "disk_autoresize": True,
            "disk_autoresize_limit": ceiling if ceiling > args.storage_gib else 0,
            "ip_configuration": {
                "ipv4_enabled": False, "private_network": net.network_id, "allocated_ip_range": net.psa_range_name,
                "ssl_mode": "ENCRYPTED_ONLY", "enable_private_path_for_google_cloud_services": False,
            },
            "backup_configuration": {
                "enabled": True, "start_time": start, "location": platform.region,
                "point_in_time_recovery_enabled": True,
                "transaction_log_retention_days": min(MAX_LOG_DAYS, args.backup_retention_days),
                "backup_retention_settings": {"retained_backups": args.backup_retention_days, "retention_unit": "COUNT"},
            },
            "insights_config": {
                "query_insights_enabled": opts.query_insights, "query_string_length": 1024,
                "record_application_tags": True, "record_client_address": False,
            },
            "maintenance_window": {"day": 7, "hour": (_hour(args.backup_window.split("-")[1]) + 1) % 24, "update_track": "stable"},
            "database_flags": [{"name": k, "value": v} for k, v in sorted(flags.items())],
            "deletion_protection_enabled": protect,
            "retain_backups_on_delete": protect,
            "user_labels": labels,
        },
        opts=stateful_opts(child, protect, depends_on=depends),
    )
    database = gcp.sql.Database(
        f"{name}-database", project=net.project, name=args.database, instance=instance.name,
        deletion_policy="ABANDON" if protect else "DELETE", opts=child,
    )
    password = random.RandomPassword(f"{name}-app-password", length=40, special=False, opts=child)  # URL-safe
    gcp.sql.User(
        f"{name}-user", project=net.project, name=args.username, instance=instance.name, password=password.result, type="BUILT_IN",
        deletion_policy="ABANDON" if protect else None, opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[database])),
    )

    from ..web_service._gcp import secret

    secret(name, "password", platform, password.result, labels, child, net.project, net)
    host = instance.private_ip_address
    url = pulumi.Output.secret(pulumi.Output.format(
        "postgresql://{0}:{1}@{2}:{3}/{4}?sslmode=require", args.username, password.result, host, _PORT, args.database,
    ))
    url_secret = secret(name, "url", platform, url, labels, child, net.project, net)

    link = Link(kind="postgres", name=name, port=_PORT, env={"DATABASE_URL": SecretRef(url_secret.secret_id, "latest")}, peer=None)
    handle = SimpleNamespace(
        instance_name=instance.name, connection_name=instance.connection_name, instance_id=instance.id,
        service_account_email=instance.service_account_email_address, database=args.database, storage_gib=args.storage_gib,
        url_secret_id=url_secret.secret_id, pooler="client-side" if args.pooler is not None else None, project=net.project,
        region=platform.region, kms_key_id=key_id,
    )
    return {"host": host, "port": _PORT, "url": url, "handle": handle, "link": link}
