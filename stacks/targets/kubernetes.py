"""Kubernetes: namespace options, the stack's backup bucket for in-cluster Postgres and volumes, the cluster
issuer, optional add-ons, and cluster-DNS service URLs."""

from __future__ import annotations

from typing import Any

from components._core import InputError
from components.backup_schedule import KubernetesBackupOptions
from components.monitoring import KubernetesMonitoringOptions
from components.network import KubernetesNetworkOptions
from components.postgres import KubernetesPostgresOptions
from components.redis import KubernetesRedisOptions
from components.tls_ingress import KubernetesIngressOptions, SharedGateway
from components.web_service import KubernetesWebServiceOptions

from . import Target


class KubernetesTarget(Target):
    def before(self, cfg: Any, comp: Any, make: Any, building: bool) -> None:
        if cfg.profile.install_addons:
            from components.cluster_addons import ClusterAddons, ClusterAddonsArgs

            shared = _shared_gateway(cfg)
            comp.components["addons"] = make(ClusterAddons, "addons", ClusterAddonsArgs(
                cluster_issuer=cfg.cluster_issuer,
                # HTTP-01 challenges go through the Gateway the routes use: the stack's own, or the shared one.
                http01_gateway=shared.name if shared else KubernetesIngressOptions().gateway_name,
                http01_gateway_namespace=shared.namespace if shared else None,
                http01_section=(shared.http_section or "http") if shared else "http",
                # Velero's default BackupStorageLocation: the stack's backup bucket.
                backup_bucket=self.backup_bucket(cfg), backup_endpoint_url=cfg.backup_endpoint or None,
            ), comp.platform)

    @staticmethod
    def backup_bucket(cfg: Any) -> str:
        """The stack's object-store bucket for CNPG base backups and WAL (and volume backups)."""
        return cfg.backup_bucket or f"s3://{_platform(cfg).physical_name('backups')}"

    def network(self, cfg: Any) -> dict[str, Any]:
        return {"kubernetes": KubernetesNetworkOptions()}

    def postgres(self, cfg: Any) -> dict[str, Any]:
        # In-cluster Postgres archives base backups and WAL to object storage (PITR); managed clouds back up
        # natively.
        return {"kubernetes": KubernetesPostgresOptions(
            backup_bucket=self.backup_bucket(cfg), backup_endpoint_url=cfg.backup_endpoint or None,
            image_pull_policy=cfg.profile.image_pull_policy, api_server_cidrs=tuple(cfg.api_server_cidrs),
        )}

    def redis(self, cfg: Any) -> dict[str, Any]:
        return {"kubernetes": KubernetesRedisOptions(image_pull_policy=cfg.profile.image_pull_policy)}

    def service(self, cfg: Any, name: str, svc: Any) -> dict[str, Any]:
        return {"kubernetes": KubernetesWebServiceOptions(image_pull_policy=cfg.profile.image_pull_policy)}

    def monitoring(self, cfg: Any) -> dict[str, Any]:
        if cfg.monitoring_labels is None:
            return {"kubernetes": KubernetesMonitoringOptions()}
        return {"kubernetes": KubernetesMonitoringOptions(labels=dict(cfg.monitoring_labels))}

    def ingress(self, cfg: Any) -> dict[str, Any]:
        return {"kubernetes": KubernetesIngressOptions(cluster_issuer=cfg.cluster_issuer, shared_gateway=_shared_gateway(cfg))}

    def backups(self, cfg: Any) -> dict[str, Any]:
        return {"kubernetes": KubernetesBackupOptions(bucket=self.backup_bucket(cfg), endpoint_url=cfg.backup_endpoint or None)}

    def service_url(self, cfg: Any, name: str, port: int) -> str:
        ns = cfg.namespace or f"{cfg.app.name}-{cfg.stack}"
        return f"http://{name}.{ns}.svc.cluster.local:{port}"


def _shared_gateway(cfg: Any) -> SharedGateway | None:
    """prodkit:sharedGateway as a SharedGateway (errors name the config key as written)."""
    raw = getattr(cfg, "shared_gateway", None) or {}
    if not raw:
        return None
    fields = {"name": "name", "namespace": "namespace", "httpsSection": "https_section", "httpSection": "http_section"}
    try:
        return SharedGateway(**{fields[k]: v for k, v in raw.items()})
    except InputError as exc:
        field_name = str(exc.field).rsplit(".", 1)[-1]
        key = next((k for k, f in fields.items() if f == field_name), field_name)
        raise InputError(f"prodkit:sharedGateway.{key}", exc.value, exc.allowed) from None


def _platform(cfg: Any) -> Any:
    from stacks.app import platform_of

    return platform_of(cfg)


TARGET = KubernetesTarget()
