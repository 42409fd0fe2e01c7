"""Exposure: no public database, cache or task; data-store ports never open to the internet; load balancers
admit only 80/443 from the internet; the VPC's default security group stays empty."""

from __future__ import annotations

from typing import Any, Mapping

from ._util import (
    DEFAULT_SG, ECS_SERVICE, K8S_SERVICE, RDS_INSTANCE, REDIS_GROUP, SG, SG_INGRESS, SG_RULE, as_int, get, items,
    mapping, unknown,
)
from .registry import rule

#: Postgres, PgBouncer, Redis, Redis Sentinel, NFS (EFS), MySQL.
DATASTORE_PORTS = {5432: "Postgres", 6432: "PgBouncer", 6379: "Redis", 26379: "Redis Sentinel", 2049: "NFS/EFS", 3306: "MySQL"}
INTERNET = ("0.0.0.0/0", "::/0")
_DATA_COMPONENTS = ("postgres", "redis", "managed-postgres", "managed-redis", "database", "cache")


@rule(
    "no-public-datastore",
    description="Keep databases and caches off the internet (no public RDS, no default-VPC cache, no LoadBalancer/NodePort data Service).",
    severity="high",
    checklist="Review and restrict database access",
    seeds=("003",),
    types=(RDS_INSTANCE, REDIS_GROUP, K8S_SERVICE),
)
def no_public_datastore(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == RDS_INSTANCE:
        out = []
        if props.get("publiclyAccessible") is True:
            out.append("publiclyAccessible is true: the database gets a public DNS name and address")
        if not props.get("dbSubnetGroupName"):
            out.append("no dbSubnetGroupName: the instance lands in the default VPC's (public) subnets")
        return out
    if resource_type == REDIS_GROUP:
        out = []
        if not props.get("subnetGroupName"):
            out.append("no subnetGroupName: the cache lands in the default VPC")
        if not items(props.get("securityGroupIds")) and not unknown(props.get("securityGroupIds")):
            out.append("no securityGroupIds: the cache uses the VPC's default security group")
        return out
    # Kubernetes Service
    kind = get(props, "spec", "type", default="ClusterIP")
    if kind not in ("LoadBalancer", "NodePort"):
        return []
    ports = [as_int(get(p, "port")) for p in items(get(props, "spec", "ports"))]
    targets = [as_int(get(p, "targetPort")) for p in items(get(props, "spec", "ports"))]
    labels = {**mapping(get(props, "metadata", "labels")), **mapping(get(props, "spec", "selector"))}
    component = str(labels.get("app.kubernetes.io/component", labels.get("component", "")))
    exposed = sorted({DATASTORE_PORTS[p] for p in ports + targets if p in DATASTORE_PORTS})
    if exposed or component in _DATA_COMPONENTS:
        what = ", ".join(exposed) or component
        return [f"Service type {kind} exposes a data store ({what}) outside the cluster; use ClusterIP"]
    return []


@rule(
    "no-public-task",
    description="Run containers without public IP addresses, in subnets that do not assign them.",
    severity="high",
    checklist="Configure firewall rules (tasks reachable only through the load balancer)",
    seeds=("003",),
    types=(ECS_SERVICE, "aws:ec2/subnet:Subnet"),
)
def no_public_task(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == ECS_SERVICE:
        if get(props, "networkConfiguration", "assignPublicIp") is True:
            return ["networkConfiguration.assignPublicIp is true: every task gets a public address (seed 003 did this); run tasks in private subnets behind the load balancer"]
        return []
    if props.get("mapPublicIpOnLaunch") is True:
        return ["mapPublicIpOnLaunch is true: anything launched in the subnet gets a public address"]
    return []


def _ingress_entries(resource_type: str, props: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Normalised ingress permissions: {from, to, protocol, cidrs}."""
    if resource_type == SG:
        return [
            {"from": as_int(get(e, "fromPort")), "to": as_int(get(e, "toPort")), "protocol": str(get(e, "protocol", default="")),
             "cidrs": [*items(get(e, "cidrBlocks")), *items(get(e, "ipv6CidrBlocks"))]}
            for e in items(props.get("ingress"))
        ]
    if resource_type == SG_RULE:
        if props.get("type") != "ingress":
            return []
        return [{"from": as_int(props.get("fromPort")), "to": as_int(props.get("toPort")), "protocol": str(props.get("protocol", "")),
                 "cidrs": [*items(props.get("cidrBlocks")), *items(props.get("ipv6CidrBlocks"))]}]
    # vpc SecurityGroupIngressRule
    return [{"from": as_int(props.get("fromPort")), "to": as_int(props.get("toPort")), "protocol": str(props.get("ipProtocol", "")),
             "cidrs": [c for c in (props.get("cidrIpv4"), props.get("cidrIpv6")) if c]}]


def _all_ports(entry: dict[str, Any]) -> bool:
    return entry["protocol"] in ("-1", "all") or (entry["from"] in (None, 0, -1) and entry["to"] in (None, 65535, -1))


def _covers(entry: dict[str, Any], port: int) -> bool:
    if _all_ports(entry):
        return True
    lo, hi = entry["from"], entry["to"]
    return lo is not None and hi is not None and lo <= port <= hi


def _from_internet(entry: dict[str, Any]) -> list[str]:
    return [c for c in entry["cidrs"] if c in INTERNET]


_SG_TYPES = (SG, SG_RULE, SG_INGRESS)


@rule(
    "sg-no-datastore-from-internet",
    description="Never open Postgres, PgBouncer, Redis, Sentinel, NFS or MySQL ports to 0.0.0.0/0 or ::/0.",
    severity="high",
    checklist="Review and restrict database access; Configure firewall rules",
    seeds=("003",),
    types=_SG_TYPES,
)
def sg_no_datastore_from_internet(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    for entry in _ingress_entries(resource_type, props):
        cidrs = _from_internet(entry)
        if not cidrs:
            continue
        for port, what in DATASTORE_PORTS.items():
            if _covers(entry, port):
                out.append(f"ingress from {', '.join(cidrs)} admits port {port} ({what})")
    return out


@rule(
    "sg-internet-only-web",
    description="Admit only TCP 80 and 443 from the internet (load balancers); everything else comes from inside the VPC.",
    severity="high",
    checklist="Configure firewall rules (load balancers admit only 80/443 from the internet)",
    seeds=("003", "004"),
    types=_SG_TYPES,
)
def sg_internet_only_web(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    for entry in _ingress_entries(resource_type, props):
        cidrs = _from_internet(entry)
        if not cidrs:
            continue
        web = entry["protocol"] in ("tcp", "6") and entry["from"] == entry["to"] and entry["from"] in (80, 443)
        if web:
            continue
        if any(_covers(entry, p) for p in DATASTORE_PORTS) and not _all_ports(entry):
            continue  # sg-no-datastore-from-internet reports it
        span = "all ports" if _all_ports(entry) else f"ports {entry['from']}-{entry['to']}/{entry['protocol']}"
        out.append(f"ingress from {', '.join(cidrs)} admits {span}; only tcp/80 and tcp/443 may come from the internet")
    return out


@rule(
    "default-security-group-closed",
    description="Strip every rule from the VPC's default security group.",
    severity="medium",
    checklist="Configure firewall rules",
    seeds=("003",),
    types=(DEFAULT_SG,),
)
def default_security_group_closed(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    for key in ("ingress", "egress"):
        value = props.get(key)
        if value is None or (items(value) and not unknown(value)):
            out.append(f"the default security group keeps {key} rules ({'the AWS defaults' if value is None else len(items(value))}); set {key}=[]")
    return out
