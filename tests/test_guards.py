"""Properties a mutation audit found unguarded (issue 10, item 10): backup retention bounds at their edges, the
mode of mounted secret files, a root ECS helper container with a writable root. Each test fails if the property
is mutated."""

from __future__ import annotations

import json

import pytest

import policies
from conftest import planned
from policies.rules import RULES

RULE = {r.id: r for r in RULES}
OPTS = {"protect": False, "retainOnDelete": False, "ignoreChanges": []}
RDS = "aws:rds/instance:Instance"
CNPG = "kubernetes:postgresql.cnpg.io/v1:Cluster"
PLAN = "aws:backup/plan:Plan"
TASK = "aws:ecs/taskDefinition:TaskDefinition"


# --- backup retention bounds: 7 to 35 days ------------------------------------------------------------------------


@pytest.mark.parametrize("days,ok", [(6, False), (7, True), (35, True), (36, False)])
def test_rds_backup_retention_bounds(days, ok):
    found = RULE["backup-retention"].check(RDS, {"backupRetentionPeriod": days}, OPTS)
    assert (found == []) is ok, found
    if not ok:
        assert found == [f"backupRetentionPeriod is {days} days; keep backups 7-35 days"]


@pytest.mark.parametrize("policy,ok", [("6d", False), ("7d", True), ("5w", True), ("35d", True), ("36d", False)])
def test_cnpg_backup_retention_bounds(policy, ok):
    props = {"spec": {"backup": {"barmanObjectStore": {"destinationPath": "s3://b/p"}, "retentionPolicy": policy}}}
    found = RULE["backup-retention"].check(CNPG, props, OPTS)
    assert (found == []) is ok, found


@pytest.mark.parametrize("days,ok", [(6, False), (7, True), (36, True)])
def test_aws_backup_recovery_points_kept_at_least_7_days(days, ok):
    found = RULE["backup-retention"].check(PLAN, {"rules": [{"ruleName": "db", "lifecycle": {"deleteAfter": days}}]}, OPTS)
    assert (found == []) is ok, found


def test_planned_retention_is_clamped_into_the_bounds():
    """A spec asking 7 days gets the prod floor (30) and never more than RDS's 35 in either profile."""
    _, staging, _ = planned("compyle", "staging", "aws")
    _, prod, _ = planned("compyle", "prod", "aws")
    assert staging.of_type("rds/instance:Instance")[0].inputs["backupRetentionPeriod"] == 7
    assert prod.of_type("rds/instance:Instance")[0].inputs["backupRetentionPeriod"] == 30
    for inv in (staging, prod):
        assert not [v for v in policies.evaluate([r.as_json() for r in inv.resources], profile="prod") if v["policy"] == "backup-retention"]


# --- mounted secret files: mode 0440, read-only ------------------------------------------------------------------


def test_kubernetes_secret_files_are_mounted_0440_read_only():
    _, inv, _ = planned("compyle", "prod", "kubernetes")
    deployment = next(r for r in inv.of_type("apps/v1:Deployment") if r.name.startswith("fastapi"))
    pod = deployment.inputs["spec"]["template"]["spec"]
    secret_volumes = [v for v in pod["volumes"] if "secret" in v]
    assert secret_volumes, "compyle mounts the GitHub App key as a file"
    for volume in secret_volumes:
        assert volume["secret"]["defaultMode"] == 0o440  # 288: owner and fsGroup read, nobody writes, world nothing
        assert all("mode" not in item for item in volume["secret"].get("items", []))  # no item widens it
        mounts = [m for c in pod["containers"] for m in c.get("volumeMounts", []) if m["name"] == volume["name"]]
        assert mounts and all(m.get("readOnly") is True for m in mounts)


def test_aws_secret_files_come_from_a_locked_down_helper_and_mount_read_only():
    _, inv, _ = planned("compyle", "prod", "aws")
    task = next(r for r in inv.of_type("ecs/taskDefinition:TaskDefinition") if r.name.startswith("fastapi"))
    defs = {c["name"]: c for c in json.loads(task.inputs["containerDefinitions"])}
    helper = defs["secret-files"]
    assert helper["essential"] is False and helper["readonlyRootFilesystem"] is True
    assert helper["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    app = next(c for c in defs.values() if c["name"] != "secret-files")
    assert {"containerName": "secret-files", "condition": "SUCCESS"} in app["dependsOn"]
    helper_volumes = {m["sourceVolume"] for m in helper["mountPoints"]}
    app_mounts = [m for m in app["mountPoints"] if m["sourceVolume"] in helper_volumes]
    assert app_mounts and all(m["readOnly"] is True for m in app_mounts)
    assert not [v for v in policies.evaluate([task.as_json()], profile="prod") if v["policy"].startswith("container-")]


# --- a root ECS helper container must be locked down -----------------------------------------------------------


def _task(*containers: dict) -> dict:
    return {"family": "api", "containerDefinitions": json.dumps(list(containers))}


APP = {"name": "app", "image": "a/b:1", "essential": True, "user": "10001", "readonlyRootFilesystem": True,
       "linuxParameters": {"capabilities": {"drop": ["ALL"]}}}
HELPER = {"name": "init", "image": "busybox:1.37.0", "essential": False, "user": "0", "readonlyRootFilesystem": True,
          "linuxParameters": {"capabilities": {"drop": ["ALL"]}}}


def test_a_locked_down_root_helper_is_accepted():
    assert RULE["container-non-root"].check(TASK, _task(APP, HELPER), OPTS) == []
    assert RULE["container-read-only-root"].check(TASK, _task(APP, HELPER), OPTS) == []


@pytest.mark.parametrize("change,rule", [
    ({"readonlyRootFilesystem": False}, "container-non-root"),
    ({"readonlyRootFilesystem": False}, "container-read-only-root"),
    ({"linuxParameters": {"capabilities": {"drop": []}}}, "container-non-root"),
    ({"essential": True}, "container-non-root"),
    ({"user": "root"}, None),
])
def test_a_root_helper_with_a_writable_root_or_capabilities_is_flagged(change, rule):
    helper = {**HELPER, **change}
    if rule is None:  # "root" by name is the same as uid 0: accepted only when locked down like HELPER
        assert RULE["container-non-root"].check(TASK, _task(APP, helper), OPTS) == []
        return
    found = RULE[rule].check(TASK, _task(APP, helper), OPTS)
    assert found and "init" in found[0], found
    levels = {v["level"] for v in policies.evaluate([{"urn": "u", "type": TASK, "inputs": _task(APP, helper)}], profile="prod") if v["policy"] == rule}
    assert levels == {"mandatory"}
