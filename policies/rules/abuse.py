"""Abuse: rate limiting on every public route (ingress-nginx annotations; a WAF rate-based rule on every ALB)."""

from __future__ import annotations

from typing import Any, Mapping

from ._util import (
    K8S_INGRESS, LB, WAF_ACL, WAF_ASSOCIATION, as_int, get, items, mapping, of_type, parse_json, refers_to,
    same_component, unknown,
)
from .registry import rule

NGINX = "nginx.ingress.kubernetes.io"
_CHECKLIST = "Rate limiting configured on Nginx/Ingress; Enable rate limiting on API endpoints; WAF and DDoS protection"


@rule(
    "ingress-rate-limit",
    description="Rate-limit every Ingress per client (ingress-nginx limit-rpm or limit-rps).",
    severity="high",
    checklist=_CHECKLIST,
    seeds=("000", "003", "004"),
    types=(K8S_INGRESS,),
)
def ingress_rate_limit(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    ann = mapping(get(props, "metadata", "annotations"))
    limits = [ann.get(f"{NGINX}/limit-rpm"), ann.get(f"{NGINX}/limit-rps")]
    if any(unknown(v) for v in limits):
        return []
    if any((as_int(v) or 0) > 0 for v in limits):
        return []
    hint = ""
    if f"{NGINX}/rate-limit" in ann:
        hint = f" ({NGINX}/rate-limit, used by the seed guides, is not an ingress-nginx annotation and does nothing)"
    return [f"no {NGINX}/limit-rpm or limit-rps annotation: the route is not rate-limited{hint}"]


def _rate_rules(acl: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The WebAcl's rules that carry a rate-based statement (typed `rules` or the `ruleJson` string)."""
    props = mapping(acl.get("inputs"))
    found = [r for r in items(props.get("rules")) if get(r, "statement", "rateBasedStatement") is not None]
    for r in items(parse_json(props.get("ruleJson"))):
        if get(r, "Statement", "RateBasedStatement") is not None:
            found.append({"action": {k.lower(): v for k, v in mapping(get(r, "Action")).items()}})
    return found


def _public_albs(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [lb for lb in of_type(resources, LB)
            if get(lb, "inputs", "internal") is not True
            and get(lb, "inputs", "loadBalancerType", default="application") == "application"]


def _acl_of(lb: Mapping[str, Any], resources: list[dict[str, Any]]) -> list[Mapping[str, Any]]:
    """Web ACLs associated with a load balancer (by reference, or by sharing its component when ARNs are unknown)."""
    acls = of_type(resources, WAF_ACL)
    out = []
    for assoc in of_type(resources, WAF_ASSOCIATION):
        target = refers_to(get(assoc, "inputs", "resourceArn"), lb)
        if target is False or (target is None and not same_component(assoc, lb)):
            continue
        for acl in acls:
            link = refers_to(get(assoc, "inputs", "webAclArn"), acl)
            if link or (link is None and same_component(assoc, acl)):
                out.append(acl)
    return out


@rule(
    "alb-waf-rate-limit",
    description="Associate every internet-facing ALB with a WAFv2 web ACL that has a rate-based rule.",
    severity="high",
    checklist=_CHECKLIST,
    seeds=("003", "004"),
    types=(LB, WAF_ACL, WAF_ASSOCIATION),
    scope="stack",
)
def alb_waf_rate_limit(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    for lb in _public_albs(resources):
        acls = _acl_of(lb, resources)
        if not acls:
            out.append((lb["urn"], "internet-facing ALB has no WAFv2 web ACL association: no rate limiting or managed rules"))
        elif not any(_rate_rules(acl) for acl in acls):
            out.append((lb["urn"], "the ALB's web ACL has no rate-based rule: clients are not rate-limited"))
    return out


@rule(
    "waf-rate-rule-blocks",
    description="Make WAF rate-based rules block (not only count) in production.",
    severity="medium",
    checklist=_CHECKLIST,
    seeds=("003", "004"),
    types=(WAF_ACL,),
    prod_only=True,
)
def waf_rate_rule_blocks(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    for r in _rate_rules({"inputs": props}):
        action = mapping(get(r, "action"))
        if "block" not in action and "captcha" not in action and "challenge" not in action:
            out.append(f"rate-based rule {get(r, 'name', default='')!r} only counts ({', '.join(action) or 'no action'}); block in prod".replace(" ''", ""))
    return out
