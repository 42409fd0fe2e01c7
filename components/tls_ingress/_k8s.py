"""TlsIngress on Kubernetes: ingress-nginx Ingress objects with a cert-manager certificate.

What it creates (all in the Network's namespace):

- ``{name}-headers``: a ConfigMap of response headers (HSTS, nosniff, X-Frame-Options, Referrer-Policy, CSP) that
  every Ingress references with ``nginx.ingress.kubernetes.io/custom-headers``. Snippet annotations
  (``configuration-snippet`` with ``more_set_headers``) are disabled by default in current ingress-nginx because
  they let any namespace inject nginx configuration; ``custom-headers`` is the controller-safe replacement. The
  controller only emits header names listed in its ``global-allowed-response-headers`` setting
  (:data:`RESPONSE_HEADERS`; the ClusterAddons component sets it).
- ``{name}-{role}``: one ``networking.k8s.io/v1`` Ingress per group of routes sharing identical annotations
  (rate limit, body size, timeouts, buffering). ingress-nginx annotations apply to a whole Ingress, so a route
  with a 600 s timeout or SSE streaming cannot share an object with a route that has 60 s and buffering. The role
  is derived from the group's first path ("/" -> "root", "/api/agents" -> "api-agents"), so names are stable
  when unrelated routes change.

Every Ingress carries the same TLS section (host = domain, secret ``{name}-tls``). Only the primary Ingress
(the group holding the shortest path) carries ``cert-manager.io/cluster-issuer``: cert-manager's ingress-shim
creates one Certificate per annotated Ingress named after the TLS secret, so annotating several Ingresses that
share a secret makes them fight over one Certificate. ingress-nginx merges Ingresses of the same host into one
server, so the certificate issued for the primary serves every path.
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
NGINX = "nginx.ingress.kubernetes.io"

#: Header names this component sets; ingress-nginx must list them in `global-allowed-response-headers`.
RESPONSE_HEADERS = (
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Content-Security-Policy",
)

#: burst = limit-rpm x multiplier. nginx's own default is 5; the seeds use bursts of 10-20 on 60-100 req/min, so
#: the smallest allowed multiplier (1: a client may burst one minute's allowance) is the closest honest match.
BURST_MULTIPLIER = 1

#: Characters ingress-nginx accepts in a custom header value (its `valueRegexp`); others deny the location.
_HEADER_VALUE = re.compile(r"^[a-zA-Z\d_ :;.,\\/\"'?!(){}\[\]@<>=\-+*#$&`|~^%]+$")


def role_of(path: str) -> str:
    """Stable kebab-case role for a path prefix: "/" -> "root", "/api/agents" -> "api-agents"."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    return slug or "root"


def validate(args: TlsIngressArgs, platform: Platform) -> None:
    """Kubernetes-only checks: routed services are public WebServices, header values nginx accepts.

    Runs twice: in the stack's check pass (components are placeholders whose handle is None, so only the
    self-contained checks apply) and again when the component is built (handles known).
    """
    for route in args.routes:
        handle = getattr(route.service, "handle", None)
        if handle is not None and not getattr(handle, "public", False):
            raise InputError(
                f"routes[{route.path}].service", getattr(route.service, "_name", type(route.service).__name__),
                "only WebServices created with public=True may be routed (the ingress controller is admitted to public services only)",
            )
    csp = args.headers.content_security_policy
    if csp is not None and not _HEADER_VALUE.match(csp):
        raise InputError(
            "headers.content_security_policy", csp,
            "ingress-nginx refuses header values outside letters, digits, spaces and the punctuation _:;.,\\/\"'?!(){}[]@<>=-+*#$&`|~^%",
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
    """The response headers every route gets (ConfigMap data for `custom-headers`)."""
    headers = {
        "Strict-Transport-Security": f"max-age={args.headers.hsts_max_age_seconds}; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": args.headers.frame_options,
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }
    if args.headers.content_security_policy:
        headers["Content-Security-Policy"] = args.headers.content_security_policy
    return headers


def route_annotations(route: Any) -> dict[str, str]:
    """Annotations that depend on the route; routes with equal dicts share an Ingress."""
    ann = {
        f"{NGINX}/limit-rpm": str(route.rate_limit_per_minute),
        f"{NGINX}/limit-burst-multiplier": str(BURST_MULTIPLIER),
        f"{NGINX}/proxy-body-size": f"{route.body_size_mib}m",
        f"{NGINX}/proxy-read-timeout": str(route.timeout_seconds),
        f"{NGINX}/proxy-send-timeout": str(route.timeout_seconds),
    }
    if route.streaming:
        # SSE: nginx must pass each event through as it arrives, and not hold the request body either.
        ann[f"{NGINX}/proxy-buffering"] = "off"
        ann[f"{NGINX}/proxy-request-buffering"] = "off"
    return ann


def group_routes(routes) -> list[tuple[str, dict[str, str], list[Any]]]:
    """[(role, route annotations, routes)], one entry per distinct annotation set, primary (shortest path) first."""
    groups: dict[tuple, list[Any]] = {}
    for route in routes:
        groups.setdefault(tuple(sorted(route_annotations(route).items())), []).append(route)
    out = []
    for key, members in groups.items():
        members = sorted(members, key=lambda r: (-len(r.path), r.path))  # longest prefix first, as documented
        first = min((r.path for r in members), key=lambda p: (len(p), p))
        out.append((role_of(first), dict(key), members))
    out.sort(key=lambda g: (min(len(r.path) for r in g[2]), g[0]))
    return out


def build(name: str, args: TlsIngressArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    opts = options_for(args, Cloud.KUBERNETES, KubernetesIngressOptions)
    namespace = args.network.handle.namespace
    tls_secret = f"{name}-tls"

    headers_name = f"{name}-headers"
    headers = k8s.core.v1.ConfigMap(
        headers_name,
        metadata=_metadata(platform, headers_name, namespace),
        data=security_headers(args),
        opts=child,
    )

    common: dict[str, Any] = {
        f"{NGINX}/ssl-redirect": "true",
        # force: redirect even when TLS terminates in front of nginx (a cloud load balancer).
        f"{NGINX}/force-ssl-redirect": "true",
        f"{NGINX}/custom-headers": pulumi.Output.concat(namespace, "/", headers_name),
    }
    if args.cors_origins:
        common[f"{NGINX}/enable-cors"] = "true"
        common[f"{NGINX}/cors-allow-origin"] = ", ".join(args.cors_origins)

    ingress_names = []
    for index, (role, per_route, routes) in enumerate(group_routes(args.routes)):
        annotations = {**common, **per_route}
        if index == 0:
            annotations["cert-manager.io/cluster-issuer"] = opts.cluster_issuer
        paths = [
            {
                "path": route.path,
                "pathType": "Prefix",
                "backend": {"service": {"name": route.service.handle.service_name, "port": {"number": route.service.handle.port}}},
            }
            for route in routes
        ]
        ingress_name = f"{name}-{role}"
        ingress_names.append(ingress_name)
        k8s.networking.v1.Ingress(
            ingress_name,
            metadata=_metadata(platform, ingress_name, namespace, annotations),
            spec={
                "ingressClassName": opts.ingress_class,
                "tls": [{"hosts": [args.domain], "secretName": tls_secret}],
                "rules": [{"host": args.domain, "http": {"paths": paths}}],
            },
            # The header ConfigMap must exist first: a missing one makes nginx deny the location.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[headers])),
        )

    return {
        "url": f"https://{args.domain}/",
        "hostname": args.domain,
        "handle": SimpleNamespace(
            namespace=namespace,
            ingress_names=ingress_names,
            tls_secret=tls_secret,
            headers_config_map=headers_name,
        ),
    }
