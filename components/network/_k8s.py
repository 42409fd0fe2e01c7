"""Kubernetes backend of Network: a namespace that is locked down before anything runs in it.

What it creates (all in ``platform.k8s_namespace``):

| object | name | why |
|---|---|---|
| Namespace | ``{app}-{stack}`` (or ``platform.namespace``) | Pod Security Admission ``restricted`` enforced, audited and warned |
| NetworkPolicy | ``default-deny`` | every pod starts with no ingress and no egress; components open exactly their paths |
| NetworkPolicy | ``allow-dns`` | egress to kube-dns (UDP+TCP 53) for every pod, otherwise nothing resolves |
| NetworkPolicy | ``acme-http01-solver`` | the Gateway's data plane may reach cert-manager's HTTP-01 solver pods on 8089 (else no certificate issues) |
| ResourceQuota | ``quota`` | caps the namespace's total CPU/memory limits (a runaway HPA cannot starve the cluster) |
| LimitRange | ``limits`` | default requests/limits for containers that declare none (operator-made pods, jobs) |

The other Kubernetes backends import the small helpers below (``namespace_of``, ``meta``, ``network_opts``) so
that every object is named, namespaced and labelled the same way.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any, Mapping

import pulumi
from .._core import kube as k8s

from .._core import Cloud, InputError, Platform, options_for
from . import KubernetesNetworkOptions, NetworkArgs

COMPONENT = "network"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

#: Default requests/limits applied by the LimitRange to containers that set none. prodkit's own containers always
#: set both; these only catch operator-created pods and one-off jobs, so they are deliberately small.
DEFAULT_REQUEST = {"cpu": "100m", "memory": "128Mi"}
DEFAULT_LIMIT = {"cpu": "500m", "memory": "512Mi"}

#: Labels of Envoy Gateway's data-plane (Envoy proxy) pods, which it creates in its own namespace (the Network's
#: ``ingress_namespace``) for every Gateway: the only pods that carry internet traffic into the namespace.
GATEWAY_PROXY_LABELS = {
    "app.kubernetes.io/name": "envoy",
    "app.kubernetes.io/component": "proxy",
    "app.kubernetes.io/managed-by": "envoy-gateway",
}
#: cert-manager's HTTP-01 solver pods: created in the namespace of the Certificate, serving the challenge on 8089.
ACME_SOLVER_LABELS = {"acme.cert-manager.io/http01-solver": "true"}
ACME_SOLVER_PORT = 8089


def gateway_peer(ingress_namespace: str) -> dict:
    """A NetworkPolicy peer naming the Gateway's data-plane pods (snake_case: for the typed-style backends)."""
    return {
        "namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": ingress_namespace}},
        "pod_selector": {"match_labels": dict(GATEWAY_PROXY_LABELS)},
    }


def validate(args: NetworkArgs, platform: Platform) -> None:
    """The namespace name must be a DNS label of at most 63 characters (app and stack may be 40 each)."""
    ns = platform.k8s_namespace
    if len(ns) > 63 or not _NAME.match(ns):
        raise InputError(
            "prodkit:namespace", ns,
            "a Kubernetes namespace is a DNS label: lowercase letters, digits and '-', at most 63 characters",
            "Set a shorter namespace in the stack config.",
        )
    opts = options_for(args, Cloud.KUBERNETES, KubernetesNetworkOptions)
    for field_name, value in (("ingress_namespace", opts.ingress_namespace), ("monitoring_namespace", opts.monitoring_namespace)):
        if len(value) > 63 or not _NAME.match(value):
            raise InputError(f"network.kubernetes.{field_name}", value, "allowed: an existing namespace name (DNS label)")


def check_name(name: str) -> str:
    """Component logical names become object names (and Service names, which are DNS-1035 labels)."""
    if not re.match(r"^[a-z]([-a-z0-9]*[a-z0-9])?$", name) or len(name) > 40:
        raise InputError(
            "component name", name,
            "on Kubernetes a component name becomes object names: lowercase letters, digits and '-', starting with a "
            "letter, at most 40 characters",
        )
    return name


def labels(platform: Platform, component: str, name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Standard prodkit labels plus the Kubernetes recommended ones (and optional extras)."""
    return {**platform.labels(component), **platform.k8s_labels(component, name), **(extra or {})}


def meta(name: str, namespace: str, lbls: Mapping[str, str], annotations: Mapping[str, Any] | None = None) -> dict:
    """ObjectMeta with an explicit name and namespace: prodkit never relies on Pulumi auto-naming on Kubernetes,
    because other objects (selectors, secretKeyRefs, DNS names) refer to these names."""
    m: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(lbls)}
    if annotations:
        m["annotations"] = dict(annotations)
    return m


def namespace_of(network: Any) -> SimpleNamespace:
    """The Network handle (namespace, ingress_namespace, monitoring_namespace) of a Network component."""
    handle = getattr(network, "handle", None)
    if handle is None or not hasattr(handle, "namespace"):
        raise InputError("network", type(network).__name__, "pass the Network component of this stack (Kubernetes backend)")
    return handle


def after_network(child: pulumi.ResourceOptions, network: Any) -> pulumi.ResourceOptions:
    """Options that order a component's objects after the Network's (the namespace must exist first).

    Depending on a ComponentResource waits for all of its children."""
    if isinstance(network, pulumi.Resource):
        return pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[network]))
    return child


def build(name: str, args: NetworkArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict:
    """Create the namespace and its baseline policies; return the handle other Kubernetes backends use."""
    opts = options_for(args, Cloud.KUBERNETES, KubernetesNetworkOptions)
    ns = platform.k8s_namespace
    lbls = labels(platform, COMPONENT, name)
    # Pod Security Admission: `restricted` is enforced (pods violating it are rejected), and also audited and warned
    # so that `kubectl apply` of anything non-compliant prints why. `latest` tracks the cluster's version of the rules.
    psa = {
        f"pod-security.kubernetes.io/{mode}{suffix}": value
        for mode in ("enforce", "audit", "warn")
        for suffix, value in (("", "restricted"), ("-version", "latest"))
    }
    namespace = k8s.core.v1.Namespace(
        f"{name}-namespace",
        metadata={"name": ns, "labels": {**lbls, **psa}},
        opts=child,
    )
    # Everything below lives in the namespace: make the dependency explicit.
    in_ns = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace]))

    k8s.networking.v1.NetworkPolicy(
        f"{name}-default-deny",
        metadata=meta("default-deny", ns, lbls),
        spec={"pod_selector": {}, "policy_types": ["Ingress", "Egress"]},
        opts=in_ns,
    )
    k8s.networking.v1.NetworkPolicy(
        f"{name}-allow-dns",
        metadata=meta("allow-dns", ns, lbls),
        spec={
            "pod_selector": {},
            "policy_types": ["Egress"],
            "egress": [{
                "to": [{
                    "namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "pod_selector": {"match_labels": {"k8s-app": "kube-dns"}},
                }],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }],
        },
        opts=in_ns,
    )
    # cert-manager answers HTTP-01 challenges from solver pods in this namespace; Let's Encrypt and cert-manager's
    # self-check reach them through the Gateway, whose proxies must therefore pass the default deny. The solver
    # only serves: it gets no egress beyond DNS.
    k8s.networking.v1.NetworkPolicy(
        f"{name}-acme-http01-solver",
        metadata=meta("acme-http01-solver", ns, lbls),
        spec={
            "pod_selector": {"match_labels": dict(ACME_SOLVER_LABELS)},
            "policy_types": ["Ingress"],
            "ingress": [{"from": [gateway_peer(opts.ingress_namespace)], "ports": [{"protocol": "TCP", "port": ACME_SOLVER_PORT}]}],
        },
        opts=in_ns,
    )
    k8s.core.v1.ResourceQuota(
        f"{name}-quota",
        metadata=meta("quota", ns, lbls),
        spec={"hard": {"limits.cpu": opts.quota_cpu, "limits.memory": opts.quota_memory}},
        opts=in_ns,
    )
    k8s.core.v1.LimitRange(
        f"{name}-limits",
        metadata=meta("limits", ns, lbls),
        spec={"limits": [{"type": "Container", "default": DEFAULT_LIMIT, "default_request": DEFAULT_REQUEST}]},
        opts=in_ns,
    )
    handle = SimpleNamespace(
        namespace=ns, ingress_namespace=opts.ingress_namespace, monitoring_namespace=opts.monitoring_namespace
    )
    return {"network_id": namespace.metadata.apply(lambda m: m["name"]), "handle": handle}
