"""GCP: the project id and region for every component, Cloud NAT only when a service calls the internet, Cloud KMS
keys where the profile asks, Cloud Run options per service, and the hooks that resolve values one component sets
on another (Cloud Run scaling from the Autoscaler, service URLs of services built later)."""

from __future__ import annotations

from typing import Any

from components._core.units import size_mib
from components.backup_schedule import GcpBackupOptions
from components.network import GcpNetworkOptions
from components.web_service import GcpWebServiceOptions

from . import Target


class GcpTarget(Target):
    def before(self, cfg: Any, comp: Any, make: Any, building: bool) -> None:
        if building:
            from components.web_service._gcp import forget_pending

            forget_pending()

    def network(self, cfg: Any) -> dict[str, Any]:
        nat = any(s.internet_egress for s in cfg.app.services.values())
        return {"gcp": GcpNetworkOptions(project=cfg.project, nat=nat, customer_managed_keys=cfg.profile.customer_managed_keys)}

    def service(self, cfg: Any, name: str, svc: Any) -> dict[str, Any]:
        g = svc.gcp
        if g is None:
            return {"gcp": GcpWebServiceOptions(project=cfg.project)}
        return {"gcp": GcpWebServiceOptions(
            project=cfg.project, concurrency=g.concurrency, cpu=g.cpu,
            memory_mib=size_mib(f"services.{name}.gcp.memory", g.memory) if g.memory else None,
        )}

    def autoscaler(self, cfg: Any, spec: Any) -> dict[str, Any]:
        # Passed through so that the GCP backend refuses it by name (Cloud Run scales on concurrency instead)
        # rather than dropping it silently.
        return {"requests_per_target": spec.requests_per_target}

    def backups(self, cfg: Any) -> dict[str, Any]:
        return {"gcp": GcpBackupOptions(project=cfg.project)}

    def service_url(self, cfg: Any, name: str, port: int) -> str:
        # Cloud Run assigns the URL (https://<service>-<hash>.<region>.run.app); the WebService backend replaces
        # this marker with the callee's `uri` output, whichever of the two is built first.
        from components.web_service._gcp import URL_MARKER

        return URL_MARKER % name

    def after(self, cfg: Any, comp: Any, building: bool) -> None:
        if building:
            from components.web_service._gcp import finish

            finish()


TARGET = GcpTarget()
