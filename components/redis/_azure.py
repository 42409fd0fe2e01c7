"""Azure backend of ManagedRedis: Azure Managed Redis (`Microsoft.Cache/redisEnterprise`), never Azure Cache for Redis.

Azure Cache for Redis (Basic/Standard/Premium) takes no new instances and is being retired (Enterprise tiers too);
Azure Managed Redis is its successor and runs Redis 7.4 on the Redis Enterprise stack.

What it creates:

* the cluster: the SKU (tier x size, see :data:`SKU_SIZES_GB`: the smallest of ``azure.tier`` that holds
  ``memory_mib``, or the explicit ``azure.sku`` checked against it), ``highAvailability`` Enabled with
  ``high_availability`` (a replica in another zone), TLS 1.2 minimum, public network access disabled;
* the ``default`` database: ``clientProtocol`` Encrypted (TLS only, port 10000), the EnterpriseCluster policy (one
  endpoint, so ordinary non-cluster clients and the KEDA redis scaler work), the eviction policy from
  ``maxmemory_policy``, AOF persistence every second with ``persistence``; access-key authentication (not
  Entra ID: a ``rediss://`` URL carries a password, and Entra tokens expire hourly);
* a private endpoint (group ``redisEnterprise``) in the endpoints subnet, registered in ``privatelink.redis.azure.net``;
* ``REDIS_URL`` (``rediss://:<key>@<host>:10000/0``) and the bare access key as Key Vault secrets; linked services
  reference the URL, and the key (for the KEDA scaler's ``password``) when an Autoscaler scales on a queue;
* with the Network's customer-managed key (prod): ``encryption.customerManagedKeyEncryption`` with the stack key
  and the Network's encryption identity (user-assigned, attached to the cluster). The API takes a *versioned* key
  URL only, so after the key rotates (90 days before its one-year expiry) the cluster stays on the old version
  until the next ``pulumi up`` after a ``pulumi refresh`` moves it to the current one;
* with ``deletion_protection``: ``protect`` and retain-on-delete on the cluster and database, a CanNotDelete lock.

Managed Redis keeps no automatic snapshots: ``snapshot_retention_days`` has no effect here (AOF gives the
durability; export to storage is a manual operation).

Cost: SKU-hours (HA runs two nodes) + the private endpoint.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pulumi
from .._core.azure import authorization
from .._core.azure import keyvault
from .._core.azure import redisenterprise

from .._core import Cloud, InputError, Link, Platform, SecretRef, one_of, options_for, stateful_opts
from . import AzureRedisOptions

_COMPONENT = "redis"
PORT = 10000
#: Azure Managed Redis SKUs and the memory each offers (GB).
SKU_SIZES_GB: dict[str, dict[str, float]] = {
    "Balanced": {"B0": 0.5, "B1": 1, "B3": 3, "B5": 6, "B10": 12, "B20": 24, "B50": 60, "B100": 120, "B150": 180,
                 "B250": 240, "B350": 360, "B500": 480, "B700": 720, "B1000": 960},
    "MemoryOptimized": {"M10": 12, "M20": 24, "M50": 60, "M100": 120, "M150": 180, "M250": 240, "M350": 360,
                        "M500": 480, "M700": 720, "M1000": 960, "M1500": 1440, "M2000": 1920},
    "ComputeOptimized": {"X3": 3, "X5": 6, "X10": 12, "X20": 24, "X50": 60, "X100": 120, "X150": 180, "X250": 240,
                         "X350": 360, "X500": 480, "X700": 720},
}
EVICTION = {"noeviction": "NoEviction", "allkeys-lru": "AllKeysLRU", "allkeys-lfu": "AllKeysLFU", "allkeys-random": "AllKeysRandom",
            "volatile-lru": "VolatileLRU", "volatile-lfu": "VolatileLFU", "volatile-random": "VolatileRandom", "volatile-ttl": "VolatileTTL"}


def _gb(mib: int) -> float:
    return mib / 1024


def sku_of(args: Any) -> str:
    """The SKU name, e.g. "Balanced_B3"."""
    opts = options_for(args, Cloud.AZURE, AzureRedisOptions)
    if opts.tier not in SKU_SIZES_GB:
        raise one_of("azure.tier", opts.tier, SKU_SIZES_GB)
    need = _gb(args.memory_mib)
    if opts.sku is not None:
        tier, _, size = str(opts.sku).partition("_")
        if tier not in SKU_SIZES_GB or size not in SKU_SIZES_GB[tier]:
            raise one_of("azure.sku", opts.sku, [f"{t}_{s}" for t, sizes in SKU_SIZES_GB.items() for s in sizes])
        offered = SKU_SIZES_GB[tier][size]
        if offered < need:
            bigger = next((s for s, gb in SKU_SIZES_GB[tier].items() if gb >= need), None)
            raise InputError(
                "azure.sku", opts.sku,
                f"offers {offered:g} GB but redis.memory_mib asks {args.memory_mib} MiB ({need:.2f} GB)"
                + (f"; the smallest {tier} SKU that holds it is {tier}_{bigger}" if bigger else f"; no {tier} SKU holds it"),
            )
        return str(opts.sku)
    for size, gb in SKU_SIZES_GB[opts.tier].items():
        if gb >= need:
            return f"{opts.tier}_{size}"
    raise InputError("redis.memory_mib", args.memory_mib, f"no {opts.tier} SKU holds {need:.0f} GB (largest {max(SKU_SIZES_GB[opts.tier].values()):g} GB)")


def validate(args: Any, platform: Platform) -> None:
    sku_of(args)


def _encryption(net: Any) -> dict[str, Any]:
    """`identity` + `encryption` of the cluster with the stack's customer-managed key (nothing without one)."""
    if getattr(net, "cmk_key_uri", None) is None:
        return {}
    return {
        "identity": redisenterprise.ManagedServiceIdentityArgs(type="UserAssigned", user_assigned_identities=[net.cmk_identity_id]),
        "encryption": redisenterprise.ClusterPropertiesEncryptionArgs(
            customer_managed_key_encryption=redisenterprise.ClusterPropertiesCustomerManagedKeyEncryptionArgs(
                key_encryption_key_url=net.cmk_key_uri_with_version,
                key_encryption_key_identity=redisenterprise.ClusterPropertiesKeyEncryptionKeyIdentityArgs(
                    identity_type="userAssignedIdentity", user_assigned_identity_resource_id=net.cmk_identity_id,
                ),
            ),
        ),
    }


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    from ..network._azure import REDIS_ZONE, private_endpoint  # noqa: F401

    net = args.network.handle
    tags = platform.labels(_COMPONENT)
    protect = stateful_opts(child, args.deletion_protection)
    cluster_name = platform.physical_name(name, limit=60)

    cluster = redisenterprise.RedisEnterprise(
        f"{name}-cluster", resource_group_name=net.resource_group_name, location=net.location, cluster_name=cluster_name,
        sku=redisenterprise.SkuArgs(name=sku_of(args)),
        high_availability="Enabled" if args.high_availability else "Disabled",
        minimum_tls_version="1.2", public_network_access="Disabled", tags=tags, opts=protect,
        **_encryption(net),
    )
    persistence = redisenterprise.PersistenceArgs(aof_enabled=True, aof_frequency="1s") if args.persistence else redisenterprise.PersistenceArgs(aof_enabled=False, rdb_enabled=False)
    database = redisenterprise.Database(
        f"{name}-database", resource_group_name=net.resource_group_name, cluster_name=cluster.name, database_name="default",
        client_protocol="Encrypted", port=PORT, clustering_policy="EnterpriseCluster",
        eviction_policy=EVICTION[args.maxmemory_policy], persistence=persistence, access_keys_authentication="Enabled",
        opts=protect,
    )
    if args.deletion_protection:
        authorization.ManagementLockByScope(
            f"{name}-lock", lock_name="prodkit-do-not-delete", level="CanNotDelete", scope=cluster.id,
            notes="Deletion protection of the stack's cache (prodkit deletion_protection)", opts=child,
        )
    private_endpoint(f"{name}", platform, net.resource_group_name, net.location, net.endpoints_subnet_id, cluster.id,
                     "redisEnterprise", net.redis_dns_zone_id, tags, child)

    keys = redisenterprise.list_database_keys_output(
        resource_group_name=net.resource_group_name, cluster_name=cluster.name, database_name=database.name,
        opts=pulumi.InvokeOptions(parent=child.parent),
    )
    key = pulumi.Output.secret(keys.primary_key)
    host = cluster.host_name
    url = pulumi.Output.secret(pulumi.Output.concat("rediss://:", key, "@", host, ":", str(PORT), "/0"))

    def secret(role: str, value: Any, description: str) -> tuple[Any, Any]:
        secret_name = platform.physical_name(f"{name}-{role}", limit=127)
        s = keyvault.Secret(
            f"{name}-{role}", resource_group_name=net.resource_group_name, vault_name=net.vault_name, secret_name=secret_name,
            properties=keyvault.SecretPropertiesArgs(value=value, content_type=description), tags=tags, opts=child,
        )
        return s.id, pulumi.Output.concat(net.vault_uri, "secrets/", secret_name)

    url_id, url_uri = secret("url", url, "REDIS_URL (rediss://, TLS)")
    key_id, key_uri = secret("password", key, "Managed Redis access key (KEDA redis scaler password)")
    link = Link(
        kind="redis", name=name, port=PORT, env={"REDIS_URL": SecretRef(store_id=url_uri)},
        peer=SimpleNamespace(secret_ids={"REDIS_URL": url_id}, extra_secrets={f"{name}-password": (key_id, key_uri)},
                             address=pulumi.Output.concat(host, ":", str(PORT)), password_secret=f"{name}-password"),
    )
    handle = SimpleNamespace(cluster_id=cluster.id, cluster_name=cluster.name, host=host, port=PORT,
                             password_secret=f"{name}-password", network=net)
    return {"host": host, "port": PORT, "url": url, "handle": handle, "link": link}
