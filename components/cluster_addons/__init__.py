"""ClusterAddons: the cluster-wide operators the Kubernetes backends rely on, installed once per cluster.

| cloud | implementation |
|---|---|
| aws | - (managed services replace the operators) |
| gcp | - |
| azure | - |
| kubernetes | Helm releases (pinned chart versions, own namespaces): ingress-nginx (TlsIngress), cert-manager + a Let's Encrypt ClusterIssuer (TlsIngress certificates), CloudNativePG (ManagedPostgres, BackupSchedule), KEDA (Autoscaler queue triggers), Prometheus Operator CRDs (Monitoring) |

Kubernetes only: on the managed clouds the component refuses to build (no backend), so a stack cannot silently
carry operators it does not need. Install it in its own stack (`cluster`) or before the app's components: the
custom resources of the other components need these CRDs to exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pulumi

from .._core import Component, InputError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, kw_only=True)
class ChartVersions:
    """Pinned Helm chart versions (upgrades are deliberate, reviewed diffs)."""

    ingress_nginx: str = "4.14.1"
    """kubernetes/ingress-nginx chart (controller v1.14.1). Default: "4.14.1"."""
    cert_manager: str = "v1.21.1"
    """jetstack/cert-manager chart. Default: "v1.21.1"."""
    cloudnative_pg: str = "0.29.0"
    """cloudnative-pg/cloudnative-pg chart (operator 1.30.0). Default: "0.29.0"."""
    keda: str = "2.20.2"
    """kedacore/keda chart. Default: "2.20.2"."""
    prometheus_operator_crds: str = "31.0.0"
    """prometheus-community/prometheus-operator-crds chart (operator v0.93.0 CRDs). Default: "31.0.0"."""


@dataclass(frozen=True, kw_only=True)
class ClusterAddonsArgs:
    """Arguments of :class:`ClusterAddons`."""

    ingress_nginx: bool = True
    """Install the ingress-nginx controller (TlsIngress needs it). Default: on."""
    cert_manager: bool = True
    """Install cert-manager and the ACME ClusterIssuer (TlsIngress certificates). Default: on."""
    cloudnative_pg: bool = True
    """Install the CloudNativePG operator (ManagedPostgres, BackupSchedule). Default: on."""
    keda: bool = True
    """Install KEDA (Autoscaler queue triggers). Default: on."""
    prometheus_operator_crds: bool = True
    """Install the Prometheus Operator CRDs (ServiceMonitor, PrometheusRule) so Monitoring applies even before a
    Prometheus stack exists. Default: on; turn off when kube-prometheus-stack already manages them."""
    acme_email: str | None = None
    """Contact address for the Let's Encrypt account (certificate expiry notices). Default: none (Let's Encrypt
    accepts accounts without one; nobody is warned if renewal keeps failing)."""
    acme_server: str = "https://acme-v02.api.letsencrypt.org/directory"
    """ACME directory. Default: Let's Encrypt production; use the staging directory to test issuance."""
    cluster_issuer: str = "letsencrypt-prod"
    """Name of the ClusterIssuer (TlsIngress's `cluster_issuer`). Default: "letsencrypt-prod"."""
    ingress_class: str = "nginx"
    """IngressClass of the controller and of the HTTP-01 solver. Default: "nginx"."""
    versions: ChartVersions = field(default_factory=ChartVersions)
    """Chart versions. Default: ChartVersions() (the versions the offline CRD schemas were taken from)."""

    def __post_init__(self) -> None:
        if self.acme_email is not None and (not isinstance(self.acme_email, str) or not _EMAIL.match(self.acme_email)):
            raise InputError("cluster_addons.acme_email", self.acme_email, "allowed: an email address, e.g. 'ops@example.com'")
        if not str(self.acme_server).startswith("https://"):
            raise InputError("cluster_addons.acme_server", self.acme_server, "allowed: an https:// ACME directory URL")
        if not any((self.ingress_nginx, self.cert_manager, self.cloudnative_pg, self.keda, self.prometheus_operator_crds)):
            raise InputError("cluster_addons", "nothing", "turn on at least one add-on")


class ClusterAddons(Component):
    """The operators and controllers the Kubernetes backends need.

    Example: ``ClusterAddons("addons", ClusterAddonsArgs(acme_email="ops@example.com"), platform)``

    Cost: the controllers' pods (about 1 vCPU and 1.5 GiB in total) and the ingress controller's load balancer.
    """

    ARGS = ClusterAddonsArgs
    OUTPUTS = ("installed",)

    installed: pulumi.Output[list]
    """Names of the installed add-ons (Helm release names), e.g. ["ingress-nginx", "cert-manager"]."""
