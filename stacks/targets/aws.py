"""AWS: per-service Fargate options, the Network's endpoints and ECR pull-through cache, the Route 53 zone and
backup copy region, request-count scaling, the ECS target-group ordering hooks (see
`components.web_service._aws`), and the checks of what AWS would refuse at apply time (zones, log retention,
region), each naming the config key or spec field as the user wrote it.

ECR pull-through cache (`prodkit:ecrPullThroughCache: true`): a rule per upstream registry the app's images (and
the secret-files init image, from ECR Public) come from; ghcr.io, Docker Hub and GitLab need a credential, the
stack secret `prodkit:GHCR_CREDENTIALS` / `DOCKERHUB_CREDENTIALS` / `GITLAB_CREDENTIALS` ("USERNAME:TOKEN"),
required only when such an image exists. Without the cache, a service without internet egress must use ECR.

Prod (the profile that enforces policies) waits for the ECS services to reach a steady state during `pulumi up`.
"""

from __future__ import annotations

from typing import Any

from components._core import InputError
from components._core.units import size_mib
from components.backup_schedule import AwsBackupOptions
from components.network import PULL_THROUGH_UPSTREAMS, AwsNetworkOptions, image_source
from components.postgres import AwsPostgresOptions
from components.tls_ingress import AwsIngressOptions
from components.web_service import AwsWebServiceOptions

from . import Target

#: Upstream registry -> the stack secret holding its "USERNAME:TOKEN".
REGISTRY_SECRETS = {"ghcr.io": "GHCR_CREDENTIALS", "registry-1.docker.io": "DOCKERHUB_CREDENTIALS", "registry.gitlab.com": "GITLAB_CREDENTIALS"}
INIT_IMAGE_REGISTRY = "public.ecr.aws"  # the secret-files init container's busybox


def _image(cfg: Any, name: str, svc: Any) -> str:
    return f"{svc.image}:{cfg.image_tags.get(name, svc.tag)}"


def cached_registries(cfg: Any) -> dict[str, list[str]]:
    """Upstream registry -> the spec fields whose image it holds, for every registry the cache can serve."""
    out: dict[str, list[str]] = {}
    for name, svc in cfg.app.services.items():
        host = image_source(_image(cfg, name, svc))[0]
        if host in PULL_THROUGH_UPSTREAMS:
            out.setdefault(host, []).append(f"services.{name}.image")
        if svc.secret_files:
            out.setdefault(INIT_IMAGE_REGISTRY, []).append(f"services.{name}.secret_files")
    return dict(sorted(out.items()))


class AwsTarget(Target):
    def before(self, cfg: Any, comp: Any, make: Any, building: bool) -> None:
        if not building:
            self._check(cfg)
        if building:
            from components.web_service._aws import forget_pending

            forget_pending()  # start this program run with no target group pending from an earlier one

    def _check(self, cfg: Any) -> None:
        """What AWS refuses, in the user's words (the components check the same with their own field names)."""
        from components.network._aws import LOG_RETENTION_DAYS
        from components.web_service._aws import image_route

        prof = cfg.profile
        if cfg.aws_region and cfg.region and cfg.aws_region != cfg.region:
            raise InputError("prodkit:region", cfg.region, f"differs from aws:region ({cfg.aws_region}), where the AWS provider creates everything",
                             "Set both to the same region, or drop prodkit:region (it then follows aws:region).")
        if prof.zones < 2:
            raise InputError("prodkit:overrides.zones", prof.zones, "AWS needs at least 2 zones: RDS subnet groups, RDS Proxy and the load balancer each span two")
        if prof.log_retention_days not in LOG_RETENTION_DAYS:
            raise InputError("prodkit:overrides.log_retention_days", prof.log_retention_days,
                             "CloudWatch Logs accepts only " + ", ".join(map(str, LOG_RETENTION_DAYS)) + " days")
        cache = frozenset(self._cache(cfg) or {})
        for name, svc in cfg.app.services.items():
            image_route(f"services.{name}.image", _image(cfg, name, svc), svc.internet_egress, cache, cfg.region or cfg.aws_region)
            if svc.secret_files and not svc.internet_egress and INIT_IMAGE_REGISTRY not in cache:
                raise InputError(
                    f"services.{name}.secret_files", sorted(svc.secret_files),
                    "secret files are written by an init container from public.ecr.aws, which this service cannot pull without internet egress",
                    "Fix: `pulumi config set prodkit:ecrPullThroughCache true`, or give the service internet_egress.",
                )

    def required_secrets(self, cfg: Any) -> list[str]:
        if not cfg.ecr_pull_through_cache:
            return []
        return [REGISTRY_SECRETS[h] for h in cached_registries(cfg) if PULL_THROUGH_UPSTREAMS[h][1]]

    def _cache(self, cfg: Any) -> dict[str, Any] | None:
        """The pull-through cache rules (registry -> credential), or None when the stack does not use the cache.
        A registry that needs a credential the stack does not hold is the usual missing-secret error."""
        if not cfg.ecr_pull_through_cache:
            return None
        rules: dict[str, Any] = {}
        for host, fields in cached_registries(cfg).items():
            secret = REGISTRY_SECRETS.get(host)
            if PULL_THROUGH_UPSTREAMS[host][1]:
                if secret not in cfg.secrets:
                    raise InputError(
                        f"prodkit:{secret}", None,
                        f"the ECR pull-through cache needs a {host} credential (USERNAME:TOKEN) for {', '.join(fields)}",
                        f"Set it with `pulumi config set --secret prodkit:{secret} USERNAME:TOKEN --stack {cfg.stack}`.",
                    )
                rules[host] = cfg.secrets[secret]
            else:
                rules[host] = None
        return rules

    def network(self, cfg: Any) -> dict[str, Any]:
        services = cfg.app.services.values()
        return {"aws": AwsNetworkOptions(
            ecr_pull_through_cache=self._cache(cfg),
            # ECS Exec (staging) needs ssmmessages; queue-scaled services publish their queue depth to CloudWatch.
            ssm_messages_endpoint=cfg.profile.exec_enabled,
            monitoring_endpoint=any(s.autoscaling and s.autoscaling.queue and not s.internet_egress for s in services),
        )}

    def service(self, cfg: Any, name: str, svc: Any) -> dict[str, Any]:
        a, prof = svc.aws, cfg.profile
        spot = prof.spot_weight if (a is None or a.fargate_spot) else 0
        return {"aws": AwsWebServiceOptions(
            fargate_spot_weight=spot, enable_exec=prof.exec_enabled,
            task_cpu_units=a.task_cpu_units if a else None,
            task_memory_mib=size_mib("aws.task_memory", a.task_memory) if a and a.task_memory else None,
            wait_for_steady_state=prof.enforce_policies,
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
