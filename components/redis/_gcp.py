"""GCP backend of ManagedRedis: Memorystore for Redis 7 over the Network's private services access.

What it creates:

* ``{name}-instance``: Memorystore for Redis ``REDIS_7_2``, tier STANDARD_HA with ``high_availability`` (a
  replica in another zone with automatic failover) else BASIC, capacity ``gcp.memory_size_gb`` or ``memory_mib``
  plus 25 % headroom for replication and snapshots (rounded up to GB), connect mode PRIVATE_SERVICE_ACCESS in the
  Network's allocated range (no public endpoint exists for Memorystore), AUTH on, transit encryption
  SERVER_AUTHENTICATION (TLS on port 6378 with a Google-managed server CA), RDB snapshots every 12 hours with
  ``persistence``, ``maxmemory-policy`` from the Args, a weekly maintenance window (Sunday 05:00 UTC),
  ``deletion_protection`` and ``protect``; CMEK when the Network has a key (the Memorystore service agent gets
  ``roles/cloudkms.cryptoKeyEncrypterDecrypter`` first);
* Secret Manager: ``{name}-url`` with ``rediss://:<AUTH>@<host>:6378/0`` (``REDIS_URL`` of linked services) and
  ``{name}-ca`` with the server CA certificate (``REDIS_CA_CERT``: clients verify the server against it, e.g.
  redis-py ``ssl_ca_data``), ``{name}-auth`` with the AUTH string alone (queue-depth autoscaling reads it).

Sizes: BASIC and STANDARD_HA offer 1-300 GB; read replicas (``gcp.read_replicas``) need STANDARD_HA and 5 GB or
more.

Cost: GB-hours by tier (STANDARD_HA about twice BASIC), no charge for snapshots.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi_gcp as gcp

from .._core import Cloud, InputError, Link, Platform, SecretRef, options_for, stateful_opts
from . import GcpRedisOptions

_COMPONENT = "redis"
TLS_PORT = 6378
HEADROOM = 1.25
SIZE_GB = {"BASIC": (1, 300), "STANDARD_HA": (1, 300)}
READ_REPLICA_MIN_GB = 5


def tier_of(args: Any) -> str:
    return "STANDARD_HA" if args.high_availability else "BASIC"


def memory_size_gb(args: Any) -> int:
    opts = options_for(args, Cloud.GCP, GcpRedisOptions)
    if opts.memory_size_gb is not None:
        return opts.memory_size_gb
    return max(1, math.ceil(args.memory_mib * HEADROOM / 1024))


def validate(args: Any, platform: Platform) -> None:
    """Memorystore's tier sizes and read-replica rules."""
    opts = options_for(args, Cloud.GCP, GcpRedisOptions)
    tier = tier_of(args)
    size = memory_size_gb(args)
    lo, hi = SIZE_GB[tier]
    field = "gcp.memory_size_gb" if opts.memory_size_gb is not None else "redis.memory_mib"
    value = opts.memory_size_gb if opts.memory_size_gb is not None else args.memory_mib
    if isinstance(size, bool) or not isinstance(size, int) or not lo <= size <= hi:
        raise InputError(field, value, f"Memorystore {tier} offers {lo}-{hi} GB instances (this needs {size} GB); shard the data or lower maxmemory")
    if opts.memory_size_gb is not None and opts.memory_size_gb * 1024 < args.memory_mib:
        raise InputError("gcp.memory_size_gb", opts.memory_size_gb, f"must hold maxmemory ({args.memory_mib} MiB)")
    r = opts.read_replicas
    if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r <= 5:
        raise InputError("gcp.read_replicas", r, "allowed: 0 to 5")
    if r and tier != "STANDARD_HA":
        raise InputError("gcp.read_replicas", r, "read replicas need the STANDARD_HA tier (high_availability on)")
    if r and size < READ_REPLICA_MIN_GB:
        raise InputError("gcp.read_replicas", r, f"Memorystore offers read replicas on instances of {READ_REPLICA_MIN_GB} GB or more (this one: {size} GB)")
    if not platform.region:
        raise InputError("prodkit:region", "", "Memorystore needs a region, e.g. 'us-central1'")


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    opts = options_for(args, Cloud.GCP, GcpRedisOptions)
    net = args.network.handle
    labels = platform.labels(_COMPONENT)
    protect = args.deletion_protection
    key_id = getattr(net, "kms_key_id", None)

    depends: list[pulumi.Resource] = [net.psa_connection]
    if key_id is not None:
        agent = gcp.projects.ServiceIdentity(f"{name}-redis-agent", service="redis.googleapis.com", project=net.project, opts=child)
        depends.append(gcp.kms.CryptoKeyIAMMember(
            f"{name}-key-access", crypto_key_id=key_id, role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member=pulumi.Output.concat("serviceAccount:", agent.email), opts=child,
        ))
    replicas = opts.read_replicas
    instance = gcp.redis.Instance(
        f"{name}-instance", project=net.project, name=platform.physical_name(name, limit=40), region=platform.region,
        display_name=f"{platform.app}/{platform.stack} {name}", tier=tier_of(args), memory_size_gb=memory_size_gb(args),
        redis_version="REDIS_7_2", connect_mode="PRIVATE_SERVICE_ACCESS", authorized_network=net.network_id,
        reserved_ip_range=net.psa_range_name, auth_enabled=True, transit_encryption_mode="SERVER_AUTHENTICATION",
        persistence_config={"persistence_mode": "RDB", "rdb_snapshot_period": "TWELVE_HOURS"} if args.persistence else {"persistence_mode": "DISABLED"},
        redis_configs={"maxmemory-policy": args.maxmemory_policy},
        maintenance_policy={"weekly_maintenance_windows": [{"day": "SUNDAY", "start_time": {"hours": 5, "minutes": 0}}]},
        read_replicas_mode="READ_REPLICAS_ENABLED" if replicas else None, replica_count=replicas or None,
        customer_managed_key=key_id, deletion_protection=protect, labels=labels,
        opts=stateful_opts(child, protect, depends_on=depends, additional_secret_outputs=["authString"]),
    )

    from ..web_service._gcp import secret

    auth = pulumi.Output.secret(instance.auth_string)
    host = instance.host
    url = pulumi.Output.secret(pulumi.Output.format("rediss://:{0}@{1}:{2}/0", auth, host, instance.port))
    url_secret = secret(name, "url", platform, url, labels, child, net.project, net)
    auth_secret = secret(name, "auth", platform, auth, labels, child, net.project, net)
    ca = instance.server_ca_certs.apply(lambda certs: certs[0].cert if certs else "")
    ca_secret = secret(name, "ca", platform, ca, labels, child, net.project, net)

    link = Link(
        kind="redis", name=name, port=TLS_PORT,
        env={"REDIS_URL": SecretRef(url_secret.secret_id, "latest"), "REDIS_CA_CERT": SecretRef(ca_secret.secret_id, "latest")},
        peer=None,
    )
    handle = SimpleNamespace(
        instance_name=instance.name, instance_id=instance.id, host=host, port=instance.port, region=platform.region,
        auth_secret_id=auth_secret.secret_id, ca_secret_id=ca_secret.secret_id, url_secret_id=url_secret.secret_id,
        memory_size_gb=memory_size_gb(args),
    )
    return {"host": host, "port": instance.port, "url": url, "handle": handle, "link": link}
