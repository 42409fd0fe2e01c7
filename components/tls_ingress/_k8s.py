"""TlsIngress on Kubernetes: Gateway API (standard channel v1.6) on Envoy Gateway (v1.9), certificates from
cert-manager.

ingress-nginx reached end of maintenance on 2026-03-24; Gateway API is its successor. What this backend creates
(all in the Network's namespace, ``{name}`` = the component name):

| object | name | what it does |
|---|---|---|
| EnvoyProxy | ``{name}-proxy`` | the data plane of the stack's Gateway: ``proxy_replicas`` Envoy pods with a PodDisruptionBudget, a LoadBalancer Service with ``externalTrafficPolicy: Local`` (the client's source IP survives, so rate limits count real clients) |
| Gateway | ``{gateway_name}`` (``{name}-gateway``) | an HTTPS listener (443, TLS terminated with the Secret ``{name}-tls``) and an HTTP listener (80), both for the domain, routes from this namespace only; annotated ``cert-manager.io/cluster-issuer`` so cert-manager's gateway-shim issues and renews the certificate |
| HTTPRoute | ``{name}-redirect`` | the HTTP listener's only route: ``RequestRedirect`` to https, 301. cert-manager's HTTP-01 solver adds a short-lived Exact-path route for ``/.well-known/acme-challenge/<token>`` while a challenge runs, which wins over this prefix route |
| HTTPRoute | ``{name}-{role}`` per spec route | PathPrefix match, the WebService's Service as backend, ``timeouts``, security headers (HSTS, nosniff, X-Frame-Options, Referrer-Policy, CSP) set by a standard ``ResponseHeaderModifier`` filter: nothing depends on controller configuration |
| BackendTrafficPolicy | ``{name}-{role}`` per spec route | local rate limit of the route's requests per minute per client IP (IPv4 and IPv6, ``Distinct``), answered with 429; request body limit (``requestBuffer``, 413) on non-streaming routes; the stream idle timeout |
| SecurityPolicy | ``{name}-cors`` (when origins are set) | CORS for the exact origins, each its own list entry (never joined into one string, never ``*``) |
| ClientTrafficPolicy | ``{name}-client`` | TLS 1.2 minimum on the Gateway's listeners, a 10 s limit on request headers; PROXY protocol when ``client_ip`` says so |

With ``shared_gateway``, the EnvoyProxy, Gateway and ClientTrafficPolicy are not created: HTTPRoutes attach to the
given Gateway's listeners across namespaces (its listeners' ``allowedRoutes`` must admit this namespace; no
ReferenceGrant is needed for a route's parentRef), the redirect route attaches to its HTTP listener when one is
named, and TLS is that Gateway's certificate.

Timeouts and streaming (the choice, and why):

- Non-streaming routes: ``timeouts.request`` = ``timeouts.backendRequest`` = the route's ``timeout_seconds``
  (600 s for agent routes; without it Envoy's route default is 15 s), and the BackendTrafficPolicy's
  ``streamIdleTimeout`` = the same value, because Envoy's listener default (5 min) would otherwise cut a silent
  10-minute agent call.
- Streaming (SSE) routes: ``timeouts.request: 0s`` (Gateway API: zero disables the timeout; a total timeout
  would end every event stream after ``timeout_seconds``) and ``streamIdleTimeout`` = ``timeout_seconds``, which
  is what nginx's ``proxy_read_timeout`` meant: a stream that sends nothing for that long is closed. Envoy
  forwards response bytes as they arrive (it does not buffer responses unless a filter asks it to, and none of
  these policies does: no compression, no response override), and the streaming route gets no
  ``requestBuffer`` (full request buffering is incompatible with streaming). So a streaming route has no body
  limit at the edge; its service must bound the bodies it reads.
- Rate limits are Envoy Gateway *local* limits: no Redis to run, but each Envoy replica keeps its own buckets,
  so a client spread over replicas may get up to ``proxy_replicas`` x the limit (with ``externalTrafficPolicy:
  Local`` and connection reuse most clients stay on one replica). Envoy Gateway v1.9.2+ keeps up to 10,000
  per-IP buckets per route (earlier releases kept 20).
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pulumi
from .._core import kube as k8s

from .._core import InputError, Platform, options_for
from .._core.platform import Cloud
from . import KubernetesIngressOptions, TlsIngressArgs

COMPONENT = "tls-ingress"
GATEWAY_API = "gateway.networking.k8s.io"
GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1"
ENVOY_GATEWAY_API_VERSION = "gateway.envoyproxy.io/v1alpha1"

#: Namespace Envoy Gateway (installed by ClusterAddons) runs its control plane and, in its default
#: ControllerNamespace mode, every Gateway's Envoy pods.
GATEWAY_NAMESPACE = "envoy-gateway-system"

#: Labels Envoy Gateway puts on every data-plane (Envoy proxy) pod it runs for a Gateway, in GATEWAY_NAMESPACE.
#: Select one Gateway's pods by adding `dataplane_labels(gateway, namespace)`'s owning-gateway labels.
GATEWAY_DATAPLANE_LABELS = {
    "app.kubernetes.io/name": "envoy",
    "app.kubernetes.io/component": "proxy",
    "app.kubernetes.io/managed-by": "envoy-gateway",
}

#: The Envoy Gateway controller (GatewayClass controllerName).
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"

#: Header names this component sets on every HTTPS response.
RESPONSE_HEADERS = (
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Content-Security-Policy",
)

#: Rate limits count each client address separately, IPv4 and IPv6 (a rule matches one address family).
CLIENT_CIDRS = ("0.0.0.0/0", "::/0")

#: Methods and request headers a cross-origin caller may use.
CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
CORS_HEADERS = ("Authorization", "Content-Type", "Accept", "X-Requested-With")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def dataplane_labels(gateway_name: str, gateway_namespace: Any) -> dict[str, Any]:
    """Labels of the Envoy pods serving one Gateway (in GATEWAY_NAMESPACE)."""
    return {
        **GATEWAY_DATAPLANE_LABELS,
        "gateway.envoyproxy.io/owning-gateway-name": gateway_name,
        "gateway.envoyproxy.io/owning-gateway-namespace": gateway_namespace,
    }


def role_of(path: str) -> str:
    """Stable kebab-case role for a path prefix: "/" -> "root", "/api/agents" -> "api-agents"."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    return slug or "root"


def validate(args: TlsIngressArgs, platform: Platform) -> None:
    """Kubernetes-only checks: routed services are public WebServices, header values are single-line, route
    names do not collide.

    Runs twice: in the stack's check pass (components are placeholders whose handle is None, so only the
    self-contained checks apply) and again when the component is built (handles known).
    """
    for route in args.routes:
        handle = getattr(route.service, "handle", None)
        if handle is not None and not getattr(handle, "public", False):
            raise InputError(
                f"routes[{route.path}].service", getattr(route.service, "_name", type(route.service).__name__),
                "only WebServices created with public=True may be routed (the Gateway's data plane is admitted to public services only)",
            )
    csp = args.headers.content_security_policy
    if csp is not None and (not csp or _CONTROL.search(csp) or len(csp) > 4096):
        raise InputError(
            "headers.content_security_policy", csp,
            "a header value must be one line of at most 4096 characters without control characters",
        )
    roles: dict[str, str] = {}
    for route in args.routes:
        other = roles.setdefault(role_of(route.path), route.path)
        if other != route.path:
            raise InputError("routes", route.path, f"its name collides with route {other!r}; use paths that differ in letters or digits")


def _metadata(platform: Platform, name: str, namespace: Any, annotations: dict[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": {**platform.labels(COMPONENT), **platform.k8s_labels(COMPONENT, name)},
    }
    if annotations:
        meta["annotations"] = annotations
    return meta


def security_headers(args: TlsIngressArgs) -> dict[str, str]:
    """The response headers every HTTPS route sets."""
    headers = {
        "Strict-Transport-Security": f"max-age={args.headers.hsts_max_age_seconds}; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": args.headers.frame_options,
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }
    if args.headers.content_security_policy:
        headers["Content-Security-Policy"] = args.headers.content_security_policy
    return headers


def route_timeouts(route: Any) -> dict[str, str]:
    """HTTPRoute rule timeouts: the route's timeout, or none (0s) for a streaming route."""
    if route.streaming:
        return {"request": "0s"}
    return {"request": f"{route.timeout_seconds}s", "backendRequest": f"{route.timeout_seconds}s"}


def rate_limit(route: Any) -> dict[str, Any]:
    """BackendTrafficPolicy rateLimit: the route's requests per minute for each client IP (429 past it)."""
    return {
        "type": "Local",
        "local": {
            "rules": [
                {
                    "clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": cidr}}],
                    "limit": {"requests": route.rate_limit_per_minute, "unit": "Minute"},
                }
                for cidr in CLIENT_CIDRS
            ]
        },
    }


def traffic_policy_spec(route: Any, route_name: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "targetRefs": [{"group": GATEWAY_API, "kind": "HTTPRoute", "name": route_name}],
        "rateLimit": rate_limit(route),
        "timeout": {"http": {"streamIdleTimeout": f"{route.timeout_seconds}s"}},
    }
    if not route.streaming:
        # Envoy's buffer filter: the whole body is received (shielding the app from slow uploads) and anything
        # larger than the limit is answered with 413.
        spec["requestBuffer"] = {"limit": f"{route.body_size_mib}Mi"}
    return spec


def build(name: str, args: TlsIngressArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    opts = options_for(args, Cloud.KUBERNETES, KubernetesIngressOptions)
    namespace = args.network.handle.namespace
    tls_secret = f"{name}-tls"
    shared = opts.shared_gateway
    created: list[Any] = []

    if shared is None:
        gateway_name, gateway_namespace = opts.gateway_name, namespace
        https_parent = {"group": GATEWAY_API, "kind": "Gateway", "name": gateway_name, "sectionName": "https"}
        http_parent: dict[str, Any] | None = {"group": GATEWAY_API, "kind": "Gateway", "name": gateway_name, "sectionName": "http"}
        proxy_name = f"{name}-proxy"
        kubernetes: dict[str, Any] = {
            "envoyDeployment": {"replicas": opts.proxy_replicas},
            "envoyService": {"type": "LoadBalancer", "externalTrafficPolicy": "Local"},
        }
        if opts.proxy_replicas > 1:
            kubernetes["envoyPDB"] = {"minAvailable": 1}
        if opts.load_balancer_annotations:
            kubernetes["envoyService"]["annotations"] = dict(opts.load_balancer_annotations)
        proxy = k8s.apiextensions.CustomResource(
            proxy_name,
            api_version=ENVOY_GATEWAY_API_VERSION,
            kind="EnvoyProxy",
            metadata=_metadata(platform, proxy_name, namespace),
            spec={"provider": {"type": "Kubernetes", "kubernetes": kubernetes}},
            opts=child,
        )
        listener_routes = {"namespaces": {"from": "Same"}, "kinds": [{"group": GATEWAY_API, "kind": "HTTPRoute"}]}
        gateway = k8s.apiextensions.CustomResource(
            f"{name}-gateway",
            api_version=GATEWAY_API_VERSION,
            kind="Gateway",
            metadata=_metadata(platform, gateway_name, namespace, {"cert-manager.io/cluster-issuer": opts.cluster_issuer}),
            spec={
                "gatewayClassName": opts.gateway_class,
                "infrastructure": {"parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": proxy_name}},
                "listeners": [
                    {
                        "name": "https", "protocol": "HTTPS", "port": 443, "hostname": args.domain,
                        "tls": {"mode": "Terminate", "certificateRefs": [{"group": "", "kind": "Secret", "name": tls_secret}]},
                        "allowedRoutes": listener_routes,
                    },
                    {"name": "http", "protocol": "HTTP", "port": 80, "hostname": args.domain, "allowedRoutes": listener_routes},
                ],
            },
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[proxy])),
        )
        created.append(gateway)
        client: dict[str, Any] = {
            "targetRefs": [{"group": GATEWAY_API, "kind": "Gateway", "name": gateway_name}],
            "tls": {"minVersion": "1.2"},
            "timeout": {"http": {"requestHeadersReceivedTimeout": "10s"}},
        }
        if opts.client_ip == "proxy-protocol":
            client["proxyProtocol"] = {}
        k8s.apiextensions.CustomResource(
            f"{name}-client",
            api_version=ENVOY_GATEWAY_API_VERSION,
            kind="ClientTrafficPolicy",
            metadata=_metadata(platform, f"{name}-client", namespace),
            spec=client,
            opts=child,
        )
    else:
        gateway_name, gateway_namespace = shared.name, shared.namespace
        https_parent = {"group": GATEWAY_API, "kind": "Gateway", "namespace": shared.namespace, "name": shared.name,
                        "sectionName": shared.https_section}
        http_parent = None
        if shared.http_section:
            http_parent = {"group": GATEWAY_API, "kind": "Gateway", "namespace": shared.namespace, "name": shared.name,
                           "sectionName": shared.http_section}

    after_gateway = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=created)) if created else child
    if http_parent is not None:
        k8s.apiextensions.CustomResource(
            f"{name}-redirect",
            api_version=GATEWAY_API_VERSION,
            kind="HTTPRoute",
            metadata=_metadata(platform, f"{name}-redirect", namespace),
            spec={
                "parentRefs": [http_parent],
                "hostnames": [args.domain],
                "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}],
            },
            opts=after_gateway,
        )

    header_filter = {
        "type": "ResponseHeaderModifier",
        "responseHeaderModifier": {"set": [{"name": k, "value": v} for k, v in security_headers(args).items()]},
    }
    route_names = []
    for route in sorted(args.routes, key=lambda r: (-len(r.path), r.path)):  # longest prefix first, as documented
        route_name = f"{name}-{role_of(route.path)}"
        route_names.append(route_name)
        http_route = k8s.apiextensions.CustomResource(
            route_name,
            api_version=GATEWAY_API_VERSION,
            kind="HTTPRoute",
            metadata=_metadata(platform, route_name, namespace),
            spec={
                "parentRefs": [https_parent],
                "hostnames": [args.domain],
                "rules": [{
                    "matches": [{"path": {"type": "PathPrefix", "value": route.path}}],
                    "filters": [header_filter],
                    "backendRefs": [{"name": route.service.handle.service_name, "port": route.service.handle.port}],
                    "timeouts": route_timeouts(route),
                }],
            },
            opts=after_gateway,
        )
        k8s.apiextensions.CustomResource(
            f"{route_name}-traffic",
            api_version=ENVOY_GATEWAY_API_VERSION,
            kind="BackendTrafficPolicy",
            metadata=_metadata(platform, route_name, namespace),
            spec=traffic_policy_spec(route, route_name),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[http_route])),
        )

    if args.cors_origins:
        k8s.apiextensions.CustomResource(
            f"{name}-cors",
            api_version=ENVOY_GATEWAY_API_VERSION,
            kind="SecurityPolicy",
            metadata=_metadata(platform, f"{name}-cors", namespace),
            spec={
                "targetRefs": [{"group": GATEWAY_API, "kind": "HTTPRoute", "name": n} for n in route_names],
                "cors": {
                    # One entry per origin: Envoy compares each exactly. (ingress-nginx's single string joined
                    # with ", " failed its validator and fell back to "*".)
                    "allowOrigins": list(args.cors_origins),
                    "allowMethods": list(CORS_METHODS),
                    "allowHeaders": list(CORS_HEADERS),
                    "allowCredentials": True,
                    "maxAge": "600s",
                },
            },
            opts=child,
        )

    return {
        "url": f"https://{args.domain}/",
        "hostname": args.domain,
        "handle": SimpleNamespace(
            namespace=namespace,
            gateway_name=gateway_name,
            gateway_namespace=gateway_namespace,
            route_names=route_names,
            tls_secret=tls_secret if shared is None else None,
            dataplane_namespace=GATEWAY_NAMESPACE,
            dataplane_labels=dataplane_labels(gateway_name, gateway_namespace),
        ),
    }
