"""TlsIngress: the HTTPS front door: certificate, HTTP->HTTPS redirect, HSTS and security headers, per-route
timeouts and rate limits.

| cloud | implementation | certificate | rate limiting | streaming (SSE) routes |
|---|---|---|---|---|
| aws | internet-facing IPv4 ALB in public subnets, HTTPS listener (TLS 1.3/1.2 policy), HTTP listener redirecting 301, listener rules per route, access logs to an SSE-S3 bucket (the only encryption ALB log delivery supports) | ACM with DNS validation: records + A alias in Route 53 with `hosted_zone_id`, else exported for the user to create | WAFv2 rate-based rule per route (counted by the most specific route only) + AWS managed rule groups | idle timeout covers the longest route |
| gcp | global external Application Load Balancer (EXTERNAL_MANAGED): global address, serverless NEG + logged backend service per routed service, URL map with the path rules, HTTPS proxy with an SSL policy (TLS 1.2+, MODERN/RESTRICTED), HTTP proxy + URL map that only redirect; HSTS/security headers and CORS as custom response headers | Google-managed (`ManagedSslCertificate`) | Cloud Armor policy on every backend: rate-based ban per route (preview in count mode), preconfigured OWASP rules | Cloud Run request timeout = the service's longest route (serverless backends take no LB timeout) |
| azure | Front Door Premium: endpoint, origin group per routed service over a private link to the internal Container Apps environment, route per path (HTTPS redirect, HTTPS-only forwarding), rule set for HSTS and security headers; origin timeout is profile-wide, 16-240 s (longer routes: see the backend) | AFD managed certificate, TLS 1.2 minimum | WAF policy: Microsoft default rule set + bot manager, one rate-limit custom rule per route per client IP; Detection when counting, Prevention when blocking | Front Door streams responses; the 240 s timeout applies between bytes |
| kubernetes | Gateway API on Envoy Gateway: a Gateway per stack (HTTPS listener + an HTTP listener whose only route redirects 301) or HTTPRoutes on a shared Gateway; one HTTPRoute per route with timeouts and security headers as a standard filter; Envoy Gateway policies for rate limits, CORS, TLS 1.2 minimum, body size | cert-manager gateway-shim (`cert-manager.io/cluster-issuer` on the Gateway), ACME HTTP-01 through the Gateway | Envoy Gateway local rate limit per client IP and route (429), per Envoy replica | Envoy streams responses; no request buffering, no total timeout, idle timeout = the route's timeout |
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence

import pulumi

from .._core import Component, InputError
from .._core.units import in_range

_PATH = re.compile(r"^/[A-Za-z0-9._~\-/]*$")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True, kw_only=True)
class Route:
    """One path prefix routed to one WebService."""

    path: str
    """Path prefix, e.g. "/api/agents" ("/" catches the rest). Required."""
    service: Any
    """The WebService that serves it (must be `public`). Required."""
    rate_limit_per_minute: int = 600
    """Requests per minute per client IP before 429/blocking. Default: 600."""
    timeout_seconds: int = 60
    """Upstream read/send timeout (600 for long agent calls). Default: 60 s."""
    streaming: bool = False
    """Server-sent events / streaming responses: proxy buffering off. Default: off."""
    body_size_mib: int = 10
    """Largest request body accepted. Default: 10 MiB."""

    def __post_init__(self) -> None:
        check_path(self.path)
        in_range(f"routes[{self.path}].rate_limit_per_minute", self.rate_limit_per_minute, 1, 1_000_000, "requests/minute")
        in_range(f"routes[{self.path}].timeout_seconds", self.timeout_seconds, 1, 3600, "s")
        in_range(f"routes[{self.path}].body_size_mib", self.body_size_mib, 1, 1024, "MiB")


def check_path(path: Any) -> str:
    if not isinstance(path, str) or not _PATH.match(path) or "//" in path or (len(path) > 1 and path.endswith("/")):
        raise InputError(
            "route.path", path,
            "allowed: an absolute path prefix of letters, digits and . _ ~ - / without wildcards, query or trailing slash, e.g. '/api/agents'",
        )
    return path


@dataclass(frozen=True, kw_only=True)
class SecurityHeaders:
    """Response headers every route gets."""

    hsts_max_age_seconds: int = 31536000
    """Strict-Transport-Security max-age (includeSubDomains). Default: one year."""
    content_security_policy: str | None = None
    """Content-Security-Policy value. Default: none (apps usually set their own)."""
    frame_options: Literal["DENY", "SAMEORIGIN"] = "SAMEORIGIN"
    """X-Frame-Options. Default: "SAMEORIGIN"."""


@dataclass(frozen=True, kw_only=True)
class AwsIngressOptions:
    """AWS-only settings of TlsIngress (ALB)."""

    hosted_zone_id: str | None = None
    """Route 53 zone for DNS validation and the A alias record. Default: none (the records to create by hand are
    exported as `dns_records`)."""
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    """HTTPS listener security policy. Default: "ELBSecurityPolicy-TLS13-1-2-2021-06"."""


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True, kw_only=True)
class SharedGateway:
    """An existing Gateway (usually owned by the platform team, in its own namespace) the routes attach to."""

    name: str
    """metadata.name of the Gateway. Required."""
    namespace: str
    """Namespace of the Gateway. Required."""
    https_section: str = "https"
    """Name of its HTTPS listener (the routes' parentRefs sectionName). Default: "https"."""
    http_section: str | None = "http"
    """Name of its plain-HTTP listener, which gets this app's 301 redirect route; None when the Gateway's owner
    redirects HTTP already. Default: "http"."""

    def __post_init__(self) -> None:
        for field_name in ("name", "namespace", "https_section"):
            value = getattr(self, field_name)
            if not isinstance(value, str) or not _DNS_LABEL.match(value):
                raise InputError(f"kubernetes.shared_gateway.{field_name}", value, "allowed: a DNS label (lowercase letters, digits and '-', at most 63)")
        if self.http_section is not None and (not isinstance(self.http_section, str) or not _DNS_LABEL.match(self.http_section)):
            raise InputError("kubernetes.shared_gateway.http_section", self.http_section, "allowed: a DNS label, or none")


@dataclass(frozen=True, kw_only=True)
class GcpIngressOptions:
    """GCP-only settings of TlsIngress (global external Application Load Balancer)."""

    ssl_policy_profile: Literal["MODERN", "RESTRICTED"] = "MODERN"
    """SSL policy profile (both with TLS 1.2 minimum). Default: "MODERN"."""
    owasp_sensitivity: int = 1
    """Sensitivity of the preconfigured OWASP CRS rules (1 = fewest false positives, 4 = most). Default: 1."""
    ban_duration_seconds: int = 300
    """How long a client over a route's rate limit is banned. Default: 300 s."""


@dataclass(frozen=True, kw_only=True)
class AzureIngressOptions:
    """Azure-only settings of TlsIngress (Front Door Premium)."""

    default_rule_set_version: str = "2.1"
    """Version of the Microsoft_DefaultRuleSet managed WAF rules. Default: "2.1"."""
    bot_protection: bool = True
    """Add the Microsoft_BotManagerRuleSet managed rules. Default: on."""


@dataclass(frozen=True, kw_only=True)
class KubernetesIngressOptions:
    """Kubernetes-only settings of TlsIngress (Gateway API on Envoy Gateway)."""

    cluster_issuer: str = "letsencrypt-prod"
    """cert-manager ClusterIssuer that signs the certificate (ClusterAddons creates it). Default: "letsencrypt-prod"."""
    gateway_class: str = "eg"
    """GatewayClass of the stack's Gateway (ClusterAddons creates "eg" for Envoy Gateway). Default: "eg"."""
    gateway_name: str = "edge"
    """metadata.name of the stack's Gateway. The ClusterIssuer's HTTP-01 solver attaches its challenge routes to
    the Gateway of this name in the certificate's namespace, so keep it equal to ClusterAddons' `http01_gateway`.
    Default: "edge"."""
    shared_gateway: SharedGateway | None = None
    """Attach the routes to an existing Gateway instead of creating one: no Gateway, EnvoyProxy, certificate or
    ClientTrafficPolicy is created (TLS, its minimum version and client-IP handling are that Gateway's owner's
    job; its HTTPS listener must allow routes from this namespace). Default: a Gateway per stack."""
    proxy_replicas: int = 2
    """Envoy replicas serving the stack's Gateway (a PodDisruptionBudget keeps one during drains). Rate limits
    are counted per replica. Default: 2."""
    client_ip: Literal["source", "proxy-protocol"] = "source"
    """How Envoy learns the client IP the rate limits count: "source" keeps the TCP source address
    (externalTrafficPolicy: Local on the LoadBalancer Service, for L4 load balancers that preserve it: GKE, AKS,
    AWS NLB); "proxy-protocol" reads a PROXY protocol header (set the load balancer's annotation in
    `load_balancer_annotations`). Default: "source"."""
    load_balancer_annotations: Mapping[str, str] = field(default_factory=dict)
    """Annotations of Envoy's LoadBalancer Service (cloud LB type, PROXY protocol). Default: none."""

    def __post_init__(self) -> None:
        for field_name in ("gateway_class", "gateway_name", "cluster_issuer"):
            value = getattr(self, field_name)
            if not isinstance(value, str) or not _DNS_LABEL.match(value):
                raise InputError(f"kubernetes.{field_name}", value, "allowed: a DNS label (lowercase letters, digits and '-', at most 63)")
        in_range("kubernetes.proxy_replicas", self.proxy_replicas, 1, 20)
        if self.client_ip not in ("source", "proxy-protocol"):
            raise InputError("kubernetes.client_ip", self.client_ip, "allowed: 'source' or 'proxy-protocol'")


@dataclass(frozen=True, kw_only=True)
class TlsIngressArgs:
    """Arguments of :class:`TlsIngress`."""

    network: Any
    """The Network component. Required."""
    domain: str
    """Public hostname, e.g. "app.example.com". Required."""
    routes: Sequence[Route]
    """Routes, matched longest prefix first. Required (at least one)."""
    headers: SecurityHeaders = field(default_factory=SecurityHeaders)
    """Security headers. Default: HSTS one year, nosniff, SAMEORIGIN framing, no CSP."""
    cors_origins: Sequence[str] = ()
    """Origins allowed by CORS; "*" is refused. Default: none (same-origin only)."""
    waf_mode: Literal["count", "block"] = "block"
    """Whether the WAF/rate rules block or only count. Default: "block"; staging counts."""
    deletion_protection: bool = True
    """Protect the load balancer and its log bucket from deletion. Default: on; staging opts out."""
    access_log_retention_days: int = 90
    """Retention of load-balancer access logs. Default: 90 days."""
    aws: AwsIngressOptions | None = None
    """AWS-only options. Default: AwsIngressOptions() on AWS; an error on other clouds."""
    kubernetes: KubernetesIngressOptions | None = None
    """Kubernetes-only options. Default: KubernetesIngressOptions() on Kubernetes; an error on other clouds."""
    gcp: GcpIngressOptions | None = None
    """GCP-only options. Default: GcpIngressOptions() on GCP; an error on other clouds."""
    azure: AzureIngressOptions | None = None
    """Azure-only options. Default: AzureIngressOptions() on Azure; an error on other clouds."""

    def __post_init__(self) -> None:
        if not isinstance(self.domain, str) or not _HOST.match(self.domain):
            raise InputError("domain", self.domain, "allowed: a lowercase DNS hostname such as 'app.example.com'")
        if not self.routes:
            raise InputError("routes", [], "at least one route is required")
        paths = [r.path for r in self.routes]
        dup = {p for p in paths if paths.count(p) > 1}
        if dup:
            raise InputError("routes", sorted(dup)[0], "each path may be routed once")
        for origin in self.cors_origins:
            if origin == "*" or not str(origin).startswith("https://"):
                raise InputError("cors_origins", origin, "allowed: explicit https:// origins; '*' lets any site call the API with users' credentials")
        in_range("access_log_retention_days", self.access_log_retention_days, 1, 3653, "days")

    @property
    def longest_timeout(self) -> int:
        return max(r.timeout_seconds for r in self.routes)


class TlsIngress(Component):
    """The HTTPS entry point of the app.

    Example: ``TlsIngress("edge", TlsIngressArgs(network=net, domain="app.example.com",
    routes=[Route(path="/", service=web)]), platform)``

    Cost: AWS ALB hours + LCUs, WAF ACL + rules + requests; Kubernetes: the Gateway's Envoy pods (`proxy_replicas`)
    and its cloud load balancer; Azure Front Door Premium base fee (~$330/month) + requests + data transfer (WAF
    managed rules included); GCP forwarding rules + data processed, Cloud Armor policy + rules + requests.
    """

    ARGS = TlsIngressArgs
    OUTPUTS = ("url", "hostname")

    url: pulumi.Output[str]
    """https://domain/."""
    hostname: pulumi.Output[str]
    """DNS name to point the domain at (load balancer DNS name; Front Door endpoint host on Azure) or the domain itself
    when DNS is managed."""
