"""ManagedRedis: a private Redis 7 endpoint with AUTH and TLS where the platform offers it.

| cloud | implementation | high_availability means | TLS / AUTH | persistence |
|---|---|---|---|---|
| aws | ElastiCache replication group (Redis 7 / Valkey), KMS at rest | 2+ nodes, automatic failover, Multi-AZ | `transit_encryption_enabled`, AUTH token in Secrets Manager | daily snapshots (`snapshot_retention_days`) |
| gcp | Memorystore for Redis 7 over private services access, CMEK with `customer_managed_keys` | STANDARD_HA (BASIC otherwise) | transit encryption SERVER_AUTHENTICATION (port 6378, server CA in the URL secret), AUTH on | RDB snapshots every 12 h |
| azure | Azure Managed Redis (`redisenterprise` cluster + `default` database; Azure Cache for Redis takes no new instances and retires), SKU from `memory_mib` and `azure.tier`, private endpoint only, EnterpriseCluster policy (one endpoint for non-cluster clients), `customerManagedKeyEncryption` with the stack's Key Vault key when the Network has one | `highAvailability` Enabled (replica in another zone) | TLS 1.2 minimum, `clientProtocol` Encrypted only; access keys (not Entra: a `rediss://` URL carries a password) kept in Key Vault | AOF every second |
| kubernetes | StatefulSet on the official `redis:7.4` image (patched), PVC, hardened pod (uid 10999) | Sentinel (3 sentinels, 1 primary + 2 replicas) behind HAProxy, all over TLS | TLS only (`port 0`, cert-manager namespaced CA, `rediss://`, CA mounted in linked services), `requirepass` from a generated Secret | AOF `appendfsync everysec` |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from .._core import Component, InputError, one_of
from .._core.units import in_range

POLICIES = ("noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl")


@dataclass(frozen=True, kw_only=True)
class AwsRedisOptions:
    """AWS-only settings of ManagedRedis (ElastiCache)."""

    node_type: str | None = None
    """Cache node type. Default: the smallest cache.t4g/m7g type whose memory holds `memory_mib`."""
    engine: str = "redis"
    """"redis" or "valkey". Default: "redis"."""


@dataclass(frozen=True, kw_only=True)
class GcpRedisOptions:
    """GCP-only settings of ManagedRedis (Memorystore for Redis)."""

    memory_size_gb: int | None = None
    """Instance capacity in GB (BASIC and STANDARD_HA: 1-300; 5+ with read replicas). Default: `memory_mib`
    plus 25 % headroom for replication and snapshots, rounded up to whole GB."""
    read_replicas: int = 0
    """Read replicas of a STANDARD_HA instance (0-5; needs 5 GB or more). Default: 0 (the failover replica only)."""


@dataclass(frozen=True, kw_only=True)
class AzureRedisOptions:
    """Azure-only settings of ManagedRedis (Azure Managed Redis)."""

    tier: str = "Balanced"
    """Performance tier: "Balanced" (4 GB per vCPU), "MemoryOptimized" (8 GB per vCPU, from 12 GB) or
    "ComputeOptimized" (2 GB per vCPU, from 3 GB). Default: "Balanced"."""
    sku: str | None = None
    """Explicit SKU, e.g. "Balanced_B5"; must hold `memory_mib`. Default: the smallest SKU of `tier` that holds it."""


@dataclass(frozen=True, kw_only=True)
class KubernetesRedisOptions:
    """Kubernetes-only settings of ManagedRedis."""

    image: str = "redis:7.4.9-alpine"
    """Official Redis image (7.4.9: the May 2026 security release, fixing CVE-2026-23479 and the 2025 Lua RCEs).
    Default: "redis:7.4.9-alpine"."""
    image_pull_policy: str = "IfNotPresent"
    """imagePullPolicy of the Redis, Sentinel and HAProxy containers: "Always" in prod profiles. Default:
    "IfNotPresent"."""
    storage_class: str | None = None
    """StorageClass of the data volumes. Default: the cluster default."""

    def __post_init__(self) -> None:
        if self.image_pull_policy not in ("Always", "IfNotPresent", "Never"):
            raise one_of("redis.kubernetes.image_pull_policy", self.image_pull_policy, ("Always", "IfNotPresent", "Never"))


@dataclass(frozen=True, kw_only=True)
class ManagedRedisArgs:
    """Arguments of :class:`ManagedRedis`."""

    network: Any
    """The Network component to live in. Required."""
    version: str = "7"
    """Redis major version. Default: "7"."""
    memory_mib: int = 1024
    """`maxmemory`: the dataset size the cache may hold. Default: 1024 MiB."""
    maxmemory_policy: str = "allkeys-lru"
    """Eviction policy when full. Default: "allkeys-lru"; use "noeviction" for queues."""
    persistence: bool = True
    """Keep data across restarts (AOF everysec on Kubernetes, snapshots on managed clouds). Default: on."""
    storage_gib: int = 10
    """Volume size for persistence (Kubernetes). Default: 10 GiB."""
    high_availability: bool = False
    """Replicas with automatic failover (Sentinel on Kubernetes). Default: single node."""
    snapshot_retention_days: int = 7
    """Daily snapshot retention on managed clouds, 0-35. Default: 7."""
    deletion_protection: bool = True
    """`protect` and retain on delete for the cache and its volumes. Default: on; staging opts out."""
    aws: AwsRedisOptions | None = None
    """AWS-only options. Default: AwsRedisOptions() on AWS; an error on other clouds."""
    kubernetes: KubernetesRedisOptions | None = None
    """Kubernetes-only options. Default: KubernetesRedisOptions() on Kubernetes; an error on other clouds."""
    gcp: GcpRedisOptions | None = None
    """GCP-only options. Default: GcpRedisOptions() on GCP; an error on other clouds."""
    azure: AzureRedisOptions | None = None
    """Azure-only options. Default: AzureRedisOptions() on Azure; an error on other clouds."""

    def __post_init__(self) -> None:
        if str(self.version) not in ("7",):
            raise one_of("redis.version", self.version, ["7"])
        if self.maxmemory_policy not in POLICIES:
            raise one_of("redis.maxmemory_policy", self.maxmemory_policy, POLICIES)
        in_range("redis.memory_mib", self.memory_mib, 64, 512 * 1024, "MiB")
        in_range("redis.storage_gib", self.storage_gib, 1, 16384, "GiB")
        in_range("redis.snapshot_retention_days", self.snapshot_retention_days, 0, 35, "days")
        if self.persistence and self.storage_gib * 1024 < self.memory_mib:
            raise InputError("redis.storage_gib", self.storage_gib, f"must hold the dataset ({self.memory_mib} MiB) for persistence")


class ManagedRedis(Component):
    """A private Redis with AUTH.

    Example: ``cache = ManagedRedis("cache", ManagedRedisArgs(network=net, memory_mib=1024), platform)``

    Cost: AWS ElastiCache node-hours x nodes; Kubernetes the pods' requests and volumes; Azure Managed Redis
    SKU-hours (HA doubles the nodes) + the private endpoint; GCP Memorystore GB-hours by tier.
    """

    ARGS = ManagedRedisArgs
    OUTPUTS = ("host", "port", "url")
    SECRET_OUTPUTS = frozenset({"url"})

    host: pulumi.Output[str]
    """Private hostname of the primary (or the Sentinel-aware service)."""
    port: pulumi.Output[int]
    """TCP port, 6379."""
    url: pulumi.Output[str]
    """redis://:password@host:6379/0, `rediss://` where TLS exists. Secret."""
