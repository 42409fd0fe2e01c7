"""AWS backend of Network: a VPC with three subnet tiers per availability zone.

Layout (deterministic, so a re-plan never moves a subnet): the VPC CIDR is cut into 16 equal blocks
(`/16` -> `/20` blocks, `/20` -> `/24` blocks); block ``tier * 4 + zone`` belongs to tier
public (0), private (1) or isolated (2) in zone ``zone``. Block 12-15 stay free for later tiers.

| tier | holds | route to the internet |
|---|---|---|
| public | ALB, NAT gateways | internet gateway |
| private | ECS tasks, EFS mount targets, VPC interface endpoints | NAT gateway (one shared, or one per zone) |
| isolated | RDS, ElastiCache | none (S3 gateway endpoint only) |

Hardening beyond the subnets: the VPC's default security group is stripped of every rule (nothing can use it by
accident), flow logs of all traffic go to CloudWatch Logs with retention, an S3 gateway endpoint keeps S3/ECR-layer
traffic off the NAT, and interface endpoints for ECR, Secrets Manager and CloudWatch Logs let tasks without
internet egress still pull images from ECR, read their secrets and ship logs (Fargate does all three through the
task's own network interface, so its security group must allow them). With :class:`AwsNetworkOptions`:
``ssmmessages`` (ECS Exec) and ``monitoring`` (PutMetricData) endpoints, and ECR pull-through cache rules, one per
upstream registry (prefix ``<app>-<stack>-<registry>``, stack-scoped because a rule is account-wide), whose
credentials live in Secrets Manager as ``ecr-pullthroughcache/<app>-<stack>-<registry>`` (the prefix ECR's
service-linked role may read), ``{"username", "accessToken"}``, under the stack key; a repository creation template
per prefix makes the cached repositories AES-256 encrypted with a lifecycle policy keeping the newest 30 images.

The stack key: one customer-managed KMS key per stack, rotated yearly (see `_stack_key`); every secret, log group,
file system and topic of the stack uses it.

At least 2 zones (RDS subnet groups, RDS Proxy and the ALB need two). Zones are the first available ones that need
no opt-in; when the provider reports none (plain Pulumi mocks), they are named ``<region>a``, ``<region>b``, ...

Cost: each NAT gateway ~$33/month + data; each interface endpoint ~$7.30/month per zone (4 endpoints, +1 each for
ssmmessages/monitoring); flow-log ingestion per GB; the KMS key $1/month; cached images as ECR storage.
"""

from __future__ import annotations

import ipaddress
from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi_aws as aws

from .._core import Cloud, InputError, Platform, options_for
from . import PULL_THROUGH_UPSTREAMS, AwsNetworkOptions

_COMPONENT = "network"
_TIERS = ("public", "private", "isolated")
_BLOCKS_PER_TIER = 4  # room for up to 4 zones per tier
_SPLIT_BITS = 4  # 16 equal blocks
_SMALLEST_AWS_SUBNET = 28  # AWS refuses subnets smaller than /28
# Services a task without internet egress still needs, reached through interface endpoints in the private tier.
_INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "secretsmanager", "logs")
#: The retention values CloudWatch Logs accepts (PutRetentionPolicy); anything else fails at apply time.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
_ZONE_LETTERS = "abcd"
_CACHE_KEEP_IMAGES = 30  # per repository of the pull-through cache


def check_log_retention(field_name: str, days: Any) -> None:
    """Refuse a log retention CloudWatch Logs would reject."""
    if days not in LOG_RETENTION_DAYS:
        raise InputError(field_name, days, "CloudWatch Logs accepts only " + ", ".join(map(str, LOG_RETENTION_DAYS)) + " days")


def subnet_plan(cidr: str, zones: int) -> dict[str, list[str]]:
    """The subnet CIDRs of every tier, zone by zone: ``{"public": [...], "private": [...], "isolated": [...]}``.

    Pure and deterministic: the same CIDR and zone count always give the same subnets.
    """
    net = ipaddress.ip_network(cidr, strict=True)
    blocks = list(net.subnets(prefixlen_diff=_SPLIT_BITS))
    return {tier: [str(blocks[t * _BLOCKS_PER_TIER + z]) for z in range(zones)] for t, tier in enumerate(_TIERS)}


def validate(args: Any, platform: Platform) -> None:
    """Refuse a CIDR that cannot hold the three tiers in every zone as AWS-valid subnets (>= /28)."""
    try:
        net = ipaddress.ip_network(args.cidr, strict=True)
    except (ValueError, TypeError):
        raise InputError("network.cidr", args.cidr, "allowed: an IPv4 network in CIDR notation, e.g. '10.0.0.0/16'") from None
    if args.zones > _BLOCKS_PER_TIER:
        raise InputError("network.zones", args.zones, f"allowed: 1 to {_BLOCKS_PER_TIER} zones on AWS")
    if args.zones < 2:
        raise InputError("network.zones", args.zones, "AWS needs at least 2 zones: RDS subnet groups, RDS Proxy and the load balancer each span two")
    check_log_retention("network.flow_log_retention_days", args.flow_log_retention_days)
    subnet_prefix = net.prefixlen + _SPLIT_BITS
    if subnet_prefix > _SMALLEST_AWS_SUBNET:
        needed = len(_TIERS) * args.zones
        raise InputError(
            "network.cidr", args.cidr,
            f"too small: {len(_TIERS)} tiers x {args.zones} zones = {needed} subnets are carved as /{subnet_prefix} "
            f"blocks, but AWS subnets must be /{_SMALLEST_AWS_SUBNET} or larger; use a /{_SMALLEST_AWS_SUBNET - _SPLIT_BITS} "
            "or larger network (e.g. '10.0.0.0/16')",
        )


def _policy(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    """Create the VPC and everything in it; return ``network_id`` and the AWS network handle."""
    tags = platform.labels(_COMPONENT)

    def named(role: str) -> dict[str, str]:
        return {**tags, "Name": platform.physical_name(f"{name}-{role}", limit=255)}

    # Only zones that need no opt-in: Local/Wavelength zones lack NAT gateways, RDS and ElastiCache.
    available = aws.get_availability_zones(
        state="available",
        filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
        opts=pulumi.InvokeOptions(parent=child.parent),
    )
    zones = zone_names(list(getattr(available, "names", None) or []), args.zones, platform.region)
    plan = subnet_plan(args.cidr, args.zones)
    region = platform.region or aws.get_region_output(opts=pulumi.InvokeOptions(parent=child.parent)).region
    opts = options_for(args, Cloud.AWS, AwsNetworkOptions)

    vpc = aws.ec2.Vpc(
        f"{name}-vpc", cidr_block=args.cidr, enable_dns_support=True, enable_dns_hostnames=True,
        tags=named("vpc"), opts=child,
    )

    # Strip the default security group: anything launched without an explicit group gets no access at all.
    aws.ec2.DefaultSecurityGroup(
        f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], tags=named("default-sg"), opts=child,
    )

    subnets: dict[str, list[aws.ec2.Subnet]] = {tier: [] for tier in _TIERS}
    for tier in _TIERS:
        for z, (zone, cidr) in enumerate(zip(zones, plan[tier])):
            subnets[tier].append(
                aws.ec2.Subnet(
                    f"{name}-{tier}-{z}", vpc_id=vpc.id, cidr_block=cidr, availability_zone=zone,
                    # Nothing in the public tier needs an automatic public IP: the ALB and NAT get their own.
                    map_public_ip_on_launch=False,
                    tags={**named(f"{tier}-{zone}"), "tier": tier}, opts=child,
                )
            )

    # Public tier: internet gateway.
    igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=named("igw"), opts=child)
    public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id, tags=named("public-rt"), opts=child)
    aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id, opts=child)
    for z, subnet in enumerate(subnets["public"]):
        aws.ec2.RouteTableAssociation(f"{name}-public-rta-{z}", subnet_id=subnet.id, route_table_id=public_rt.id, opts=child)

    # Private tier: NAT gateway(s). One per zone survives a zone outage; one shared is cheaper.
    nat_count = args.zones if args.nat_per_zone else 1
    private_rts = []
    for z in range(nat_count):
        eip = aws.ec2.Eip(f"{name}-nat-eip-{z}", domain="vpc", tags=named(f"nat-eip-{z}"), opts=child)
        nat = aws.ec2.NatGateway(
            f"{name}-nat-{z}", allocation_id=eip.id, subnet_id=subnets["public"][z].id, connectivity_type="public",
            tags=named(f"nat-{z}"), opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[igw])),
        )
        rt = aws.ec2.RouteTable(f"{name}-private-rt-{z}", vpc_id=vpc.id, tags=named(f"private-rt-{z}"), opts=child)
        aws.ec2.Route(f"{name}-private-default-{z}", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id, opts=child)
        private_rts.append(rt)
    for z, subnet in enumerate(subnets["private"]):
        rt = private_rts[z if args.nat_per_zone else 0]
        aws.ec2.RouteTableAssociation(f"{name}-private-rta-{z}", subnet_id=subnet.id, route_table_id=rt.id, opts=child)

    # Isolated tier: a route table with only the local route (and the S3 gateway endpoint below).
    isolated_rt = aws.ec2.RouteTable(f"{name}-isolated-rt", vpc_id=vpc.id, tags=named("isolated-rt"), opts=child)
    for z, subnet in enumerate(subnets["isolated"]):
        aws.ec2.RouteTableAssociation(f"{name}-isolated-rta-{z}", subnet_id=subnet.id, route_table_id=isolated_rt.id, opts=child)

    s3_endpoint = aws.ec2.VpcEndpoint(
        f"{name}-s3-endpoint", vpc_id=vpc.id, vpc_endpoint_type="Gateway",
        service_name=pulumi.Output.concat("com.amazonaws.", region, ".s3"),
        route_table_ids=[rt.id for rt in private_rts] + [isolated_rt.id],
        tags=named("s3-endpoint"), opts=child,
    )

    endpoint_sg = aws.ec2.SecurityGroup(
        f"{name}-endpoints-sg", vpc_id=vpc.id, name=platform.physical_name(f"{name}-endpoints", limit=255),
        description="VPC interface endpoints: HTTPS from inside the VPC", revoke_rules_on_delete=True,
        tags=named("endpoints-sg"), opts=child,
    )
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-endpoints-https", security_group_id=endpoint_sg.id, ip_protocol="tcp", from_port=443, to_port=443,
        cidr_ipv4=args.cidr, description="HTTPS from the VPC", tags=tags, opts=child,
    )
    endpoints = list(_INTERFACE_ENDPOINTS)
    if opts.ssm_messages_endpoint:
        endpoints.append("ssmmessages")  # ECS Exec's session channel
    if opts.monitoring_endpoint:
        endpoints.append("monitoring")  # CloudWatch PutMetricData (the queue depth the app publishes)
    for service in endpoints:
        role = service.replace(".", "-")
        aws.ec2.VpcEndpoint(
            f"{name}-{role}-endpoint", vpc_id=vpc.id, vpc_endpoint_type="Interface",
            service_name=pulumi.Output.concat("com.amazonaws.", region, f".{service}"),
            subnet_ids=[s.id for s in subnets["private"]], security_group_ids=[endpoint_sg.id],
            private_dns_enabled=True, tags=named(f"{role}-endpoint"), opts=child,
        )

    key = _stack_key(name, platform, region, named, child)
    image_cache, cache_prefixes = _pull_through_cache(name, opts, platform, region, key, tags, child)

    # Data-store subnet groups over the isolated tier.
    db_subnets = aws.rds.SubnetGroup(
        f"{name}-db-subnets", name=platform.physical_name(f"{name}-db", limit=255),
        description="Isolated subnets for RDS", subnet_ids=[s.id for s in subnets["isolated"]], tags=named("db-subnets"), opts=child,
    )
    cache_subnets = aws.elasticache.SubnetGroup(
        f"{name}-cache-subnets", name=platform.physical_name(f"{name}-cache", limit=255),
        description="Isolated subnets for ElastiCache", subnet_ids=[s.id for s in subnets["isolated"]], tags=named("cache-subnets"), opts=child,
    )

    # Flow logs of all traffic, delivered by a role that may write to exactly this log group.
    flow_group = aws.cloudwatch.LogGroup(
        f"{name}-flow-logs", name=f"/aws/vpc/{platform.physical_name(name, limit=200)}/flow-logs",
        retention_in_days=args.flow_log_retention_days, kms_key_id=key.arn, tags=named("flow-logs"), opts=child,
    )
    account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=child.parent)).account_id
    flow_role = aws.iam.Role(
        f"{name}-flow-logs-role", name=platform.physical_name(f"{name}-flow-logs", limit=64),
        description="Delivers VPC flow logs to CloudWatch Logs",
        assume_role_policy=_policy([{
            "Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole",
            # Confused-deputy guard: only flow logs of this account may assume the role.
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        }]),
        tags=tags, opts=child,
    )
    aws.iam.RolePolicy(
        f"{name}-flow-logs-policy", role=flow_role.id,
        policy=_policy([{
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"],
            "Resource": [flow_group.arn, pulumi.Output.concat(flow_group.arn, ":*")],
        }]),
        opts=child,
    )
    aws.ec2.FlowLog(
        f"{name}-flow-log", vpc_id=vpc.id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
        log_destination=flow_group.arn, iam_role_arn=flow_role.arn, max_aggregation_interval=60,
        tags=named("flow-log"), opts=child,
    )

    # The load balancer's security group, empty here: TlsIngress adds exactly the rules it needs.
    lb_sg = aws.ec2.SecurityGroup(
        f"{name}-lb-sg", vpc_id=vpc.id, name=platform.physical_name(f"{name}-lb", limit=255),
        description="Application load balancer (rules added by TlsIngress)", revoke_rules_on_delete=True,
        tags=named("lb-sg"), opts=child,
    )

    # Membership group every ECS service of the stack joins: a service admits its own port from this group only,
    # so services can call each other (Service Connect) and nothing else in the VPC can.
    services_sg = aws.ec2.SecurityGroup(
        f"{name}-services-sg", vpc_id=vpc.id, name=platform.physical_name(f"{name}-services", limit=255),
        description="Membership of the stack's ECS services (no rules of its own)", revoke_rules_on_delete=True,
        tags=named("services-sg"), opts=child,
    )

    # Cloud Map namespace for ECS Service Connect: services reach each other as http://<name>:<port>.
    namespace_name = f"{platform.app}-{platform.stack}.internal"
    namespace = aws.servicediscovery.PrivateDnsNamespace(
        f"{name}-namespace", name=namespace_name, vpc=vpc.id,
        description="ECS Service Connect namespace", tags=tags, opts=child,
    )

    handle = SimpleNamespace(
        vpc_id=vpc.id,
        cidr=args.cidr,
        public_subnet_ids=[s.id for s in subnets["public"]],
        private_subnet_ids=[s.id for s in subnets["private"]],
        isolated_subnet_ids=[s.id for s in subnets["isolated"]],
        db_subnet_group_name=db_subnets.name,
        cache_subnet_group_name=cache_subnets.name,
        lb_security_group_id=lb_sg.id,
        services_security_group_id=services_sg.id,
        service_namespace_arn=namespace.arn,
        service_namespace_name=namespace_name,
        zones=zones,
        # Beyond the shared contract: lets private tasks reach ECR image layers in S3 through the gateway endpoint.
        s3_prefix_list_id=s3_endpoint.prefix_list_id,
        region=region,
        # The stack's customer-managed key: every secret, log group, file system and topic of the stack uses it.
        kms_key_arn=key.arn,
        # Upstream registry host -> "<account>.dkr.ecr.<region>.amazonaws.com/<prefix>" (an Output depending on the
        # pull-through cache rule), and host -> prefix, for the services' image rewrite and their IAM policy.
        image_cache=image_cache,
        image_cache_prefixes=cache_prefixes,
        ssm_messages_endpoint=opts.ssm_messages_endpoint,
        monitoring_endpoint=opts.monitoring_endpoint,
    )
    return {"network_id": vpc.id, "handle": handle}


def zone_names(reported: list[str], wanted: int, region: str) -> list[str]:
    """The first `wanted` zones the provider reported. When it reports none (plain Pulumi mocks, which answer
    every invoke with nothing), the zones are named `<region>a`, `<region>b`, ... from the platform's region, and
    without a region that is a clear error instead of a crash."""
    if not reported:
        if not region:
            raise InputError(
                "network.zones", wanted,
                "the AWS provider reported no availability zones (an unconfigured provider or plain mocks)",
                "Set Platform(region=...) or `aws:region`: the zones are then named <region>a, <region>b and so on",
            )
        reported = [f"{region}{letter}" for letter in _ZONE_LETTERS]
    if len(reported) < wanted:
        raise InputError("network.zones", wanted, f"the region has only {len(reported)} available zones: {reported}")
    return reported[:wanted]


def _pull_through_cache(name: str, opts: AwsNetworkOptions, platform: Platform, region: Any, key: aws.kms.Key,
                        tags: dict[str, str], child: pulumi.ResourceOptions) -> tuple[dict[str, Any], dict[str, str]]:
    """One ECR pull-through cache rule per upstream registry, with its credential in Secrets Manager (name prefix
    `ecr-pullthroughcache/`, which ECR's service-linked role may read; encrypted with the stack key, whose policy
    lets this account's principals use it through Secrets Manager). The repository prefix is stack-scoped
    (`<app>-<stack>-<registry>`): a rule is account-wide, so two stacks never fight over one."""
    cache: dict[str, Any] = {}
    prefixes: dict[str, str] = {}
    if not opts.ecr_pull_through_cache:
        return cache, prefixes
    account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=child.parent)).account_id
    for host, credential in sorted(opts.ecr_pull_through_cache.items()):
        short, needs_credential = PULL_THROUGH_UPSTREAMS[host]
        prefix = platform.physical_name(short, limit=30)
        credential_arn = None
        if needs_credential:
            secret = aws.secretsmanager.Secret(
                f"{name}-ptc-{short}-credential", name=f"ecr-pullthroughcache/{platform.physical_name(short, limit=200)}",
                description=f"Credential of the ECR pull-through cache for {host}", kms_key_id=key.arn,
                recovery_window_in_days=7, tags=tags, opts=child,
            )
            aws.secretsmanager.SecretVersion(
                f"{name}-ptc-{short}-credential-version", secret_id=secret.id,
                secret_string=pulumi.Output.secret(pulumi.Output.from_input(credential).apply(_credential_json)), opts=child,
            )
            credential_arn = secret.arn
        rule = aws.ecr.PullThroughCacheRule(
            f"{name}-ptc-{short}", ecr_repository_prefix=prefix, upstream_registry_url=host,
            credential_arn=credential_arn, opts=child,
        )
        # The repositories ECR creates on first pull: encrypted (AES-256; a KMS key would need a custom role for
        # ECR), bounded by a lifecycle policy (the newest 30 images of each repository are kept).
        aws.ecr.RepositoryCreationTemplate(
            f"{name}-ptc-{short}-template", prefix=prefix, applied_fors=["PULL_THROUGH_CACHE"],
            description=f"Repositories of the {host} pull-through cache of {platform.app}-{platform.stack}",
            encryption_configurations=[aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(encryption_type="AES256")],
            lifecycle_policy=_json({"rules": [{
                "rulePriority": 1, "description": f"keep the newest {_CACHE_KEEP_IMAGES} images",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": _CACHE_KEEP_IMAGES},
                "action": {"type": "expire"},
            }]}),
            opts=child,
        )
        cache[host] = pulumi.Output.concat(account, ".dkr.ecr.", region, ".amazonaws.com/", rule.ecr_repository_prefix)
        prefixes[host] = prefix
    return cache, prefixes


def _credential_json(value: str) -> str:
    """`USERNAME:TOKEN` -> the secret shape ECR expects: {"username": ..., "accessToken": ...}."""
    user, _, token = str(value).partition(":")
    return _json({"username": user, "accessToken": token})


# Services that may use the stack key on behalf of the account's principals (through grants they create), and
# the service principals that use it directly.
_KEY_VIA_SERVICES = ("secretsmanager", "elasticfilesystem", "sns", "rds", "elasticache", "backup", "lambda")


def _stack_key(name: str, platform: Platform, region: Any, named: Any, child: pulumi.ResourceOptions) -> aws.kms.Key:
    """One customer-managed KMS key per stack, rotated yearly. Its policy: the account administers it (without
    that statement a key becomes unmanageable); the account's principals may use it only through the services
    listed in `_KEY_VIA_SERVICES`; CloudWatch Logs may use it for this account's log groups only; CloudWatch
    alarms may publish to topics encrypted with it."""
    identity = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=child.parent))
    partition = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=child.parent)).partition
    account = identity.account_id
    use = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
    policy = pulumi.Output.all(account=account, region=region, partition=partition).apply(lambda v: _json({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": f"arn:{v['partition']}:iam::{v['account']}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "UseThroughStackServices", "Effect": "Allow", "Principal": {"AWS": "*"},
             "Action": [*use, "kms:CreateGrant", "kms:ListGrants"], "Resource": "*",
             "Condition": {
                 "StringEquals": {"kms:CallerAccount": v["account"]},
                 "StringLike": {"kms:ViaService": [f"{s}.{v['region']}.amazonaws.com" for s in _KEY_VIA_SERVICES]},
             }},
            {"Sid": "CloudWatchLogsOfThisAccount", "Effect": "Allow", "Principal": {"Service": f"logs.{v['region']}.amazonaws.com"},
             "Action": use, "Resource": "*",
             "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{v['partition']}:logs:{v['region']}:{v['account']}:log-group:*"}}},
            {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
             "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
             "Condition": {"StringEquals": {"aws:SourceAccount": v["account"]}}},
        ],
    }))
    key = aws.kms.Key(
        f"{name}-key", description=f"prodkit stack key of {platform.app}-{platform.stack}",
        enable_key_rotation=True, deletion_window_in_days=30, policy=policy, tags=named("key"), opts=child,
    )
    aws.kms.Alias(f"{name}-key-alias", name=f"alias/{platform.physical_name(name, limit=200)}", target_key_id=key.key_id, opts=child)
    return key


def _json(doc: dict[str, Any]) -> str:
    import json

    return json.dumps(doc, sort_keys=True)
