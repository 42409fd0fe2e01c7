"""AWS: per-service Fargate options, the Route 53 zone and backup copy region, request-count scaling, and the
ECS target-group ordering hooks (see `components.web_service._aws`)."""

from __future__ import annotations

from typing import Any

from components._core.units import size_mib
from components.backup_schedule import AwsBackupOptions
from components.postgres import AwsPostgresOptions
from components.tls_ingress import AwsIngressOptions
from components.web_service import AwsWebServiceOptions

from . import Target


class AwsTarget(Target):
    def before(self, cfg: Any, comp: Any, make: Any, building: bool) -> None:
        if building:
            from components.web_service._aws import forget_pending

            forget_pending()  # start this program run with no target group pending from an earlier one

    def service(self, cfg: Any, name: str, svc: Any) -> dict[str, Any]:
        a, prof = svc.aws, cfg.profile
        spot = prof.spot_weight if (a is None or a.fargate_spot) else 0
        return {"aws": AwsWebServiceOptions(
            fargate_spot_weight=spot, enable_exec=prof.exec_enabled,
            task_cpu_units=a.task_cpu_units if a else None,
            task_memory_mib=size_mib("aws.task_memory", a.task_memory) if a and a.task_memory else None,
        )}

    def postgres(self, cfg: Any) -> dict[str, Any]:
        return {"aws": AwsPostgresOptions(log_retention_days=cfg.profile.log_retention_days)}

    def ingress(self, cfg: Any) -> dict[str, Any]:
        return {"aws": AwsIngressOptions(hosted_zone_id=cfg.hosted_zone_id or None)}

    def autoscaler(self, cfg: Any, spec: Any) -> dict[str, Any]:
        return {"requests_per_target": spec.requests_per_target}

    def backups(self, cfg: Any) -> dict[str, Any]:
        return {"aws": AwsBackupOptions(copy_region=cfg.backup_copy_region or None)}

    def after(self, cfg: Any, comp: Any, building: bool) -> None:
        if building:
            from components.web_service._aws import attach_unrouted

            attach_unrouted()  # every public service is routed, so normally nothing is left; never leave one waiting

    def exports(self, cfg: Any, comp: Any) -> dict[str, Any]:
        ingress = comp.components.get("ingress")
        if ingress is None:
            return {}
        # Without prodkit:hostedZoneId the user creates these at their DNS provider (README "DNS on AWS"):
        # the certificate's validation CNAME and the domain -> load balancer record. Empty with a zone.
        return {"dns_records": ingress.handle.dns_records}


TARGET = AwsTarget()
