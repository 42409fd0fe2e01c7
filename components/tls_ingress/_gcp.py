"""GCP backend of TlsIngress: a global external Application Load Balancer in front of the routed Cloud Run services.

What it creates:

* ``{name}-ip``: a global external IPv4 address (``protect``ed with ``deletion_protection``: DNS points at it);
* ``{name}-cert``: a Google-managed certificate for ``domain`` (it turns ACTIVE once DNS resolves to the address);
* ``{name}-ssl-policy``: TLS 1.2 minimum, profile ``gcp.ssl_policy_profile`` (MODERN or RESTRICTED);
* ``{name}-armor``: a Cloud Armor security policy attached to every backend service: the preconfigured OWASP CRS
  rules (sqli, xss, lfi, rfi, rce, method enforcement, scanner detection, protocol attack, session fixation;
  ``deny(403)``), then one ``rate_based_ban`` rule per route, longest path first, keyed on the client IP: over
  ``rate_limit_per_minute`` in 60 s answers ``deny(429)`` and bans the client for ``gcp.ban_duration_seconds``; the
  default rule allows. With ``waf_mode`` "count" every one of those rules is in ``preview`` (logged, not
  enforced); with "block" they enforce. Verbose logging and JSON parsing for the WAF;
* per routed WebService: ``{name}-<service>-neg`` (serverless NEG on the Cloud Run service) and
  ``{name}-<service>-backend`` (EXTERNAL_MANAGED, HTTPS, every request logged, Cloud Armor attached, security
  headers added to every response: HSTS with ``includeSubDomains``, ``X-Content-Type-Options: nosniff``,
  ``X-Frame-Options``, ``Referrer-Policy``, ``Content-Security-Policy`` when set). Serverless NEGs take no health
  check and no backend timeout: Cloud Run's request timeout (the WebService's ``request_timeout_seconds``, which
  the stack sets from the longest route) governs, and streaming responses pass through unbuffered;
* ``{name}-urlmap``: host rule for ``domain``, a path rule per route (``/p`` and ``/p/*``; "/" is the default),
  CORS on every route for ``cors_origins`` only (credentials allowed, preflight cached 1 h);
  ``{name}-https-proxy`` (the certificate and SSL policy) and ``{name}-https`` (forwarding rule, 443);
* ``{name}-redirect``, ``{name}-http-proxy``, ``{name}-http``: port 80 answers only ``301`` to HTTPS.

Not mapped: ``body_size_mib`` (the load balancer has no request-size limit to set; Cloud Run caps HTTP/1 request
bodies at 32 MiB).

Cost: forwarding rules ~$18/month for the first 5, data processed, Cloud Armor $5/policy + $1/rule-month +
$0.75 per million requests, the certificate free.
"""

from __future__ import annotations

from typing import Any

import pulumi

from .._core import Cloud, InputError, Platform, options_for, stateful_opts
from .._core.gcp_compute import compute
from . import GcpIngressOptions

_COMPONENT = "tls-ingress"
OWASP_RULES = (
    "sqli-v33-stable", "xss-v33-stable", "lfi-v33-stable", "rfi-v33-stable", "rce-v33-stable",
    "methodenforcement-v33-stable", "scannerdetection-v33-stable", "protocolattack-v33-stable", "sessionfixation-v33-stable",
)
_BAN_SECONDS = (60, 120, 180, 240, 300, 600, 900, 1200, 1800, 2700, 3600)
DEFAULT_RULE_PRIORITY = 2147483647


def validate(args: Any, platform: Platform) -> None:
    opts = options_for(args, Cloud.GCP, GcpIngressOptions)
    if opts.ssl_policy_profile not in ("MODERN", "RESTRICTED"):
        raise InputError("gcp.ssl_policy_profile", opts.ssl_policy_profile, "allowed: MODERN, RESTRICTED (both TLS 1.2+)")
    if opts.owasp_sensitivity not in (1, 2, 3, 4):
        raise InputError("gcp.owasp_sensitivity", opts.owasp_sensitivity, "allowed: 1 to 4")
    if opts.ban_duration_seconds not in _BAN_SECONDS:
        raise InputError("gcp.ban_duration_seconds", opts.ban_duration_seconds, "allowed: " + ", ".join(map(str, _BAN_SECONDS)))
    for r in args.routes:
        svc_args = getattr(r.service, "args", None)
        if svc_args is not None and not getattr(svc_args, "public", True):
            raise InputError(f"routes[{r.path}].service", r.service._name if hasattr(r.service, "_name") else "?", "the routed WebService must be public (ingress from the load balancer)")


def path_expression(path: str) -> str:
    """Cloud Armor CEL matching the path prefix segment-wise, as Kubernetes Prefix paths do."""
    return f"request.path == '{path}' || request.path.startsWith('{path}/')"


def security_rules(args: Any, opts: GcpIngressOptions) -> list[dict[str, Any]]:
    preview = args.waf_mode == "count"
    rules: list[dict[str, Any]] = []
    for i, rule_set in enumerate(OWASP_RULES):
        rules.append({
            "priority": 100 + i, "action": "deny(403)", "preview": preview,
            "description": f"OWASP CRS {rule_set}",
            "match": {"expr": {"expression": f"evaluatePreconfiguredWaf('{rule_set}', {{'sensitivity': {opts.owasp_sensitivity}}})"}},
        })
    for i, route in enumerate(sorted(args.routes, key=lambda r: -len(r.path))):
        match = ({"versioned_expr": "SRC_IPS_V1", "config": {"src_ip_ranges": ["*"]}} if route.path == "/"
                 else {"expr": {"expression": path_expression(route.path)}})
        rules.append({
            "priority": 1000 + i, "action": "rate_based_ban", "preview": preview,
            "description": f"{route.rate_limit_per_minute} requests/minute per client IP on {route.path}",
            "match": match,
            "rate_limit_options": {
                "conform_action": "allow", "exceed_action": "deny(429)", "enforce_on_key": "IP",
                "rate_limit_threshold": {"count": route.rate_limit_per_minute, "interval_sec": 60},
                "ban_duration_sec": opts.ban_duration_seconds,
            },
        })
    rules.append({
        "priority": DEFAULT_RULE_PRIORITY, "action": "allow", "description": "default rule",
        "match": {"versioned_expr": "SRC_IPS_V1", "config": {"src_ip_ranges": ["*"]}},
    })
    return rules


def response_headers(args: Any) -> list[str]:
    h = args.headers
    out = [
        f"Strict-Transport-Security: max-age={h.hsts_max_age_seconds}; includeSubDomains",
        "X-Content-Type-Options: nosniff",
        f"X-Frame-Options: {h.frame_options}",
        "Referrer-Policy: strict-origin-when-cross-origin",
    ]
    if h.content_security_policy:
        out.append(f"Content-Security-Policy: {h.content_security_policy}")
    return out


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    opts = options_for(args, Cloud.GCP, GcpIngressOptions)
    labels = platform.labels(_COMPONENT)
    protect = args.deletion_protection
    project = getattr(args.network.handle, "project", None)

    address = compute.GlobalAddress(
        f"{name}-ip", project=project, name=platform.physical_name("ip"), address_type="EXTERNAL", ip_version="IPV4", labels=labels,
        description=f"Public address of {args.domain}", opts=stateful_opts(child, protect),
    )
    cert = compute.ManagedSslCertificate(
        f"{name}-cert", project=project, name=platform.physical_name("cert"), type="MANAGED", managed={"domains": [args.domain]}, opts=child,
    )
    ssl_policy = compute.SSLPolicy(
        f"{name}-ssl-policy", project=project, name=platform.physical_name("tls12"), min_tls_version="TLS_1_2", profile=opts.ssl_policy_profile,
        description="TLS 1.2 minimum", opts=child,
    )
    armor = compute.SecurityPolicy(
        f"{name}-armor", project=project, name=platform.physical_name("armor"), type="CLOUD_ARMOR",
        description=f"WAF and rate limits of {args.domain} ({'preview' if args.waf_mode == 'count' else 'enforced'})",
        rules=security_rules(args, opts),
        advanced_options_config={"json_parsing": "STANDARD", "log_level": "VERBOSE"},
        labels=labels, opts=child,
    )

    headers = response_headers(args)
    backends: dict[str, Any] = {}
    for route in args.routes:
        svc = route.service
        handle = svc.handle
        if handle.name in backends:
            continue
        neg = compute.RegionNetworkEndpointGroup(
            f"{name}-{handle.name}-neg", project=project, name=platform.physical_name(f"{handle.name}-neg"), region=handle.region,
            network_endpoint_type="SERVERLESS", cloud_run={"service": handle.service_name}, opts=child,
        )
        backends[handle.name] = compute.BackendService(
            f"{name}-{handle.name}-backend", project=project, name=platform.physical_name(f"{handle.name}-backend"),
            load_balancing_scheme="EXTERNAL_MANAGED", protocol="HTTPS", backends=[{"group": neg.id}],
            security_policy=armor.id, log_config={"enable": True, "sample_rate": 1.0},
            custom_response_headers=headers, description=f"Cloud Run {handle.name}", opts=child,
        )

    cors = None
    if args.cors_origins:
        cors = {"allow_origins": list(args.cors_origins), "allow_methods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                "allow_headers": ["Authorization", "Content-Type"], "allow_credentials": True, "max_age": 3600, "disabled": False}
    default_route = next((r for r in args.routes if r.path == "/"), sorted(args.routes, key=lambda r: len(r.path))[0])
    default_backend = backends[default_route.service.handle.name]
    path_rules = []
    for route in sorted(args.routes, key=lambda r: -len(r.path)):
        if route.path == "/":
            continue
        rule: dict[str, Any] = {"paths": [route.path, f"{route.path}/*"], "service": backends[route.service.handle.name].id}
        if cors:
            rule["route_action"] = {"cors_policy": cors}
        path_rules.append(rule)
    matcher: dict[str, Any] = {"name": "routes", "default_service": default_backend.id, "path_rules": path_rules or None}
    if cors:
        matcher["default_route_action"] = {"cors_policy": cors}
    url_map = compute.URLMap(
        f"{name}-urlmap", project=project, name=platform.physical_name("urlmap"), default_service=default_backend.id,
        host_rules=[{"hosts": [args.domain], "path_matcher": "routes"}], path_matchers=[matcher],
        description=f"Routes of {args.domain}", opts=child,
    )
    https_proxy = compute.TargetHttpsProxy(
        f"{name}-https-proxy", project=project, name=platform.physical_name("https-proxy"), url_map=url_map.id,
        ssl_certificates=[cert.id], ssl_policy=ssl_policy.id, opts=child,
    )
    compute.GlobalForwardingRule(
        f"{name}-https", project=project, name=platform.physical_name("https"), target=https_proxy.id, ip_address=address.id,
        port_range="443", ip_protocol="TCP", load_balancing_scheme="EXTERNAL_MANAGED", labels=labels, opts=child,
    )
    redirect = compute.URLMap(
        f"{name}-redirect", project=project, name=platform.physical_name("redirect"), description="HTTP -> HTTPS only",
        default_url_redirect={"https_redirect": True, "redirect_response_code": "MOVED_PERMANENTLY_DEFAULT", "strip_query": False},
        opts=child,
    )
    http_proxy = compute.TargetHttpProxy(f"{name}-http-proxy", project=project, name=platform.physical_name("http-proxy"), url_map=redirect.id, opts=child)
    compute.GlobalForwardingRule(
        f"{name}-http", project=project, name=platform.physical_name("http"), target=http_proxy.id, ip_address=address.id,
        port_range="80", ip_protocol="TCP", load_balancing_scheme="EXTERNAL_MANAGED", labels=labels, opts=child,
    )
    return {"url": f"https://{args.domain}/", "hostname": address.address}
