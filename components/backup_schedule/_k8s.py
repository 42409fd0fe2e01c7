"""BackupSchedule on Kubernetes: CloudNativePG ScheduledBackup (Barman Cloud plugin) for the database, Velero
Schedules for shared volumes.

Database: ``{name}-database`` (postgresql.cnpg.io/v1 ScheduledBackup, ``method: plugin`` with the Barman Cloud
plugin ``barman-cloud.cloudnative-pg.io``). The base backups go where the Cluster's WAL goes: the ObjectStore the
ManagedPostgres backend created and named in the Cluster's ``spec.plugins`` (its ``retentionPolicy`` prunes base
backups and WAL). CNPG's cron has six fields (seconds first), so the Args' five-field schedule gets a leading ``0``.

Volumes: per :class:`VolumeBackup`, ``{namespace}-{service}-{volume}`` is a Velero ``Schedule`` (velero.io/v1) in
Velero's namespace (``velero``), with the volume's cron and ``ttl`` = ``retention_days`` (Velero's garbage
collector deletes expired backups and their data). It backs up the app namespace's objects carrying the service's
selector labels: its pods (whose volumes are what gets copied), the PersistentVolumeClaim and its
PersistentVolume; Secrets and ConfigMaps stay out (Pulumi recreates them). The copy is Velero's file-system backup
(``defaultVolumesToFsBackup: true``, node-agent with Kopia, incremental and deduplicated, streamed from the node
without staging), not CSI snapshots (``snapshotVolumes: false``): ReadWriteMany volumes such as EFS, Filestore,
Azure Files or NFS (compyle's 500 GiB workspace) have no CSI snapshots on most storage classes, and a snapshot
left in the same storage system is no off-site copy. The WebService marks its scratch and secret volumes
``backup.velero.io/backup-volumes-excludes``. Velero, its node-agent and its BackupStorageLocation are
ClusterAddons' job; a volume backup runs only while a pod mounts the volume.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

import pulumi
from .._core import kube as k8s

from .._core import InputError, Platform, options_for, stateful_opts
from .._core.platform import Cloud
from . import BackupScheduleArgs, KubernetesBackupOptions

COMPONENT = "backup-schedule"
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"
VELERO_API_VERSION = "velero.io/v1"
#: Resources of a volume backup: the pods (file-system backup copies the volumes they mount), the claim and the
#: volume it binds, so a restore recreates them together.
VOLUME_RESOURCES = ["pods", "persistentvolumeclaims", "persistentvolumes"]
_NAME_LIMIT = 63


def cnpg_schedule(cron: str) -> str:
    """Five-field cron -> CNPG's six-field form (seconds first)."""
    return f"0 {cron}"


def ttl(days: int) -> str:
    """Velero's ttl (a Go duration): `days` in hours."""
    return f"{days * 24}h0m0s"


def volume_role(service_name: str, volume: str) -> str:
    return f"{service_name}-{volume}"


def _k8s_name(name: str, limit: int = _NAME_LIMIT) -> str:
    if len(name) <= limit:
        return name
    return f"{name[: limit - 7].rstrip('-')}-{hashlib.sha1(name.encode()).hexdigest()[:6]}"


def validate(args: BackupScheduleArgs, platform: Platform) -> None:
    """The database must be a ManagedPostgres archiving to an ObjectStore and each volume a SharedVolume of its
    service."""
    # Handles are None in the stack's check pass (placeholders); checked again when the component is built.
    db = getattr(args.database, "handle", None) if args.database is not None else None
    if db is not None and not getattr(db, "cluster_name", None):
        raise InputError("backups.database", type(args.database).__name__, "pass the ManagedPostgres to back up")
    if db is not None and not getattr(db, "object_store", None):
        raise InputError(
            "backups.database", db.cluster_name,
            "the ManagedPostgres has no backup bucket (KubernetesPostgresOptions.backup_bucket): a plugin backup has nowhere to go",
        )
    for vb in args.volumes:
        handle = getattr(vb.service, "handle", None)
        if handle is None:
            continue
        pvcs = getattr(handle, "pvcs", None) or {}
        if vb.volume not in pvcs:
            raise InputError(
                f"backups.volumes[{vb.volume}].volume", vb.volume,
                "allowed: a SharedVolume of that service: " + (", ".join(sorted(pvcs)) or "it has none"),
            )
    opts = options_for(args, Cloud.KUBERNETES, KubernetesBackupOptions)
    if opts.endpoint_url is not None:
        from urllib.parse import urlparse

        url = urlparse(opts.endpoint_url)
        if url.scheme != "https" or not url.hostname:
            raise InputError("backups.endpoint_url", opts.endpoint_url, "allowed: an https:// URL (credentials and data must not cross the network in clear)")


def _metadata(platform: Platform, name: str, namespace: Any, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "labels": {**platform.labels(COMPONENT), **platform.k8s_labels(COMPONENT, name), **(labels or {})},
    }


def _volume_schedule(name: str, vb: Any, opts: KubernetesBackupOptions, platform: Platform, child: pulumi.ResourceOptions, protect: bool) -> str:
    svc = vb.service.handle
    role = volume_role(svc.name, vb.volume)
    # Velero's namespace holds the schedules of every app and stack: the app namespace makes the name unique.
    schedule_name = _k8s_name(f"{svc.namespace}-{role}")
    template: dict[str, Any] = {
        "includedNamespaces": [svc.namespace],
        "includedResources": list(VOLUME_RESOURCES),
        "labelSelector": {"matchLabels": dict(svc.selector)},
        "defaultVolumesToFsBackup": True,
        "snapshotVolumes": False,
        "ttl": ttl(vb.retention_days),
        # A 500 GiB first copy takes hours; later ones are incremental.
        "itemOperationTimeout": "12h0m0s",
    }
    if opts.velero_storage_location:
        template["storageLocation"] = opts.velero_storage_location
    k8s.apiextensions.CustomResource(
        f"{name}-{role}",
        api_version=VELERO_API_VERSION,
        kind="Schedule",
        metadata=_metadata(platform, schedule_name, opts.velero_namespace, {"prodkit.io/namespace": svc.namespace}),
        spec={
            "schedule": vb.schedule,
            # Backups outlive the Schedule object: deleting the schedule must not garbage-collect them.
            "useOwnerReferencesInBackup": False,
            "template": template,
        },
        # Stopping backups is a deliberate act: protected like the data it covers.
        opts=stateful_opts(child, protect),
    )
    return schedule_name


def build(name: str, args: BackupScheduleArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    opts = options_for(args, Cloud.KUBERNETES, KubernetesBackupOptions)
    scheduled = None
    if args.database is not None:
        db = args.database.handle
        scheduled = f"{name}-database"
        k8s.apiextensions.CustomResource(
            scheduled,
            api_version="postgresql.cnpg.io/v1",
            kind="ScheduledBackup",
            metadata=_metadata(platform, scheduled, db.namespace),
            spec={
                "schedule": cnpg_schedule(args.schedule),
                "cluster": {"name": db.cluster_name},
                "method": "plugin",
                # The plugin takes the ObjectStore from the Cluster's spec.plugins entry.
                "pluginConfiguration": {"name": BARMAN_PLUGIN},
                # The Backup objects belong to this schedule, so removing it cleans up their records (not the data).
                "backupOwnerReference": "self",
                # A first base backup right away: WAL archiving is useless for recovery until one exists.
                "immediate": True,
            },
            # Stopping backups is a deliberate act: protected like the data it covers.
            opts=stateful_opts(child, args.deletion_protection),
        )
    schedules = [_volume_schedule(name, vb, opts, platform, child, args.deletion_protection) for vb in args.volumes]
    return {
        "destination": opts.bucket,
        "handle": SimpleNamespace(
            scheduled_backup=scheduled, velero_schedules=schedules,
            object_store=args.database.handle.object_store if args.database is not None else None,
        ),
    }
