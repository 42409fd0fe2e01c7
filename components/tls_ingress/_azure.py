"""Azure backend of TlsIngress: Azure Front Door Premium in front of the internal Container Apps environment.

What it creates:

* a Front Door Premium profile (origin response timeout: the longest route, clamped to Front Door's 16-240 s; the
  timeout is one per profile, not per route) and one endpoint;
* the custom domain with an AFD-managed certificate and TLS 1.2 minimum (validation: a `_dnsauth.<domain>` TXT
  record with the domain's validation token, then a CNAME to the endpoint's host name);
* per routed service: an origin group (health probe on the readiness path over HTTPS) and one origin, the Container
  App's FQDN over a **private link** to the Container Apps environment (group ``managedEnvironments``) with the
  certificate name checked; the environment owner approves the private endpoint connection once
  (``az network private-endpoint-connection approve``);
* per route: a Front Door route on the custom domain only (no `*.azurefd.net` link), patterns ``<path>`` and
  ``<path>/*`` (``/*`` for ``/``), HTTP and HTTPS accepted with HTTPS redirect, HTTPS-only forwarding, no caching,
  and the security-headers rule set;
* a rule set adding Strict-Transport-Security (``max-age``, includeSubDomains), X-Content-Type-Options nosniff,
  X-Frame-Options, Referrer-Policy and (when given) Content-Security-Policy to every response;
* a WAF policy (Premium): Microsoft_DefaultRuleSet and (with ``azure.bot_protection``) Microsoft_BotManagerRuleSet,
  request body inspection, one rate-limit custom rule per route (requests per minute per client socket address,
  matched on the route's path and not on longer routes' paths); mode Detection when ``waf_mode`` is "count"
  (staging), Prevention when "block" (prod); linked to the domain by a security policy.

Routes longer than 240 s (compyle's 600 s agent calls): neither Front Door nor Container Apps ingress waits longer
than 240 s for a byte, so such a route works only if the service streams (SSE, chunked progress) or answers 202 and
is polled; the plan warns and the profile uses 240 s.

CORS: Front Door has no CORS policy; `cors_origins` is applied by the services (Container Apps ingress CORS is
not set here: it would answer preflights before the app).

Cost: Front Door Premium base fee (~$330/month) + requests and data transfer; WAF managed rules are included.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pulumi
from .._core.azure import cdn, field
from .._core.azure import frontdoor

from .._core import Cloud, InputError, Platform, options_for
from . import AzureIngressOptions

_COMPONENT = "tls-ingress"
MIN_TIMEOUT, MAX_TIMEOUT = 16, 240
MIN_RATE_LIMIT = 10  # Front Door WAF: smallest rateLimitThreshold
_NAME = re.compile(r"[^A-Za-z0-9]")


def origin_timeout(args: Any) -> int:
    return min(max(args.longest_timeout, MIN_TIMEOUT), MAX_TIMEOUT)


def validate(args: Any, platform: Platform) -> None:
    opts = options_for(args, Cloud.AZURE, AzureIngressOptions)
    if opts.default_rule_set_version not in ("2.0", "2.1"):
        raise InputError("azure.default_rule_set_version", opts.default_rule_set_version, "allowed: 2.0, 2.1 (Microsoft_DefaultRuleSet on Front Door Premium)")
    for route in args.routes:
        if route.rate_limit_per_minute < MIN_RATE_LIMIT:
            raise InputError(f"routes[{route.path}].rate_limit_per_minute", route.rate_limit_per_minute,
                             f"Front Door WAF rate-limit rules count at least {MIN_RATE_LIMIT} requests per window; allowed on Azure: {MIN_RATE_LIMIT} or more")
    if len(args.routes) > 100:
        raise InputError("routes", len(args.routes), "Front Door Premium allows at most 100 rate-limit custom rules per WAF policy (one per route)")


def _alnum(text: str, limit: int = 60) -> str:
    """Front Door rule set, rule and WAF policy names: letters and digits only, starting with a letter."""
    cleaned = _NAME.sub("", text.title())
    return ("r" + cleaned if not cleaned[:1].isalpha() else cleaned)[:limit]


def _patterns(path: str) -> list[str]:
    return ["/*"] if path == "/" else [path, f"{path}/*"]


def _uri_regex(path: str) -> str:
    return r"^(https?://[^/]+)?" + re.escape(path) + r"(/|\?|$)"


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    opts = options_for(args, Cloud.AZURE, AzureIngressOptions)
    net = args.network.handle
    tags = platform.labels(_COMPONENT)
    rg = net.resource_group_name
    for route in args.routes:
        if getattr(route.service, "handle", None) is None or not getattr(route.service.handle, "public", False):
            raise InputError(f"routes[{route.path}].service", getattr(route.service, "_name", "?"), "must be a public WebService created on Azure")
    if args.longest_timeout > MAX_TIMEOUT:
        longest = max(args.routes, key=lambda r: r.timeout_seconds)
        pulumi.log.warn(
            f"{name}: route {longest.path} asks {longest.timeout_seconds} s but Front Door waits at most {MAX_TIMEOUT} s for the "
            "origin (between bytes); the service must stream or answer 202 and be polled",
        )

    profile = cdn.Profile(
        f"{name}-profile", resource_group_name=rg, location="global", profile_name=platform.physical_name(f"{name}-fd", limit=260),
        sku=cdn.SkuArgs(name="Premium_AzureFrontDoor"), origin_response_timeout_seconds=origin_timeout(args), tags=tags, opts=child,
    )
    endpoint = cdn.AFDEndpoint(
        f"{name}-endpoint", resource_group_name=rg, profile_name=profile.name, location="global",
        endpoint_name=platform.physical_name(name, limit=46), enabled_state="Enabled", tags=tags, opts=child,
    )
    domain = cdn.AFDCustomDomain(
        f"{name}-domain", resource_group_name=rg, profile_name=profile.name, host_name=args.domain,
        custom_domain_name=re.sub(r"[^a-z0-9-]", "-", args.domain)[:260],
        tls_settings=cdn.AFDDomainHttpsParametersArgs(certificate_type="ManagedCertificate", minimum_tls_version="TLS12"),
        opts=child,
    )

    # --- security headers ---------------------------------------------------------------------------------------
    h = args.headers
    headers = {
        "Strict-Transport-Security": f"max-age={h.hsts_max_age_seconds}; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": h.frame_options,
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }
    if h.content_security_policy:
        headers["Content-Security-Policy"] = h.content_security_policy
    rule_set = cdn.RuleSet(f"{name}-headers", resource_group_name=rg, profile_name=profile.name, rule_set_name="SecurityHeaders", opts=child)
    cdn.Rule(
        f"{name}-headers-rule", resource_group_name=rg, profile_name=profile.name, rule_set_name=rule_set.name,
        rule_name="AddSecurityHeaders", order=1, match_processing_behavior="Continue",
        actions=[cdn.DeliveryRuleResponseHeaderActionArgs(
            name="ModifyResponseHeader",
            parameters=cdn.HeaderActionParametersArgs(type_name="DeliveryRuleHeaderActionParameters", header_action="Overwrite", header_name=k, value=v),
        ) for k, v in headers.items()],
        opts=child,
    )

    # --- origins: one group per routed service, reached over a private link to the environment -------------------
    groups: dict[str, Any] = {}
    origins: list[pulumi.Resource] = []
    for route in args.routes:
        svc = route.service.handle
        if svc.name in groups:
            continue
        group = cdn.AFDOriginGroup(
            f"{name}-{svc.name}-origins", resource_group_name=rg, profile_name=profile.name, origin_group_name=svc.name,
            health_probe_settings=cdn.HealthProbeParametersArgs(
                probe_path=svc.probes.readiness.path, probe_protocol="Https", probe_request_type="GET", probe_interval_in_seconds=30,
            ),
            load_balancing_settings=cdn.LoadBalancingSettingsParametersArgs(sample_size=4, successful_samples_required=3, additional_latency_in_milliseconds=50),
            session_affinity_state="Disabled", opts=child,
        )
        origins.append(cdn.AFDOrigin(
            f"{name}-{svc.name}-origin", resource_group_name=rg, profile_name=profile.name, origin_group_name=group.name,
            origin_name=svc.name, host_name=svc.fqdn, origin_host_header=svc.fqdn, https_port=443, http_port=80,
            enforce_certificate_name_check=True, enabled_state="Enabled", priority=1, weight=1000,
            shared_private_link_resource=cdn.SharedPrivateLinkResourcePropertiesArgs(
                private_link=cdn.ResourceReferenceArgs(id=net.environment_id), private_link_location=net.location,
                group_id="managedEnvironments", request_message=f"Front Door {platform.app}-{platform.stack} to {svc.app_name}",
            ),
            opts=child,
        ))
        groups[svc.name] = group

    routes = []
    for i, route in enumerate(sorted(args.routes, key=lambda r: -len(r.path))):
        svc = route.service.handle
        routes.append(cdn.Route(
            f"{name}-route-{_route_role(route.path)}", resource_group_name=rg, profile_name=profile.name, endpoint_name=endpoint.name,
            route_name=_route_role(route.path), custom_domains=[cdn.ActivatedResourceReferenceArgs(id=domain.id)],
            origin_group=cdn.ResourceReferenceArgs(id=groups[svc.name].id), patterns_to_match=_patterns(route.path),
            supported_protocols=["Http", "Https"], https_redirect="Enabled", forwarding_protocol="HttpsOnly",
            link_to_default_domain="Disabled", enabled_state="Enabled", rule_sets=[cdn.ResourceReferenceArgs(id=rule_set.id)],
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=origins)),
        ))

    # --- WAF ------------------------------------------------------------------------------------------------------
    paths = [r.path for r in args.routes]
    custom = []
    for i, route in enumerate(sorted(args.routes, key=lambda r: -len(r.path))):
        longer = [p for p in paths if p != route.path and (route.path == "/" or p.startswith(route.path + "/"))]
        conditions = [frontdoor.MatchConditionArgs(match_variable="RequestUri", operator="RegEx", match_value=[_uri_regex(p)], negate_condition=True) for p in longer]
        if route.path != "/":
            conditions.insert(0, frontdoor.MatchConditionArgs(match_variable="RequestUri", operator="RegEx", match_value=[_uri_regex(route.path)]))
        if not conditions:
            conditions = [frontdoor.MatchConditionArgs(match_variable="RequestUri", operator="Any", match_value=[])]
        custom.append(frontdoor.CustomRuleArgs(
            name="RateLimit" + (_alnum(route.path, 119) if route.path != "/" else "Root"), priority=100 + i, rule_type="RateLimitRule",
            rate_limit_duration_in_minutes=1, rate_limit_threshold=route.rate_limit_per_minute, action="Block",
            group_by=[frontdoor.GroupByVariableArgs(variable_name="SocketAddr")], match_conditions=conditions, enabled_state="Enabled",
        ))
    managed = [frontdoor.ManagedRuleSetArgs(rule_set_type="Microsoft_DefaultRuleSet", rule_set_version=opts.default_rule_set_version, rule_set_action="Block")]
    if opts.bot_protection:
        managed.append(frontdoor.ManagedRuleSetArgs(rule_set_type="Microsoft_BotManagerRuleSet", rule_set_version="1.1"))
    waf = frontdoor.Policy(
        f"{name}-waf", resource_group_name=rg, location="Global", policy_name=_alnum(f"{platform.app} {platform.stack} waf", 128),
        sku=frontdoor.SkuArgs(name="Premium_AzureFrontDoor"),
        policy_settings=frontdoor.PolicySettingsArgs(
            enabled_state="Enabled", mode="Prevention" if args.waf_mode == "block" else "Detection", request_body_check="Enabled",
            custom_block_response_status_code=429,
        ),
        custom_rules=frontdoor.CustomRuleListArgs(rules=custom),
        managed_rules=frontdoor.ManagedRuleSetListArgs(managed_rule_sets=managed),
        tags=tags, opts=child,
    )
    cdn.SecurityPolicy(
        f"{name}-waf-link", resource_group_name=rg, profile_name=profile.name, security_policy_name="waf",
        parameters=cdn.SecurityPolicyWebApplicationFirewallParametersArgs(
            type="WebApplicationFirewall", waf_policy=cdn.ResourceReferenceArgs(id=waf.id),
            associations=[cdn.SecurityPolicyWebApplicationFirewallAssociationArgs(
                domains=[cdn.ActivatedResourceReferenceArgs(id=domain.id)], patterns_to_match=["/*"],
            )],
        ),
        opts=child,
    )
    handle = SimpleNamespace(profile_id=profile.id, endpoint_host=endpoint.host_name, domain_id=domain.id,
                             validation_token=field(domain.validation_properties, "validationToken"), waf_id=waf.id)
    return {"url": f"https://{args.domain}/", "hostname": endpoint.host_name, "handle": handle}


def _route_role(path: str) -> str:
    return "root" if path == "/" else re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
