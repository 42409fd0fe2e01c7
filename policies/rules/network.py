"""Network policies (default deny per namespace, every workload's pods selected) and CORS origins."""

from __future__ import annotations

from typing import Any, Mapping

from ._util import (
    CNPG_CLUSTER, ECS_TASK, EG_SECURITY, K8S_CONFIGMAP, K8S_NAMESPACE, K8S_NETPOL, LB_LISTENER, POD_WORKLOADS,
    SERVING_WORKLOADS, container_definitions, containers, empty_selector, get, items, k8s_name, mapping,
    namespace_of, of_type, pod_spec, pod_template, selector_matches, unknown,
)
from .registry import rule



def _default_deny(np: Mapping[str, Any]) -> bool:
    spec = mapping(get(np, "inputs", "spec"))
    types = set(items(spec.get("policyTypes")))
    return (empty_selector(spec.get("podSelector")) and {"Ingress", "Egress"} <= types
            and not items(spec.get("ingress")) and not items(spec.get("egress")))


@rule(
    "networkpolicy-default-deny",
    description="Give every namespace prodkit uses a default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules).",
    severity="high",
    checklist="Network policies restrict pod-to-pod communication; Network policies configured",
    seeds=("000", "002", "004"),
    types=(K8S_NAMESPACE, K8S_NETPOL, *SERVING_WORKLOADS, CNPG_CLUSTER),
    scope="stack",
)
def networkpolicy_default_deny(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    denied = {namespace_of(mapping(np.get("inputs"))) for np in of_type(resources, K8S_NETPOL) if _default_deny(np)}
    out, seen = [], set()
    for ns in of_type(resources, K8S_NAMESPACE):
        name = k8s_name(ns)
        seen.add(name)
        if name not in denied:
            out.append((ns["urn"], f"namespace {name} has no default-deny NetworkPolicy: every pod may talk to every other pod"))
    for w in of_type(resources, *SERVING_WORKLOADS, CNPG_CLUSTER):
        ns = namespace_of(mapping(w.get("inputs")))
        if ns not in denied and ns not in seen:
            seen.add(ns)
            out.append((w["urn"], f"namespace {ns} (of {k8s_name(w)}) has no default-deny NetworkPolicy in the stack"))
    return out


@rule(
    "networkpolicy-coverage",
    description="Select every Deployment's and StatefulSet's pods with a NetworkPolicy of their own (non-empty podSelector) that lists who may connect.",
    severity="medium",
    checklist="Network policies restrict pod-to-pod communication; Network policies configured",
    seeds=("000", "002", "004"),
    types=(K8S_NETPOL, *SERVING_WORKLOADS),
    scope="stack",
)
def networkpolicy_coverage(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    # Candidate policies per namespace, filtered once: a non-empty podSelector and Ingress rules.
    by_ns: dict[Any, list[Any]] = {}
    for np in of_type(resources, K8S_NETPOL):
        spec = mapping(get(np, "inputs", "spec"))
        if not empty_selector(spec.get("podSelector")) and "Ingress" in items(spec.get("policyTypes", ["Ingress"])):
            by_ns.setdefault(namespace_of(mapping(np.get("inputs"))), []).append(spec.get("podSelector"))
    out = []
    for w in of_type(resources, *SERVING_WORKLOADS):
        props = mapping(w.get("inputs"))
        labels = mapping(get(pod_template(w["type"], props), "metadata", "labels"))
        if any(unknown(v) for v in labels.values()):
            continue
        ns = namespace_of(props)
        if not any(selector_matches(selector, labels) for selector in by_ns.get(ns, ())):
            out.append((w["urn"], f"pods of {k8s_name(w)} ({ns}) are selected by no NetworkPolicy of their own with Ingress rules: add one that admits exactly their callers"))
    return out


def _wildcard_origin(value: Any) -> bool:
    return isinstance(value, str) and not unknown(value) and "*" in [v.strip() for v in value.split(",")]


@rule(
    "cors-not-wildcard",
    description="Never allow CORS from any origin (*): list the production origins.",
    severity="high",
    checklist="CORS properly configured for production domain; Configure CORS for production domain only",
    seeds=("000", "003", "004"),
    types=(EG_SECURITY, LB_LISTENER, K8S_CONFIGMAP, ECS_TASK, *POD_WORKLOADS),
)
def cors_not_wildcard(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == EG_SECURITY:
        cors = get(props, "spec", "cors")
        if not isinstance(cors, Mapping):
            return []
        out = []
        for origin in items(cors.get("allowOrigins")):
            if unknown(origin):
                continue
            if not isinstance(origin, str) or "*" in origin:
                out.append(f"cors.allowOrigins has {origin!r}: list the exact production origins")
            elif "," in origin:
                out.append(f"cors.allowOrigins entry {origin!r} joins several origins in one string, which matches no Origin header: one origin per entry")
        return out
    if resource_type == LB_LISTENER:
        origin = props.get("routingHttpResponseAccessControlAllowOriginHeaderValue")
        return [f"Access-Control-Allow-Origin header value is {origin!r}"] if _wildcard_origin(origin) else []
    env: list[tuple[str, Any]] = []
    if resource_type == K8S_CONFIGMAP:
        env = list(mapping(props.get("data")).items())
    elif resource_type == ECS_TASK:
        env = [(get(e, "name"), get(e, "value")) for c in container_definitions(props) for e in items(c.get("environment"))]
    else:
        env = [(get(e, "name"), get(e, "value")) for _, c in containers(pod_spec(resource_type, props)) for e in items(c.get("env"))]
    return [f"{name}={value!r} allows every origin" for name, value in env
            if isinstance(name, str) and "CORS" in name.upper() and "ORIGIN" in name.upper() and _wildcard_origin(value)]
