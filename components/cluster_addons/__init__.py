"""ClusterAddons: the cluster-wide operators the Kubernetes backends rely on, installed once per cluster.

| cloud | implementation |
|---|---|
| aws | - (managed services replace the operators) |
| gcp | - |
| azure | - |
| kubernetes | Helm releases (pinned chart versions, own namespaces): Gateway API standard CRDs v1.6.1 + Envoy Gateway v1.9 and its GatewayClass `eg` (TlsIngress), cert-manager with Gateway API support + a Let's Encrypt ClusterIssuer solving HTTP-01 through the stack's Gateway (TlsIngress certificates), CloudNativePG + the Barman Cloud plugin (ManagedPostgres, BackupSchedule), Velero with the node agent (BackupSchedule volumes), KEDA (Autoscaler queue triggers), Prometheus Operator CRDs (Monitoring) |

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
_BUCKET = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9._/-]*)?$")


@dataclass(frozen=True, kw_only=True)
class ChartVersions:
    """Pinned Helm chart versions (upgrades are deliberate, reviewed diffs)."""

    envoy_gateway: str = "v1.9.3"
    """envoyproxy gateway-helm and gateway-crds-helm charts (Envoy Gateway v1.9.3, Envoy 1.39.2; bundles the
    Gateway API v1.6.1 CRDs, installed from the standard channel). Default: "v1.9.3"."""
    cert_manager: str = "v1.21.1"
    """jetstack/cert-manager chart. Default: "v1.21.1"."""
    cloudnative_pg: str = "0.29.0"
    """cloudnative-pg/cloudnative-pg chart (operator 1.30.0). Default: "0.29.0"."""
    barman_cloud_plugin: str = "0.8.0"
    """cloudnative-pg/plugin-barman-cloud chart. Default: "0.8.0"."""
    barman_cloud_image: str = "v0.14.0"
    """Barman Cloud plugin image and sidecar tag. Default: "v0.14.0"."""
    velero: str = "12.1.0"
    """vmware-tanzu/velero chart (Velero v1.18.1). Default: "12.1.0"."""
    velero_aws_plugin: str = "v1.14.2"
    """velero/velero-plugin-for-aws image (S3 and S3-compatible stores; the release paired with Velero 1.18).
    Default: "v1.14.2"."""
    keda: str = "2.20.2"
    """kedacore/keda chart. Default: "2.20.2"."""
    prometheus_operator_crds: str = "31.0.0"
    """prometheus-community/prometheus-operator-crds chart (operator v0.93.0 CRDs). Default: "31.0.0"."""


@dataclass(frozen=True, kw_only=True)
class ClusterAddonsArgs:
    """Arguments of :class:`ClusterAddons`."""

    envoy_gateway: bool = True
    """Install the Gateway API CRDs, Envoy Gateway and its GatewayClass (TlsIngress needs them). Default: on."""
    cert_manager: bool = True
    """Install cert-manager (Gateway API support on) and the ACME ClusterIssuer (TlsIngress certificates; the
    Barman Cloud plugin's TLS). Default: on."""
    cloudnative_pg: bool = True
    """Install the CloudNativePG operator and the Barman Cloud plugin (ManagedPostgres, BackupSchedule; the
    plugin needs cert-manager). Default: on."""
    velero: bool = True
    """Install Velero with its node agent (file-system backup of volumes; BackupSchedule). Default: on."""
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
    gateway_class: str = "eg"
    """Name of the Envoy Gateway GatewayClass (TlsIngress's `gateway_class`). Default: "eg"."""
    http01_gateway: str = "edge"
    """Gateway whose "http" listener carries the ACME HTTP-01 challenge routes. Without `http01_gateway_namespace`
    it is the Gateway of this name in each certificate's own namespace, i.e. every stack's TlsIngress Gateway
    (TlsIngress's `gateway_name`). Default: "edge"."""
    http01_gateway_namespace: str | None = None
    """Namespace of a shared Gateway for HTTP-01 (with TlsIngress's `shared_gateway`). Default: none (the
    certificate's namespace)."""
    backup_bucket: str | None = None
    """Object-store URL ("s3://bucket[/prefix]") of Velero's default BackupStorageLocation. Default: none: Velero
    is installed without a location and its Schedules fail until one named "default" exists."""
    backup_endpoint_url: str | None = None
    """S3-compatible endpoint (MinIO, Ceph...) of the bucket. Default: AWS S3."""
    backup_region: str = "us-east-1"
    """Region of the bucket. Default: "us-east-1"."""
    backup_credentials_secret: str = "velero-s3-credentials"
    """Secret in the velero namespace whose key "cloud" holds an AWS credentials file for the bucket (create it
    before the first backup: `kubectl -n velero create secret generic velero-s3-credentials
    --from-file=cloud=./credentials`). Default: "velero-s3-credentials"."""
    versions: ChartVersions = field(default_factory=ChartVersions)
    """Chart versions. Default: ChartVersions() (the versions the packaged CRD schemas were taken from)."""

    def __post_init__(self) -> None:
        if self.acme_email is not None and (not isinstance(self.acme_email, str) or not _EMAIL.match(self.acme_email)):
            raise InputError("cluster_addons.acme_email", self.acme_email, "allowed: an email address, e.g. 'ops@example.com'")
        if not str(self.acme_server).startswith("https://"):
            raise InputError("cluster_addons.acme_server", self.acme_server, "allowed: an https:// ACME directory URL")
        if not any((self.envoy_gateway, self.cert_manager, self.cloudnative_pg, self.velero, self.keda, self.prometheus_operator_crds)):
            raise InputError("cluster_addons", "nothing", "turn on at least one add-on")
        if self.cloudnative_pg and not self.cert_manager:
            raise InputError("cluster_addons.cert_manager", False, "the Barman Cloud plugin installed with cloudnative_pg needs cert-manager; turn both on or both off")
        if self.backup_bucket is not None and not _BUCKET.match(str(self.backup_bucket)):
            raise InputError("cluster_addons.backup_bucket", self.backup_bucket, "allowed: an s3:// URL such as 's3://my-backups/velero'")
        if self.backup_endpoint_url is not None and not str(self.backup_endpoint_url).startswith("https://"):
            raise InputError("cluster_addons.backup_endpoint_url", self.backup_endpoint_url, "allowed: an https:// endpoint URL")


class ClusterAddons(Component):
    """The operators and controllers the Kubernetes backends need.

    Example: ``ClusterAddons("addons", ClusterAddonsArgs(acme_email="ops@example.com"), platform)``

    Cost: the controllers' pods (about 1.5 vCPU and 2 GiB in total) and Velero's node agent on every node; each
    stack's Gateway adds its Envoy pods and a cloud load balancer.
    """

    ARGS = ClusterAddonsArgs
    OUTPUTS = ("installed",)

    installed: pulumi.Output[list]
    """Names of the installed add-ons (Helm release names), e.g. ["gateway-crds", "envoy-gateway", "cert-manager"]."""
