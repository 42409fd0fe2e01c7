"""TLS: HTTPS-only entry points, TLS 1.2+ policies, certificates, HSTS and security headers, TLS to Postgres and
Redis, and ``sslmode=require`` in every database URL prodkit builds."""

from __future__ import annotations

import re
from typing import Any, Mapping
from urllib.parse import parse_qs, urlparse

from ._util import (
    CERT_MANAGER_CERTIFICATE, CNPG_CLUSTER, CNPG_POOLER, K8S_CONFIGMAP, K8S_INGRESS, K8S_SECRET, LB_LISTENER,
    RDS_INSTANCE, RDS_PARAMETER_GROUP, RDS_PROXY, REDACTED, REDIS_GROUP, SM_VERSION, get, items, mapping,
    namespace_of, of_type, parse_json, refers_to, secret_data_values, unknown, violated_true, walk,
)
from .registry import rule

NGINX = "nginx.ingress.kubernetes.io"

#: ELB security policies that offer only TLS 1.2 and 1.3 (AWS names them after their lowest version).
_TLS12_POLICY = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)")
#: Minimum HSTS max-age accepted: 180 days (the seeds use one year; browsers' preload list asks for one year).
HSTS_MIN_AGE = 15552000


def _annotations(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(get(props, "metadata", "annotations"))


@rule(
    "ingress-https-only",
    description="Serve every Ingress host over TLS and redirect plain HTTP to HTTPS.",
    severity="high",
    checklist="SSL/TLS enabled with valid certificates; Enable HTTPS/TLS for all endpoints",
    seeds=("000", "001", "003", "004"),
    types=(K8S_INGRESS,),
)
def ingress_https_only(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    tls = [t for t in items(get(props, "spec", "tls")) if isinstance(t, Mapping)]
    covered = {h for t in tls for h in items(t.get("hosts"))}
    hosts = [get(r, "host") for r in items(get(props, "spec", "rules"))]
    if not tls:
        out.append("the Ingress has no spec.tls section: its hosts are served over plain HTTP")
    else:
        for host in hosts:
            if isinstance(host, str) and not unknown(host) and host not in covered:
                out.append(f"host {host!r} is not listed in spec.tls hosts: it is served without its certificate")
        if any(h is None for h in hosts):
            out.append("a rule without a host catches every name, which no certificate covers; set rules[].host")
    ann = _annotations(props)
    redirect = ann.get(f"{NGINX}/ssl-redirect", ann.get(f"{NGINX}/force-ssl-redirect"))
    if str(redirect).lower() == "false" or str(ann.get(f"{NGINX}/force-ssl-redirect", "")).lower() == "false":
        out.append(f"HTTP is not redirected: set {NGINX}/ssl-redirect and force-ssl-redirect to \"true\"")
    elif redirect is None:
        out.append(f"no HTTP->HTTPS redirect annotation: set {NGINX}/ssl-redirect: \"true\" (and force-ssl-redirect behind a cloud load balancer)")
    return out


@rule(
    "lb-http-redirect-only",
    description="Use plain-HTTP load-balancer listeners only to redirect to HTTPS.",
    severity="high",
    checklist="Enable HTTPS/TLS for all endpoints (HTTP only as a redirect)",
    seeds=("000", "003"),
    types=(LB_LISTENER,),
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
    types=(LB_LISTENER,),
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
    "tls-certificate",
    description="Issue every TLS certificate automatically (cert-manager or ACM DNS validation) so it renews.",
    severity="medium",
    checklist="SSL certificates installed and auto-renewing",
    seeds=("000", "001", "003", "004"),
    types=(K8S_INGRESS, CERT_MANAGER_CERTIFICATE, "aws:acm/certificate:Certificate"),
    scope="stack",
)
def tls_certificate(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    ingresses = of_type(resources, K8S_INGRESS)
    issued_secrets = set()
    for ing in ingresses:
        ann = _annotations(mapping(ing.get("inputs")))
        if ann.get("cert-manager.io/cluster-issuer") or ann.get("cert-manager.io/issuer"):
            for t in items(get(ing, "inputs", "spec", "tls")):
                issued_secrets.add((namespace_of(mapping(ing.get("inputs"))), get(t, "secretName")))
    for cert in of_type(resources, CERT_MANAGER_CERTIFICATE):
        issued_secrets.add((namespace_of(mapping(cert.get("inputs"))), get(cert, "inputs", "spec", "secretName")))
    for ing in ingresses:
        ns = namespace_of(mapping(ing.get("inputs")))
        for t in items(get(ing, "inputs", "spec", "tls")):
            secret = get(t, "secretName")
            if not secret:
                out.append((ing["urn"], "spec.tls entry has no secretName: nginx serves its self-signed fallback certificate"))
            elif not unknown(secret) and (ns, secret) not in issued_secrets:
                out.append((ing["urn"], f"TLS secret {secret!r} is not issued by cert-manager (no Ingress with a cert-manager.io/cluster-issuer annotation or Certificate writes it): it will not renew"))
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


@rule(
    "hsts-and-security-headers",
    description="Send HSTS (max-age >= 180 days), X-Content-Type-Options nosniff and X-Frame-Options on every HTTPS entry point.",
    severity="medium",
    checklist="Security headers added to Nginx (HSTS, X-Frame-Options, X-Content-Type-Options)",
    seeds=("000", "004"),
    types=(K8S_INGRESS, K8S_CONFIGMAP, LB_LISTENER),
    scope="stack",
)
def hsts_and_security_headers(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    config_maps = {}
    for cm in of_type(resources, K8S_CONFIGMAP):
        props = mapping(cm.get("inputs"))
        config_maps[(namespace_of(props), get(props, "metadata", "name"))] = mapping(props.get("data"))
    for ing in of_type(resources, K8S_INGRESS):
        props = mapping(ing.get("inputs"))
        if not items(get(props, "spec", "tls")):
            continue  # ingress-https-only reports it
        ref = _annotations(props).get(f"{NGINX}/custom-headers")
        if unknown(ref):
            continue
        if not ref:
            out.append((ing["urn"], f"no {NGINX}/custom-headers annotation: responses carry no HSTS or security headers"))
            continue
        ns, _, name = str(ref).rpartition("/")
        data = config_maps.get((ns or namespace_of(props), name))
        if data is None:
            out.append((ing["urn"], f"custom-headers ConfigMap {ref!r} is not part of the stack"))
            continue
        problems = [p for p in (_hsts_problem(data.get("Strict-Transport-Security")),) if p]
        if str(data.get("X-Content-Type-Options", "")).lower() != "nosniff":
            problems.append("no X-Content-Type-Options: nosniff")
        if str(data.get("X-Frame-Options", "")).upper() not in ("DENY", "SAMEORIGIN") and "frame-ancestors" not in str(data.get("Content-Security-Policy", "")):
            problems.append("no X-Frame-Options (DENY or SAMEORIGIN)")
        out += [(ing["urn"], f"headers ConfigMap {ref}: {p}") for p in problems]
    for lst in of_type(resources, LB_LISTENER):
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
