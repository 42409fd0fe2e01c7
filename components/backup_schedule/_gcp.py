"""BackupSchedule on GCP: Cloud SQL's automated backups are a property of the instance (ManagedPostgres sets the
start time and the retained count from the same spec); this component adds the copies that outlive the instance.

What it creates:

- Database (``database`` set), with ``gcp.export_bucket``:
  - ``{name}-bucket``: the export bucket ``{app}-{stack}-db-exports-<project digest>`` (bucket names are global,
    so they carry 8 hex digits of the project id's sha256) in the stack's region: uniform bucket-level access, public access
    prevention enforced, a retention policy of ``retention_days`` (**locked** with ``deletion_protection``: nobody,
    not even a project owner, can shorten it or delete an export early), objects deleted by lifecycle one day after
    the retention, 7-day soft delete, CMEK when the Network has a key, ``protect`` in prod. Not versioned: Cloud
    Storage refuses Object Versioning on a bucket with a retention policy; the exports never overwrite each other
    (one object per run, named by its start time), which is what versioning would protect against;
  - ``{name}-export-sa`` (``roles/cloudsql.editor``: ``instances.export`` is in no narrower role) and
    ``{name}-export``: a Cloud Workflows workflow calling the Cloud SQL Admin API ``instances.export`` (SQL dump,
    gzip, the app database) to ``gs://<bucket>/<database>/<UTC timestamp>.sql.gz``; the instance's own service
    account may create objects in the bucket (``{name}-sql-writer``);
  - ``{name}-scheduler-sa`` (``roles/workflows.invoker``) and ``{name}-schedule``: a Cloud Scheduler job running
    the workflow on ``schedule`` (UTC).
- Volumes (``volumes``): ``{name}-volumes-bucket`` (versioned, noncurrent copies deleted after the longest
  retention, public access prevention, ``protect`` in prod) and per VolumeBackup ``{name}-<volume>-transfer``: a
  Storage Transfer Service job copying the WebService's volume bucket into ``<service>/<volume>/`` on the
  schedule (daily ``M H * * *`` or weekly ``M H * * D``), replaced objects kept as noncurrent versions for
  ``retention_days``; the transfer service agent reads the source and writes the sink.

Output ``destination``: ``gs://<export bucket>`` (or the volumes bucket when only volumes are backed up).

Cost: bucket storage (Standard) GB-month; Workflows and Cloud Scheduler within the free tier; Storage Transfer
Service between buckets free (operations billed).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from .._core import Cloud, InputError, Platform, options_for, stateful_opts
from ..web_service._gcp import bucket_name
from . import BackupScheduleArgs, GcpBackupOptions

COMPONENT = "backup-schedule"
_DOW_START = {0: 4, 1: 5, 2: 6, 3: 7, 4: 8, 5: 9, 6: 10, 7: 4}  # 2026-01-04 is a Sunday


def transfer_schedule(field: str, expression: str) -> dict[str, Any]:
    """A daily ('M H * * *') or weekly ('M H * * D') cron as a Storage Transfer Service schedule."""
    parts = str(expression).split()
    ok = len(parts) == 5 and parts[0].isdigit() and parts[1].isdigit() and parts[2] == "*" and parts[3] == "*"
    if not ok or not (parts[4] == "*" or (parts[4].isdigit() and int(parts[4]) <= 7)):
        raise InputError(field, expression, "Storage Transfer Service repeats at a fixed interval: use a daily 'M H * * *' or weekly 'M H * * D' schedule")
    minute, hour = int(parts[0]), int(parts[1])
    weekly = parts[4] != "*"
    return {
        "schedule_start_date": {"year": 2026, "month": 1, "day": _DOW_START[int(parts[4])] if weekly else 1},
        "start_time_of_day": {"hours": hour, "minutes": minute, "seconds": 0, "nanos": 0},
        "repeat_interval": "604800s" if weekly else "86400s",
    }


def validate(args: BackupScheduleArgs, platform: Platform) -> None:
    for v in args.volumes:
        transfer_schedule(f"backups.volumes[{v.volume}].schedule", v.schedule)
        handle = getattr(v.service, "handle", None)
        if handle is not None and v.volume not in getattr(handle, "buckets", {}):
            raise InputError(f"backups.volumes[{v.volume}].volume", v.volume, "the WebService has no shared volume of that name")
    if not platform.region:
        raise InputError("prodkit:region", "", "backups need a region, e.g. 'us-central1'")


WORKFLOW = """main:
  steps:
    - init:
        assign:
          - stamp: ${{text.replace_all(time.format(sys.now()), ":", "-")}}
    - export:
        call: http.post
        args:
          url: ${{"https://sqladmin.googleapis.com/v1/projects/" + sys.get_env("GOOGLE_CLOUD_PROJECT_ID") + "/instances/{instance}/export"}}
          auth:
            type: OAuth2
          body:
            exportContext:
              fileType: SQL
              databases: ["{database}"]
              uri: ${{"gs://{bucket}/{database}/" + stamp + ".sql.gz"}}
        result: operation
    - done:
        return: ${{operation.body.name}}
"""


def _key_grant(name: str, key_id: Any, project: Any, child: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    agent = gcp.storage.get_project_service_account_output(project=project, opts=pulumi.InvokeOptions(parent=child.parent))
    return [gcp.kms.CryptoKeyIAMMember(
        f"{name}-key-access", crypto_key_id=key_id, role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
        member=pulumi.Output.concat("serviceAccount:", agent.email_address), opts=child,
    )]


def build(name: str, args: BackupScheduleArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    opts = options_for(args, Cloud.GCP, GcpBackupOptions)
    labels = platform.labels(COMPONENT)
    protect = args.deletion_protection
    project = opts.project or gcp.organizations.get_client_config_output(opts=pulumi.InvokeOptions(parent=child.parent)).project
    region = platform.region
    destination: pulumi.Input[str] = ""
    db = args.database
    owner = db.handle if db is not None else args.volumes[0].service.handle
    key_id = getattr(owner, "kms_key_id", None)
    grants = _key_grant(name, key_id, project, child) if key_id is not None else []

    if db is not None and opts.export_bucket:
        pg = db.handle
        bucket = gcp.storage.Bucket(
            f"{name}-bucket", project=opts.project, name=bucket_name(platform, project, "db-exports"), location=region.upper(),
            uniform_bucket_level_access=True, public_access_prevention="enforced",
            retention_policy={"retention_period": args.retention_days * 86400, "is_locked": protect},
            lifecycle_rules=[{"action": {"type": "Delete"}, "condition": {"age": args.retention_days + 1}}],
            soft_delete_policy={"retention_duration_seconds": 7 * 86400},
            encryption={"default_kms_key_name": key_id} if key_id is not None else None,
            force_destroy=False, labels=labels,
            opts=stateful_opts(child, protect, depends_on=grants),
        )
        gcp.storage.BucketIAMMember(
            f"{name}-sql-writer", bucket=bucket.name, role="roles/storage.objectCreator",
            member=pulumi.Output.concat("serviceAccount:", pg.service_account_email), opts=child,
        )
        export_sa = gcp.serviceaccount.Account(
            f"{name}-export-sa", project=opts.project, account_id=platform.physical_name("db-export", limit=30), display_name="Cloud SQL scheduled export", opts=child,
        )
        gcp.projects.IAMMember(f"{name}-export-sql", project=project, role="roles/cloudsql.editor",
                               member=pulumi.Output.concat("serviceAccount:", export_sa.email), opts=child)
        workflow = gcp.workflows.Workflow(
            f"{name}-export", project=opts.project, name=platform.physical_name("db-export"), region=region, service_account=export_sa.id,
            description=f"Export {pg.database} of Cloud SQL to the retention-locked bucket",
            source_contents=pulumi.Output.all(pg.instance_name, bucket.name).apply(
                lambda v: WORKFLOW.format(instance=v[0], bucket=v[1], database=pg.database)),
            call_log_level="LOG_ERRORS_ONLY", deletion_protection=protect, labels=labels, opts=child,
        )
        scheduler_sa = gcp.serviceaccount.Account(
            f"{name}-scheduler-sa", project=opts.project, account_id=platform.physical_name("db-export-sched", limit=30), display_name="Runs the Cloud SQL export", opts=child,
        )
        gcp.projects.IAMMember(f"{name}-scheduler-invoker", project=project, role="roles/workflows.invoker",
                               member=pulumi.Output.concat("serviceAccount:", scheduler_sa.email), opts=child)
        gcp.cloudscheduler.Job(
            f"{name}-schedule", project=opts.project, name=platform.physical_name("db-export"), region=region, schedule=args.schedule, time_zone="Etc/UTC",
            description=f"Export {pg.database} on {args.schedule} (UTC)",
            attempt_deadline="320s", retry_config={"retry_count": 3, "min_backoff_duration": "60s"},
            http_target={
                "http_method": "POST",
                "uri": pulumi.Output.concat("https://workflowexecutions.googleapis.com/v1/", workflow.id, "/executions"),
                "body": "e30=",  # base64 of "{}"
                "oauth_token": {"service_account_email": scheduler_sa.email, "scope": "https://www.googleapis.com/auth/cloud-platform"},
            },
            opts=child,
        )
        destination = pulumi.Output.concat("gs://", bucket.name)

    if args.volumes:
        longest = max(v.retention_days for v in args.volumes)
        sink = gcp.storage.Bucket(
            f"{name}-volumes-bucket", project=opts.project, name=bucket_name(platform, project, "volume-backups"), location=region.upper(),
            uniform_bucket_level_access=True, public_access_prevention="enforced", versioning={"enabled": True},
            lifecycle_rules=[{"action": {"type": "Delete"}, "condition": {"days_since_noncurrent_time": longest, "with_state": "ARCHIVED"}}],
            soft_delete_policy={"retention_duration_seconds": 7 * 86400},
            encryption={"default_kms_key_name": key_id} if key_id is not None else None,
            force_destroy=not protect, labels=labels, opts=stateful_opts(child, protect, depends_on=grants),
        )
        agent = gcp.storage.get_transfer_project_service_account_output(project=project, opts=pulumi.InvokeOptions(parent=child.parent))
        transfer_member = pulumi.Output.concat("serviceAccount:", agent.email)
        gcp.storage.BucketIAMMember(f"{name}-volumes-sink-writer", bucket=sink.name, role="roles/storage.legacyBucketWriter", member=transfer_member, opts=child)
        gcp.storage.BucketIAMMember(f"{name}-volumes-sink-objects", bucket=sink.name, role="roles/storage.objectAdmin", member=transfer_member, opts=child)
        for v in args.volumes:
            source = v.service.handle.buckets[v.volume]
            role = f"{v.service.handle.name}-{v.volume}"
            reader = gcp.storage.BucketIAMMember(f"{name}-{role}-source-reader", bucket=source.name, role="roles/storage.legacyBucketReader", member=transfer_member, opts=child)
            viewer = gcp.storage.BucketIAMMember(f"{name}-{role}-source-objects", bucket=source.name, role="roles/storage.objectViewer", member=transfer_member, opts=child)
            gcp.storage.TransferJob(
                f"{name}-{v.volume}-transfer", project=project, description=f"Copy {role} on {v.schedule} (UTC)",
                schedule=transfer_schedule(f"backups.volumes[{v.volume}].schedule", v.schedule),
                transfer_spec={
                    "gcs_data_source": {"bucket_name": source.name},
                    "gcs_data_sink": {"bucket_name": sink.name, "path": f"{v.service.handle.name}/{v.volume}/"},
                    "transfer_options": {"overwrite_objects_already_existing_in_sink": True, "delete_objects_unique_in_sink": False},
                },
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[reader, viewer])),
            )
        if not destination:
            destination = pulumi.Output.concat("gs://", sink.name)
    return {"destination": destination}
