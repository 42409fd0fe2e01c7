"""Azure backend of ManagedPostgres: PostgreSQL Flexible Server injected into the Network's delegated subnet.

What it creates:

* the administrator password (pulumi-random, 32 characters) and a Key Vault secret holding it
  (``<name>-admin-password``, for operators and migrations);
* the server: the spec's major version, the SKU from ``size`` (see :class:`AzurePostgresOptions`), Premium SSD
  storage of ``storage_gib`` with auto-grow, VNet injection (delegated subnet + the Network's private DNS zone),
  public network access disabled, password authentication, ZoneRedundant high availability with
  ``high_availability``, backup retention ``backup_retention_days`` with geo-redundant backups when
  ``azure.geo_redundant_backup``, a weekly maintenance window after the backup window;
* server parameters, one after another (the server accepts one configuration change at a time):
  ``require_secure_transport`` ON, ``ssl_min_protocol_version`` TLSv1.2, ``azure.extensions`` allow-listing the
  requested extensions (VECTOR for pgvector: without it ``CREATE EXTENSION vector`` fails), ``shared_preload_libraries``
  for pg_stat_statements when asked, then ``parameters``;
* the app's database (UTF8);
* ``DATABASE_URL`` (``postgresql://user:password@host:5432/db?sslmode=require``) as a Key Vault secret, which linked
  services reference; their identities are granted read on exactly that secret;
* with the Network's customer-managed key (``customer_managed_keys``, prod): ``dataEncryption`` type AzureKeyVault
  with the stack key's versionless URI (Flexible Server follows new key versions, so rotation needs no update)
  and the Network's encryption identity attached to the server; with geo-redundant backups also the paired-region
  key and identity (``geoBackupKeyURI`` / ``geoBackupUserAssignedIdentityId``), which Azure requires in the region
  the backups are copied to. The choice is made at creation only: Azure cannot switch a server between
  Microsoft- and customer-managed keys afterwards;
* with ``deletion_protection``: ``protect`` and retain-on-delete on the server, and a CanNotDelete management lock on
  it (Azure has no deletion-protection flag on Flexible Server; the lock is the equivalent).

The administrator login is ``username``; Flexible Server's administrator is not a superuser (member of
``azure_pg_admin``), and the app connects with it. Pooling (``pooler``) uses the server's built-in PgBouncer
(``pgbouncer.enabled``, port 6432), which Azure offers on General Purpose and Memory Optimized SKUs only.

Cost: vCore-hours (x2 with HA) + storage GB-month + backup storage beyond the server size (x2 geo-redundant).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pulumi
from .._core.azure import authorization
from .._core.azure import dbforpostgresql
from .._core.azure import keyvault
import pulumi_random as random

from .._core import Cloud, InputError, Link, Platform, SecretRef, options_for, stateful_opts
from . import AzurePostgresOptions

_COMPONENT = "postgres"
_PORT = 5432
_POOLER_PORT = 6432
SKUS = {"small": "Standard_D2ds_v5", "medium": "Standard_D4ds_v5", "large": "Standard_D8ds_v5", "xlarge": "Standard_D16ds_v5"}
BURSTABLE_SMALL = "Standard_B2ms"
#: `azure.extensions` names of the extensions prodkit lets a spec ask for.
EXTENSION_NAMES = {"vector": "VECTOR", "pg_stat_statements": "PG_STAT_STATEMENTS", "pgcrypto": "PGCRYPTO",
                   "uuid-ossp": "UUID-OSSP", "pg_trgm": "PG_TRGM", "citext": "CITEXT", "hstore": "HSTORE"}
#: Premium SSD sizes Flexible Server offers (GiB); the requested size rounds up to one of them.
STORAGE_SIZES_GIB = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767)
#: Parameters prodkit owns; a spec may not override them.
_OWNED = ("require_secure_transport", "ssl_min_protocol_version", "azure.extensions")


def sku_of(args: Any) -> tuple[str, str]:
    """(SKU name, tier) of the server."""
    opts = options_for(args, Cloud.AZURE, AzurePostgresOptions)
    name = opts.sku_name or (BURSTABLE_SMALL if args.size == "small" and not args.high_availability and args.pooler is None else SKUS[args.size])
    tier = "Burstable" if name.startswith("Standard_B") else "MemoryOptimized" if name.startswith("Standard_E") else "GeneralPurpose"
    return name, tier


def storage_size(gib: int) -> int:
    """The smallest Flexible Server storage size holding `gib` (100 -> 128)."""
    for size in STORAGE_SIZES_GIB:
        if size >= gib:
            return size
    raise InputError("postgres.storage_gib", gib, f"Flexible Server storage goes up to {STORAGE_SIZES_GIB[-1]} GiB")


def validate(args: Any, platform: Platform) -> None:
    """Flexible Server limits: Burstable has no HA and no built-in PgBouncer, retention 7-35 days, storage 32 GiB+."""
    opts = options_for(args, Cloud.AZURE, AzurePostgresOptions)
    if opts.sku_name is not None and not (isinstance(opts.sku_name, str) and opts.sku_name.startswith(("Standard_B", "Standard_D", "Standard_E"))):
        raise InputError("azure.sku_name", opts.sku_name, "allowed: a Flexible Server compute SKU such as 'Standard_D4ds_v5' (General Purpose), 'Standard_E4ds_v5' (Memory Optimized) or 'Standard_B2ms' (Burstable)")
    name, tier = sku_of(args)
    if tier == "Burstable" and args.high_availability:
        raise InputError("azure.sku_name", name, "Burstable servers cannot be zone-redundant: pick a General Purpose SKU (e.g. 'Standard_D2ds_v5') or turn high_availability off")
    if tier == "Burstable" and args.pooler is not None:
        raise InputError("azure.sku_name", name, "the built-in PgBouncer needs a General Purpose or Memory Optimized SKU")
    storage_size(args.storage_gib)
    if not 7 <= args.backup_retention_days <= 35:
        raise InputError("postgres.backup_retention_days", args.backup_retention_days, "allowed on Flexible Server: 7 to 35 days")
    net = getattr(getattr(args, "network", None), "handle", None)
    if getattr(net, "cmk_key_uri", None) is not None and options_for(args, Cloud.AZURE, AzurePostgresOptions).geo_redundant_backup \
            and getattr(net, "geo_key_uri", None) is None:
        raise InputError("azure.geo_redundant_backup", True, "with customer-managed keys Flexible Server needs a geo-backup key in the paired region: turn on the Network's azure.geo_backup_key or turn geo-redundant backups off")
    for key in args.parameters:
        if key in _OWNED:
            raise InputError(f"postgres.parameters.{key}", args.parameters[key], "prodkit sets this parameter on Azure (TLS and extensions); remove it")


def _maintenance(backup_window: str) -> dbforpostgresql.MaintenanceWindowArgs:
    """Sunday, one hour after the daily backup window ends (Flexible Server: day 0 = Sunday)."""
    h, m = (int(x) for x in backup_window.split("-")[1].split(":"))
    minute = (h * 60 + m + 60) % 1440
    return dbforpostgresql.MaintenanceWindowArgs(custom_window="Enabled", day_of_week=0, start_hour=minute // 60, start_minute=minute % 60)


def _encryption(net: Any, geo: bool) -> dict[str, Any]:
    """`identity` + `data_encryption` of the server with the stack's customer-managed key (nothing without one)."""
    key_uri = getattr(net, "cmk_key_uri", None)
    if key_uri is None:
        return {}
    ids = [net.cmk_identity_id] + ([net.geo_identity_id] if geo else [])
    return {
        "identity": dbforpostgresql.UserAssignedIdentityArgs(
            type="UserAssigned", user_assigned_identities=pulumi.Output.all(*ids).apply(lambda v: {i: {} for i in v}),
        ),
        "data_encryption": dbforpostgresql.DataEncryptionArgs(
            type="AzureKeyVault", primary_key_uri=key_uri, primary_user_assigned_identity_id=net.cmk_identity_id,
            geo_backup_key_uri=net.geo_key_uri if geo else None, geo_backup_user_assigned_identity_id=net.geo_identity_id if geo else None,
        ),
    }


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    opts = options_for(args, Cloud.AZURE, AzurePostgresOptions)
    net = args.network.handle
    tags = platform.labels(_COMPONENT)
    sku_name, tier = sku_of(args)
    server_name = platform.physical_name(name, limit=63)
    protect = stateful_opts(child, args.deletion_protection)

    # Secret explicitly: the engine marks `result` secret, the mocks of the offline plan do not.
    password = pulumi.Output.secret(random.RandomPassword(f"{name}-admin-password", length=32, special=False, opts=child).result)
    admin_secret = keyvault.Secret(
        f"{name}-admin-secret", resource_group_name=net.resource_group_name, vault_name=net.vault_name,
        secret_name=platform.physical_name(f"{name}-admin-password", limit=127),
        properties=keyvault.SecretPropertiesArgs(value=password, content_type=f"administrator password of {server_name} (login {args.username})"),
        tags=tags, opts=child,
    )

    server = dbforpostgresql.Server(
        f"{name}-server", resource_group_name=net.resource_group_name, location=net.location, server_name=server_name,
        version=str(args.version), sku=dbforpostgresql.SkuArgs(name=sku_name, tier=tier),
        administrator_login=args.username, administrator_login_password=password,
        auth_config=dbforpostgresql.AuthConfigArgs(password_auth="Enabled", active_directory_auth="Disabled", tenant_id=""),
        availability_zone="",  # no preference: Azure places the primary (and the standby in another zone)
        storage=dbforpostgresql.StorageArgs(storage_size_gb=storage_size(args.storage_gib), auto_grow="Enabled", type="Premium_LRS"),
        network=dbforpostgresql.NetworkArgs(
            delegated_subnet_resource_id=net.postgres_subnet_id, private_dns_zone_arm_resource_id=net.postgres_dns_zone_id,
            public_network_access="Disabled",
        ),
        high_availability=dbforpostgresql.HighAvailabilityArgs(mode="ZoneRedundant" if args.high_availability else "Disabled", standby_availability_zone=""),
        backup=dbforpostgresql.BackupArgs(
            backup_retention_days=args.backup_retention_days,
            geo_redundant_backup="Enabled" if opts.geo_redundant_backup else "Disabled",
        ),
        maintenance_window=_maintenance(args.backup_window), create_mode="Create", tags=tags,
        **_encryption(net, opts.geo_redundant_backup),
        opts=pulumi.ResourceOptions.merge(protect, pulumi.ResourceOptions(
            # Set once at creation (changing them replaces nothing but is refused by Azure after create).
            ignore_changes=["administratorLoginPassword"],
        )),
    )
    if args.deletion_protection:
        authorization.ManagementLockByScope(
            f"{name}-lock", lock_name="prodkit-do-not-delete", level="CanNotDelete", scope=server.id,
            notes="Deletion protection of the stack's database (prodkit deletion_protection)", opts=child,
        )

    parameters: list[tuple[str, str]] = [("require_secure_transport", "ON"), ("ssl_min_protocol_version", "TLSv1.2")]
    wanted = sorted({EXTENSION_NAMES[e] for e in args.extensions})
    if wanted:
        parameters.append(("azure.extensions", ",".join(wanted)))
    if "pg_stat_statements" in args.extensions and "shared_preload_libraries" not in args.parameters:
        parameters.append(("shared_preload_libraries", "pg_stat_statements"))
    if args.pooler is not None:
        parameters += [("pgbouncer.enabled", "true"), ("pgbouncer.pool_mode", args.pooler.mode.upper()),
                       ("pgbouncer.default_pool_size", str(args.pooler.default_pool_size)),
                       ("pgbouncer.max_client_conn", str(args.pooler.max_client_connections))]
    parameters += sorted((k, str(v)) for k, v in args.parameters.items())
    previous: Any = server
    for key, value in parameters:
        previous = dbforpostgresql.Configuration(
            f"{name}-param-{key.replace('.', '-').replace('_', '-')}", resource_group_name=net.resource_group_name,
            server_name=server.name, configuration_name=key, value=value, source="user-override",
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[previous])),
        )
    database = dbforpostgresql.Database(
        f"{name}-database", resource_group_name=net.resource_group_name, server_name=server.name, database_name=args.database,
        charset="UTF8", collation="en_US.utf8", opts=pulumi.ResourceOptions.merge(protect, pulumi.ResourceOptions(depends_on=[previous])),
    )

    host = server.fully_qualified_domain_name
    port = _POOLER_PORT if args.pooler is not None else _PORT
    url = pulumi.Output.secret(pulumi.Output.concat(
        "postgresql://", args.username, ":", password, "@", host, ":", str(port), "/", database.name, "?sslmode=require",
    ))
    url_name = platform.physical_name(f"{name}-url", limit=127)
    url_secret = keyvault.Secret(
        f"{name}-url", resource_group_name=net.resource_group_name, vault_name=net.vault_name, secret_name=url_name,
        properties=keyvault.SecretPropertiesArgs(value=url, content_type="DATABASE_URL (sslmode=require)"), tags=tags, opts=child,
    )
    url_uri = pulumi.Output.concat(net.vault_uri, "secrets/", url_name)
    link = Link(
        kind="postgres", name=name, port=port, env={"DATABASE_URL": SecretRef(store_id=url_uri)},
        peer=SimpleNamespace(secret_ids={"DATABASE_URL": url_secret.id}),
    )
    handle = SimpleNamespace(server_id=server.id, server_name=server.name, admin_secret_id=admin_secret.id, network=net,
                             resource_group_name=net.resource_group_name, location=net.location)
    return {"host": host, "port": port, "url": url, "handle": handle, "link": link}
