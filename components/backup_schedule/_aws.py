"""BackupSchedule on AWS: AWS Backup vault (own KMS key), plans with the spec's schedules, selections.

What it creates (every taggable resource tagged with ``platform.labels("backup-schedule")``):

- ``{name}-key`` (+ ``{name}-key-alias``): a customer-managed KMS key with yearly rotation that encrypts the
  vault. The key and the vault are ``protect``ed and retained on delete when ``deletion_protection`` is on:
  losing the key makes every recovery point unreadable.
- ``{name}-vault``: the backup vault (``force_destroy`` off: a vault holding recovery points cannot be deleted
  by a stack teardown). With ``deletion_protection``: ``{name}-vault-lock``, a vault lock in *governance* mode
  (no ``changeable_for_days``: compliance mode can never be undone, not even by AWS support) with
  ``min_retention_days`` 1 and ``max_retention_days`` the longest retention asked for, so nobody can shorten or
  delete recovery points through the vault.
- ``{name}-role`` + ``{name}-role-backup`` / ``{name}-role-restore``: the IAM role AWS Backup assumes, with the
  AWS managed ``AWSBackupServiceRolePolicyForBackup`` and ``...ForRestores`` policies.
- ``{name}-plan`` (when ``database`` is set): one rule on the database schedule, start window 60 min, completion
  180 min, ``delete_after`` = ``retention_days``, continuous backup (RDS point-in-time restore through AWS Backup)
  when the retention is at most 35 days (the continuous-backup limit); ``{name}-selection`` picks the RDS
  instance (the ManagedPostgres handle's ``instance_arn``).
- ``{name}-{volume}-plan`` + ``{name}-{volume}-selection`` per VolumeBackup: the EFS file system
  (``handle.file_systems[volume].arn``) on its own schedule and retention. A plan's rules apply to *every*
  resource its selections pick, so each schedule gets its own plan: putting the weekly volume rule in the
  database plan would also take weekly database snapshots (and the hourly database rule would snapshot a 500 GiB
  volume every hour).
- Cross-region copy (``AwsBackupOptions.copy_region``): ``{name}-copy-key`` (+ alias), ``{name}-copy-vault``
  (same name as the primary vault) and, with ``deletion_protection``, ``{name}-copy-vault-lock``, all created in
  the copy region with pulumi-aws 7's per-resource ``region`` (no second provider), protected like the primary
  ones. Every rule copies its recovery points there with the same retention. A vault of that name made by hand
  before (as earlier versions asked) must be adopted with ``pulumi import aws:backup/vault:Vault`` or deleted.
  Its ARN is in the handle as ``copy_vault_arn``.

Schedules: the spec's five-field cron becomes AWS's six-field ``cron(min hour day-of-month month day-of-week
year)`` by :func:`to_aws_cron` (AWS wants ``?`` in one of the two day fields, numbers 1-7 = SUN-SAT for
weekdays). AWS Backup runs a rule at most hourly, and the schedule is evaluated in UTC.

Output ``destination`` = the vault ARN. Handle: ``vault_name``, ``vault_arn``, ``kms_key_arn``, ``role_arn``,
``copy_vault_arn`` (or None).
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi_aws as aws

from .._core import InputError, Platform, options_for, stateful_opts
from .._core.platform import Cloud
from . import AwsBackupOptions, BackupScheduleArgs

COMPONENT = "backup-schedule"

#: AWS Backup keeps continuous (point-in-time) backups for at most 35 days.
MAX_CONTINUOUS_DAYS = 35
START_WINDOW_MINUTES = 60
COMPLETION_WINDOW_MINUTES = 180
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_INT = re.compile(r"^[0-9]+$")


def to_aws_cron(field: str, expression: str, *, at_most_hourly: bool = False) -> str:
    """A five-field Unix cron ('m h dom mon dow', UTC) as an AWS schedule 'cron(m h dom mon dow *)'.

    AWS (EventBridge, Backup, Application Auto Scaling) needs '?' in day-of-month or day-of-week, numbers
    weekdays 1-7 from Sunday (Unix: 0-7 from Sunday) and has no step ('/') in day-of-week; weekdays are written as
    names (SUN-SAT) so both conventions read the same. Raises InputError for what AWS cannot express.
    """
    parts = str(expression).split()
    if len(parts) != 5:
        raise InputError(field, expression, "allowed: a five-field cron expression 'minute hour day month weekday', e.g. '0 3 * * *'")
    minute, hour, dom, month, dow = parts
    if at_most_hourly and not _INT.match(minute):
        raise InputError(
            field, expression,
            "AWS Backup runs a rule at most once an hour: the minute field must be a single number (e.g. '0 * * * *' hourly)",
        )
    if dom not in ("*", "?") and dow not in ("*", "?"):
        raise InputError(
            field, expression,
            "AWS schedules cannot restrict both day-of-month and day-of-week; set one of them to '*'",
        )
    if dow in ("*", "?"):
        dow_aws = "?"
        dom_aws = "*" if dom == "?" else dom
    else:
        dom_aws = "?"
        dow_aws = _weekdays(field, expression, dow)
    return f"cron({minute} {hour} {dom_aws} {month} {dow_aws} *)"


def _weekdays(field: str, expression: str, dow: str) -> str:
    if "/" in dow:
        raise InputError(field, expression, "AWS schedules allow no step ('/') in the weekday field; list the days, e.g. 'MON,WED,FRI'")

    def index(token: str) -> int:
        """0-7 with Sunday as 0 (and 7 where it ends a range)."""
        if _INT.match(token) and int(token) <= 7:
            return int(token)
        if token.upper() in _DAYS:
            return _DAYS.index(token.upper())
        raise InputError(field, expression, "weekdays are 0-7 (0 and 7 = Sunday) or SUN-SAT; 'L' and '#' are not supported")

    items = []
    for item in dow.split(","):
        if "-" not in item:
            items.append(_DAYS[index(item)])
            continue
        lo_token, hi_token = item.split("-", 1)
        lo, hi = index(lo_token) % 7, index(hi_token)
        hi = 7 if hi == 0 and lo > 0 else hi  # "5-0" / "FRI-SUN" end on Sunday
        if lo > hi:
            raise InputError(field, expression, "weekday ranges must not wrap around the week; list the days, e.g. 'FRI,SAT,SUN'")
        # AWS numbers SUN=1..SAT=7, so a range ending on Sunday is split: "MON-SAT,SUN".
        items.append(f"{_DAYS[lo]}-SAT,SUN" if hi == 7 and lo > 0 else f"{_DAYS[lo]}-{_DAYS[hi]}" if lo != hi else _DAYS[lo])
    return ",".join(items)


def _volume_handle(volume_backup: Any) -> Any:
    handle = getattr(volume_backup.service, "handle", None)
    return (getattr(handle, "file_systems", None) or {}).get(volume_backup.volume)


def validate(args: BackupScheduleArgs, platform: Platform) -> None:
    """AWS Backup limits: hourly at most, one day field, volumes that exist, a real region to copy to."""
    opts = options_for(args, Cloud.AWS, AwsBackupOptions)
    # During the stack's check pass the components are placeholders without handles: only their Args are known.
    if args.database is not None:
        to_aws_cron("backups.database.schedule", args.schedule, at_most_hourly=True)
        handle = getattr(args.database, "handle", None)
        if handle is not None and getattr(handle, "instance_arn", None) is None:
            raise InputError("backups.database", type(args.database).__name__, "expected a ManagedPostgres created on AWS (its handle has no instance_arn)")
    for vb in args.volumes:
        to_aws_cron(f"backups.volumes[{vb.volume}].schedule", vb.schedule, at_most_hourly=True)
        handle = getattr(vb.service, "handle", None)
        if handle is not None:
            known = sorted(getattr(handle, "file_systems", None) or {})
        else:
            known = sorted(v.name for v in getattr(getattr(vb.service, "args", None), "volumes", ()) or ())
            if not hasattr(getattr(vb.service, "args", None), "volumes"):
                continue
        if vb.volume not in known:
            raise InputError(
                f"backups.volumes[{vb.volume}].volume", vb.volume,
                f"the service has no shared volume of that name (it has: {', '.join(known) or 'none'})",
            )
    if opts.copy_region is not None and not _REGION.match(str(opts.copy_region)):
        raise InputError("backups.aws.copy_region", opts.copy_region, "allowed: an AWS region name such as 'us-west-2'")
    if opts.copy_region is not None and platform.region and opts.copy_region == platform.region:
        raise InputError("backups.aws.copy_region", opts.copy_region, "a cross-region copy must go to another region than the stack's")


def build(name: str, args: BackupScheduleArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    opts = options_for(args, Cloud.AWS, AwsBackupOptions)
    tags = platform.labels(COMPONENT)
    protect = args.deletion_protection
    partition = aws.get_partition_output().partition
    account = aws.get_caller_identity_output().account_id

    key = aws.kms.Key(
        f"{name}-key",
        description=f"{platform.app}-{platform.stack}: AWS Backup vault encryption",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        tags=tags,
        opts=stateful_opts(child, protect),
    )
    aws.kms.Alias(f"{name}-key-alias", name=f"alias/{platform.physical_name(name, limit=200)}", target_key_id=key.key_id, opts=child)

    vault_name = platform.physical_name(f"{name}-vault", limit=50)
    vault = aws.backup.Vault(
        f"{name}-vault", name=vault_name, kms_key_arn=key.arn, force_destroy=False, tags=tags,
        opts=stateful_opts(child, protect),
    )
    retentions = [args.retention_days] if args.database is not None else []
    retentions += [vb.retention_days for vb in args.volumes]
    if protect:
        aws.backup.VaultLockConfiguration(
            f"{name}-vault-lock",
            backup_vault_name=vault.name,
            min_retention_days=1,
            max_retention_days=max(retentions),
            # No changeable_for_days: that would switch to compliance mode, irreversible after the grace time.
            opts=child,
        )

    role = aws.iam.Role(
        f"{name}-role",
        name=platform.physical_name(f"{name}-role", limit=64),
        description="Assumed by AWS Backup to back up and restore this stack's resources",
        assume_role_policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        }),
        tags=tags,
        opts=child,
    )
    for role_suffix, policy in (("backup", "AWSBackupServiceRolePolicyForBackup"), ("restore", "AWSBackupServiceRolePolicyForRestores")):
        aws.iam.RolePolicyAttachment(
            f"{name}-role-{role_suffix}", role=role.name,
            policy_arn=pulumi.Output.concat("arn:", partition, ":iam::aws:policy/service-role/", policy), opts=child,
        )

    copy_vault_arn = None
    if opts.copy_region:
        # The copy vault, in the copy region through pulumi-aws 7's per-resource `region` (no second provider,
        # so the stack's credentials and settings apply), with a key of that region (KMS keys are regional) and
        # the same protection as the primary vault.
        copy_key = aws.kms.Key(
            f"{name}-copy-key", region=opts.copy_region,
            description=f"{platform.app}-{platform.stack}: AWS Backup copy vault encryption ({opts.copy_region})",
            enable_key_rotation=True, deletion_window_in_days=30, tags=tags, opts=stateful_opts(child, protect),
        )
        aws.kms.Alias(f"{name}-copy-key-alias", region=opts.copy_region,
                      name=f"alias/{platform.physical_name(name, limit=200)}", target_key_id=copy_key.key_id, opts=child)
        copy_vault = aws.backup.Vault(
            f"{name}-copy-vault", region=opts.copy_region, name=vault_name, kms_key_arn=copy_key.arn,
            force_destroy=False, tags=tags, opts=stateful_opts(child, protect),
        )
        if protect:
            aws.backup.VaultLockConfiguration(
                f"{name}-copy-vault-lock", region=opts.copy_region, backup_vault_name=copy_vault.name,
                min_retention_days=1, max_retention_days=max(retentions), opts=child,
            )
        copy_vault_arn = copy_vault.arn

    def rule(rule_name: str, schedule: str, retention: int, field: str, continuous: bool) -> aws.backup.PlanRuleArgs:
        lifecycle = aws.backup.PlanRuleLifecycleArgs(delete_after=retention)
        return aws.backup.PlanRuleArgs(
            rule_name=rule_name,
            target_vault_name=vault.name,
            schedule=to_aws_cron(field, schedule, at_most_hourly=True),
            schedule_expression_timezone="Etc/UTC",
            start_window=START_WINDOW_MINUTES,
            completion_window=COMPLETION_WINDOW_MINUTES,
            lifecycle=lifecycle,
            enable_continuous_backup=continuous,
            recovery_point_tags=tags,
            copy_actions=[aws.backup.PlanRuleCopyActionArgs(
                destination_vault_arn=copy_vault_arn,
                lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(delete_after=retention),
            )] if copy_vault_arn is not None else None,
        )

    if args.database is not None:
        plan = aws.backup.Plan(
            f"{name}-plan",
            name=platform.physical_name(f"{name}-db", limit=50),
            rules=[rule("database", args.schedule, args.retention_days, "backups.database.schedule",
                        continuous=args.retention_days <= MAX_CONTINUOUS_DAYS)],
            tags=tags,
            opts=child,
        )
        aws.backup.Selection(
            f"{name}-selection",
            name=platform.physical_name(f"{name}-db", limit=50),
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=[args.database.handle.instance_arn],
            opts=child,
        )

    used: set[str] = set()
    for index, vb in enumerate(args.volumes):
        role_name = vb.volume if vb.volume not in used else f"{vb.volume}-{index}"
        used.add(role_name)
        plan = aws.backup.Plan(
            f"{name}-{role_name}-plan",
            name=platform.physical_name(f"{name}-{role_name}", limit=50),
            # EFS has no continuous backup in AWS Backup: snapshots on the schedule only.
            rules=[rule(re.sub(r"[^A-Za-z0-9_.-]", "-", role_name), vb.schedule, vb.retention_days,
                        f"backups.volumes[{vb.volume}].schedule", continuous=False)],
            tags=tags,
            opts=child,
        )
        aws.backup.Selection(
            f"{name}-{role_name}-selection",
            name=platform.physical_name(f"{name}-{role_name}", limit=50),
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=[_volume_handle(vb).arn],
            opts=child,
        )

    return {
        "destination": vault.arn,
        "handle": SimpleNamespace(
            vault_name=vault.name, vault_arn=vault.arn, kms_key_arn=key.arn, role_arn=role.arn,
            copy_vault_arn=copy_vault_arn,
        ),
    }
