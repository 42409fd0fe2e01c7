"""What a reviewer and a newcomer see (issue 10): deterministic plans, `prodkit diff`, the pull-request comment,
an `--out` folder prodkit owns, the text header, the diagram's links, `prodkit apps` / `--version`, and the
public `prodkit` import path with the README's own-program example."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, planned
from stacks import cli, plandiff, summary


def prodkit(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stacks.cli", *args], cwd=cwd, capture_output=True, text=True)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- 1. deterministic output ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stack,app,formats", [("staging", "copilot", ("text", "json", "text")), ("aws-prod", "autopr", ("text", "text"))])
def test_two_plans_in_two_processes_are_byte_identical(tmp_path, stack, app, formats):
    """Registration order varies with thread scheduling; the text, JSON, inventory, manifests and diagram do not.
    (`--format json` prints the bytes written to inventory.json, so comparing those covers the JSON.)"""
    runs = []
    for fmt in formats:
        out = tmp_path / "out"
        proc = prodkit("plan", "--stack", stack, "-c", f"prodkit:app={app}", "--out", str(out), "--format", fmt)
        assert proc.returncode in (0, 1), proc.stderr
        runs.append((fmt, proc.stdout, snapshot(out)))
    texts = {stdout for fmt, stdout, _ in runs if fmt == "text"}
    assert len(texts) == 1
    first = runs[0][2]
    assert all(files == first for _, _, files in runs)
    for fmt, stdout, _ in runs:
        if fmt == "json":
            assert stdout.strip().encode() == first["inventory.json"]
    assert "architecture.md" in first and "inventory.json" in first
    if stack == "staging":
        assert any(name.startswith("manifests/") for name in first)


def test_components_in_spec_order_and_resources_by_urn_within_each():
    cfg, inventory, composition = planned("copilot", "staging", "kubernetes")
    tops = [r.name for r in inventory.resources if r.type.startswith("prodkit:") and r.parent.endswith("::prodkit-staging")]
    assert tops == [n for n in composition.components if n in tops]
    assert tops[:6] == ["network", "postgres", "redis", "api", "workflow", "context"]
    by_urn = {r.urn: r for r in inventory.resources}

    def top(r):
        while r.parent in by_urn:
            r = by_urn[r.parent]
        return r.urn

    groups: dict[str, list[str]] = {}
    for r in inventory.resources:
        groups.setdefault(top(r), []).append(r.urn)
    for root, urns in groups.items():
        assert urns[0] == root or root not in urns
        rest = [u for u in urns if u != root]
        assert rest == sorted(rest)


# --- 2. prodkit diff --------------------------------------------------------------------------------------------


def _plan_doc(app: str, profile: str, cloud: str) -> dict:
    """The `plan --format json` document of a bundled app (planned in this process, cached)."""
    cfg, inventory, _ = planned(app, profile, cloud)
    return {"stack": cfg.stack, "app": cfg.app.name, "cloud": cfg.cloud.value, "profile": cfg.profile.name,
            "resources": [r.as_json() for r in inventory.resources], "violations": []}


def _write(tmp: Path, name: str, doc: dict) -> Path:
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(doc, sort_keys=True))
    return path


@pytest.fixture(scope="module")
def aws_staging_vs_prod(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("diff-aws")
    # compyle leaves HA to the profile (autopr forces Multi-AZ in both).
    return _write(tmp, "staging", _plan_doc("compyle", "staging", "aws")), _write(tmp, "prod", _plan_doc("compyle", "prod", "aws"))


def test_diff_staging_vs_prod_on_aws_shows_multi_az_and_deletion_protection(aws_staging_vs_prod):
    base, head = aws_staging_vs_prod
    proc = prodkit("diff", str(base), str(head), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    rds = [r for r in doc["resources"] if r["type"] == "aws:rds/instance:Instance"]
    assert len(rds) == 1 and rds[0]["action"] == "changed"
    changes = {c["path"]: (c["old"], c["new"]) for c in rds[0]["changes"]}
    assert changes["multiAz"] == (False, True)
    assert changes["deletionProtection"] == (False, True)
    assert changes["protect"] == (False, True)
    assert changes["backupRetentionPeriod"] == (7, 30)
    redis = next(r for r in doc["resources"] if r["type"] == "aws:elasticache/replicationGroup:ReplicationGroup")
    assert {c["path"]: (c["old"], c["new"]) for c in redis["changes"]}["automaticFailoverEnabled"] == (False, True)
    # Prod has a third zone: its subnets and NAT gateway are added, nothing of staging's is removed.
    added = {r["name"] for r in doc["resources"] if r["action"] == "added"}
    assert {"network-nat-2", "network-private-2"} <= added
    removed = {r["name"] for r in doc["resources"] if r["action"] == "removed"}
    # (ECS Exec is on in staging only: its ssmmessages endpoint is the one network resource prod does not have.)
    assert not {n for n in removed if n.startswith(("network-", "postgres-", "redis-"))} - {"network-ssmmessages-endpoint"}, removed
    # Names carry the stack name: read as the head's, they are not replacements.
    assert not [r for r in doc["resources"] if r["action"] == "replaced" and r["reasons"] == ["name changed"]]

    text = prodkit("diff", str(base), str(head)).stdout
    assert "~ changed rds/instance:Instance postgres-instance" in text
    assert "    multiAz: false -> true" in text
    assert not re.search(r"\bid-[0-9a-f]{12}\b", text)  # offline ids are shown as the resources they stand for
    assert "subnetIds.2: (absent) -> network-private-2" in text
    md = prodkit("diff", str(base), str(head), "--format", "markdown").stdout
    assert "| `multiAz` | `false` | `true` |" in md and "| ➕ added |" in md


def test_diff_staging_vs_prod_on_kubernetes_shows_replicas():
    d = plandiff.diff(_plan_doc("copilot", "staging", "kubernetes"), _plan_doc("copilot", "prod", "kubernetes"))
    api = next(r for r in d.resources if r.type == "kubernetes:apps/v1:Deployment" and r.name.startswith("api"))
    changes = {c.path: (c.old, c.new) for c in api.changes}
    assert changes["spec.replicas"] == (2, 3)
    cluster = next(r for r in d.resources if r.type == "kubernetes:postgresql.cnpg.io/v1:Cluster")
    assert {c.path: (c.old, c.new) for c in cluster.changes}["spec.instances"] == (1, 3)


def _doc(*resources, stack="s"):
    return {"stack": stack, "app": "a", "cloud": "aws", "profile": "prod", "resources": list(resources)}


def _res(type_, name, parent="", protect=False, **inputs):
    prefix = f"{parent}$" if parent else ""
    return {"urn": f"urn:pulumi:s::prodkit::{prefix}{type_}::{name}", "type": type_, "name": name, "protect": protect, "inputs": inputs}


def test_replace_on_properties_and_urn_changes_are_replacements():
    rds = "aws:rds/instance:Instance"
    base = _doc(_res(rds, "db", storageEncrypted=True, multiAz=False), _res("aws:s3/bucket:Bucket", "logs", parent="prodkit:index:Old"),
                _res("aws:sns/topic:Topic", "gone"))
    head = _doc(_res(rds, "db", storageEncrypted=False, multiAz=True), _res("aws:s3/bucket:Bucket", "logs", parent="prodkit:index:New"),
                _res("aws:sns/topic:Topic", "new"))
    d = plandiff.diff(base, head)
    actions = {(r.name, r.action) for r in d.resources}
    assert ("db", "replaced") in actions and ("logs", "replaced") in actions
    assert ("gone", "removed") in actions and ("new", "added") in actions
    db = next(r for r in d.resources if r.name == "db")
    assert db.reasons == ["storageEncrypted changed"]
    logs = next(r for r in d.resources if r.name == "logs")
    assert "URN changed" in logs.reasons[0]
    # A change of a property the provider updates in place is not a replacement.
    only_az = plandiff.diff(_doc(_res(rds, "db", multiAz=False)), _doc(_res(rds, "db", multiAz=True)))
    assert [r.action for r in only_az.resources] == ["changed"]


@pytest.mark.parametrize("type_,path", [
    ("kubernetes:apps/v1:Deployment", "spec.selector"),
    ("kubernetes:core/v1:PersistentVolumeClaim", "spec.storageClassName"),
    ("aws:ecs/taskDefinition:TaskDefinition", "containerDefinitions"),
    ("aws:elasticache/replicationGroup:ReplicationGroup", "atRestEncryptionEnabled"),
    ("kubernetes:core/v1:ConfigMap", "metadata.name"),
])
def test_replace_on_table(type_, path):
    assert plandiff.replace_triggers(type_, [path + ".x" if path.startswith("spec.selector") else path])


def test_diff_redacts_secrets():
    secret = "kubernetes:core/v1:Secret"
    base = _doc(_res(secret, "s", stringData={"API_KEY": "old-value"}), _res("aws:rds/instance:Instance", "db", password="hunter2"))
    head = _doc(_res(secret, "s", stringData={"API_KEY": "new-value"}), _res("aws:rds/instance:Instance", "db", password="hunter3"))
    d = plandiff.diff(base, head)
    rendered = plandiff.text(d) + plandiff.markdown(d) + json.dumps(d.as_json())
    for value in ("old-value", "new-value", "hunter2", "hunter3"):
        assert value not in rendered


def test_diff_of_a_plan_with_itself_is_empty(aws_staging_vs_prod):
    base, _ = aws_staging_vs_prod
    proc = prodkit("diff", str(base), str(base))
    assert proc.returncode == 0 and "No infrastructure change." in proc.stdout


def test_diff_bad_inputs_exit_2(tmp_path):
    missing = prodkit("diff", str(tmp_path / "nope.json"), str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "file not found" in missing.stderr and "Traceback" not in missing.stderr
    (tmp_path / "x.json").write_text("{")
    broken = prodkit("diff", str(tmp_path / "x.json"), str(tmp_path / "x.json"))
    assert broken.returncode == 2 and "not JSON" in broken.stderr and "line 1" in broken.stderr


# --- the pull-request comment -------------------------------------------------------------------------------------


def test_comment_has_verdicts_diff_diagram_and_plan(tmp_path, aws_staging_vs_prod):
    base, head = aws_staging_vs_prod
    folder = tmp_path / "pr"
    stack = folder / "aws-prod"
    (stack / "head").mkdir(parents=True)
    (stack / "base").mkdir()
    (stack / "head" / "inventory.json").write_text(head.read_text())
    (stack / "base" / "inventory.json").write_text(base.read_text())
    (stack / "head" / "architecture.md").write_text("```mermaid\nflowchart LR\n  a --> b\n```\n")
    (stack / "plan.txt").write_text("prodkit plan: app autopr ...\nPolicy verdicts: all rules pass.\n")
    (stack / "exit-code").write_text("0\n")
    new = folder / "qa"
    (new / "head").mkdir(parents=True)
    (new / "head" / "inventory.json").write_text(head.read_text())
    (new / "exit-code").write_text("1")
    out = tmp_path / "comment.md"
    proc = prodkit("comment", str(folder), "--sha", "0123456789abcdef", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    body = out.read_text()
    assert "at `0123456789ab`" in body
    assert re.search(r"\| `aws-prod` \| ✅ clean \| \d+ added, [^|]*\d+ changed \|", body)
    assert "| `qa` | ❌ mandatory policy violations | no base plan" in body
    assert "| `multiAz` | `false` | `true` |" in body
    assert "```mermaid" in body and "Policy verdicts: all rules pass." in body
    short = prodkit("comment", str(folder), "--out", str(out))
    assert short.returncode == 0


def test_comment_fits_the_limit_by_cutting_plan_texts_first(tmp_path):
    from stacks import comment

    stack = tmp_path / "big"
    (stack / "head").mkdir(parents=True)
    (stack / "plan.txt").write_text("x" * 100_000)
    (stack / "exit-code").write_text("0")
    body = comment.comment(tmp_path, limit=20_000)
    assert len(body) <= 20_000 and "| `big` | ✅ clean |" in body and "more characters; see the job log" in body


# --- 4. --out is ours ------------------------------------------------------------------------------------------


def test_planning_another_app_into_the_same_out_removes_the_first_apps_files(tmp_path):
    out = tmp_path / "out"
    assert cli.main(["plan", "--stack", "staging", "--dir", str(ROOT), "--out", str(out)]) == 0
    assert (out / "manifests" / "deployment-fastapi.yaml").is_file()
    (out / "notes.txt").write_text("mine")
    (out / "manifests" / "extra.yaml").write_text("kind: Mine\n")
    assert cli.main(["plan", "--stack", "staging", "--dir", str(ROOT), "-c", "prodkit:app=autopr", "--out", str(out)]) == 0
    names = {p.name for p in (out / "manifests").iterdir()}
    assert not {n for n in names if "fastapi" in n or "nextjs" in n}
    assert "deployment-engine.yaml" in names
    assert (out / "notes.txt").read_text() == "mine" and (out / "manifests" / "extra.yaml").is_file()
    listed = (out / ".prodkit-plan").read_text().splitlines()
    assert "manifests/deployment-engine.yaml" in listed and "notes.txt" not in listed and "inventory.json" in listed


def test_an_out_folder_of_an_older_prodkit_is_adopted(tmp_path):
    """Folders planned before `.prodkit-plan` existed hold only prodkit's names: they are cleaned, not refused."""
    out = tmp_path / "old"
    (out / "manifests").mkdir(parents=True)
    (out / "inventory.json").write_text("{}")
    (out / "manifests" / "deployment-old-app.yaml").write_text("kind: Deployment\n")
    assert cli.main(["plan", "--stack", "staging", "--dir", str(ROOT), "--out", str(out)]) == 0
    assert not (out / "manifests" / "deployment-old-app.yaml").exists() and (out / ".prodkit-plan").is_file()


def test_a_foreign_non_empty_out_folder_is_refused(tmp_path):
    out = tmp_path / "someone-elses"
    out.mkdir()
    (out / "important.yaml").write_text("keep me")
    proc = prodkit("plan", "--stack", "staging", "--out", str(out))
    assert proc.returncode == 2 and "--out" in proc.stderr and ".prodkit-plan" in proc.stderr and "Traceback" not in proc.stderr
    assert (out / "important.yaml").read_text() == "keep me" and len(list(out.iterdir())) == 1


# --- 7. the diagram's links -------------------------------------------------------------------------------------------


def test_diagram_draws_service_to_service_calls():
    from stacks import diagram

    cfg, _, composition = planned("copilot", "staging", "kubernetes")
    text = diagram.mermaid(cfg, composition)
    assert '  n_api -->|"WORKFLOW_ENGINE_URL"| n_workflow' in text
    assert '  n_api -->|"CONTEXT_SERVICE_URL"| n_context' in text
    assert '  n_workflow -->|"CONTEXT_SERVICE_URL"| n_context' in text
    assert '  n_ingress -->|"/"| n_api' in text


def test_diagram_labels_are_escaped_not_mangled():
    from stacks.diagram import label_text

    assert label_text("/api/agents") == "/api/agents"
    assert label_text('say "hi" | bye') == "say #quot;hi#quot; #124; bye"
    long = label_text("a very long label with many words that would overflow the edge of the diagram")
    assert long.endswith("...") and len(long) <= 48 and "overf" not in long.replace("overflow", "")


# --- 8. the text a reviewer reads -----------------------------------------------------------------------------------


def _text(app: str, profile: str, cloud: str) -> str:
    cfg, inventory, _ = planned(app, profile, cloud)
    return summary.text(cfg, inventory, [], [], Path("out"))


def test_text_header_names_the_profile_choices_and_the_rules_run():
    header = _text("compyle", "staging", "kubernetes").split("\n\n", 1)[0]
    flat = " ".join(header.split())
    assert "Profile staging, against prod:" in flat
    assert "database/cache HA off (prod on)" in flat and "WAF and rate rules count (prod block)" in flat
    assert "policies advisory (prod mandatory)" in flat
    assert "FARGATE_SPOT" not in flat and "ECS Exec" not in flat  # AWS-only choices are not shown on Kubernetes
    aws = " ".join(_text("compyle", "staging", "aws").split("\n\n", 1)[0].split())
    assert "FARGATE_SPOT weight 4 (prod none)" in aws and "cluster add-ons" not in aws
    assert all(len(line) <= summary.WIDTH for line in header.splitlines()[1:])
    import policies

    _, inventory, _ = planned("compyle", "staging", "kubernetes")
    types = {r.type for r in inventory.resources}
    applicable = [r for r in policies.RULES if "plan" in r.engines and any(r.applies_to(t) for t in types)]
    run = sum(1 for r in applicable if not r.prod_only)
    prod_only = sorted(r.id for r in applicable if r.prod_only)
    assert not [r for r in prod_only if r.startswith(("gcp-", "azure-"))]  # a Kubernetes stack runs no cloud's rules
    assert f"Policy pack: {run} rules run" in flat
    assert f"{len(prod_only)} prod-only rules not run in staging: {', '.join(prod_only)}" in flat
    prod = " ".join(_text("compyle", "prod", "kubernetes").split("\n\n", 1)[0].split())
    assert "every violation mandatory" in prod and "not run" not in prod
    from stacks.profiles import resolve

    assert summary.profile_lines(resolve("staging", {"log_retention_days": 30}))[1] == "Changed by prodkit:overrides: log_retention_days: 14 -> 30."


def test_text_shows_no_mock_ids():
    text = _text("autopr", "prod", "aws")
    assert not re.search(r"\bid-[0-9a-f]{12}\b", text)
    assert "subnetId=network-public-0" in text  # the NAT's subnet by name, not by mock id


@pytest.mark.parametrize("text", [
    "alpha beta gamma delta " * 10,
    json.dumps({"cert-manager.io/cluster-issuer": "letsencrypt-prod", "nginx.ingress.kubernetes.io/cors-allow-origin": "https://a.example.com, https://b.example.com"}),
    "x" * 200,
])
def test_cut_never_ends_mid_word(text):
    short = summary.cut(text, 60)
    assert len(short) <= 60 and short.endswith("...")
    kept = short[:-3]
    assert text.startswith(kept)
    if re.search(r"[\s,;:/=_.-]", text[:60]):
        assert not (kept[-1:].isalnum() and text[len(kept):len(kept) + 1].isalnum()), short


# --- 9. CLI and library ---------------------------------------------------------------------------------------------


def test_version_and_apps():
    from importlib import metadata

    version = prodkit("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"prodkit {metadata.version('prodkit')}"
    apps = prodkit("apps")
    assert apps.returncode == 0
    lines = [line for line in apps.stdout.splitlines() if line and not line.startswith("Plan one")]
    assert [line.split()[0] for line in lines] == ["arches", "autopr", "chat", "compyle", "copilot"]
    assert all(len(line.split(None, 3)) == 4 for line in lines)  # name, count, description
    assert "copilot  3 service(s)  LLM CoPilot Agent" in apps.stdout


def test_python_dash_m_prodkit_is_the_cli():
    proc = subprocess.run([sys.executable, "-m", "prodkit", "--version"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("prodkit ")


def test_public_import_path_reexports_the_components_and_loads_no_sdk():
    import components
    import prodkit as pk

    for name in components.__all__:
        assert getattr(pk, name) is getattr(components, name)
    out = subprocess.run([sys.executable, "-c", "import sys, prodkit; print([m for m in sys.modules if m.startswith('pulumi_')])"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"prodkit*"' in pyproject


def _readme_program() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Using the components in your own program", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.parametrize("cloud", ["KUBERNETES", "AWS"])
def test_the_readme_program_runs_on_every_implemented_cloud(cloud):
    from stacks.engine import run

    source = _readme_program()
    assert "from prodkit import" in source and "components._core" not in source
    assert "Cloud.KUBERNETES" in source
    code = source.replace("Cloud.KUBERNETES", f"Cloud.{cloud}")
    inventory = run(lambda: exec(compile(code, "README.md", "exec"), {}), stack="prod")
    kinds = {r.type for r in inventory.resources}
    assert {"prodkit:index:Network", "prodkit:index:ManagedPostgres", "prodkit:index:WebService"} <= kinds
    if cloud == "AWS":
        db = inventory.of_type("aws:rds/instance:Instance")
        assert db and db[0].inputs["multiAz"] is True and db[0].inputs["storageEncrypted"] is True
    else:
        cluster = inventory.of_type("postgresql.cnpg.io/v1:Cluster")
        assert cluster and cluster[0].inputs["spec"]["instances"] >= 2
    # DATABASE_URL arrives by reference, never as a plain value.
    assert "postgres://" not in json.dumps([r.inputs for r in inventory.resources])


def test_unknown_stack_lists_the_stacks_and_suggests(tmp_path):
    proc = prodkit("plan", "--stack", "stagin", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    present = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in Path(__file__).resolve().parent.parent.glob("Pulumi.*.yaml"))
    assert "prod" in present and "staging" in present
    assert f"stacks here: {', '.join(present)}" in proc.stderr and "Did you mean 'staging'?" in proc.stderr


def test_broken_pipe_is_quiet():
    proc = subprocess.run(f"{sys.executable} -m stacks.cli apps | head -c 10", shell=True, cwd=ROOT, capture_output=True, text=True)
    assert "Traceback" not in proc.stderr
