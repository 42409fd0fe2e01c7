"""Every seed app x profile x cloud plans offline: zero mandatory violations, strictly valid manifests,
hardened workloads, protected state in prod, and a stable inventory (goldens)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import goldens
from conftest import APPS, CLOUDS, PROFILES, ROOT, planned
from stacks import cli

COMBOS = [(a, p, c) for c in CLOUDS for a in APPS for p in PROFILES]
WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:CronJob")


def pod_spec(r):
    spec = r.inputs["spec"]
    if r.type.endswith("CronJob"):
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    return spec["template"]["spec"]


@pytest.mark.parametrize("app,profile,cloud", COMBOS)
def test_plan_has_no_mandatory_violation(app, profile, cloud):
    cfg, inventory, _ = planned(app, profile, cloud)
    violations = cli.evaluate([r.as_json() for r in inventory.resources], profile, cfg.profile.enforce_policies)
    mandatory = [v for v in violations if v["level"] == "mandatory"]
    assert not mandatory, json.dumps(mandatory[:10], indent=1)


@pytest.mark.parametrize("app,profile,cloud", COMBOS)
def test_stack_inventory_matches_golden(app, profile, cloud, update_inventories):
    _, inventory, _ = planned(app, profile, cloud)
    goldens.check(f"stacks/{app}/{cloud}-{profile}.yaml", goldens.snapshot(inventory.custom(), full_inputs=False), update_inventories)


COMPONENT_SOURCES = {  # component -> the seed app whose plan carries its richest form
    "network": "copilot", "api": "copilot", "postgres": "arches", "redis": "arches", "ingress": "compyle",
    "engine-autoscaler": "autopr", "backups": "compyle", "monitoring": "arches",
}


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("component", sorted(COMPONENT_SOURCES))
def test_component_inventory_matches_golden(component, profile, cloud, update_inventories):
    _, inventory, composition = planned(COMPONENT_SOURCES[component], profile, cloud)
    assert component in composition.components, f"{COMPONENT_SOURCES[component]} has no {component}"
    top = next(r for r in inventory.resources if r.type.startswith("prodkit:") and r.name == component)
    members, frontier = [], {top.urn}
    for r in inventory.resources:
        if r.parent in frontier:
            members.append(r)
            frontier.add(r.urn)
    kind = top.type.rsplit(":", 1)[-1]
    goldens.check(f"components/{kind}/{cloud}-{profile}.yaml", goldens.snapshot([m for m in members if m.custom], full_inputs=True), update_inventories)


@pytest.mark.parametrize("app,profile", [(a, p) for a in APPS for p in PROFILES])
def test_kubernetes_manifests_are_strictly_valid(app, profile, tmp_path):
    from stacks.manifests import write_and_validate

    _, inventory, _ = planned(app, profile, "kubernetes")
    problems = [p for p in write_and_validate(inventory, tmp_path) if p.is_error]
    assert not problems, "\n".join(map(str, problems))
    assert len(list(tmp_path.glob("*.yaml"))) >= 10


@pytest.mark.parametrize("app,profile", [(a, p) for a in APPS for p in PROFILES])
def test_every_kubernetes_workload_is_hardened(app, profile):
    _, inventory, _ = planned(app, profile, "kubernetes")
    workloads = [r for r in inventory.resources if r.type in WORKLOADS]
    assert workloads
    for w in workloads:
        spec = pod_spec(w)
        assert spec["securityContext"]["runAsNonRoot"] is True, w.name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", w.name
        for c in spec["containers"] + spec.get("initContainers", []):
            sc = c["securityContext"]
            where = f"{w.name}/{c['name']}"
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            assert c["resources"]["requests"] and c["resources"]["limits"], where
            assert not c["image"].endswith(":latest") and ":" in c["image"].rsplit("/", 1)[-1], where
            for env in c.get("env", []):
                assert "value" not in env or env["value"] != "[secret]", f"{where}: secret value in env {env['name']}"
        if not w.type.endswith("CronJob"):
            main = spec["containers"][0]
            assert "livenessProbe" in main and "readinessProbe" in main, w.name


@pytest.mark.parametrize("app", APPS)
def test_stateful_resources_protected_in_prod_only(app):
    stateful = ("PersistentVolumeClaim", "postgresql.cnpg.io/v1:Cluster", "apps/v1:StatefulSet")
    for profile, expected in (("prod", True), ("staging", False)):
        _, inventory, _ = planned(app, profile, "kubernetes")
        found = [r for r in inventory.resources if r.type.endswith(stateful)]
        for r in found:
            assert r.protect is expected, f"{profile} {r.type} {r.name} protect={r.protect}"
            assert r.retain_on_delete is expected, f"{profile} {r.name} retainOnDelete={r.retain_on_delete}"


@pytest.mark.parametrize("app", APPS)
def test_aws_stateful_resources_protected_in_prod(app):
    _, inventory, _ = planned(app, "prod", "aws")
    for r in inventory.resources:
        if r.type in ("aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup", "aws:efs/fileSystem:FileSystem", "aws:backup/vault:Vault"):
            assert r.protect and r.retain_on_delete, f"{r.type} {r.name}"
        if r.type == "aws:rds/instance:Instance":
            i = r.inputs
            assert i["deletionProtection"] is True and i["multiAz"] is True and i["storageEncrypted"] is True
            assert i["publiclyAccessible"] is False and i["backupRetentionPeriod"] >= 30


def test_plan_json_has_the_documented_shape_and_no_secret(tmp_path, capsys):
    code = cli.main(["plan", "--stack", "staging", "--dir", str(ROOT), "--out", str(tmp_path), "--format", "json", "-c", "prodkit:app=compyle"])
    out = capsys.readouterr().out
    assert code == 0, out[-2000:]
    doc = json.loads(out)
    assert {"stack", "app", "cloud", "profile", "resources", "violations"} <= set(doc)
    assert doc["app"] == "compyle" and doc["cloud"] == "kubernetes" and doc["profile"] == "staging"
    for r in doc["resources"]:
        assert {"urn", "type", "name", "parent", "protect", "inputs"} <= set(r)
    assert "[secret placeholder]" not in out
    assert (tmp_path / "architecture.md").read_text().count("```mermaid") == 1
    for manifest in (tmp_path / "manifests").glob("secret-*.yaml"):
        assert "[secret placeholder]" not in manifest.read_text()


def test_plan_text_groups_by_component(tmp_path, capsys):
    code = cli.main(["plan", "--stack", "prod", "--dir", str(ROOT), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    assert "WebService" in out and "ManagedPostgres" in out and "[protect]" in out and "Policy verdicts" in out


def test_check_reads_a_plan_inventory(tmp_path, capsys):
    cli.main(["plan", "--stack", "prod", "--dir", str(ROOT), "--out", str(tmp_path), "--format", "json"])
    inv = tmp_path / "inventory.json"
    capsys.readouterr()
    assert cli.main(["check", str(inv), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"violations"} and all(v["level"] == "advisory" for v in doc["violations"])


def test_addons_profile_flag_installs_pinned_helm_releases(tmp_path):
    cfg = cli.load_stack(ROOT, "staging", ["prodkit:overrides={install_addons: true}"])
    inventory, _ = cli.run_plan(cfg)
    releases = {r.inputs["chart"]: r.inputs for r in inventory.of_type("kubernetes:helm.sh/v3:Release")}
    assert {"oci://docker.io/envoyproxy/gateway-helm", "cert-manager", "cloudnative-pg", "plugin-barman-cloud", "velero", "keda"} <= set(releases)
    assert not [c for c in releases if "nginx" in c]
    for chart, inputs in releases.items():
        assert inputs.get("version"), f"{chart} is not pinned"
    (issuer,) = inventory.of_type("kubernetes:cert-manager.io/v1:ClusterIssuer")
    assert issuer.inputs["metadata"]["name"] == cfg.cluster_issuer
    # Velero backs up to the stack's backup bucket, the one CNPG uses.
    location = releases["velero"]["values"]["configuration"]["backupStorageLocation"][0]
    from stacks.targets.kubernetes import TARGET

    assert location["bucket"] == TARGET.backup_bucket(cfg).removeprefix("s3://").partition("/")[0]


def test_addons_are_off_by_default():
    _, inventory, _ = planned("compyle", "prod", "kubernetes")
    assert not inventory.of_type("kubernetes:helm.sh/v3:Release")
