"""Environment presets as data. Components never see these names: :mod:`stacks.app` turns a profile into
explicit component arguments. A stack overrides single fields with `prodkit:overrides`; an unknown key is an
error.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, Mapping

from components._core import InputError, did_you_mean, one_of

from . import schema


@dataclass(frozen=True, kw_only=True)
class Profile:
    """What differs between environments."""

    name: str
    zones: int
    """Availability zones of the network (AWS subnets, NAT)."""
    nat_per_zone: bool
    """One NAT gateway per zone instead of one shared."""
    high_availability: bool
    """Database standby / Redis failover or Sentinel, unless the app spec forces it."""
    deletion_protection: bool
    """Deletion protection, final snapshots, `protect=True` and retain-on-delete on every stateful resource."""
    min_backup_retention_days: int
    """Backup retention floor; the app spec's retention applies when longer."""
    max_backup_retention_days: int
    """Backup retention ceiling for automated database backups (RDS allows 35)."""
    log_retention_days: int
    """Retention of service logs, flow logs and access logs."""
    waf_mode: Literal["count", "block"]
    """Whether WAF / rate rules block or only count."""
    alarms: bool
    """Create alarms and alert rules."""
    max_replicas: int | None
    """Cap on replicas and autoscaling maxima (smaller staging); None keeps the spec's numbers."""
    spot_weight: int
    """FARGATE_SPOT weight next to FARGATE weight 1 (seed 001: 1:4 where interruption is acceptable)."""
    exec_enabled: bool
    """Allow shell access into running tasks (ECS Exec)."""
    postgres_size: str | None
    """Force the database size class (smallest in staging); None keeps the spec's."""
    install_addons: bool
    """Kubernetes: install the cluster add-ons (Gateway API CRDs + Envoy Gateway, cert-manager, CloudNativePG + Barman Cloud plugin, Velero, KEDA, Prometheus Operator CRDs) as pinned Helm releases."""
    enforce_policies: bool
    """Policy violations are mandatory (fail the plan) rather than advisory."""
    image_pull_policy: Literal["Always", "IfNotPresent"] = "IfNotPresent"
    """Kubernetes: imagePullPolicy of every container prodkit defines ("Always" in prod: each start re-checks the
    registry, so a pod never runs a stale or tampered cached image and pull credentials are enforced)."""


PROFILES: Mapping[str, Profile] = {
    "staging": Profile(
        name="staging", zones=2, nat_per_zone=False, high_availability=False, deletion_protection=False,
        min_backup_retention_days=7, max_backup_retention_days=35, log_retention_days=14, waf_mode="count",
        alarms=True, max_replicas=2, spot_weight=4, exec_enabled=True, postgres_size="small",
        install_addons=False, enforce_policies=False,
    ),
    "prod": Profile(
        name="prod", zones=3, nat_per_zone=True, high_availability=True, deletion_protection=True,
        min_backup_retention_days=30, max_backup_retention_days=35, log_retention_days=90, waf_mode="block",
        alarms=True, max_replicas=None, spot_weight=0, exec_enabled=False, postgres_size=None,
        install_addons=False, enforce_policies=True, image_pull_policy="Always",
    ),
}


def resolve(name: str, overrides: Mapping[str, Any] | None = None) -> Profile:
    """The named profile with `overrides` applied (each key a Profile field)."""
    if name not in PROFILES:
        raise one_of("prodkit:profile", name, PROFILES)
    base = PROFILES[name]
    if not overrides:
        return base
    fields = {f.name for f in dataclasses.fields(Profile)} - {"name"}
    for key in overrides:
        if key not in fields:
            raise InputError(f"prodkit:overrides.{key}", overrides[key], "unknown override key; allowed: " + ", ".join(sorted(fields)) + "." + did_you_mean(key, fields))
    merged = {**{f: getattr(base, f) for f in fields}, **overrides}
    merged["name"] = name
    profile = schema.load(Profile, merged, "prodkit:overrides")
    if profile.min_backup_retention_days < 1 or profile.min_backup_retention_days > profile.max_backup_retention_days:
        raise InputError("prodkit:overrides.min_backup_retention_days", profile.min_backup_retention_days, f"allowed: 1 to max_backup_retention_days ({profile.max_backup_retention_days})")
    if not 7 <= profile.max_backup_retention_days <= 35:
        raise InputError("prodkit:overrides.max_backup_retention_days", profile.max_backup_retention_days, "allowed: 7 to 35 days (RDS keeps automated backups at most 35 days; the policy floor is 7)")
    if not 1 <= profile.zones <= 3:
        raise InputError("prodkit:overrides.zones", profile.zones, "allowed: 1 to 3")
    if profile.log_retention_days < 1:
        raise InputError("prodkit:overrides.log_retention_days", profile.log_retention_days, "allowed: at least 1 day")
    return profile
