"""AWS backend of ManagedPostgres: RDS for PostgreSQL in the Network's isolated subnets.

What it creates:

* a KMS key of its own (rotation on) for storage, Performance Insights and the RDS-managed master secret. Not the
  stack key (``network.handle.kms_key_arn``): an instance's storage key cannot change without replacing the
  instance (a new, empty database restored from a snapshot at best), nor can the key of an RDS-managed master
  secret once it exists; and the data key is ``protect``ed and retained with the data (snapshots need it)
  whereas the stack key lives with the network;
* a security group with no rules: each linked WebService adds an ingress rule from its own security group on 5432;
* a parameter group ``postgres<major>`` with ``rds.force_ssl=1`` (plaintext connections are refused; a
  ``parameters`` entry for it is refused), ``pg_stat_statements`` preloaded and slow statements logged, plus
  ``parameters``;
* ``{name}-log-postgresql`` / ``{name}-log-upgrade``: the log-export groups ``/aws/rds/instance/<id>/<log>``,
  made before the instance with ``AwsPostgresOptions.log_retention_days`` and the stack key (RDS would otherwise
  create them on first export, never expiring);
* the instance: gp3 with storage autoscaling up to ``storage_ceiling_gib``, KMS encryption, not public,
  Multi-AZ with ``high_availability``, automated backups/PITR, Performance Insights, enhanced monitoring,
  CloudWatch log exports, IAM database authentication, the master password generated and rotated by RDS in
  Secrets Manager (``manage_master_user_password``), deletion protection + final snapshot + ``protect`` with
  ``deletion_protection``;
* with ``pooler``: an RDS Proxy (TLS required) in front of it; RDS Proxy multiplexes transactions itself, so
  ``Pooler.mode`` "session" is approximated by RDS Proxy's automatic connection pinning.

The app's credentials: RDS keeps the master password in a secret of its own whose value this program never
sees, so the app does not use the master user. A dedicated login role ``<username>_app`` (at most 63
characters: longer usernames are refused) gets a password generated here (pulumi-random); it is stored in
Secrets Manager twice, both encrypted with the stack key: as ``{"username", "password"}`` JSON
(``<name>-app-credentials``, read by RDS Proxy and by the bootstrap function) and as the full
``postgresql://...?sslmode=require`` URL (``<name>-url``) that linked services receive as ``DATABASE_URL``.

The role is created during ``pulumi up``, with no manual step, by the bootstrap function (see
:func:`_bootstrap` and ``components/postgres/_bootstrap/handler.py``): a Lambda in the isolated subnets run by
``aws.lambda_.Invocation`` once the instance and the credentials exist and again when the password, the role,
the extensions, the instance or its code change. Connected as the master user over TLS, it creates or updates
the role (password sent as a SCRAM-SHA-256 verifier), grants it CONNECT on the database and USAGE/CREATE on
schema ``public`` plus the master's tables, and creates the ``extensions`` (``CREATE EXTENSION IF NOT EXISTS
vector``). The ``DATABASE_URL`` secret depends on that invocation, so services start only once the role exists.

Cost: instance-hours (x2 with Multi-AZ) + gp3 GB-month + backup storage beyond the DB size + the KMS key ($1/month);
RDS Proxy per vCPU-hour of the instance; the bootstrap function runs a few seconds per `pulumi up` that changes it.
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
_LOG_EXPORTS = ("postgresql", "upgrade")


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
    """The app's login role (the master user is kept for administration): "<username>_app" (validate() refuses
    usernames that would make it longer than 63 characters)."""
    return f"{username}_app"


#: CloudWatch Logs retention values (days) PutRetentionPolicy accepts.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
#: PostgreSQL identifiers: at most 63 bytes (NAMEDATALEN - 1); longer names are silently truncated.
MAX_ROLE_NAME = 63
#: Parameters the component owns: TLS is part of the contract.
_RESERVED_PARAMETERS = ("rds.force_ssl",)


def validate(args: Any, platform: Platform) -> None:
    """RDS limits the facade cannot know: Performance Insights retention, monitoring intervals, window gaps, the
    app role's name, parameters the component owns, log retention."""
    opts = options_for(args, Cloud.AWS, AwsPostgresOptions)
    for param in args.parameters:
        if str(param).strip().lower() in _RESERVED_PARAMETERS:
            raise InputError(f"postgres.parameters.{param}", args.parameters[param],
                             "rds.force_ssl is always 1 (plaintext connections refused); remove it from parameters")
    role = f"{args.username}_app"
    if len(role) > MAX_ROLE_NAME:
        raise InputError("postgres.username", args.username,
                         f"the app's login role '<username>_app' would have {len(role)} characters; PostgreSQL names "
                         f"hold at most {MAX_ROLE_NAME}, so the username may have at most {MAX_ROLE_NAME - 4}")
    if opts.log_retention_days not in LOG_RETENTION_DAYS:
        raise InputError("aws.log_retention_days", opts.log_retention_days,
                         "allowed (CloudWatch Logs): " + ", ".join(str(d) for d in LOG_RETENTION_DAYS) + " days")
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
        "rds.force_ssl": "1",  # never overridable (validate() refuses it in parameters): TLS is part of the contract
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
    # The log-export groups, made here with retention and the stack key before the instance: RDS would otherwise
    # create them on first export, unencrypted by us and never expiring.
    log_groups = [
        aws.cloudwatch.LogGroup(
            f"{name}-log-{kind}", name=f"/aws/rds/instance/{identifier}/{kind}",
            retention_in_days=opts.log_retention_days, kms_key_id=net.kms_key_arn, tags=tags, opts=child,
        )
        for kind in _LOG_EXPORTS
    ]
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
        enabled_cloudwatch_logs_exports=list(_LOG_EXPORTS),
        auto_minor_version_upgrade=True,
        allow_major_version_upgrade=False,
        apply_immediately=False,
        tags=tags,
        opts=pulumi.ResourceOptions.merge(stateful_opts(child, protect), pulumi.ResourceOptions(depends_on=log_groups)),
    )

    # --- the app's credentials and URL ---------------------------------------------------------------------------
    app_user = app_username(args.username)
    password = random.RandomPassword(
        f"{name}-app-password", length=40, special=False,  # URL-safe: no escaping in DATABASE_URL
        opts=child,
    )
    credentials = aws.secretsmanager.Secret(
        f"{name}-app-credentials", name=platform.physical_name(f"{name}/app-credentials", limit=256),
        description=f"Login of the app role {app_user} on {identifier} (RDS Proxy, bootstrap function)",
        kms_key_id=net.kms_key_arn, recovery_window_in_days=7, tags=tags, opts=child,
    )
    credentials_version = aws.secretsmanager.SecretVersion(
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
            policy=_policy([
                {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": [credentials.arn]},
                # The credentials are encrypted with the stack's customer-managed key: the proxy must decrypt
                # them, through Secrets Manager only.
                {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [net.kms_key_arn],
                 "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat("secretsmanager.", _region(net), ".amazonaws.com")}}},
            ]),
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

    bootstrap = _bootstrap(name, args, opts, platform, net, tags, child, instance=instance, sg=sg, db_key=key,
                           credentials=credentials, credentials_version=credentials_version, app_user=app_user,
                           log_groups=log_groups, partition=partition)

    url = pulumi.Output.secret(pulumi.Output.format(
        "postgresql://{0}:{1}@{2}:{3}/{4}?sslmode=require", app_user, password.result, host, _PORT, args.database,
    ))
    url_secret = aws.secretsmanager.Secret(
        f"{name}-url", name=platform.physical_name(f"{name}/database-url", limit=256),
        description=f"DATABASE_URL of {identifier} (app role, sslmode=require)", kms_key_id=net.kms_key_arn,
        recovery_window_in_days=7, tags=tags,
        # Services read DATABASE_URL from this secret: they start only once the bootstrap created the role.
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[bootstrap])),
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
        bootstrap_function_name=bootstrap.function_name,
    )
    return {"host": host, "port": _PORT, "url": url, "handle": handle, "link": link}


def _bootstrap(name: str, args: Any, opts: AwsPostgresOptions, platform: Platform, net: Any, tags: dict[str, str],
               child: pulumi.ResourceOptions, *, instance: Any, sg: Any, db_key: Any, credentials: Any,
               credentials_version: Any, app_user: str, log_groups: list[Any], partition: Any) -> Any:
    """The function that creates the app role (``components/postgres/_bootstrap``) and its invocation.

    - ``{name}-bootstrap-sg``: its own security group in the isolated subnets: egress 5432 to the database's
      group only (``{name}-bootstrap-to-db``, admitted by ``{name}-from-bootstrap``) and 443 to the VPC
      (``{name}-bootstrap-to-endpoints``: the Secrets Manager interface endpoint; the isolated tier has no other
      route out);
    - ``{name}-bootstrap-role``: assumed by Lambda; ``{name}-bootstrap-secrets``: ``secretsmanager:GetSecretValue``
      on exactly the RDS master secret and the app credentials, ``kms:Decrypt`` on exactly their two keys (the
      database key encrypts the RDS-managed secret, the stack key the app's) and only through Secrets Manager;
      ``{name}-bootstrap-logs``: write to its own log group; ``{name}-bootstrap-eni``: the AWS managed
      ``AWSLambdaENIManagementAccess`` (network interfaces in the VPC, nothing else);
    - ``{name}-bootstrap-log``: ``/aws/lambda/<function>``, retention and the stack key, made before the function;
    - ``{name}-bootstrap``: the function (Python 3.13, arm64, 2 minutes);
    - ``{name}-bootstrap-run``: ``aws.lambda_.Invocation`` on create and whenever the app password, the role, the
      extensions, the instance or the code change (``triggers``); a failure fails ``pulumi up``.
    """
    from ._bootstrap import HANDLER, RUNTIME, archive

    function_name = platform.physical_name(f"{name}-bootstrap", limit=64)
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-bootstrap-log", name=f"/aws/lambda/{function_name}", retention_in_days=opts.log_retention_days,
        kms_key_id=net.kms_key_arn, tags=tags, opts=child,
    )
    fn_sg = aws.ec2.SecurityGroup(
        f"{name}-bootstrap-sg", vpc_id=net.vpc_id, name=platform.physical_name(f"{name}-bootstrap", limit=255),
        description=f"Bootstrap function of {name}: PostgreSQL and the Secrets Manager endpoint only",
        revoke_rules_on_delete=True, tags=tags, opts=child,
    )
    to_db = aws.vpc.SecurityGroupEgressRule(
        f"{name}-bootstrap-to-db", security_group_id=fn_sg.id, referenced_security_group_id=sg.id, ip_protocol="tcp",
        from_port=_PORT, to_port=_PORT, description="PostgreSQL", tags=tags, opts=child,
    )
    to_endpoints = aws.vpc.SecurityGroupEgressRule(
        f"{name}-bootstrap-to-endpoints", security_group_id=fn_sg.id, cidr_ipv4=net.cidr, ip_protocol="tcp",
        from_port=443, to_port=443, description="Secrets Manager interface endpoint (HTTPS inside the VPC)",
        tags=tags, opts=child,
    )
    from_fn = aws.vpc.SecurityGroupIngressRule(
        f"{name}-from-bootstrap", security_group_id=sg.id, referenced_security_group_id=fn_sg.id, ip_protocol="tcp",
        from_port=_PORT, to_port=_PORT, description="the bootstrap function", tags=tags, opts=child,
    )
    role = aws.iam.Role(
        f"{name}-bootstrap-role", name=platform.physical_name(f"{name}-bootstrap", limit=64),
        description=f"Bootstrap function of {name}: creates the app role",
        assume_role_policy=_policy([{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
        tags=tags, opts=child,
    )
    master_secret_arn = instance.master_user_secrets.apply(lambda s: s[0].secret_arn)
    region = _region(net)
    secrets_policy = aws.iam.RolePolicy(
        f"{name}-bootstrap-secrets", role=role.id,
        policy=bootstrap_policy(master_secret_arn, credentials.arn, db_key.arn, net.kms_key_arn, region),
        opts=child,
    )
    logs_policy = aws.iam.RolePolicy(
        f"{name}-bootstrap-logs", role=role.id,
        policy=_policy([{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                         "Resource": [pulumi.Output.concat(log_group.arn, ":*")]}]),
        opts=child,
    )
    eni = aws.iam.RolePolicyAttachment(
        f"{name}-bootstrap-eni", role=role.name,
        policy_arn=pulumi.Output.concat("arn:", partition, ":iam::aws:policy/service-role/AWSLambdaENIManagementAccess"),
        opts=child,
    )
    fn = aws.lambda_.Function(
        f"{name}-bootstrap", name=function_name, role=role.arn, runtime=RUNTIME, handler=HANDLER, code=archive(),
        architectures=["arm64"], memory_size=256, timeout=120,
        description=f"Creates/updates the PostgreSQL role {app_user} of {platform.physical_name(name, limit=63)} (prodkit)",
        vpc_config=aws.lambda_.FunctionVpcConfigArgs(subnet_ids=net.isolated_subnet_ids, security_group_ids=[fn_sg.id]),
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=log_group.name),
        tags=tags,
        # The role must be able to create network interfaces before Lambda validates the VPC configuration.
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[eni, logs_policy, log_group])),
    )
    event = pulumi.Output.json_dumps({
        "host": instance.address, "port": _PORT, "database": args.database,
        "master_secret_arn": master_secret_arn, "app_secret_arn": credentials.arn,
        "extensions": list(args.extensions),
    })
    return aws.lambda_.Invocation(
        f"{name}-bootstrap-run", function_name=fn.name, input=event,
        triggers={
            "password_version": credentials_version.version_id, "role": app_user,
            "extensions": ",".join(args.extensions), "instance": instance.resource_id, "code": fn.code_sha256,
        },
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
            depends_on=[instance, credentials_version, secrets_policy, to_db, to_endpoints, from_fn, *log_groups])),
    )


def _region(net: Any) -> Any:
    return net.region if getattr(net, "region", None) is not None else aws.get_region_output().region


def bootstrap_policy(master_secret_arn: Any, app_secret_arn: Any, db_key_arn: Any, stack_key_arn: Any, region: Any) -> pulumi.Output[str]:
    """What the bootstrap function may do with secrets: read exactly the two secrets, decrypt with exactly their
    keys and only through Secrets Manager."""
    return _policy([
        {"Sid": "ReadTheTwoSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": [master_secret_arn, app_secret_arn]},
        {"Sid": "DecryptThemThroughSecretsManager", "Effect": "Allow", "Action": ["kms:Decrypt"],
         "Resource": [db_key_arn, stack_key_arn],
         "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat("secretsmanager.", region, ".amazonaws.com")}}},
    ])
