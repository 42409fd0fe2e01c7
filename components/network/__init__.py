"""Network: the private network every other component of a stack lives in.

| cloud | implementation | isolation | egress |
|---|---|---|---|
| aws | VPC over `zones` AZs (at least 2): public (ALB, NAT), private (tasks) and isolated (RDS, ElastiCache) subnets, DB/cache subnet groups, flow logs (stack KMS key), default SG stripped, S3 gateway endpoint, ECR/Secrets Manager/Logs interface endpoints (+ `ssmmessages`, `monitoring` when asked), one customer-managed KMS key per stack, optional ECR pull-through cache rules | security groups per component, opened by links | NAT gateway: one (staging) or one per AZ (`nat_per_zone`) |
| gcp | custom-mode VPC + regional subnet (Private Google Access, flow logs to a log bucket with the retention), private services access range + peering (Cloud SQL, Memorystore), Cloud DNS private zone `run.app` for internal service calls, Cloud KMS key with `customer_managed_keys` | firewall: deny all ingress and egress, allows for the private services range, Google's private API range, and HTTPS out for `internet-egress`-tagged services | Cloud Router + Cloud NAT (with `gcp.nat`) |
| azure | resource group; VNet with subnets delegated to Container Apps and PostgreSQL plus a private-endpoint subnet; private DNS zones (PostgreSQL, Managed Redis, Key Vault) linked to the VNet; the stack's Key Vault (RBAC, purge protection, private endpoint only) and, with `azure.customer_managed_keys`, its RSA 3072 key (90-day-before-expiry rotation) + an identity with Crypto Service Encryption User on that key, plus a paired-region vault/key/identity for geo-backups (`azure.geo_backup_key`); Log Analytics workspace and the internal Container Apps environment (one per delegated subnet, so the Network owns it) | NSG per subnet: deny by default, allows only the links' ports from the apps subnet | NAT gateway on the apps subnet (image pulls and `internet_egress`; Container Apps cannot restrict egress per app) |
| kubernetes | Namespace labelled Pod Security `restricted`, default-deny ingress+egress NetworkPolicy, DNS egress, ResourceQuota/LimitRange | NetworkPolicies opened by links and for the Gateway data plane (Envoy Gateway namespace) | per-service internet egress policy (`internet_egress`) |
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Mapping

from .._core import Component, InputError
from .._core.units import in_range


@dataclass(frozen=True, kw_only=True)
class KubernetesNetworkOptions:
    """Kubernetes-only settings of the Network."""

    ingress_namespace: str = "envoy-gateway-system"
    """Namespace of the Gateway's data plane (Envoy Gateway runs every Gateway's Envoy pods in its own namespace),
    allowed to reach public services and cert-manager's HTTP-01 solver pods. Default: "envoy-gateway-system"."""
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
class AzureNetworkOptions:
    """Azure-only settings of the Network."""

    subscription_id: str | None = None
    """Subscription of the stack; scopes the built-in role definitions granted on Key Vault secrets. Default: the
    provider's subscription, read at deploy time."""
    zone_redundant: bool = False
    """Spread the Container Apps environment over availability zones. Default: off; prod turns it on."""
    key_vault_sku: str = "standard"
    """Key Vault SKU: "standard" or "premium" (HSM-backed keys). Default: "standard"."""
    customer_managed_keys: bool = False
    """Create the stack's Key Vault key (RSA 3072, rotated 90 days before its one-year expiry) and a user-assigned
    identity holding "Key Vault Crypto Service Encryption User" on exactly that key; Flexible Server, Managed Redis
    and the Azure Files accounts then encrypt with it. Default: off (Microsoft-managed keys); prod turns it on."""
    geo_backup_key: bool = False
    """With ``customer_managed_keys``: a second vault, key and identity in the location's Azure paired region,
    which Flexible Server needs to encrypt geo-redundant backups with a customer-managed key. Default: off; the
    stack turns it on when prod asks for both geo-redundant backups and customer-managed keys."""

    def __post_init__(self) -> None:
        if self.key_vault_sku not in ("standard", "premium"):
            raise InputError("azure.key_vault_sku", self.key_vault_sku, "allowed: standard, premium")


@dataclass(frozen=True, kw_only=True)
class AwsNetworkOptions:
    """AWS-only settings of the Network."""

    ecr_pull_through_cache: Mapping[str, Any] | None = None
    """ECR pull-through cache rules, upstream registry host -> its credential: "USERNAME:TOKEN" (a secret) for
    registries that require one (ghcr.io, registry-1.docker.io, registry.gitlab.com), None for those that do not
    (public.ecr.aws, quay.io, registry.k8s.io). Services then pull those images through ECR in the stack's region
    (rewritten to ``<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<path>``), which works without internet
    egress. Default: none (a service without internet egress may only use images in ECR)."""
    ssm_messages_endpoint: bool = False
    """An ``ssmmessages`` interface endpoint, which ECS Exec needs in tasks without internet egress. Default: off
    (the stack turns it on when a service has exec enabled)."""
    monitoring_endpoint: bool = False
    """A ``monitoring`` (CloudWatch metrics) interface endpoint, so tasks without internet egress can publish
    metrics (the queue depth an Autoscaler scales on). Default: off (the stack turns it on when needed)."""

    def __post_init__(self) -> None:
        for host in self.ecr_pull_through_cache or {}:
            if host not in PULL_THROUGH_UPSTREAMS:
                raise InputError(
                    "aws.ecr_pull_through_cache", host,
                    "ECR can cache these upstream registries: " + ", ".join(PULL_THROUGH_UPSTREAMS),
                )
            if PULL_THROUGH_UPSTREAMS[host][1] and self.ecr_pull_through_cache[host] is None:
                raise InputError(f"aws.ecr_pull_through_cache.{host}", None, "this registry needs a credential (USERNAME:TOKEN)")


#: Upstream registries ECR's pull-through cache supports without a cross-account role: host -> (short name used
#: in the repository prefix, needs a Secrets Manager credential).
PULL_THROUGH_UPSTREAMS: Mapping[str, tuple[str, bool]] = {
    "public.ecr.aws": ("ecr-public", False),
    "quay.io": ("quay", False),
    "registry.k8s.io": ("k8s", False),
    "registry-1.docker.io": ("docker-hub", True),
    "ghcr.io": ("ghcr", True),
    "registry.gitlab.com": ("gitlab", True),
}


_DOCKER_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io")


def image_source(image: str) -> tuple[str, str, str]:
    """(registry host, repository path, tag/digest suffix) of an image reference, the way docker resolves it:
    ``archesai/platform:1.0`` -> ("registry-1.docker.io", "archesai/platform", ":1.0"), ``busybox:1`` ->
    ("registry-1.docker.io", "library/busybox", ":1"), ``ghcr.io/o/a@sha256:..`` -> ("ghcr.io", "o/a", "@sha256:..")."""
    name, at, digest = image.partition("@")
    suffix = at + digest
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, _, tag = name.rpartition(":")
        suffix = f":{tag}{suffix}"
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = "registry-1.docker.io", name
    if host in _DOCKER_HUB_ALIASES:
        host = "registry-1.docker.io"
        if "/" not in path:
            path = f"library/{path}"
    return host, path, suffix


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
    azure: AzureNetworkOptions | None = None
    """Azure-only options. Default: AzureNetworkOptions() on Azure; an error on other clouds."""
    aws: AwsNetworkOptions | None = None
    """AWS-only options. Default: AwsNetworkOptions() on AWS; an error on other clouds."""

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

    Cost: Kubernetes free; AWS one NAT gateway (~$33/month + data) per NAT, flow-log ingestion; Azure one NAT
    gateway (~$33/month + data), Log Analytics ingestion, Key Vault operations, private endpoints (~$7.30/month
    each); GCP Cloud NAT per hour + data, flow-log ingestion, a KMS key with `customer_managed_keys`.
    """

    ARGS = NetworkArgs
    OUTPUTS = ("network_id",)

    network_id: "pulumi.Output[str]"  # noqa: F821
    """The namespace name (kubernetes), VPC id (aws), network self-link (gcp) or VNet id (azure)."""
