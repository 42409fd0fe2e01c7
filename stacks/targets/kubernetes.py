"""Kubernetes: namespace options, the stack's backup bucket for in-cluster Postgres and volumes, the cluster
issuer, optional add-ons, and cluster-DNS service URLs."""

from __future__ import annotations

from typing import Any

from components.backup_schedule import KubernetesBackupOptions
from components.monitoring import KubernetesMonitoringOptions
from components.network import KubernetesNetworkOptions
from components.postgres import KubernetesPostgresOptions
from components.redis import KubernetesRedisOptions
from components.tls_ingress import KubernetesIngressOptions
from components.web_service import KubernetesWebServiceOptions

from . import Target


class KubernetesTarget(Target):
    def before(self, cfg: Any, comp: Any, make: Any, building: bool) -> None:
        if cfg.profile.install_addons:
            from components.cluster_addons import ClusterAddons, ClusterAddonsArgs

            comp.components["addons"] = make(ClusterAddons, "addons", ClusterAddonsArgs(
                cluster_issuer=cfg.cluster_issuer,
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
            image_pull_policy=cfg.profile.image_pull_policy,
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
        return {"kubernetes": KubernetesIngressOptions(cluster_issuer=cfg.cluster_issuer)}

    def backups(self, cfg: Any) -> dict[str, Any]:
        return {"kubernetes": KubernetesBackupOptions(bucket=self.backup_bucket(cfg), endpoint_url=cfg.backup_endpoint or None)}

    def service_url(self, cfg: Any, name: str, port: int) -> str:
        ns = cfg.namespace or f"{cfg.app.name}-{cfg.stack}"
        return f"http://{name}.{ns}.svc.cluster.local:{port}"


def _platform(cfg: Any) -> Any:
    from stacks.app import platform_of

    return platform_of(cfg)


TARGET = KubernetesTarget()
