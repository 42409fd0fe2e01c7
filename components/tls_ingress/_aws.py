"""TlsIngress on AWS: an internet-facing Application Load Balancer with ACM, WAFv2 and access logs.

What it creates (every taggable resource tagged with ``platform.labels("tls-ingress")``):

- ``{name}-https-in-v4``, ``{name}-http-in-v4``: ingress rules on the Network's (empty) ALB security group:
  443 and 80 from any IPv4 address. The ALB is IPv4-only (``ip_address_type="ipv4"``; the VPC has no IPv6
  block), so there are no ``::/0`` rules and no AAAA record. ``{name}-egress-{svc}``: egress only to each routed service's security group on its
  port, so the load balancer cannot be used to reach anything else in the VPC.
- ``{name}-logs`` (+ ``-logs-ownership``, ``-logs-public-access``, ``-logs-encryption``, ``-logs-versioning``,
  ``-logs-lifecycle``, ``-logs-policy``): the access-log bucket. ALB log delivery only supports SSE-S3 (not KMS),
  objects expire after ``access_log_retention_days``, the policy admits the ELB log-delivery principals to the
  ``alb/`` prefix only and denies any request without TLS. The bucket is ``protect``ed and retained on delete
  when ``deletion_protection`` is on, and never ``force_destroy``ed: deleting a stack must not delete audit logs.
- ``{name}-alb``: the ALB in the public subnets: ``drop_invalid_header_fields``, desync mitigation ``strictest``,
  idle timeout covering the longest route (``max(60, longest timeout)``, at most 4000 s), deletion protection
  from the args.
- ``{name}-cert``: ACM certificate for ``domain``, DNS validation. With ``AwsIngressOptions.hosted_zone_id``:
  ``{name}-cert-validation-record``, ``{name}-cert-validation`` and ``{name}-alias`` (an A alias of ``domain``
  to the ALB; no AAAA, the ALB is IPv4-only). Without a zone nothing is created in DNS: the records to create by
  hand (the validation CNAME and ``domain`` -> the ALB's DNS name) are in the handle (``dns_records``) and the
  AWS stack exports them (``dns_records``, ``ingress_hostname``; ``prodkit plan`` lists them). Either way
  ``{name}-cert-validation`` waits up to ``VALIDATION_TIMEOUT`` (30 minutes, not the provider's 75) for the
  certificate to be issued, and the HTTPS listener waits for it.
- ``{name}-https``: HTTPS listener (TLS 1.2+ policy), HSTS / nosniff / X-Frame-Options / CSP response headers set by
  the ALB itself, ``Server`` header removed, default action 404 (or forward when a route is "/").
- ``{name}-http``: HTTP listener whose only action is a 301 redirect to HTTPS.
- ``{name}-route-{role}``: one listener rule per non-root route, longest path first, matching ``path`` and
  ``path/*``.
- ``{name}-waf`` + ``{name}-waf-association``: WAFv2 web ACL (REGIONAL, default allow): Amazon IP reputation
  list, one rate-based rule per route (its ``rate_limit_per_minute`` per client IP over a 60 s window), the AWS
  common and known-bad-inputs rule groups. Each rate rule counts exactly its route and a request is counted by
  its most specific route only: the scope-down is ``AND(OR(path EXACTLY, STARTS_WITH "path/"), NOT ...)`` with a
  NOT for each more specific route (its path EXACTLY, STARTS_WITH "its path/"), so "/api" counts "/api" and
  "/api/x" but neither "/apiX" nor "/api/auth/..." when "/api/auth" is a route; "/" counts what no other route
  claims (everything when it is the only route). Two logical levels, the most a rate-based scope-down allows.
  ``waf_mode="count"`` only counts. The common rule set's ``SizeRestrictions_BODY`` (bodies over 8 KiB) is set to
  count: an ALB's WAF inspects at most 8 KiB of body, and agent APIs routinely post larger prompts;
  ``body_size_mib`` is enforced by the application.

Handle: ``load_balancer_arn``, ``load_balancer_arn_suffix``, ``listener_arn`` (HTTPS), ``web_acl_arn``,
``validation_records`` (Output: list of {name, type, value}), ``dns_records`` (Output: the records to create by
hand; empty with a zone), ``hosted_zone_id``, ``dns_name``, ``zone_id``.
The ALB's ARN suffix is also published on each routed WebService's handle as ``load_balancer_arn_suffix`` (the
only place the Autoscaler's ALBRequestCountPerTarget policy and the Monitoring ALB alarms can learn it).

Not done here: CORS (the ALB can only send one static ``Access-Control-Allow-Origin``; the app answers CORS for
its ``cors_origins``), WAF request logging (cost; add a ``aws.wafv2.WebAclLoggingConfiguration`` to an
``aws-waf-logs-*`` log group if needed).
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi_aws as aws

from .._core import InputError, Platform, options_for, stateful_opts
from .._core.platform import Cloud
from . import AwsIngressOptions, Route, TlsIngressArgs

COMPONENT = "tls-ingress"

#: ALB idle timeout bounds (seconds).
MIN_IDLE_TIMEOUT, MAX_IDLE_TIMEOUT = 60, 4000
#: ALB path-pattern condition values: at most 128 characters of A-Z a-z 0-9 _ - . $ / ~ " ' @ : + (and * ?).
MAX_PATH_PATTERN = 128
_ALB_PATH = re.compile(r"^[A-Za-z0-9_\-.$/~\"'@:+]*$")
#: How long `pulumi up` waits for ACM to issue the certificate (the provider's default is 75 minutes).
VALIDATION_TIMEOUT = "30m"
#: Default quota of rules per ALB listener (the default action not counted).
MAX_LISTENER_RULES = 100
#: WAF rate-based rules: the smallest allowed limit per evaluation window.
WAF_MIN_RATE_LIMIT = 10
#: Security policies whose minimum protocol is TLS 1.2 or 1.3 (1.0/1.1 variants such as TLS13-1-0 are refused).
_STRONG_POLICY = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)(-|$)")
#: Prefix of the access-log objects inside the bucket.
LOG_PREFIX = "alb"
#: Regions opened after August 2022 have no legacy ELB log-delivery account: only the service principal works,
#: and `aws.elb.get_service_account` fails there.
_SERVICE_PRINCIPAL_ONLY_REGIONS = frozenset({
    "ap-south-2", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ap-east-2", "ca-west-1",
    "eu-central-2", "eu-south-2", "il-central-1", "me-central-1", "mx-central-1",
})


def role_of(path: str) -> str:
    """Stable kebab-case role for a path prefix: "/" -> "root", "/api/agents" -> "api-agents"."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    return slug or "root"


def route_roles(routes: list[Route]) -> dict[str, str]:
    """path -> role, unique even when two paths slug alike ("/api-auth" and "/api/auth")."""
    roles: dict[str, str] = {}
    for route in sorted(routes, key=lambda r: r.path):
        role, n = role_of(route.path), 2
        while role in roles.values():
            role, n = f"{role_of(route.path)}-{n}", n + 1
        roles[route.path] = role
    return roles


def _target_group(route: Route) -> Any:
    handle = getattr(route.service, "handle", None)
    return getattr(handle, "target_group_arn", None)


def _is_public(service: Any) -> bool:
    """Whether the service has a load-balancer target group. During the stack's check pass the service is a
    placeholder without a handle: its Args say whether it will be public."""
    handle = getattr(service, "handle", None)
    if handle is not None:
        return getattr(handle, "target_group_arn", None) is not None
    return bool(getattr(getattr(service, "args", None), "public", True))


def validate(args: TlsIngressArgs, platform: Platform) -> None:
    """ALB, ACM and WAF limits the cloud-neutral Args cannot know. Raises InputError before anything exists."""
    opts = options_for(args, Cloud.AWS, AwsIngressOptions)
    if not isinstance(opts.ssl_policy, str) or not _STRONG_POLICY.match(opts.ssl_policy):
        raise InputError(
            "aws.ssl_policy", opts.ssl_policy,
            "allowed: an ELB security policy whose minimum protocol is TLS 1.2 or 1.3, e.g. "
            "'ELBSecurityPolicy-TLS13-1-2-2021-06' (default) or 'ELBSecurityPolicy-TLS13-1-3-2021-06'; "
            "policies accepting TLS 1.0/1.1 are refused",
        )
    for route in args.routes:
        if not _is_public(route.service):
            raise InputError(
                f"routes[{route.path}].service", getattr(route.service, "pulumi_resource_name", type(route.service).__name__),
                "the service is not public (it has no load-balancer target group); create it with public=True",
            )
        for pattern in (route.path, route.path.rstrip("/") + "/*"):
            if len(pattern) > MAX_PATH_PATTERN or not _ALB_PATH.match(pattern.replace("*", "")):
                raise InputError(
                    f"routes[{route.path}].path", route.path,
                    f"an ALB path pattern holds at most {MAX_PATH_PATTERN} characters of A-Z a-z 0-9 _ - . $ / ~ \" ' @ : + "
                    f"and the rule also matches '<path>/*', so the path may have at most {MAX_PATH_PATTERN - 2} characters",
                )
        if route.rate_limit_per_minute < WAF_MIN_RATE_LIMIT:
            raise InputError(
                f"routes[{route.path}].rate_limit_per_minute", route.rate_limit_per_minute,
                f"AWS WAF rate-based rules need a limit of at least {WAF_MIN_RATE_LIMIT} requests per window "
                "(the window is 60 s, so at least 10 requests/minute)",
            )
    rules = [r for r in args.routes if r.path != "/"]
    if len(rules) > MAX_LISTENER_RULES:
        raise InputError("routes", len(rules), f"an ALB listener holds at most {MAX_LISTENER_RULES} rules (the default quota)")


def build(name: str, args: TlsIngressArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    opts = options_for(args, Cloud.AWS, AwsIngressOptions)
    tags = platform.labels(COMPONENT)
    net = args.network.handle
    block = args.waf_mode == "block"
    # Longest prefix first: ALB evaluates rules by ascending priority, and "/api/agents" must win over "/api".
    routes = sorted(args.routes, key=lambda r: (-len(r.path), r.path))
    root = next((r for r in routes if r.path == "/"), None)
    roles = route_roles(routes)

    # ---- security group rules on the Network's ALB security group -----------------------------------------
    # IPv4 only: the ALB is `ip_address_type="ipv4"` (the VPC has no IPv6 CIDR), so no "::/0" rules that would
    # suggest it answers on IPv6. The "-v4" suffix keeps the rules' URNs stable.
    for proto, port in (("https", 443), ("http", 80)):
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-{proto}-in-v4",
            security_group_id=net.lb_security_group_id,
            ip_protocol="tcp", from_port=port, to_port=port, cidr_ipv4="0.0.0.0/0",
            description=f"{proto.upper()} from the internet (IPv4)", tags=tags, opts=child,
        )
    seen: set[int] = set()
    for route in routes:
        svc = route.service
        if id(svc) in seen:
            continue
        seen.add(id(svc))
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress-{_service_role(svc, len(seen))}",
            security_group_id=net.lb_security_group_id,
            referenced_security_group_id=svc.handle.security_group_id,
            ip_protocol="tcp", from_port=svc.handle.port, to_port=svc.handle.port,
            description="to the service's tasks (traffic and health checks)", tags=tags, opts=child,
        )

    # ---- access-log bucket ---------------------------------------------------------------------------------
    logs = _log_bucket(name, args, platform, child, tags)

    # ---- load balancer ---------------------------------------------------------------------------------------
    idle = min(MAX_IDLE_TIMEOUT, max(MIN_IDLE_TIMEOUT, args.longest_timeout))
    alb = aws.lb.LoadBalancer(
        f"{name}-alb",
        name=platform.physical_name(name),  # ALB names: 32 characters at most
        internal=False,
        load_balancer_type="application",
        ip_address_type="ipv4",
        subnets=net.public_subnet_ids,
        security_groups=[net.lb_security_group_id],
        drop_invalid_header_fields=True,
        desync_mitigation_mode="strictest",
        enable_deletion_protection=args.deletion_protection,
        enable_waf_fail_open=False,  # if WAF is unreachable, refuse rather than bypass the rate limits
        idle_timeout=idle,
        access_logs=aws.lb.LoadBalancerAccessLogsArgs(bucket=logs.bucket.bucket, prefix=LOG_PREFIX, enabled=True),
        tags=tags,
        # ELB checks that it may write to the bucket when access logs are turned on: the policy must exist first.
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=logs.ready)),
    )

    # ---- certificate -----------------------------------------------------------------------------------------
    cert = aws.acm.Certificate(
        f"{name}-cert", domain_name=args.domain, validation_method="DNS", tags=tags, opts=child,
    )
    # ACM's default wait for validation is 75 minutes; 30 is ample for a record that exists (ACM checks every
    # few minutes) and, without a zone, is the time the user has during the first `pulumi up` to create the
    # record (README "DNS"). A `pulumi up` that timed out resumes waiting where it stopped when run again.
    wait = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
        custom_timeouts=pulumi.CustomTimeouts(create=VALIDATION_TIMEOUT)))
    validation_records = cert.domain_validation_options.apply(lambda options: [
        {"name": o.resource_record_name, "type": o.resource_record_type, "value": o.resource_record_value}
        for o in options or []
    ])
    if opts.hosted_zone_id:
        # One domain, no SANs: exactly one validation option.
        dvo = cert.domain_validation_options.apply(lambda options: options[0])
        record = aws.route53.Record(
            f"{name}-cert-validation-record", zone_id=opts.hosted_zone_id,
            name=dvo.apply(lambda o: o.resource_record_name), type=dvo.apply(lambda o: o.resource_record_type),
            records=[dvo.apply(lambda o: o.resource_record_value)], ttl=300, allow_overwrite=True, opts=child,
        )
        validation = aws.acm.CertificateValidation(
            f"{name}-cert-validation", certificate_arn=cert.arn, validation_record_fqdns=[record.fqdn], opts=wait,
        )
        # The domain itself: an A alias to the ALB (no AAAA: the ALB is IPv4-only, an AAAA alias would resolve
        # to nothing).
        aws.route53.Record(
            f"{name}-alias", zone_id=opts.hosted_zone_id, name=args.domain, type="A",
            aliases=[aws.route53.RecordAliasArgs(name=alb.dns_name, zone_id=alb.zone_id, evaluate_target_health=True)],
            opts=child,
        )
        manual_records: Any = pulumi.Output.from_input([])
    else:
        validation = aws.acm.CertificateValidation(f"{name}-cert-validation", certificate_arn=cert.arn, opts=wait)
        # What the user creates at their DNS provider: the validation CNAME and the domain pointing at the ALB
        # (a CNAME, or the provider's ALIAS/ANAME at a zone apex).
        manual_records = pulumi.Output.all(validation_records, alb.dns_name).apply(
            lambda v: [*v[0], {"name": args.domain, "type": "CNAME", "value": v[1]}])

    # ---- listeners -------------------------------------------------------------------------------------------
    if root is not None:
        default = aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=_target_group(root))
    else:
        default = aws.lb.ListenerDefaultActionArgs(
            type="fixed-response",
            fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                content_type="text/plain", message_body="Not Found", status_code="404"),
        )
    headers = args.headers
    https = aws.lb.Listener(
        f"{name}-https",
        load_balancer_arn=alb.arn,
        port=443,
        protocol="HTTPS",
        ssl_policy=opts.ssl_policy,
        certificate_arn=validation.certificate_arn,  # waits for ISSUED
        default_actions=[default],
        routing_http_response_strict_transport_security_header_value=(
            f"max-age={headers.hsts_max_age_seconds}; includeSubDomains"),
        routing_http_response_x_content_type_options_header_value="nosniff",
        routing_http_response_x_frame_options_header_value=headers.frame_options,
        routing_http_response_content_security_policy_header_value=headers.content_security_policy,
        routing_http_response_server_enabled=False,  # no "Server: awselb/2.0" fingerprint
        tags=tags,
        opts=child,
    )
    aws.lb.Listener(
        f"{name}-http",
        load_balancer_arn=alb.arn,
        port=80,
        protocol="HTTP",
        default_actions=[aws.lb.ListenerDefaultActionArgs(
            type="redirect",
            redirect=aws.lb.ListenerDefaultActionRedirectArgs(protocol="HTTPS", port="443", status_code="HTTP_301"),
        )],
        tags=tags,
        opts=child,
    )
    forwarders: dict[int, list[Any]] = {}  # id(service) -> the listener/rules forwarding to its target group
    if root is not None:
        forwarders.setdefault(id(root.service), []).append(https)
    for priority, route in enumerate((r for r in routes if r.path != "/"), start=1):
        rule = aws.lb.ListenerRule(
            f"{name}-route-{roles[route.path]}",
            listener_arn=https.arn,
            priority=priority * 10,  # gaps leave room for hand-made rules and for inserting routes
            conditions=[aws.lb.ListenerRuleConditionArgs(
                path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=[route.path, route.path + "/*"]),
            )],
            actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=_target_group(route))],
            tags=tags,
            opts=child,
        )
        forwarders.setdefault(id(route.service), []).append(rule)

    # Let each routed ECS service register with its target group only once a listener forwards to it.
    attached: set[int] = set()
    for route in routes:
        handle = route.service.handle
        attach = getattr(handle, "attach_load_balancer", None)
        if attach is not None and id(route.service) not in attached:
            attached.add(id(route.service))
            ready = [f.arn for f in forwarders[id(route.service)]]
            attach(pulumi.Output.all(handle.target_group_arn, *ready).apply(lambda values: values[0]))

    # ---- WAF ---------------------------------------------------------------------------------------------------
    acl = _web_acl(name, args, platform, routes, roles, block, tags, child)
    aws.wafv2.WebAclAssociation(f"{name}-waf-association", resource_arn=alb.arn, web_acl_arn=acl.arn, opts=child)

    # Publish the ALB's ARN suffix to the routed services: CloudWatch ALB metrics and ALBRequestCountPerTarget are
    # keyed by "<lb suffix>/<target group suffix>" and the WebService is created before its load balancer.
    for route in routes:
        handle = route.service.handle
        if isinstance(handle, SimpleNamespace) and getattr(handle, "load_balancer_arn_suffix", None) is None:
            handle.load_balancer_arn_suffix = alb.arn_suffix

    return {
        "url": f"https://{args.domain}/",
        "hostname": alb.dns_name,
        "handle": SimpleNamespace(
            load_balancer_arn=alb.arn,
            load_balancer_arn_suffix=alb.arn_suffix,
            dns_name=alb.dns_name,
            zone_id=alb.zone_id,
            listener_arn=https.arn,
            web_acl_arn=acl.arn,
            certificate_arn=cert.arn,
            validation_records=validation_records,
            dns_records=manual_records,
            hosted_zone_id=opts.hosted_zone_id,
            log_bucket=logs.bucket.bucket,
        ),
    }


def _service_role(service: Any, index: int) -> str:
    """Stable role for a routed service: its component name (falls back to its position)."""
    handle_name = getattr(getattr(service, "handle", None), "name", None)
    for candidate in (handle_name, getattr(service, "pulumi_resource_name", None)):
        if isinstance(candidate, str) and candidate:
            return role_of(candidate)
    return f"service-{index}"


def _log_bucket(name: str, args: TlsIngressArgs, platform: Platform, child: pulumi.ResourceOptions,
                tags: dict[str, str]) -> SimpleNamespace:
    """The access-log bucket and its guard rails; `ready` lists what must exist before the ALB writes to it."""
    account = aws.get_caller_identity_output().account_id
    region = aws.get_region_output().region
    # Bucket names are global: account and region make the deterministic name unique.
    prefix = platform.physical_name(f"{name}-logs", limit=63 - 28)
    bucket = aws.s3.Bucket(
        f"{name}-logs",
        bucket=pulumi.Output.concat(prefix, "-", account, "-", region),
        force_destroy=False,
        tags=tags,
        opts=stateful_opts(child, args.deletion_protection),
    )
    ownership = aws.s3.BucketOwnershipControls(
        f"{name}-logs-ownership", bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=child,
    )
    public = aws.s3.BucketPublicAccessBlock(
        f"{name}-logs-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True, opts=child,
    )
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-logs-encryption", bucket=bucket.id,
        rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            # ALB log delivery supports SSE-S3 only; a KMS default key makes delivery fail silently.
            apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="AES256"),
        )],
        opts=child,
    )
    aws.s3.BucketVersioning(
        f"{name}-logs-versioning", bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"), opts=child,
    )
    days = args.access_log_retention_days
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-logs-lifecycle", bucket=bucket.id,
        rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-access-logs",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
            # Versioning keeps overwritten/deleted logs as noncurrent versions: expire those too.
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=days),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=1),
        )],
        opts=child,
    )
    region_name = platform.region
    legacy = None if region_name in _SERVICE_PRINCIPAL_ONLY_REGIONS else aws.elb.get_service_account_output().arn
    policy = aws.s3.BucketPolicy(
        f"{name}-logs-policy", bucket=bucket.id,
        policy=pulumi.Output.all(bucket.arn, account, legacy).apply(lambda v: _log_policy(v[0], v[1], v[2])),
        # A policy written while BlockPublicPolicy is being set up can race: order them.
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[public])),
    )
    return SimpleNamespace(bucket=bucket, ready=[policy, encryption, ownership, public])


def _log_policy(bucket_arn: str, account: str, legacy_principal: str | None) -> str:
    """Bucket policy: ELB log delivery may PutObject under alb/AWSLogs/<account>/, and nothing works without TLS."""
    objects = f"{bucket_arn}/{LOG_PREFIX}/AWSLogs/{account}/*"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ElbLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": objects,
        },
    ]
    if legacy_principal:
        # Regions opened before August 2022 deliver ALB logs from a regional ELB account, not the service principal.
        statements.append({
            "Sid": "ElbLogDeliveryLegacyAccount",
            "Effect": "Allow",
            "Principal": {"AWS": legacy_principal},
            "Action": "s3:PutObject",
            "Resource": objects,
        })
    statements.append({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    })
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def more_specific(path: str, paths: list[str]) -> list[str]:
    """The routes nested directly below `path` ("/" is the parent of all): a request under one of them belongs
    to it, not to `path`. Only the outermost are listed ("/api/auth" covers "/api/auth/x"), shortest first."""
    prefix = "/" if path == "/" else path + "/"
    below = [p for p in paths if p != path and p.startswith(prefix)]
    return sorted(p for p in below if not any(o != p and p.startswith(o + "/") for o in below))


def _rate_scope(path: str, paths: list[str]) -> Any:
    """The scope-down statement of the rate rule of `path`, so that a request is counted by its most specific
    route only: AND(path EXACTLY or STARTS_WITH "path/"; for each more specific route q: NOT q EXACTLY, NOT
    STARTS_WITH "q/"). "/" has only the exclusions; "/" alone counts every request (no scope-down). The nesting
    stays within the two logical levels a rate-based scope-down allows (AND -> OR/NOT -> byte match)."""
    waf = aws.wafv2
    stmt = waf.WebAclRuleStatementRateBasedStatementScopeDownStatementArgs
    byte = waf.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementArgs
    field = waf.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementFieldToMatchArgs
    uri = waf.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementFieldToMatchUriPathArgs
    none = waf.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementTextTransformationArgs

    def match(value: str, constraint: str) -> Any:
        return stmt(byte_match_statement=byte(
            search_string=value, positional_constraint=constraint, field_to_match=field(uri_path=uri()),
            text_transformations=[none(priority=0, type="NONE")],
        ))

    def route(p: str) -> list[Any]:
        return [match(p, "EXACTLY"), match(p + "/", "STARTS_WITH")]

    parts: list[Any] = []
    if path != "/":
        parts.append(stmt(or_statement=waf.WebAclRuleStatementRateBasedStatementScopeDownStatementOrStatementArgs(
            statements=route(path))))
    for q in more_specific(path, paths):
        parts += [stmt(not_statement=waf.WebAclRuleStatementRateBasedStatementScopeDownStatementNotStatementArgs(
            statement=m)) for m in route(q)]
    if not parts:
        return None  # "/" is the only route: it counts every request
    if len(parts) == 1:
        return parts[0]
    return stmt(and_statement=waf.WebAclRuleStatementRateBasedStatementScopeDownStatementAndStatementArgs(statements=parts))


def _web_acl(name: str, args: TlsIngressArgs, platform: Platform, routes: list[Route], roles: dict[str, str], block: bool,
             tags: dict[str, str], child: pulumi.ResourceOptions) -> aws.wafv2.WebAcl:
    waf = aws.wafv2
    metric_prefix = platform.physical_name(name, limit=100)

    def visibility(metric: str) -> Any:
        return waf.WebAclRuleVisibilityConfigArgs(
            cloudwatch_metrics_enabled=True, metric_name=f"{metric_prefix}-{metric}", sampled_requests_enabled=True)

    override = (waf.WebAclRuleOverrideActionArgs(none=waf.WebAclRuleOverrideActionNoneArgs()) if block
                else waf.WebAclRuleOverrideActionArgs(count=waf.WebAclRuleOverrideActionCountArgs()))

    def managed(rule_name: str, priority: int, overrides: tuple[str, ...] = ()) -> Any:
        return waf.WebAclRuleArgs(
            name=rule_name,
            priority=priority,
            override_action=override,
            statement=waf.WebAclRuleStatementArgs(
                managed_rule_group_statement=waf.WebAclRuleStatementManagedRuleGroupStatementArgs(
                    vendor_name="AWS", name=rule_name,
                    rule_action_overrides=[
                        waf.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs(
                            name=o, action_to_use=waf.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs(
                                count=waf.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs()))
                        for o in overrides
                    ] or None,
                ),
            ),
            visibility_config=visibility(rule_name),
        )

    rules = [managed("AWSManagedRulesAmazonIpReputationList", 0)]
    # Rate rules come before the (more expensive) managed groups; one per route so that a tight limit on an
    # expensive agent endpoint does not throttle page loads on "/".
    for offset, route in enumerate(routes, start=1):
        scope = _rate_scope(route.path, [r.path for r in routes])
        action = (waf.WebAclRuleActionArgs(block=waf.WebAclRuleActionBlockArgs(
                      custom_response=waf.WebAclRuleActionBlockCustomResponseArgs(response_code=429)))
                  if block else waf.WebAclRuleActionArgs(count=waf.WebAclRuleActionCountArgs()))
        rule_name = f"rate-{roles[route.path]}"
        rules.append(waf.WebAclRuleArgs(
            name=rule_name,
            priority=offset,
            action=action,
            statement=waf.WebAclRuleStatementArgs(
                rate_based_statement=waf.WebAclRuleStatementRateBasedStatementArgs(
                    # 60 s window: the limit is the route's per-minute rate as written in the spec.
                    limit=route.rate_limit_per_minute,
                    evaluation_window_sec=60,
                    aggregate_key_type="IP",
                    scope_down_statement=scope,
                ),
            ),
            visibility_config=visibility(rule_name),
        ))
    base = len(routes) + 1
    rules.append(managed("AWSManagedRulesCommonRuleSet", base, overrides=("SizeRestrictions_BODY",)))
    rules.append(managed("AWSManagedRulesKnownBadInputsRuleSet", base + 1))

    return waf.WebAcl(
        f"{name}-waf",
        name=platform.physical_name(name, limit=128),
        description=f"{args.domain}: managed rules and per-route rate limits ({args.waf_mode} mode)",
        scope="REGIONAL",
        default_action=waf.WebAclDefaultActionArgs(allow=waf.WebAclDefaultActionAllowArgs()),
        rules=rules,
        visibility_config=waf.WebAclVisibilityConfigArgs(
            cloudwatch_metrics_enabled=True, metric_name=metric_prefix, sampled_requests_enabled=True),
        tags=tags,
        opts=child,
    )
