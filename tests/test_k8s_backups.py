"""Backups that run on Kubernetes (issue 7 item 2).

Databases: CloudNativePG archives WAL and takes base backups through the Barman Cloud plugin: an ObjectStore per
stack, the Cluster's `spec.plugins` entry as WAL archiver, ScheduledBackup `method: plugin`; the deprecated in-tree
`barmanObjectStore` (whose binaries the `standard` images do not ship) appears nowhere. Volumes: Velero Schedules
(file-system backup) in Velero's namespace with the spec's cron and retention as TTL; no tar CronJob.
"""

from __future__ import annotations

import json
from types import SimpleNamespace as NS

import pytest

from components import (
    BackupSchedule, BackupScheduleArgs, InputError, ManagedPostgres, ManagedPostgresArgs, Network, NetworkArgs,
    VolumeBackup,
)
from components._core import Cloud, Platform
from components.backup_schedule import KubernetesBackupOptions
from components.postgres import PG_MINOR, KubernetesPostgresOptions
from conftest import APPS, PROFILES, planned
from stacks import engine

NS_NAME = "demo-prod"
PLATFORM = Platform(cloud=Cloud.KUBERNETES, app="demo", stack="prod")


def postgres_store(object_store="db-backups"):
    return NS(handle=NS(cluster_name="db", namespace=NS_NAME, object_store=object_store, instances={}))


def workspaces_service():
    return NS(_name="fastapi", handle=NS(
        namespace=NS_NAME, name="fastapi", service_name="fastapi", port=8000,
        selector={"app.kubernetes.io/name": "fastapi", "app.kubernetes.io/instance": NS_NAME},
        pvcs={"workspaces": "fastapi-workspaces"}, metrics=None, public=True,
    ))


def run_backups(**overrides):
    args = dict(
        database=postgres_store(), schedule="0 2 * * *", retention_days=30,
        volumes=[VolumeBackup(service=workspaces_service(), volume="workspaces", schedule="0 4 * * 0", retention_days=28)],
    )
    args.update(overrides)
    outputs: list = []

    def prog():
        BackupSchedule("backups", BackupScheduleArgs(**args), PLATFORM).destination.apply(outputs.append)

    return engine.run(prog), outputs


def run_postgres(**options):
    def prog():
        net = Network("net", NetworkArgs(), PLATFORM)
        ManagedPostgres("db", ManagedPostgresArgs(
            network=net, backup_retention_days=30, high_availability=options.pop("ha", False),
            kubernetes=KubernetesPostgresOptions(backup_bucket="s3://demo-backups/prod", **options),
        ), PLATFORM)

    return engine.run(prog)


# ------------------------------------------------------------------------------------------------- database


def test_scheduled_backup_uses_the_barman_cloud_plugin():
    sb = run_backups()[0].named("backups-database")
    assert sb.type == "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup"
    assert sb.get("spec") == {
        "schedule": "0 0 2 * * *", "cluster": {"name": "db"}, "method": "plugin",
        "pluginConfiguration": {"name": "barman-cloud.cloudnative-pg.io"},
        "backupOwnerReference": "self", "immediate": True,
    }
    assert sb.protect and sb.retain_on_delete


def test_scheduled_backup_is_not_protected_when_deletion_protection_is_off():
    inv = run_backups(deletion_protection=False)[0]
    assert not inv.named("backups-database").protect
    assert not inv.named("backups-fastapi-workspaces").protect


def test_backup_refuses_a_database_without_an_object_store():
    with pytest.raises(InputError, match="backup bucket"):
        run_backups(database=postgres_store(object_store=None))


def test_cluster_archives_wal_through_the_plugin_into_its_object_store():
    inv = run_postgres()
    spec = inv.named("db-cluster").get("spec")
    assert "backup" not in spec  # no in-tree barmanObjectStore
    assert spec["plugins"] == [{
        "name": "barman-cloud.cloudnative-pg.io", "enabled": True, "isWALArchiver": True,
        "parameters": {"barmanObjectName": "db-backups", "serverName": "db"},
    }]
    store = inv.named("db-object-store")
    assert store.type == "kubernetes:barmancloud.cnpg.io/v1:ObjectStore"
    assert store.get("metadata.name") == "db-backups"
    # The Cluster is created after the store it archives to.
    assert store.urn in inv.named("db-cluster").dependencies


def test_object_store_carries_bucket_credentials_compression_and_retention():
    store = run_postgres().named("db-object-store")
    assert store.get("spec.retentionPolicy") == "30d"
    conf = store.get("spec.configuration")
    assert conf["destinationPath"] == "s3://demo-backups/prod/postgres"
    assert conf["s3Credentials"] == {
        "accessKeyId": {"name": "backup-s3-credentials", "key": "ACCESS_KEY_ID"},
        "secretAccessKey": {"name": "backup-s3-credentials", "key": "ACCESS_SECRET_KEY"},
    }
    assert conf["wal"] == {"compression": "gzip", "encryption": "AES256"}
    assert "endpointURL" not in conf
    # The plugin docs: the ObjectStore's serverName must stay empty (the Cluster's plugin parameter names it).
    assert "serverName" not in conf


def test_object_store_uses_the_endpoint_of_other_object_stores():
    conf = run_postgres(backup_endpoint_url="https://minio.example.com:9000").named("db-object-store").get("spec.configuration")
    assert conf["endpointURL"] == "https://minio.example.com:9000"
    assert conf["wal"] == {"compression": "gzip"}  # SSE-S3 is AWS's; other stores encrypt per their settings


def test_object_store_is_protected_with_the_data():
    assert run_postgres().named("db-object-store").protect


def test_no_seed_plan_uses_the_in_tree_barman_object_store_or_a_tar_cronjob():
    for app in APPS:
        for profile in PROFILES:
            _, inventory, _ = planned(app, profile, "kubernetes")
            text = json.dumps([r.inputs for r in inventory.resources])
            assert "barmanObjectStore" not in text, (app, profile)
            assert not inventory.of_type("batch/v1:CronJob"), (app, profile)
            for sb in inventory.of_type("postgresql.cnpg.io/v1:ScheduledBackup"):
                assert sb.get("spec.method") == "plugin", (app, profile)
            for cluster in inventory.of_type("postgresql.cnpg.io/v1:Cluster"):
                assert cluster.get("spec.plugins.0.isWALArchiver") is True, (app, profile)


def test_operand_image_is_pinned_to_a_minor_release():
    image = run_postgres().named("db-cluster").get("spec.imageName")
    assert image == f"ghcr.io/cloudnative-pg/postgresql:{PG_MINOR['16']}-standard-bookworm"
    major, minor = PG_MINOR["16"].split(".")
    assert major == "16" and minor.isdigit()


def test_pdb_only_with_more_than_one_instance():
    assert run_postgres().named("db-cluster").get("spec.enablePDB") is False
    assert run_postgres(ha=True).named("db-cluster").get("spec.enablePDB") is True


# -------------------------------------------------------------------------------------------------- volumes


def test_volume_backup_is_a_velero_schedule_in_velero_namespace():
    sched = run_backups()[0].named("backups-fastapi-workspaces")
    assert sched.type == "kubernetes:velero.io/v1:Schedule"
    assert sched.get("metadata.namespace") == "velero"
    assert sched.get("metadata.name") == f"{NS_NAME}-fastapi-workspaces"
    assert sched.get("spec.schedule") == "0 4 * * 0"
    assert sched.get("spec.useOwnerReferencesInBackup") is False
    assert sched.protect


def test_volume_schedule_covers_the_service_pvcs_with_fs_backup_and_ttl_from_retention():
    template = run_backups()[0].named("backups-fastapi-workspaces").get("spec.template")
    assert template["includedNamespaces"] == [NS_NAME]
    assert template["labelSelector"] == {"matchLabels": {"app.kubernetes.io/name": "fastapi", "app.kubernetes.io/instance": NS_NAME}}
    assert set(template["includedResources"]) == {"pods", "persistentvolumeclaims", "persistentvolumes"}
    assert template["defaultVolumesToFsBackup"] is True and template["snapshotVolumes"] is False
    assert template["ttl"] == "672h0m0s"  # 28 days


def test_velero_namespace_and_storage_location_come_from_options():
    opts = KubernetesBackupOptions(velero_namespace="backup-system", velero_storage_location="offsite")
    sched = run_backups(kubernetes=opts)[0].named("backups-fastapi-workspaces")
    assert sched.get("metadata.namespace") == "backup-system"
    assert sched.get("spec.template.storageLocation") == "offsite"


def test_compyle_workspace_schedule_keeps_the_spec_retention():
    cfg, inventory, _ = planned("compyle", "prod", "kubernetes")
    (sched,) = inventory.of_type("velero.io/v1:Schedule")
    (vol,) = cfg.app.backups.volumes
    days = max(vol.retention_days, cfg.profile.min_backup_retention_days)
    assert sched.get("spec.template.ttl") == f"{days * 24}h0m0s"
    assert sched.get("spec.schedule") == vol.schedule
    # The pods mark scratch and secret volumes out of the file-system backup; only the workspace is copied.
    deployment = inventory.named("fastapi-deployment")
    excluded = deployment.get("spec.template.metadata.annotations")["backup.velero.io/backup-volumes-excludes"].split(",")
    volumes = {v["name"] for v in deployment.get("spec.template.spec.volumes")}
    assert "tmp" in excluded and "vol-workspaces" not in excluded
    assert set(excluded) == volumes - {"vol-workspaces"}


def test_backup_destination_is_the_bucket_url():
    assert run_backups()[1] == ["s3://prodkit-backups"]


def test_backup_refuses_a_volume_the_service_does_not_have():
    with pytest.raises(InputError, match=r"volumes\[cache\].*workspaces"):
        run_backups(volumes=[VolumeBackup(service=workspaces_service(), volume="cache", schedule="0 4 * * 0")])


def test_backup_refuses_a_plain_http_endpoint():
    with pytest.raises(InputError, match="endpoint_url"):
        run_backups(kubernetes=KubernetesBackupOptions(endpoint_url="http://minio:9000"))


def test_backup_refuses_a_bad_velero_namespace():
    with pytest.raises(InputError, match="velero_namespace"):
        KubernetesBackupOptions(velero_namespace="Velero_NS")
