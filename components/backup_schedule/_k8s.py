"""BackupSchedule on Kubernetes: CloudNativePG ScheduledBackup for the database, CronJobs for shared volumes.

Database: ``{name}-database`` (postgresql.cnpg.io/v1 ScheduledBackup, method ``barmanObjectStore``). The CNPG
Cluster itself must carry the object-store settings (``spec.backup``): the ManagedPostgres backend builds them
with :func:`barman_object_store` so both sides agree on bucket, credentials and retention. CNPG's cron has six
fields (seconds first), so the Args' five-field schedule gets a leading ``0``.

Volumes: per :class:`VolumeBackup`, ``{name}-{service}-{volume}`` is a batch/v1 CronJob whose pod

1. (init container, busybox) tars and gzips the service's PVC, mounted read-only, into an ``emptyDir`` at /tmp
   (the official aws-cli image ships no ``tar``), and computes the retention cut-off date;
2. (aws-cli) uploads the archive to ``<bucket>/volumes/<service>/<volume>/<UTC timestamp>.tar.gz`` and deletes
   archives of that prefix older than ``retention_days`` (``aws s3 ls`` dates compared as strings; only bash
   builtins are used, the image has no awk).

The authoritative retention is a lifecycle rule on the bucket (expire ``volumes/`` objects after the longest
retention); the in-job clean-up keeps buckets without one bounded too. The archive must fit the node's ephemeral
storage: for volumes of hundreds of GiB, use a node pool with large local disks or a snapshot-based tool.

``concurrencyPolicy: Forbid`` (a slow backup is never overlapped), history limits 3/3, a starting deadline, an
active deadline and a backoff limit bound every run; the pod is non-root, read-only root filesystem, no
capabilities, RuntimeDefault seccomp, no service-account token. ``{name}-{service}-{volume}-egress`` lets those
pods reach DNS and the object store (HTTPS or the endpoint's port) and nothing else.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlparse

import pulumi
from .._core import kube as k8s

from .._core import InputError, Platform, options_for, stateful_opts
from .._core.platform import Cloud
from . import BackupScheduleArgs, KubernetesBackupOptions

COMPONENT = "backup-schedule"

AWS_CLI_IMAGE = "amazon/aws-cli:2.22.0"
ARCHIVE_IMAGE = "busybox:1.37.0"
#: Keys of the credentials Secret (see KubernetesBackupOptions.credentials_secret).
ACCESS_KEY_ID = "ACCESS_KEY_ID"
ACCESS_SECRET_KEY = "ACCESS_SECRET_KEY"

STARTING_DEADLINE_SECONDS = 3600
"""A run that could not start within an hour (cluster down) is skipped rather than started late and piled up."""
ACTIVE_DEADLINE_SECONDS = 6 * 3600
"""A run is killed after 6 hours (a hung upload must not block the next one forever under Forbid)."""
BACKOFF_LIMIT = 2
_CRONJOB_NAME_LIMIT = 52  # Jobs get an 11-character suffix; their names must stay <= 63.
_UID = 65532


def barman_object_store(
    bucket: str, endpoint_url: str | None, credentials_secret: str, retention_days: int, cluster_name: str
) -> dict[str, Any]:
    """The CNPG Cluster's ``spec.backup`` for base backups and WAL archiving to an S3-compatible bucket.

    Used by the ManagedPostgres Kubernetes backend (the Cluster owns this config) and matched by the
    ScheduledBackup created here. Backups go to ``<bucket>/postgres/<cluster_name>/``; ``retentionPolicy`` makes
    the operator delete base backups and WAL older than ``retention_days`` (recovery window). On AWS S3 the
    objects are encrypted with SSE-S3; other object stores (``endpoint_url``) encrypt per their own settings.
    """
    store: dict[str, Any] = {
        "destinationPath": f"{bucket.rstrip('/')}/postgres",
        "serverName": cluster_name,
        "s3Credentials": {
            "accessKeyId": {"name": credentials_secret, "key": ACCESS_KEY_ID},
            "secretAccessKey": {"name": credentials_secret, "key": ACCESS_SECRET_KEY},
        },
        "wal": {"compression": "gzip"},
        "data": {"compression": "gzip"},
    }
    if endpoint_url:
        store["endpointURL"] = endpoint_url
    else:
        store["wal"]["encryption"] = "AES256"
        store["data"]["encryption"] = "AES256"
    return {"barmanObjectStore": store, "retentionPolicy": f"{retention_days}d"}


def cnpg_schedule(cron: str) -> str:
    """Five-field cron -> CNPG's six-field form (seconds first)."""
    return f"0 {cron}"


def volume_role(service_name: str, volume: str) -> str:
    return f"{service_name}-{volume}"


def _k8s_name(name: str, limit: int = _CRONJOB_NAME_LIMIT) -> str:
    if len(name) <= limit:
        return name
    return f"{name[: limit - 7].rstrip('-')}-{hashlib.sha1(name.encode()).hexdigest()[:6]}"


def validate(args: BackupScheduleArgs, platform: Platform) -> None:
    """The database must be a ManagedPostgres and each volume a SharedVolume of its service."""
    # Handles are None in the stack's check pass (placeholders); checked again when the component is built.
    db = getattr(args.database, "handle", None) if args.database is not None else None
    if db is not None and not getattr(db, "cluster_name", None):
        raise InputError("backups.database", type(args.database).__name__, "pass the ManagedPostgres to back up")
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
        url = urlparse(opts.endpoint_url)
        if url.scheme != "https" or not url.hostname:
            raise InputError("backups.endpoint_url", opts.endpoint_url, "allowed: an https:// URL (credentials and data must not cross the network in clear)")


def _metadata(platform: Platform, name: str, namespace: Any, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "labels": {**platform.labels(COMPONENT), **platform.k8s_labels(COMPONENT, name), **(labels or {})},
    }


_ARCHIVE_SCRIPT = """set -eu
now=$(date -u +%s)
date -u +%Y%m%dT%H%M%SZ > /tmp/stamp
date -u -d "@$((now - {retention_days} * 86400))" +%Y-%m-%d > /tmp/cutoff
tar czf /tmp/archive.tar.gz -C /data .
"""

_UPLOAD_SCRIPT = """set -euo pipefail
stamp=$(< /tmp/stamp)
cutoff=$(< /tmp/cutoff)
dest="{dest}"
aws {endpoint}s3 cp {sse}/tmp/archive.tar.gz "$dest/$stamp.tar.gz"
echo "uploaded $dest/$stamp.tar.gz"
# Retention (the bucket lifecycle rule is authoritative): drop archives listed with a date before the cut-off.
while read -r day time size key; do
  if [[ "$key" == *.tar.gz && "$day" < "$cutoff" ]]; then
    aws {endpoint}s3 rm "$dest/$key"
  fi
done < <(aws {endpoint}s3 ls "$dest/")
"""


def _volume_backup(name: str, vb: Any, opts: KubernetesBackupOptions, platform: Platform, child: pulumi.ResourceOptions) -> str:
    svc = vb.service.handle
    role = volume_role(svc.name, vb.volume)
    job_name = _k8s_name(f"{name}-{role}")
    pod_labels = {"prodkit.io/backup": job_name}
    dest = f"{opts.bucket.rstrip('/')}/volumes/{svc.name}/{vb.volume}"
    endpoint = f"--endpoint-url {opts.endpoint_url} " if opts.endpoint_url else ""
    sse = "" if opts.endpoint_url else "--sse AES256 "

    container_security = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    tmp_mount = {"name": "tmp", "mountPath": "/tmp"}
    secret_env = [
        {"name": env, "valueFrom": {"secretKeyRef": {"name": opts.credentials_secret, "key": key}}}
        for env, key in (("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID), ("AWS_SECRET_ACCESS_KEY", ACCESS_SECRET_KEY))
    ]
    pod_spec = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": _UID,
            "runAsGroup": _UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": [
            {
                "name": "archive",
                "image": ARCHIVE_IMAGE,
                "command": ["/bin/sh", "-c", _ARCHIVE_SCRIPT.format(retention_days=vb.retention_days)],
                "securityContext": container_security,
                "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
                "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": True}, tmp_mount],
            }
        ],
        "containers": [
            {
                "name": "upload",
                "image": AWS_CLI_IMAGE,
                "command": ["/bin/bash", "-c", _UPLOAD_SCRIPT.format(dest=dest, endpoint=endpoint, sse=sse)],
                "env": [
                    *secret_env,
                    {"name": "AWS_DEFAULT_REGION", "value": platform.region or "us-east-1"},
                    # The CLI writes its cache under $HOME; the root filesystem is read-only.
                    {"name": "HOME", "value": "/tmp"},
                ],
                "securityContext": container_security,
                "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
                "volumeMounts": [tmp_mount],
            }
        ],
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": svc.pvcs[vb.volume], "readOnly": True}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    k8s.batch.v1.CronJob(
        job_name,
        metadata=_metadata(platform, job_name, svc.namespace),
        spec={
            "schedule": vb.schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS,
            "jobTemplate": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
                    "backoffLimit": BACKOFF_LIMIT,
                    "template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
                },
            },
        },
        opts=child,
    )

    port = (urlparse(opts.endpoint_url).port if opts.endpoint_url else None) or 443
    np_name = _k8s_name(f"{job_name}-egress", 63)
    k8s.networking.v1.NetworkPolicy(
        np_name,
        metadata=_metadata(platform, np_name, svc.namespace),
        spec={
            "podSelector": {"matchLabels": pod_labels},
            # Ingress listed with no rules: nothing may connect to a backup pod.
            "policyTypes": ["Ingress", "Egress"],
            "egress": [
                {
                    "to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                },
                {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": port}]},
            ],
        },
        opts=child,
    )
    return job_name


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
                "method": "barmanObjectStore",
                # The Backup objects belong to this schedule, so removing it cleans up their records (not the data).
                "backupOwnerReference": "self",
                # A first base backup right away: WAL archiving is useless for recovery until one exists.
                "immediate": True,
            },
            # Stopping backups is a deliberate act: protected like the data it covers.
            opts=stateful_opts(child, args.deletion_protection),
        )
    jobs = [_volume_backup(name, vb, opts, platform, child) for vb in args.volumes]
    store = None
    if args.database is not None:
        store = barman_object_store(
            opts.bucket, opts.endpoint_url, opts.credentials_secret, args.retention_days, args.database.handle.cluster_name
        )
    return {
        "destination": opts.bucket,
        # barman_object_store: what the CNPG Cluster's spec.backup must be for the ScheduledBackup to succeed.
        "handle": SimpleNamespace(scheduled_backup=scheduled, cron_jobs=jobs, barman_object_store=store),
    }
