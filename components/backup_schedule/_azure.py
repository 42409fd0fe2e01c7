"""Azure backend of BackupSchedule: Azure Backup copies of the database and of the shared volumes.

The Flexible Server keeps its own automated backups (point-in-time restore, 7-35 days, geo-redundant in prod: set
by ManagedPostgres). This component adds the scheduled, separately retained copies the spec asks for:

* **database**: a Data Protection backup vault (system-assigned identity, storage redundancy
  ``azure.vault_redundancy``, soft delete 14 days, immutability: Locked with deletion protection, else Unlocked),
  a backup policy for ``Microsoft.DBforPostgreSQL/flexibleServers`` (full backups into the vault store on the
  cron ``schedule``: daily or weekly, kept ``retention_days``), the roles Azure Backup needs (PostgreSQL Flexible
  Server Long Term Retention Backup Role on the server, Reader on its resource group) and the backup instance;
* **volumes**: a Recovery Services vault (soft delete, immutability as above, public network access disabled) with
  one Azure Files policy per distinct (schedule, retention), the service's storage account registered as a
  protection container and each share as a protected item. Azure Files backup runs daily or hourly only: a weekly
  cron (compyle's workspaces) runs daily at its time, each copy kept ``retention_days`` (more copies, never fewer).

With the Network's customer-managed key (prod) both vaults encrypt their backup data with the stack key
(versionless URI), through the Network's encryption identity attached beside the system-assigned one (which keeps
the backup roles). Azure accepts this on a new vault only (nothing protected yet): an existing prod vault keeps
Microsoft-managed keys until it is recreated.

Cron schedules: Azure Backup runs at most daily (weekly for chosen weekdays), at one time of day, in UTC. An
hourly cron (seed 004) becomes daily at the given minute past 00 UTC; the Flexible Server's own PITR backups
(continuous WAL) give the hourly recovery point objective. Anything else a cron can say (day of month, several
hours) is refused on Azure.

Cost: vault storage per GB-month (x2 geo-redundant) + protected-instance fee per database/share.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pulumi
from .._core.azure import authorization
from .._core.azure import dataprotection, field

from .._core import Cloud, InputError, Platform, options_for, stateful_opts
from . import AzureBackupOptions

_COMPONENT = "backup-schedule"
#: Built-in roles the Data Protection vault's identity needs to back up a Flexible Server.
PG_LTR_BACKUP_ROLE = "c088a766-074b-43ba-90d4-1fb21feae531"
READER_ROLE = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def schedule_of(field: str, cron: str) -> tuple[str, int, int, list[str]]:
    """(frequency "Daily"|"Weekly", hour, minute, weekdays) of a cron expression Azure Backup can run."""
    minute, hour, dom, month, dow = cron.split()
    if dom != "*" or month != "*" or not minute.isdigit():
        raise InputError(field, cron, "Azure Backup runs daily or on chosen weekdays at one UTC time: use 'M H * * *' or 'M H * * D[,D]'")
    if hour == "*":
        hour = "0"  # hourly -> daily; the Flexible Server's continuous PITR covers the hourly RPO
    if not hour.isdigit():
        raise InputError(field, cron, "Azure Backup runs once a day at one hour: write a single hour, e.g. '0 2 * * *'")
    if dow == "*":
        return "Daily", int(hour), int(minute), []
    try:
        days = sorted({int(d) % 7 for d in dow.split(",")})
    except ValueError:
        raise InputError(field, cron, "weekdays as numbers 0-6 separated by commas, e.g. '0 4 * * 0'") from None
    return "Weekly", int(hour), int(minute), [_DAYS[d] for d in days]


def validate(args: Any, platform: Platform) -> None:
    options_for(args, Cloud.AZURE, AzureBackupOptions)
    if args.database is not None:
        schedule_of("backups.database.schedule", args.schedule)
        if args.retention_days < 7:
            raise InputError("backups.database.retention_days", args.retention_days, "Azure Backup keeps vault copies at least 7 days")
    for v in args.volumes:
        schedule_of(f"backups.volumes[{v.volume}].schedule", v.schedule)
        if v.retention_days > 200:
            raise InputError(f"backups.volumes[{v.volume}].retention_days", v.retention_days, "Azure Files daily backups are kept at most 200 days")


def intervals(cron: str) -> list[str]:
    """ISO 8601 repeating intervals anchored on a past Sunday (2024-01-07) at the cron's time: one daily, or one
    weekly per weekday."""
    freq, hour, minute, days = schedule_of("schedule", cron)
    if freq == "Daily":
        return [f"R/2024-01-07T{hour:02d}:{minute:02d}:00+00:00/P1D"]
    return [f"R/2024-01-{7 + _DAYS.index(d):02d}T{hour:02d}:{minute:02d}:00+00:00/P1W" for d in days]


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    opts = options_for(args, Cloud.AZURE, AzureBackupOptions)
    tags = platform.labels(_COMPONENT)
    protect = stateful_opts(child, args.deletion_protection)
    immutability = "Locked" if args.deletion_protection else "Unlocked"
    destination: Any = None
    handle = SimpleNamespace()

    if args.database is not None:
        db = args.database.handle
        net = db.network
        cmk = getattr(net, "cmk_key_uri", None) is not None
        vault = dataprotection.BackupVault(
            f"{name}-vault", resource_group_name=net.resource_group_name, location=net.location,
            vault_name=platform.physical_name(f"{name}-vault", limit=50),
            identity=dataprotection.DppIdentityDetailsArgs(type="SystemAssigned,UserAssigned", user_assigned_identities=[net.cmk_identity_id])
            if cmk else dataprotection.DppIdentityDetailsArgs(type="SystemAssigned"),
            properties=dataprotection.BackupVaultArgs(
                storage_settings=[dataprotection.StorageSettingArgs(datastore_type="VaultStore", type=opts.vault_redundancy)],
                security_settings=dataprotection.SecuritySettingsArgs(
                    soft_delete_settings=dataprotection.SoftDeleteSettingsArgs(state="On", retention_duration_in_days=14),
                    immutability_settings=dataprotection.ImmutabilitySettingsArgs(state=immutability),
                    encryption_settings=dataprotection.EncryptionSettingsArgs(
                        state="Enabled", key_vault_properties=dataprotection.CmkKeyVaultPropertiesArgs(key_uri=net.cmk_key_uri),
                        kek_identity=dataprotection.CmkKekIdentityArgs(identity_type="UserAssigned", identity_id=net.cmk_identity_id),
                    ) if cmk else None,
                ),
            ),
            tags=tags, opts=protect,
        )
        freq, _, _, _ = schedule_of("backups.database.schedule", args.schedule)
        policy = dataprotection.BackupPolicy(
            f"{name}-database-policy", resource_group_name=net.resource_group_name, vault_name=vault.name,
            backup_policy_name="database",
            properties=dataprotection.BackupPolicyArgs(
                object_type="BackupPolicy", datasource_types=["Microsoft.DBforPostgreSQL/flexibleServers"],
                policy_rules=[
                    dataprotection.AzureBackupRuleArgs(
                        name=f"Backup{freq}", object_type="AzureBackupRule",
                        backup_parameters=dataprotection.AzureBackupParamsArgs(backup_type="Full", object_type="AzureBackupParams"),
                        data_store=dataprotection.DataStoreInfoBaseArgs(data_store_type="VaultStore", object_type="DataStoreInfoBase"),
                        trigger=dataprotection.ScheduleBasedTriggerContextArgs(
                            object_type="ScheduleBasedTriggerContext",
                            schedule=dataprotection.BackupScheduleArgs(repeating_time_intervals=intervals(args.schedule), time_zone="UTC"),
                            tagging_criteria=[dataprotection.TaggingCriteriaArgs(
                                is_default=True, tagging_priority=99, tag_info=dataprotection.RetentionTagArgs(tag_name="Default"),
                            )],
                        ),
                    ),
                    dataprotection.AzureRetentionRuleArgs(
                        name="Default", object_type="AzureRetentionRule", is_default=True,
                        lifecycles=[dataprotection.SourceLifeCycleArgs(
                            delete_after=dataprotection.AbsoluteDeleteOptionArgs(duration=f"P{args.retention_days}D", object_type="AbsoluteDeleteOption"),
                            source_data_store=dataprotection.DataStoreInfoBaseArgs(data_store_type="VaultStore", object_type="DataStoreInfoBase"),
                        )],
                    ),
                ],
            ),
            opts=child,
        )
        from ..network._azure import role_definition

        principal = field(vault.identity, "principalId")
        grants = [
            authorization.RoleAssignment(
                f"{name}-vault-backup-role", principal_id=principal, principal_type="ServicePrincipal",
                role_definition_id=role_definition(net.subscription_id, PG_LTR_BACKUP_ROLE), scope=db.server_id,
                description="Azure Backup reads the Flexible Server for long-term backups", opts=child,
            ),
            authorization.RoleAssignment(
                f"{name}-vault-reader-role", principal_id=principal, principal_type="ServicePrincipal",
                role_definition_id=role_definition(net.subscription_id, READER_ROLE),
                scope=pulumi.Output.concat("/subscriptions/", net.subscription_id, "/resourceGroups/", net.resource_group_name),
                description="Azure Backup reads the database's resource group", opts=child,
            ),
        ]
        dataprotection.BackupInstance(
            f"{name}-database", resource_group_name=net.resource_group_name, vault_name=vault.name,
            backup_instance_name=platform.physical_name(f"{name}-database", limit=50),
            properties=dataprotection.BackupInstanceArgs(
                object_type="BackupInstance", friendly_name=platform.physical_name("database"),
                data_source_info=dataprotection.DatasourceArgs(
                    resource_id=db.server_id, datasource_type="Microsoft.DBforPostgreSQL/flexibleServers",
                    object_type="Datasource", resource_location=net.location, resource_name=db.server_name,
                    resource_type="Microsoft.DBforPostgreSQL/flexibleServers",
                ),
                policy_info=dataprotection.PolicyInfoArgs(policy_id=policy.id),
            ),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=grants)),
        )
        destination = vault.id
        handle.vault_id = vault.id

    if args.volumes:
        files_vault = _volumes(name, args, platform, tags, protect, child, immutability, opts)
        destination = destination if destination is not None else files_vault
        handle.files_vault_id = files_vault
    return {"destination": destination, "handle": handle}


def _volumes(name: str, args: Any, platform: Platform, tags: dict[str, str], protect: pulumi.ResourceOptions,
             child: pulumi.ResourceOptions, immutability: str, opts: AzureBackupOptions) -> Any:
    from .._core.azure import recoveryservices

    net = args.volumes[0].service.handle.network
    rg = net.resource_group_name
    cmk = getattr(net, "cmk_key_uri", None) is not None
    vault = recoveryservices.Vault(
        f"{name}-files-vault", resource_group_name=rg, location=net.location,
        vault_name=platform.physical_name(f"{name}-files-vault", limit=50),
        sku=recoveryservices.SkuArgs(name="RS0", tier="Standard"),
        identity=recoveryservices.IdentityDataArgs(type="SystemAssigned, UserAssigned", user_assigned_identities=[net.cmk_identity_id])
        if cmk else recoveryservices.IdentityDataArgs(type="SystemAssigned"),
        properties=recoveryservices.VaultPropertiesArgs(
            encryption=recoveryservices.VaultPropertiesEncryptionArgs(
                key_vault_properties=recoveryservices.CmkKeyVaultPropertiesArgs(key_uri=net.cmk_key_uri),
                kek_identity=recoveryservices.CmkKekIdentityArgs(user_assigned_identity=net.cmk_identity_id, use_system_assigned_identity=False),
            ) if cmk else None,
            public_network_access="Disabled",
            redundancy_settings=recoveryservices.VaultPropertiesRedundancySettingsArgs(
                standard_tier_storage_redundancy="GeoRedundant" if opts.vault_redundancy == "GeoRedundant" else "LocallyRedundant" if opts.vault_redundancy == "LocallyRedundant" else "ZoneRedundant",
            ),
            security_settings=recoveryservices.SecuritySettingsArgs(
                immutability_settings=recoveryservices.ImmutabilitySettingsArgs(state=immutability),
                soft_delete_settings=recoveryservices.SoftDeleteSettingsArgs(soft_delete_state="Enabled", soft_delete_retention_period_in_days=14),
            ),
        ),
        tags=tags, opts=protect,
    )
    policies: dict[tuple[str, int], Any] = {}
    containers: dict[str, Any] = {}
    for v in args.volumes:
        key = (v.schedule, v.retention_days)
        if key not in policies:
            freq, hour, minute, days = schedule_of(f"backups.volumes[{v.volume}].schedule", v.schedule)
            role = f"files-{len(policies)}"
            policies[key] = recoveryservices.ProtectionPolicy(
                f"{name}-{role}-policy", resource_group_name=rg, vault_name=vault.name, policy_name=role,
                properties=recoveryservices.AzureFileShareProtectionPolicyArgs(
                    backup_management_type="AzureStorage", work_load_type="AzureFileShare", time_zone="UTC",
                    schedule_policy=recoveryservices.SimpleSchedulePolicyArgs(
                        schedule_policy_type="SimpleSchedulePolicy", schedule_run_frequency="Daily",
                        schedule_run_times=[f"2024-01-07T{hour:02d}:{minute:02d}:00Z"],
                    ),
                    retention_policy=recoveryservices.LongTermRetentionPolicyArgs(
                        retention_policy_type="LongTermRetentionPolicy",
                        daily_schedule=recoveryservices.DailyRetentionScheduleArgs(
                            retention_times=[f"2024-01-07T{hour:02d}:{minute:02d}:00Z"],
                            retention_duration=recoveryservices.RetentionDurationArgs(count=v.retention_days, duration_type="Days"),
                        ),
                    ),
                ),
                opts=child,
            )
        share = v.service.handle.file_shares[v.volume]
        svc = v.service.handle.name
        if svc not in containers:
            containers[svc] = recoveryservices.ProtectionContainer(
                f"{name}-{svc}-container", resource_group_name=rg, vault_name=vault.name, fabric_name="Azure",
                container_name=pulumi.Output.concat("storagecontainer;Storage;", rg, ";", share.account_name),
                properties=recoveryservices.AzureStorageContainerArgs(
                    container_type="StorageContainer", backup_management_type="AzureStorage", source_resource_id=share.account_id,
                    acquire_storage_account_lock="Acquire",
                ),
                opts=child,
            )
        recoveryservices.ProtectedItem(
            f"{name}-{svc}-{v.volume}", resource_group_name=rg, vault_name=vault.name, fabric_name="Azure",
            container_name=containers[svc].name, protected_item_name=pulumi.Output.concat("azurefileshare;", share.share_name),
            properties=recoveryservices.AzureFileshareProtectedItemArgs(
                protected_item_type="AzureFileShareProtectedItem", policy_id=policies[(v.schedule, v.retention_days)].id,
                source_resource_id=share.account_id,
            ),
            opts=child,
        )
    return vault.id
