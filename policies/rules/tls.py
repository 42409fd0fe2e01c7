"""TLS: HTTPS-only entry points (Gateway API Gateways and HTTPRoutes, ALB listeners), TLS 1.2+ policies,
certificates, HSTS and security headers, explicit route timeouts, TLS to Postgres and Redis, and
``sslmode=require`` in every database URL prodkit builds."""

from __future__ import annotations

import re
from typing import Any, Mapping
from urllib.parse import parse_qs, urlparse

from ._util import (
    CERT_MANAGER_CERTIFICATE, CNPG_CLUSTER, CNPG_POOLER, EG_CLIENT_TRAFFIC, GW_GATEWAY, GW_HTTPROUTE, K8S_CONFIGMAP,
    K8S_SECRET, LB_LISTENER, RDS_INSTANCE, RDS_PARAMETER_GROUP, RDS_PROXY, REDACTED, REDIS_GROUP, SM_VERSION, as_int,
    get, items, mapping, namespace_of, of_type, parse_json, refers_to, secret_data_values, serving_rules, unknown,
    violated_true, walk,
)
from .registry import rule

#: ELB security policies that offer only TLS 1.2 and 1.3 (AWS names them after their lowest version).
_TLS12_POLICY = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)(-|$)")
#: Minimum HSTS max-age accepted: 180 days (the seeds use one year; browsers' preload list asks for one year).
HSTS_MIN_AGE = 15552000
#: Listener type tokens: `aws.lb` and its `aws.alb` alias (same resource, another token).
LB_LISTENERS = (LB_LISTENER, "aws:alb/listener:Listener")
#: Redirect codes that keep the method and tell browsers the move is permanent.
_PERMANENT = (301, 308)


def _annotations(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(get(props, "metadata", "annotations"))


def _listeners(gateway_props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [l for l in items(get(gateway_props, "spec", "listeners")) if isinstance(l, Mapping)]


@rule(
    "ingress-https-only",
    description="Terminate TLS on every Gateway: an HTTPS listener for a named host, each with a certificate.",
    severity="high",
    checklist="SSL/TLS enabled with valid certificates; Enable HTTPS/TLS for all endpoints",
    seeds=("000", "001", "003", "004"),
    types=(GW_GATEWAY,),
)
def ingress_https_only(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    listeners = _listeners(props)
    https = [l for l in listeners if str(l.get("protocol", "")).upper() == "HTTPS"]
    if not https and not any(unknown(l.get("protocol")) for l in listeners):
        out.append("the Gateway has no HTTPS listener: its routes are served over plain HTTP")
    for l in https:
        name = l.get("name")
        tls = mapping(l.get("tls"))
        if str(tls.get("mode", "Terminate")) != "Terminate" or not items(tls.get("certificateRefs")):
            out.append(f"HTTPS listener {name!r} terminates no TLS with a certificate: set tls.mode Terminate and tls.certificateRefs")
        if l.get("hostname") is None:
            out.append(f"HTTPS listener {name!r} has no hostname: it catches every name, which its certificate does not cover")
    return out


def _attachments(route: Mapping[str, Any], gateways: dict[tuple[Any, Any], Mapping[str, Any]]) -> list[tuple[Mapping[str, Any] | None, Any]]:
    """(gateway props or None when outside the stack, sectionName) for each parentRef of a route."""
    props = mapping(route.get("inputs"))
    ns = namespace_of(props)
    out = []
    for ref in items(get(props, "spec", "parentRefs")):
        if not isinstance(ref, Mapping) or ref.get("kind", "Gateway") != "Gateway":
            continue
        key = (ref.get("namespace") or ns, ref.get("name"))
        out.append((gateways.get(key), ref.get("sectionName")))
    return out


def _gateways(resources: list[dict[str, Any]]) -> dict[tuple[Any, Any], Mapping[str, Any]]:
    return {(namespace_of(mapping(g.get("inputs"))), get(g, "inputs", "metadata", "name")): mapping(g.get("inputs"))
            for g in of_type(resources, GW_GATEWAY)}


@rule(
    "gateway-http-redirect-only",
    description="Use a Gateway's plain-HTTP listeners only to redirect to HTTPS (301): no route serves content over HTTP.",
    severity="high",
    checklist="Enable HTTPS/TLS for all endpoints (HTTP only as a redirect)",
    seeds=("000", "003"),
    types=(GW_GATEWAY, GW_HTTPROUTE),
    scope="stack",
)
def gateway_http_redirect_only(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    gateways = _gateways(resources)
    redirected: set[tuple[Any, Any, Any]] = set()
    for route in of_type(resources, GW_HTTPROUTE):
        props = mapping(route.get("inputs"))
        rules = [r for r in items(get(props, "spec", "rules")) if isinstance(r, Mapping)]
        serving = serving_rules(props)
        for gateway, section in _attachments(route, gateways):
            if gateway is None:
                plain = [] if section is not None else ["(any)"]
            else:
                http = [l.get("name") for l in _listeners(gateway) if str(l.get("protocol", "")).upper() == "HTTP"]
                plain = [n for n in http if section is None or n == section]
            if not plain:
                continue
            if serving:
                where = "every listener (no sectionName), plain HTTP included" if section is None else f"plain-HTTP listener {section!r}"
                out.append((route["urn"], f"HTTPRoute {get(props, 'metadata', 'name')!r} serves backends on {where}: attach it to the HTTPS listener by sectionName; an HTTP listener's only route redirects to https"))
                continue
            codes = [get(f, "requestRedirect", "statusCode", default=302) for r in rules for f in items(r.get("filters"))]
            if any(not unknown(c) and as_int(c) not in _PERMANENT for c in codes):
                out.append((route["urn"], f"the HTTPS redirect uses status {codes}: use 301 (permanent), as browsers and crawlers then switch for good"))
            if gateway is not None:
                for n in plain:
                    redirected.add((namespace_of(gateway), get(gateway, "metadata", "name"), n))
    for g in of_type(resources, GW_GATEWAY):
        props = mapping(g.get("inputs"))
        for l in _listeners(props):
            if str(l.get("protocol", "")).upper() == "HTTP" and (namespace_of(props), get(props, "metadata", "name"), l.get("name")) not in redirected:
                out.append((g["urn"], f"plain-HTTP listener {l.get('name')!r} has no route redirecting to https: visitors typing http:// get 404 instead of the site"))
    return out


@rule(
    "lb-http-redirect-only",
    description="Use plain-HTTP load-balancer listeners only to redirect to HTTPS.",
    severity="high",
    checklist="Enable HTTPS/TLS for all endpoints (HTTP only as a redirect)",
    seeds=("000", "003"),
    types=LB_LISTENERS,
)
def lb_http_redirect_only(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if str(props.get("protocol", "")).upper() != "HTTP":
        return []
    actions = [a for a in items(props.get("defaultActions")) if isinstance(a, Mapping)]
    bad = [a for a in actions if a.get("type") != "redirect" or str(get(a, "redirect", "protocol", default="")).upper() != "HTTPS"]
    if not actions or bad:
        kinds = ", ".join(str(a.get("type")) for a in actions) or "none"
        return [f"HTTP listener on port {props.get('port')} serves traffic (default actions: {kinds}); its only action must be a redirect to HTTPS (HTTP_301)"]
    return []


@rule(
    "lb-tls-policy",
    description="Terminate HTTPS on load balancers with a TLS 1.2+ security policy and a certificate.",
    severity="high",
    checklist="SSL/TLS enabled with valid certificates (TLS 1.2+, as the seeds' ssl_protocols TLSv1.2 TLSv1.3)",
    seeds=("000", "004"),
    types=LB_LISTENERS,
)
def lb_tls_policy(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if str(props.get("protocol", "")).upper() not in ("HTTPS", "TLS"):
        return []
    out = []
    policy = props.get("sslPolicy")
    if not unknown(policy):
        if not policy:
            out.append("HTTPS listener has no sslPolicy: the default ELBSecurityPolicy-2016-08 still accepts TLS 1.0 and 1.1")
        elif not _TLS12_POLICY.match(str(policy)):
            out.append(f"sslPolicy {policy!r} accepts TLS versions below 1.2; use ELBSecurityPolicy-TLS13-1-2-2021-06")
    if not props.get("certificateArn"):
        out.append("HTTPS listener has no certificateArn")
    return out


@rule(
    "gateway-tls-policy",
    description="Never let a Gateway accept TLS below 1.2 (Envoy Gateway ClientTrafficPolicy tls.minVersion).",
    severity="high",
    checklist="SSL/TLS enabled with valid certificates (TLS 1.2+, as the seeds' ssl_protocols TLSv1.2 TLSv1.3)",
    seeds=("000", "004"),
    types=(EG_CLIENT_TRAFFIC,),
)
def gateway_tls_policy(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    version = get(props, "spec", "tls", "minVersion")
    if version is None or unknown(version) or str(version) in ("1.2", "1.3"):
        return []  # unset: Envoy Gateway's default minimum is TLS 1.2
    return [f"tls.minVersion is {version!r}: clients may negotiate TLS below 1.2; set \"1.2\" (or \"1.3\")"]


@rule(
    "tls-certificate",
    description="Issue every TLS certificate automatically (cert-manager or ACM DNS validation) so it renews.",
    severity="medium",
    checklist="SSL certificates installed and auto-renewing",
    seeds=("000", "001", "003", "004"),
    types=(GW_GATEWAY, CERT_MANAGER_CERTIFICATE, "aws:acm/certificate:Certificate"),
    scope="stack",
)
def tls_certificate(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    issued = {(namespace_of(mapping(c.get("inputs"))), get(c, "inputs", "spec", "secretName")) for c in of_type(resources, CERT_MANAGER_CERTIFICATE)}
    for gw in of_type(resources, GW_GATEWAY):
        props = mapping(gw.get("inputs"))
        ns = namespace_of(props)
        ann = _annotations(props)
        shim = bool(ann.get("cert-manager.io/cluster-issuer") or ann.get("cert-manager.io/issuer"))
        for l in _listeners(props):
            if str(l.get("protocol", "")).upper() != "HTTPS":
                continue
            for ref in items(get(l, "tls", "certificateRefs")):
                secret = get(ref, "name")
                if unknown(secret) or (ns, secret) in issued:
                    continue
                if shim and l.get("hostname"):
                    continue  # cert-manager's gateway-shim issues a Certificate per annotated listener with a hostname
                why = "no hostname, so cert-manager's gateway-shim skips it" if shim else "no cert-manager.io/cluster-issuer annotation on the Gateway or Certificate writes it"
                out.append((gw["urn"], f"listener {l.get('name')!r} serves Secret {secret!r}, which nothing renews ({why})"))
    for cert in of_type(resources, "aws:acm/certificate:Certificate"):
        props = mapping(cert.get("inputs"))
        if props.get("privateKey") or props.get("certificateBody"):
            out.append((cert["urn"], "imported ACM certificate: ACM cannot renew it; request one with validationMethod DNS"))
        elif not unknown(props.get("validationMethod")) and props.get("validationMethod") != "DNS":
            out.append((cert["urn"], f"ACM certificate validationMethod is {props.get('validationMethod')!r}: use DNS so renewals need no e-mail action"))
    return out


def _hsts_problem(value: Any) -> str | None:
    if unknown(value):
        return None
    if not isinstance(value, str) or not value:
        return "no Strict-Transport-Security header"
    m = re.search(r"max-age\s*=\s*(\d+)", value)
    if not m or int(m.group(1)) < HSTS_MIN_AGE:
        return f"Strict-Transport-Security {value!r} has a max-age below {HSTS_MIN_AGE} s (180 days)"
    return None


def _response_headers(rule_props: Mapping[str, Any]) -> dict[str, Any]:
    """Response headers a route rule sets or adds with standard ResponseHeaderModifier filters (names lowercased)."""
    found: dict[str, Any] = {}
    for f in items(rule_props.get("filters")):
        if get(f, "type") != "ResponseHeaderModifier":
            continue
        for key in ("set", "add"):
            for h in items(get(f, "responseHeaderModifier", key)):
                if isinstance(get(h, "name"), str):
                    found[get(h, "name").lower()] = get(h, "value")
    return found


@rule(
    "hsts-and-security-headers",
    description="Send HSTS (max-age >= 180 days), X-Content-Type-Options nosniff and X-Frame-Options on every HTTPS entry point.",
    severity="medium",
    checklist="Security headers added to Nginx (HSTS, X-Frame-Options, X-Content-Type-Options)",
    seeds=("000", "004"),
    types=(GW_HTTPROUTE, *LB_LISTENERS),
    scope="stack",
)
def hsts_and_security_headers(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    for route in of_type(resources, GW_HTTPROUTE):
        props = mapping(route.get("inputs"))
        for index, r in enumerate(serving_rules(props)):
            headers = _response_headers(r)
            problems = [p for p in (_hsts_problem(headers.get("strict-transport-security")),) if p]
            xcto = headers.get("x-content-type-options")
            if not unknown(xcto) and str(xcto or "").lower() != "nosniff":
                problems.append("no X-Content-Type-Options: nosniff")
            xfo = headers.get("x-frame-options")
            if not unknown(xfo) and str(xfo or "").upper() not in ("DENY", "SAMEORIGIN") and "frame-ancestors" not in str(headers.get("content-security-policy", "")):
                problems.append("no X-Frame-Options (DENY or SAMEORIGIN)")
            out += [(route["urn"], f"rule {index} (ResponseHeaderModifier filter): {p}") for p in problems]
    for lst in of_type(resources, *LB_LISTENERS):
        props = mapping(lst.get("inputs"))
        if str(props.get("protocol", "")).upper() != "HTTPS":
            continue
        problems = [p for p in (_hsts_problem(props.get("routingHttpResponseStrictTransportSecurityHeaderValue")),) if p]
        xcto = props.get("routingHttpResponseXContentTypeOptionsHeaderValue")
        if not unknown(xcto) and str(xcto).lower() != "nosniff":
            problems.append("routingHttpResponseXContentTypeOptionsHeaderValue is not 'nosniff'")
        xfo = props.get("routingHttpResponseXFrameOptionsHeaderValue")
        if not unknown(xfo) and str(xfo).upper() not in ("DENY", "SAMEORIGIN"):
            problems.append("routingHttpResponseXFrameOptionsHeaderValue is not DENY or SAMEORIGIN")
        out += [(lst["urn"], f"HTTPS listener: {p}") for p in problems]
    return out


@rule(
    "route-timeouts",
    description="Give every HTTPRoute rule an explicit request timeout (Envoy's route default of 15 s cuts long agent calls; 0s only for streams).",
    severity="low",
    checklist="Timeouts set for long-running requests (000: 600 s agent calls, SSE without buffering)",
    seeds=("000",),
    types=(GW_HTTPROUTE,),
)
def route_timeouts(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    for index, r in enumerate(serving_rules(props)):
        request = get(r, "timeouts", "request")
        if request is None:
            out.append(f"rule {index} has no timeouts.request: Envoy applies its 15 s route default")
    return out


def _hba_rejects_plaintext(lines: Any) -> bool:
    return any(re.match(r"^\s*hostnossl\s+\S+\s+\S+\s+\S+\s+reject\b", str(line)) for line in items(lines))


@rule(
    "postgres-require-tls",
    description="Make Postgres refuse unencrypted connections (rds.force_ssl=1, RDS Proxy requireTls, CNPG pg_hba hostnossl reject).",
    severity="high",
    checklist="Database connections use SSL (sslmode=require)",
    seeds=("000", "004"),
    types=(RDS_PARAMETER_GROUP, RDS_PROXY, CNPG_CLUSTER, CNPG_POOLER),
)
def postgres_require_tls(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == RDS_PARAMETER_GROUP:
        family = props.get("family")
        if not isinstance(family, str) or not family.startswith("postgres"):
            return []
        for p in items(props.get("parameters")):
            if get(p, "name") == "rds.force_ssl":
                value = get(p, "value")
                if unknown(value) or str(value) == "1":
                    return []
                return [f"rds.force_ssl is {value!r}: set it to 1 so the server refuses non-TLS connections"]
        return ["parameter group does not set rds.force_ssl=1: clients may connect without TLS"]
    if resource_type == RDS_PROXY:
        return ["RDS Proxy requireTls is not true: clients may connect to the proxy without TLS"] if violated_true(props.get("requireTls")) else []
    if resource_type == CNPG_CLUSTER:
        if not _hba_rejects_plaintext(get(props, "spec", "postgresql", "pg_hba")):
            return ["spec.postgresql.pg_hba has no 'hostnossl all all all reject' line: CNPG accepts non-TLS connections by default"]
        return []
    if resource_type == CNPG_POOLER:
        pgb = mapping(get(props, "spec", "pgbouncer"))
        mode = str(get(pgb, "parameters", "client_tls_sslmode", default="")).lower()
        if mode in ("require", "verify-ca", "verify-full") or _hba_rejects_plaintext(pgb.get("pg_hba")):
            return []
        return ["PgBouncer accepts non-TLS clients: set spec.pgbouncer.parameters.client_tls_sslmode to 'require' (or a pg_hba 'hostnossl ... reject' line)"]
    return []


@rule(
    "rds-tls-parameter-group",
    description="Attach a parameter group of the stack that enforces TLS to every RDS Postgres instance.",
    severity="high",
    checklist="Database connections use SSL (sslmode=require)",
    seeds=("000", "004"),
    types=(RDS_INSTANCE,),
    scope="stack",
)
def rds_tls_parameter_group(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    groups = of_type(resources, RDS_PARAMETER_GROUP)
    for inst in of_type(resources, RDS_INSTANCE):
        props = mapping(inst.get("inputs"))
        if not str(props.get("engine", "postgres")).startswith("postgres"):
            continue
        ref = props.get("parameterGroupName")
        if unknown(ref):
            continue
        if not ref:
            out.append((inst["urn"], "no parameterGroupName: the engine default group is used, which the stack cannot show enforces TLS"))
            continue
        group = next((g for g in groups if get(g, "inputs", "name") == ref or refers_to(ref, g)), None)
        if group is None:
            out.append((inst["urn"], f"parameter group {ref!r} is not part of the stack: rds.force_ssl=1 cannot be verified"))
        elif postgres_require_tls(RDS_PARAMETER_GROUP, mapping(group.get("inputs")), {}):
            out.append((inst["urn"], f"parameter group {ref!r} does not set rds.force_ssl=1"))
    return out


@rule(
    "redis-require-tls",
    description="Encrypt Redis traffic in transit (required mode) and require an AUTH token.",
    severity="high",
    checklist="Redis with TLS in transit and AUTH (architecture; seed 001 transit-encryption-enabled)",
    seeds=("001", "004"),
    types=(REDIS_GROUP,),
)
def redis_require_tls(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    if violated_true(props.get("transitEncryptionEnabled")):
        out.append("transitEncryptionEnabled is not true: Redis traffic (including the AUTH token) travels in clear text")
    elif str(props.get("transitEncryptionMode", "required")).lower() == "preferred":
        out.append("transitEncryptionMode is 'preferred': clients may still connect without TLS; use 'required'")
    if not props.get("authToken") and not items(props.get("userGroupIds")):
        out.append("no authToken or userGroupIds: any client in the network may use the cache")
    return out


_PG_URL = re.compile(r"^postgres(ql)?://", re.I)


def _sslmode_problem(url: Any) -> str | None:
    if not isinstance(url, str) or unknown(url) or url == REDACTED or not _PG_URL.match(url):
        return None
    mode = parse_qs(urlparse(url).query).get("sslmode", [""])[0]
    if mode not in ("require", "verify-ca", "verify-full"):
        host = urlparse(url).hostname or "?"
        return f"a Postgres URL to {host} has sslmode={mode or '(unset)'}; add sslmode=require"
    return None


@rule(
    "database-url-sslmode",
    description="Put sslmode=require (or verify-ca/verify-full) in every Postgres URL stored or passed to an app.",
    severity="high",
    checklist="Database connections use SSL (sslmode=require)",
    seeds=("000", "004"),
    types=(K8S_SECRET, K8S_CONFIGMAP, SM_VERSION, "aws:ecs/taskDefinition:TaskDefinition",
           "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:CronJob"),
)
def database_url_sslmode(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    """Values redacted by `prodkit plan` cannot be read there; CrossGuard sees them in clear and checks them."""
    candidates: list[Any] = []
    if resource_type == K8S_SECRET:
        candidates = [v for _, v in secret_data_values(props)]
    elif resource_type == K8S_CONFIGMAP:
        candidates = list(mapping(props.get("data")).values())
    elif resource_type == SM_VERSION:
        raw = props.get("secretString")
        parsed = parse_json(raw)
        candidates = [raw] + ([v for v in walk(parsed) if isinstance(v, str)] if parsed is not None else [])
    else:
        candidates = [v for v in walk(props) if isinstance(v, str)]
        for c in items(parse_json(props.get("containerDefinitions"))):
            candidates += [v for v in walk(c) if isinstance(v, str)]
    problems = {p for p in (_sslmode_problem(v) for v in candidates) if p}
    return sorted(problems)
