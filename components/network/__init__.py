"""Network: the private network every other component of a stack lives in.

| cloud | implementation | isolation | egress |
|---|---|---|---|
| aws | VPC over `zones` AZs: public (ALB, NAT), private (tasks) and isolated (RDS, ElastiCache) subnets, DB/cache subnet groups, flow logs, default SG stripped, S3 gateway endpoint | security groups per component, opened by links | NAT gateway: one (staging) or one per AZ (`nat_per_zone`) |
| gcp | custom-mode VPC + regional subnet (Private Google Access, flow logs to a log bucket with the retention), private services access range + peering (Cloud SQL, Memorystore), Cloud DNS private zone `run.app` for internal service calls, Cloud KMS key with `customer_managed_keys` | firewall: deny all ingress and egress, allows for the private services range, Google's private API range, and HTTPS out for `internet-egress`-tagged services | Cloud Router + Cloud NAT (with `gcp.nat`) |
| azure | VNet with delegated subnets (Container Apps, PostgreSQL), private DNS zones, private endpoint subnet | NSGs | NAT gateway |
| kubernetes | Namespace labelled Pod Security `restricted`, default-deny ingress+egress NetworkPolicy, DNS egress, ResourceQuota/LimitRange | NetworkPolicies opened by links and by the ingress controller allow | per-service internet egress policy (`internet_egress`) |
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .._core import Component, InputError
from .._core.units import in_range


@dataclass(frozen=True, kw_only=True)
class KubernetesNetworkOptions:
    """Kubernetes-only settings of the Network."""

    ingress_namespace: str = "ingress-nginx"
    """Namespace of the ingress controller allowed to reach public services. Default: "ingress-nginx"."""
    monitoring_namespace: str = "monitoring"
    """Namespace of Prometheus, allowed to scrape metrics ports. Default: "monitoring"."""
    quota_cpu: str = "64"
    """ResourceQuota limit on total CPU limits in the namespace. Default: "64" cores."""
    quota_memory: str = "256Gi"
    """ResourceQuota limit on total memory limits in the namespace. Default: "256Gi"."""


@dataclass(frozen=True, kw_only=True)
class GcpNetworkOptions:
    """GCP-only settings of the Network."""

    project: str | None = None
    """Project id holding the network (flow-log bucket, sink). Default: the provider's project."""
    nat: bool = True
    """Cloud Router + Cloud NAT for services with `internet_egress`. Default: on (the stack decides from the spec)."""
    customer_managed_keys: bool = False
    """Create a Cloud KMS key ring + key (90-day rotation) that Cloud SQL, Memorystore and buckets encrypt with.
    Default: off (Google-managed keys)."""


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    """Arguments of :class:`Network`."""

    cidr: str = "10.0.0.0/16"
    """Address space of the VPC/VNet (aws, gcp, azure; Kubernetes uses the cluster's). Must be /16 to /20 so every
    subnet tier fits. Default: "10.0.0.0/16"."""
    zones: int = 2
    """Availability zones to spread subnets over (aws, azure). Default: 2; prod profiles use 3."""
    nat_per_zone: bool = False
    """One NAT gateway per zone (survives a zone outage) instead of one shared. Default: one shared NAT."""
    flow_log_retention_days: int = 30
    """Retention of VPC flow logs. Default: 30 days."""
    kubernetes: KubernetesNetworkOptions | None = None
    """Kubernetes-only options. Default: KubernetesNetworkOptions() on Kubernetes; an error on other clouds."""
    gcp: GcpNetworkOptions | None = None
    """GCP-only options. Default: GcpNetworkOptions() on GCP; an error on other clouds."""

    def __post_init__(self) -> None:
        try:
            net = ipaddress.ip_network(self.cidr, strict=True)
        except (ValueError, TypeError):
            raise InputError("network.cidr", self.cidr, "allowed: an IPv4 network in CIDR notation, e.g. '10.0.0.0/16'") from None
        if net.version != 4 or not 16 <= net.prefixlen <= 20:
            raise InputError(
                "network.cidr", self.cidr, "the network must be IPv4 with a prefix from /16 to /20 so public, private and isolated subnets fit in every zone"
            )
        if not net.is_private:
            raise InputError("network.cidr", self.cidr, "use a private (RFC 1918) range such as 10.0.0.0/16")
        in_range("network.zones", self.zones, 1, 3)
        in_range("network.flow_log_retention_days", self.flow_log_retention_days, 1, 3653, "days")


class Network(Component):
    """The stack's private network.

    Example: ``net = Network("net", NetworkArgs(zones=3, nat_per_zone=True), platform)``

    Cost: Kubernetes free; AWS one NAT gateway (~$33/month + data) per NAT, flow-log ingestion; GCP Cloud NAT
    per hour + data, flow-log ingestion, a KMS key with `customer_managed_keys`.
    """

    ARGS = NetworkArgs
    OUTPUTS = ("network_id",)

    network_id: "pulumi.Output[str]"  # noqa: F821
    """The namespace name (kubernetes), VPC id (aws), network self-link (gcp) or VNet id (azure)."""
