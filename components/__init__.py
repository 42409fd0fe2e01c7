"""prodkit components: one cloud-neutral contract, four backends (aws, gcp, azure, kubernetes).

Importing this package loads no cloud SDK: each component imports its backend for the chosen cloud lazily.
"""

from ._core import Cloud, InputError, Platform
from .autoscaler import Autoscaler, AutoscalerArgs, QueueTrigger, ScalingPolicy, ScheduledScaling
from .backup_schedule import BackupSchedule, BackupScheduleArgs, VolumeBackup
from .cluster_addons import ClusterAddons, ClusterAddonsArgs
from .monitoring import AlertThresholds, Monitoring, MonitoringArgs
from .network import Network, NetworkArgs
from .postgres import ManagedPostgres, ManagedPostgresArgs, Pooler
from .redis import ManagedRedis, ManagedRedisArgs
from .tls_ingress import Route, SecurityHeaders, TlsIngress, TlsIngressArgs
from .web_service import Metrics, Probe, Probes, SharedVolume, WebService, WebServiceArgs

#: The cloud-neutral components (ClusterAddons is Kubernetes-only and not among them).
COMPONENTS = (Network, WebService, ManagedPostgres, ManagedRedis, TlsIngress, Autoscaler, BackupSchedule, Monitoring)

__all__ = [
    "COMPONENTS", "AlertThresholds", "ClusterAddons", "ClusterAddonsArgs", "Autoscaler", "AutoscalerArgs", "BackupSchedule", "BackupScheduleArgs", "Cloud",
    "InputError", "ManagedPostgres", "ManagedPostgresArgs", "ManagedRedis", "ManagedRedisArgs", "Metrics",
    "Monitoring", "MonitoringArgs", "Network", "NetworkArgs", "Platform", "Pooler", "Probe", "Probes",
    "QueueTrigger", "Route", "ScalingPolicy", "ScheduledScaling", "SecurityHeaders", "SharedVolume", "TlsIngress",
    "TlsIngressArgs", "VolumeBackup", "WebService", "WebServiceArgs",
]
