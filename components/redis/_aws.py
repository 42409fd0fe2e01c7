"""AWS backend of ManagedRedis: an ElastiCache replication group (Redis OSS 7 or Valkey) in the isolated subnets.

What it creates:

* a KMS key of its own (rotation on) for encryption at rest and snapshots: not the stack key
  (``network.handle.kms_key_arn``), because a replication group's ``kms_key_id`` cannot change without replacing
  the group (an empty cache, and a new endpoint), and the data key is ``protect``ed with the data while the stack
  key is not;
* a security group with no rules: each linked WebService adds an ingress rule from its own security group on 6379;
* a parameter group (``redis7`` / ``valkey7``) with ``maxmemory-policy``;
* an AUTH token generated with pulumi-random (64 alphanumerics), kept in Secrets Manager (``<name>-auth``), and
  the ``rediss://:<token>@<primary>:6379/0`` URL in Secrets Manager (``<name>-url``) for linked services; both
  secrets are encrypted with the stack key;
* the replication group: TLS required in transit, KMS at rest, 2 nodes with automatic failover and Multi-AZ
  when ``high_availability``, daily snapshots (``snapshot_retention_days`` when ``persistence``), slow log to
  CloudWatch Logs (``<name>-slow-log``: 30 days, the stack key), final snapshot + ``protect`` with ``deletion_protection``.

Sizing: ElastiCache reserves 25 % of a node's memory (``reserved-memory-percent``) for forks during
replication and snapshots, so the node is the smallest whose remaining 75 % holds ``memory_mib``.

Cost: node-hours x nodes (cache.t4g.small ~$0.032/h), snapshot storage beyond one copy, the KMS key ($1/month).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from .._core import Cloud, InputError, Link, Platform, SecretRef, options_for, stateful_opts
from . import AwsRedisOptions

_COMPONENT = "redis"
_PORT = 6379
_USABLE = 0.75  # 25 % reserved memory by default
#: Node types by memory (GiB), smallest first (Graviton: best price/performance).
NODE_TYPES: tuple[tuple[str, float], ...] = (
    ("cache.t4g.small", 1.37),
    ("cache.t4g.medium", 3.09),
    ("cache.m7g.large", 6.38),
    ("cache.m7g.xlarge", 12.93),
    ("cache.r7g.xlarge", 26.32),
    ("cache.r7g.2xlarge", 52.82),
    ("cache.r7g.4xlarge", 105.81),
    ("cache.r7g.8xlarge", 209.55),
    ("cache.r7g.12xlarge", 317.77),
    ("cache.r7g.16xlarge", 419.09),
)
ENGINES = {"redis": ("7.1", "redis7"), "valkey": ("7.2", "valkey7")}
_SNAPSHOT_WINDOW = "03:00-04:00"
_MAINTENANCE_WINDOW = "sun:05:00-sun:06:00"  # after the snapshot window, never overlapping it
_SLOW_LOG_RETENTION_DAYS = 30


def usable_mib(gib: float) -> int:
    return int(gib * 1024 * _USABLE)


def node_type_for(memory_mib: int) -> str | None:
    """The smallest mapped node whose usable memory holds `memory_mib`, or None when none does."""
    for node, gib in NODE_TYPES:
        if usable_mib(gib) >= memory_mib:
            return node
    return None


def validate(args: Any, platform: Platform) -> None:
    """ElastiCache limits: a known engine and a dataset that fits the largest mapped node."""
    opts = options_for(args, Cloud.AWS, AwsRedisOptions)
    if opts.engine not in ENGINES:
        raise InputError("aws.engine", opts.engine, "allowed: " + ", ".join(sorted(ENGINES)))
    if opts.node_type is None and node_type_for(args.memory_mib) is None:
        largest, gib = NODE_TYPES[-1]
        raise InputError(
            "redis.memory_mib", args.memory_mib,
            f"the largest mapped ElastiCache node ({largest}, {gib} GiB) holds at most {usable_mib(gib)} MiB after the "
            "25% reserved memory; shard the data or set aws.node_type",
        )
    if opts.node_type is not None and not str(opts.node_type).startswith("cache."):
        raise InputError("aws.node_type", opts.node_type, "allowed: an ElastiCache node type such as 'cache.m7g.large'")


def _secret(name: str, role: str, platform: Platform, value: pulumi.Input[str], description: str, kms_key_arn: Any,
            tags: dict[str, str], child: pulumi.ResourceOptions) -> aws.secretsmanager.Secret:
    secret = aws.secretsmanager.Secret(
        f"{name}-{role}", name=platform.physical_name(f"{name}/{role}", limit=256), description=description,
        kms_key_id=kms_key_arn, recovery_window_in_days=7, tags=tags, opts=child,
    )
    aws.secretsmanager.SecretVersion(f"{name}-{role}-version", secret_id=secret.id, secret_string=pulumi.Output.secret(value), opts=child)
    return secret


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    """Create the replication group and its secrets; return host, port, url, the handle and the link."""
    opts = options_for(args, Cloud.AWS, AwsRedisOptions)
    net = args.network.handle
    tags = platform.labels(_COMPONENT)
    protect = args.deletion_protection
    engine_version, family = ENGINES[opts.engine]
    group_id = platform.physical_name(name, limit=40)

    key = aws.kms.Key(
        f"{name}-key", description=f"ElastiCache {group_id}: data at rest and snapshots",
        enable_key_rotation=True, deletion_window_in_days=30, tags=tags,
        opts=stateful_opts(child, protect),  # losing the key loses every snapshot
    )
    aws.kms.Alias(f"{name}-key-alias", name=f"alias/{platform.physical_name(name, limit=200)}-cache", target_key_id=key.key_id, opts=child)

    sg = aws.ec2.SecurityGroup(
        f"{name}-sg", vpc_id=net.vpc_id, name=platform.physical_name(f"{name}-cache", limit=255),
        description=f"{opts.engine} {name}: 6379 from linked services only", revoke_rules_on_delete=True, tags=tags, opts=child,
    )
    params = aws.elasticache.ParameterGroup(
        f"{name}-params", name=platform.physical_name(f"{name}-{family}", limit=255), family=family,
        description=f"{opts.engine} for {name}", tags=tags,
        parameters=[aws.elasticache.ParameterGroupParameterArgs(name="maxmemory-policy", value=args.maxmemory_policy)],
        opts=child,
    )

    # Alphanumeric only: ElastiCache refuses some symbols in AUTH tokens, and the token goes into a URL.
    token = random.RandomPassword(f"{name}-auth-token", length=64, special=False, opts=child)
    token_value = pulumi.Output.secret(token.result)
    auth_secret = _secret(name, "auth", platform, token_value, f"AUTH token of {group_id}", net.kms_key_arn, tags, child)

    slow_log = aws.cloudwatch.LogGroup(
        f"{name}-slow-log", name=f"/elasticache/{group_id}/slow-log", retention_in_days=_SLOW_LOG_RETENTION_DAYS,
        kms_key_id=net.kms_key_arn, tags=tags, opts=child,
    )

    ha = args.high_availability
    group = aws.elasticache.ReplicationGroup(
        f"{name}-group",
        replication_group_id=group_id,
        description=f"{opts.engine} {engine_version} for {platform.app}/{platform.stack} {name}",
        engine=opts.engine,
        engine_version=engine_version,
        node_type=opts.node_type or node_type_for(args.memory_mib),
        num_cache_clusters=2 if ha else 1,
        automatic_failover_enabled=ha,
        multi_az_enabled=ha,
        port=_PORT,
        parameter_group_name=params.name,
        subnet_group_name=net.cache_subnet_group_name,
        security_group_ids=[sg.id],
        transit_encryption_enabled=True,
        transit_encryption_mode="required",
        at_rest_encryption_enabled=True,
        kms_key_id=key.arn,
        auth_token=token_value,
        snapshot_retention_limit=args.snapshot_retention_days if args.persistence else 0,
        snapshot_window=_SNAPSHOT_WINDOW,
        maintenance_window=_MAINTENANCE_WINDOW,
        apply_immediately=False,
        auto_minor_version_upgrade=True,
        final_snapshot_identifier=platform.physical_name(f"{name}-final", limit=255) if protect else None,
        log_delivery_configurations=[aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs(
            destination=slow_log.name, destination_type="cloudwatch-logs", log_format="json", log_type="slow-log",
        )],
        tags=tags,
        opts=stateful_opts(child, protect),
    )

    host = group.primary_endpoint_address
    url = pulumi.Output.secret(pulumi.Output.format("rediss://:{0}@{1}:{2}/0", token_value, host, _PORT))
    url_secret = _secret(name, "url", platform, url, f"REDIS_URL of {group_id} (TLS, AUTH)", net.kms_key_arn, tags, child)

    link = Link(kind="redis", name=name, port=_PORT, env={"REDIS_URL": SecretRef(url_secret.arn)}, peer=sg.id)
    handle = SimpleNamespace(
        replication_group_id=group.replication_group_id,
        security_group_id=sg.id,
        # Beyond the shared contract.
        auth_secret_arn=auth_secret.arn,
        url_secret_arn=url_secret.arn,
        kms_key_arn=key.arn,
    )
    return {"host": host, "port": _PORT, "url": url, "handle": handle, "link": link}
