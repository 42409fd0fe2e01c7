"""AWS backend of ManagedPostgres: RDS for PostgreSQL in the Network's isolated subnets.

What it creates:

* a KMS key (rotation on) for storage, Performance Insights and the master-user secret;
* a security group with no rules: each linked WebService adds an ingress rule from its own security group on 5432;
* a parameter group ``postgres<major>`` with ``rds.force_ssl=1`` (plaintext connections are refused),
  ``pg_stat_statements`` preloaded and slow statements logged, plus ``parameters``;
* the instance: gp3 with storage autoscaling up to ``storage_ceiling_gib``, KMS encryption, not public,
  Multi-AZ with ``high_availability``, automated backups/PITR, Performance Insights, enhanced monitoring,
  CloudWatch log exports, IAM database authentication, the master password generated and rotated by RDS in
  Secrets Manager (``manage_master_user_password``), deletion protection + final snapshot + ``protect`` with
  ``deletion_protection``;
* with ``pooler``: an RDS Proxy (TLS required) in front of it; RDS Proxy multiplexes transactions itself, so
  ``Pooler.mode`` "session" is approximated by RDS Proxy's automatic connection pinning.

The app's credentials: RDS keeps the master password in a secret of its own whose value this program never
sees, so the app does not use the master user. A dedicated login role ``<username>_app`` gets a password
generated here (pulumi-random); it is stored in Secrets Manager twice: as ``{"username", "password"}`` JSON
(``<name>-app-credentials``, read by RDS Proxy and by the bootstrap job) and as the full
``postgresql://...?sslmode=require`` URL (``<name>-url``) that linked services receive as ``DATABASE_URL``.
The role itself is created by the app's bootstrap/migration job, connected as the master user (credentials in
the RDS-managed secret, ARN in the handle): ``CREATE ROLE <username>_app LOGIN PASSWORD '<from the secret>';
GRANT <username> TO <username>_app;`` (``<username>`` owns the database ``database``).

Cost: instance-hours (x2 with Multi-AZ) + gp3 GB-month + backup storage beyond the DB size + the KMS key ($1/month);
RDS Proxy per vCPU-hour of the instance.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from .._core import Cloud, InputError, Link, Platform, SecretRef, options_for, stateful_opts
from . import AwsPostgresOptions

_COMPONENT = "postgres"
_PORT = 5432
INSTANCE_CLASSES = {"small": "db.t4g.medium", "medium": "db.m7g.large", "large": "db.m7g.xlarge", "xlarge": "db.m7g.2xlarge"}
_MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MAINTENANCE_GAP_MINUTES = 30
_MAINTENANCE_LENGTH_MINUTES = 60


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def maintenance_window(backup_window: str) -> str:
    """A weekly one-hour maintenance window on Sunday starting 30 minutes after the daily backup window ends,
    so the two never overlap (e.g. "03:00-04:00" -> "sun:04:30-sun:05:30")."""
    end = _minutes(backup_window.split("-")[1])
    start = end + _MAINTENANCE_GAP_MINUTES

    def fmt(minute: int) -> str:
        day, rest = divmod(minute % (7 * 1440), 1440)
        return f"{_DAYS[day]}:{rest // 60:02d}:{rest % 60:02d}"

    return f"{fmt(start)}-{fmt(start + _MAINTENANCE_LENGTH_MINUTES)}"


def app_username(username: str) -> str:
    """The app's login role (the master user is kept for administration): "<username>_app", at most 63 chars."""
    return f"{username[:59]}_app"


def validate(args: Any, platform: Platform) -> None:
    """RDS limits the facade cannot know: Performance Insights retention, monitoring intervals, window gaps."""
    opts = options_for(args, Cloud.AWS, AwsPostgresOptions)
    pi = opts.performance_insights_retention_days
    if isinstance(pi, bool) or not isinstance(pi, int) or not (pi == 7 or (pi % 31 == 0 and 31 <= pi <= 731)):
        raise InputError("aws.performance_insights_retention_days", pi, "allowed: 7 (free) or a multiple of 31 from 31 to 731 (months)")
    if opts.monitoring_interval_seconds not in _MONITORING_INTERVALS:
        raise InputError("aws.monitoring_interval_seconds", opts.monitoring_interval_seconds,
                         "allowed: " + ", ".join(str(i) for i in _MONITORING_INTERVALS) + " seconds (0 disables enhanced monitoring)")
    start, end = (_minutes(t) for t in args.backup_window.split("-"))
    backup_length = (end - start) % 1440
    if 1440 - backup_length < _MAINTENANCE_GAP_MINUTES * 2 + _MAINTENANCE_LENGTH_MINUTES:
        raise InputError("postgres.backup_window", args.backup_window,
                         "leave at least 2 hours of the day outside the backup window for the weekly maintenance window")
    if opts.instance_class is not None and not str(opts.instance_class).startswith("db."):
        raise InputError("aws.instance_class", opts.instance_class, "allowed: an RDS instance class such as 'db.m7g.large'")


def _policy(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    """Create the RDS instance and its secrets; return host, port, url, the handle and the link."""
    opts = options_for(args, Cloud.AWS, AwsPostgresOptions)
    net = args.network.handle
    tags = platform.labels(_COMPONENT)
    protect = args.deletion_protection
    major = str(args.version)
    partition = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=child.parent)).partition

    key = aws.kms.Key(
        f"{name}-key", description=f"RDS {platform.physical_name(name)}: storage, Performance Insights, master secret",
        enable_key_rotation=True, deletion_window_in_days=30, tags=tags,
        opts=stateful_opts(child, protect),  # losing the key loses the data and every snapshot
    )
    aws.kms.Alias(f"{name}-key-alias", name=f"alias/{platform.physical_name(name, limit=200)}-rds", target_key_id=key.key_id, opts=child)

    sg = aws.ec2.SecurityGroup(
        f"{name}-sg", vpc_id=net.vpc_id, name=platform.physical_name(f"{name}-db", limit=255),
        description=f"PostgreSQL {name}: 5432 from linked services only", revoke_rules_on_delete=True, tags=tags, opts=child,
    )

    preload = ["pg_stat_statements"]
    user_preload = args.parameters.get("shared_preload_libraries")
    if user_preload:
        preload += [lib.strip() for lib in str(user_preload).split(",") if lib.strip() and lib.strip() not in preload]
    parameters = {
        "log_min_duration_statement": "1000",  # log statements slower than 1 s
        **{k: str(v) for k, v in args.parameters.items()},
        "rds.force_ssl": "1",  # never overridable: TLS is part of the contract
        "shared_preload_libraries": ",".join(preload),
    }
    # Static parameters only take effect after a reboot; RDS refuses "immediate" for them.
    dynamic = {"rds.force_ssl", "log_min_duration_statement"}
    params = aws.rds.ParameterGroup(
        f"{name}-params", name=platform.physical_name(f"{name}-pg{major}", limit=255), family=f"postgres{major}",
        description=f"PostgreSQL {major} for {name}: TLS required",
        parameters=[aws.rds.ParameterGroupParameterArgs(name=k, value=v, apply_method="immediate" if k in dynamic else "pending-reboot")
                    for k, v in sorted(parameters.items())],
        tags=tags, opts=child,
    )

    monitoring_role = None
    if opts.monitoring_interval_seconds:
        monitoring_role = aws.iam.Role(
            f"{name}-monitoring-role", name=platform.physical_name(f"{name}-rds-monitoring", limit=64),
            description=f"RDS enhanced monitoring of {name}",
            assume_role_policy=_policy([{"Effect": "Allow", "Principal": {"Service": "monitoring.rds.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
            tags=tags, opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-monitoring-policy", role=monitoring_role.name,
            policy_arn=pulumi.Output.concat("arn:", partition, ":iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"),
            opts=child,
        )

    identifier = platform.physical_name(name, limit=63)
    ceiling = args.storage_ceiling_gib
    instance = aws.rds.Instance(
        f"{name}-instance",
        identifier=identifier,
        engine="postgres",
        engine_version=major,  # RDS picks the latest minor; auto_minor_version_upgrade keeps it current
        instance_class=opts.instance_class or INSTANCE_CLASSES[args.size],
        allocated_storage=args.storage_gib,
        max_allocated_storage=ceiling if ceiling > args.storage_gib else None,
        storage_type="gp3",
        storage_encrypted=True,
        kms_key_id=key.arn,
        db_subnet_group_name=net.db_subnet_group_name,
        vpc_security_group_ids=[sg.id],
        publicly_accessible=False,
        port=_PORT,
        multi_az=args.high_availability,
        parameter_group_name=params.name,
        db_name=args.database,
        username=args.username,
        manage_master_user_password=True,
        master_user_secret_kms_key_id=key.arn,
        iam_database_authentication_enabled=True,
        ca_cert_identifier="rds-ca-rsa2048-g1",
        backup_retention_period=args.backup_retention_days,
        backup_window=args.backup_window,
        maintenance_window=maintenance_window(args.backup_window),
        copy_tags_to_snapshot=True,
        delete_automated_backups=not protect,
        deletion_protection=protect,
        skip_final_snapshot=not protect,
        final_snapshot_identifier=platform.physical_name(f"{name}-final", limit=255) if protect else None,
        performance_insights_enabled=True,
        performance_insights_kms_key_id=key.arn,
        performance_insights_retention_period=opts.performance_insights_retention_days,
        monitoring_interval=opts.monitoring_interval_seconds,
        monitoring_role_arn=monitoring_role.arn if monitoring_role is not None else None,
        enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
        auto_minor_version_upgrade=True,
        allow_major_version_upgrade=False,
        apply_immediately=False,
        tags=tags,
        opts=stateful_opts(child, protect),
    )

    # --- the app's credentials and URL ---------------------------------------------------------------------------
    app_user = app_username(args.username)
    password = random.RandomPassword(
        f"{name}-app-password", length=40, special=False,  # URL-safe: no escaping in DATABASE_URL
        opts=child,
    )
    credentials = aws.secretsmanager.Secret(
        f"{name}-app-credentials", name=platform.physical_name(f"{name}/app-credentials", limit=256),
        description=f"Login of the app role {app_user} on {identifier} (RDS Proxy, bootstrap job)",
        recovery_window_in_days=7, tags=tags, opts=child,
    )
    aws.secretsmanager.SecretVersion(
        f"{name}-app-credentials-version", secret_id=credentials.id,
        secret_string=pulumi.Output.secret(pulumi.Output.json_dumps({"username": app_user, "password": password.result})),
        opts=child,
    )

    host: pulumi.Output[str] = instance.address
    proxy = None
    if args.pooler is not None:
        proxy_role = aws.iam.Role(
            f"{name}-proxy-role", name=platform.physical_name(f"{name}-rds-proxy", limit=64),
            description=f"RDS Proxy of {name}: reads the app credentials",
            assume_role_policy=_policy([{"Effect": "Allow", "Principal": {"Service": "rds.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
            tags=tags, opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-proxy-policy", role=proxy_role.id,
            policy=_policy([{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": [credentials.arn]}]),
            opts=child,
        )
        # The proxy shares the database's security group: linked services' rules admit them to the proxy, and
        # the proxy reaches the instance through this self-reference.
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-proxy-to-db", security_group_id=sg.id, referenced_security_group_id=sg.id, ip_protocol="tcp",
            from_port=_PORT, to_port=_PORT, description="RDS Proxy to the instance", tags=tags, opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-proxy-egress", security_group_id=sg.id, referenced_security_group_id=sg.id, ip_protocol="tcp",
            from_port=_PORT, to_port=_PORT, description="RDS Proxy to the instance", tags=tags, opts=child,
        )
        proxy = aws.rds.Proxy(
            f"{name}-proxy", name=platform.physical_name(f"{name}-proxy", limit=60), engine_family="POSTGRESQL",
            role_arn=proxy_role.arn, vpc_subnet_ids=net.private_subnet_ids, vpc_security_group_ids=[sg.id],
            require_tls=True, idle_client_timeout=1800, debug_logging=False,
            auths=[aws.rds.ProxyAuthArgs(
                auth_scheme="SECRETS", secret_arn=credentials.arn, iam_auth="DISABLED",
                client_password_auth_type="POSTGRES_SCRAM_SHA_256", description=f"app role {app_user}",
            )],
            tags=tags, opts=child,
        )
        target_group = aws.rds.ProxyDefaultTargetGroup(
            f"{name}-proxy-targets", db_proxy_name=proxy.name,
            connection_pool_config=aws.rds.ProxyDefaultTargetGroupConnectionPoolConfigArgs(
                max_connections_percent=90,  # leave room for the master user and maintenance
                max_idle_connections_percent=50,
                connection_borrow_timeout=120,
            ),
            opts=child,
        )
        aws.rds.ProxyTarget(
            f"{name}-proxy-target", db_proxy_name=proxy.name, target_group_name=target_group.name,
            db_instance_identifier=instance.identifier, opts=child,
        )
        host = proxy.endpoint

    url = pulumi.Output.secret(pulumi.Output.format(
        "postgresql://{0}:{1}@{2}:{3}/{4}?sslmode=require", app_user, password.result, host, _PORT, args.database,
    ))
    url_secret = aws.secretsmanager.Secret(
        f"{name}-url", name=platform.physical_name(f"{name}/database-url", limit=256),
        description=f"DATABASE_URL of {identifier} (app role, sslmode=require)", recovery_window_in_days=7, tags=tags, opts=child,
    )
    aws.secretsmanager.SecretVersion(f"{name}-url-version", secret_id=url_secret.id, secret_string=url, opts=child)

    link = Link(kind="postgres", name=name, port=_PORT, env={"DATABASE_URL": SecretRef(url_secret.arn)}, peer=sg.id)
    handle = SimpleNamespace(
        instance_identifier=instance.identifier,
        instance_arn=instance.arn,
        security_group_id=sg.id,
        storage_gib=args.storage_gib,
        # Beyond the shared contract: what the bootstrap job and other AWS components may need.
        kms_key_arn=key.arn,
        master_user_secret_arn=instance.master_user_secrets.apply(lambda s: s[0].secret_arn if s else None),
        app_credentials_secret_arn=credentials.arn,
        url_secret_arn=url_secret.arn,
        app_username=app_user,
        proxy_name=proxy.name if proxy is not None else None,
    )
    return {"host": host, "port": _PORT, "url": url, "handle": handle, "link": link}
