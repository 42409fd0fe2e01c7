"""A small, strict evaluator of Kubernetes NetworkPolicy semantics, for the reachability tests.

Why not a kept analyser: np-guard's netpol-analyzer (a Go module) is not served by the Go module proxy this
project can reach (`go list -m -versions github.com/np-guard/netpol-analyzer` answers 403), and no Python
package evaluates NetworkPolicies offline. So this module implements the rules of the NetworkPolicy API
(networking.k8s.io/v1, https://kubernetes.io/docs/concepts/services-networking/network-policies/) as written:

- A pod is isolated for ingress (egress) when some policy of its namespace selects it (`podSelector`) and lists
  Ingress (Egress) in `policyTypes` (default: Ingress, plus Egress when the policy has `egress` rules). A
  non-isolated direction allows everything; an isolated one allows what the union of the selecting policies'
  rules allows.
- A connection is allowed when the source's egress AND the destination's ingress allow it.
- A rule without `from`/`to` matches every peer; without `ports` every port. A peer is `podSelector` (pods of the
  policy's namespace), `namespaceSelector` (all pods of matching namespaces), both (the intersection), or
  `ipBlock` (addresses in `cidr` and not in `except`; it applies to pod addresses too).
- Label selectors: `matchLabels` and `matchExpressions` (In, NotIn, Exists, DoesNotExist); `{}` matches all.
- Ports: number or named container port of the destination, protocol (default TCP), `endPort` ranges.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace + labels + address + named ports) or an address outside the cluster (namespace None)."""

    name: str
    ip: str
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: Mapping[str, int] = field(default_factory=dict)
    """Named container ports (for policies naming a port)."""

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"unknown selector operator {op}")
    return True


class Cluster:
    """Pods, namespace labels and NetworkPolicies (manifests as dicts, wire form)."""

    def __init__(self, policies: Iterable[Mapping[str, Any]], namespace_labels: Mapping[str, Mapping[str, str]]):
        self.policies = list(policies)
        self.namespace_labels = {ns: {"kubernetes.io/metadata.name": ns, **labels} for ns, labels in namespace_labels.items()}
        for p in self.policies:
            assert p["kind"] == "NetworkPolicy" and p["metadata"].get("namespace"), p["metadata"]

    def _ns_labels(self, ns: str) -> Mapping[str, str]:
        return self.namespace_labels.get(ns, {"kubernetes.io/metadata.name": ns})

    @staticmethod
    def _types(spec: Mapping[str, Any]) -> list[str]:
        if spec.get("policyTypes"):
            return list(spec["policyTypes"])
        return ["Ingress", "Egress"] if spec.get("egress") is not None else ["Ingress"]

    def _selecting(self, pod: Endpoint, direction: str) -> list[Mapping[str, Any]]:
        if not pod.is_pod:
            return []
        return [
            p["spec"] for p in self.policies
            if p["metadata"]["namespace"] == pod.namespace
            and selector_matches(p["spec"].get("podSelector", {}), pod.labels)
            and direction in self._types(p["spec"])
        ]

    def _peer_matches(self, peer: Mapping[str, Any], policy_ns: str, other: Endpoint) -> bool:
        if "ipBlock" in peer:
            block = peer["ipBlock"]
            addr = ipaddress.ip_address(other.ip)
            if addr not in ipaddress.ip_network(block["cidr"], strict=False):
                return False
            return not any(addr in ipaddress.ip_network(e, strict=False) for e in block.get("except") or [])
        if not other.is_pod:
            return False  # selectors name pods only
        pod_sel, ns_sel = peer.get("podSelector"), peer.get("namespaceSelector")
        if ns_sel is None and pod_sel is None:
            raise ValueError(f"empty peer {peer}")
        if ns_sel is None:
            ns_ok = other.namespace == policy_ns
        else:
            ns_ok = selector_matches(ns_sel, self._ns_labels(other.namespace))
        pod_ok = True if pod_sel is None else selector_matches(pod_sel, other.labels)
        return ns_ok and pod_ok

    @staticmethod
    def _port_matches(rule_ports: list[Mapping[str, Any]] | None, port: int, protocol: str, dst: Endpoint) -> bool:
        if not rule_ports:
            return True
        for p in rule_ports:
            if p.get("protocol", "TCP") != protocol:
                continue
            if "port" not in p:
                return True
            value = p["port"]
            number = dst.ports.get(value) if isinstance(value, str) else int(value)
            if number is None:
                continue
            end = p.get("endPort")
            if number == port or (end is not None and number <= port <= int(end)):
                return True
        return False

    def _direction_allows(self, pod: Endpoint, other: Endpoint, port: int, protocol: str, direction: str, dst: Endpoint) -> bool:
        specs = self._selecting(pod, direction)
        if not specs:
            return True  # not isolated in this direction
        key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        for spec in specs:
            for rule in spec.get(key) or []:
                peers = rule.get(peers_key)
                if peers and not any(self._peer_matches(peer, pod.namespace, other) for peer in peers):
                    continue
                if self._port_matches(rule.get("ports"), port, protocol, dst):
                    return True
        return False

    def allowed(self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
        """Whether a connection from `src` to `dst`:`port` is allowed by both ends' policies."""
        return (self._direction_allows(src, dst, port, protocol, "Egress", dst)
                and self._direction_allows(dst, src, port, protocol, "Ingress", dst))
