"""Abuse: rate limiting on every public route (Envoy Gateway per-client-IP limits on Kubernetes; a WAF rate-based rule
on every ALB)."""

from __future__ import annotations

from typing import Any, Mapping

from ._util import (
    EG_BACKEND_TRAFFIC, GW_HTTPROUTE, LB, WAF_ACL, WAF_ASSOCIATION, as_int, get, items, mapping, namespace_of, of_type,
    parse_json, refers_to, same_component, serving_rules, targets, unknown,
)
from .registry import rule

_CHECKLIST = "Rate limiting configured on Nginx/Ingress; Enable rate limiting on API endpoints; WAF and DDoS protection"


def _per_client_limit(policy_props: Mapping[str, Any]) -> str | None:
    """None when an Envoy Gateway BackendTrafficPolicy limits each client IP; else what is wrong."""
    rate = mapping(get(policy_props, "spec", "rateLimit"))
    if not rate:
        return "sets no rateLimit"
    rules = [r for kind in ("local", "global") for r in items(get(rate, kind, "rules")) if isinstance(r, Mapping)]
    limited = [r for r in rules if (as_int(get(r, "limit", "requests")) or 0) > 0 and not get(r, "shadowMode")]
    if not limited:
        return "has no rate-limit rule with a positive limit (shadow-mode rules only count)"
    per_ip = [r for r in limited if any(get(sel, "sourceCIDR", "type") == "Distinct" for sel in items(r.get("clientSelectors")))]
    if not per_ip:
        return "limits all clients together (no sourceCIDR Distinct selector): one abusive client exhausts everyone's allowance"
    return None


@rule(
    "ingress-rate-limit",
    description="Rate-limit every routed path per client IP (an Envoy Gateway BackendTrafficPolicy on each HTTPRoute or its Gateway).",
    severity="high",
    checklist=_CHECKLIST,
    seeds=("000", "003", "004"),
    types=(GW_HTTPROUTE, EG_BACKEND_TRAFFIC),
    scope="stack",
)
def ingress_rate_limit(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    policies = [mapping(p.get("inputs")) for p in of_type(resources, EG_BACKEND_TRAFFIC)]
    for route in of_type(resources, GW_HTTPROUTE):
        props = mapping(route.get("inputs"))
        if not serving_rules(props):
            continue  # an https redirect serves nothing to limit
        ns, name = namespace_of(props), get(props, "metadata", "name")
        gateways = [get(ref, "name") for ref in items(get(props, "spec", "parentRefs")) if (get(ref, "namespace") or ns) == ns]
        mine = [p for p in policies if namespace_of(p) == ns and (targets(p, "HTTPRoute", name) or any(targets(p, "Gateway", g) for g in gateways))]
        if not mine:
            out.append((route["urn"], f"HTTPRoute {name!r} is not rate-limited: no BackendTrafficPolicy targets it or its Gateway"))
            continue
        problems = [_per_client_limit(p) for p in mine]
        if all(problems):
            out.append((route["urn"], f"the BackendTrafficPolicy of HTTPRoute {name!r} {problems[0]}"))
    return out


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
