"""prodkit's public import path for library users.

    from prodkit import Platform, Cloud, Network, NetworkArgs, WebService, WebServiceArgs, Probe, Probes

Everything here is re-exported from the `components` package (the eight cloud-neutral components, their Args and
option types) and its core (Cloud, Platform, InputError); importing it loads no cloud SDK. The internal package
layout (`components`, `components._core`, `stacks`, `policies`) may change; this module is the stable name.
"""

from __future__ import annotations

from components import (
    COMPONENTS, AlertThresholds, Autoscaler, AutoscalerArgs, BackupSchedule, BackupScheduleArgs, ClusterAddons,
    ClusterAddonsArgs, Cloud, InputError, ManagedPostgres, ManagedPostgresArgs, ManagedRedis, ManagedRedisArgs,
    Metrics, Monitoring, MonitoringArgs, Network, NetworkArgs, Platform, Pooler, Probe, Probes, QueueTrigger, Route,
    ScalingPolicy, ScheduledScaling, SecurityHeaders, SharedVolume, TlsIngress, TlsIngressArgs, VolumeBackup,
    WebService, WebServiceArgs,
)
from components import __all__ as _components_all


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("prodkit")
    except metadata.PackageNotFoundError:
        return "0+unknown"


__version__ = _version()

__all__ = sorted(set(_components_all)) + ["__version__"]
