"""The GitHub Actions workflows (.github/workflows/): schema-valid, zizmor-clean, and gated as designed.

Offline: check-jsonschema uses its vendored GitHub-workflow schema and zizmor runs with --offline (both come
with the `dev` extra; the venv's bin dir is searched first).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))
SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)\s*(#.*)?$")


def tool(name: str) -> str:
    """Path of a console script from the running interpreter's environment, else from PATH."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: python -m pip install -e '.[dev]'")
    return found


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {event: None for event in on}
    return on or {}


def steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def by_name(name: str) -> dict[str, Any]:
    return load(WORKFLOWS / name)


def test_the_workflows_exist():
    names = {path.name for path in FILES}
    assert {"pr.yml", "pr-comment.yml", "deploy.yml"} <= names


# --- tools --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_schema(path: Path):
    proc = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_finds_nothing():
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")}
    proc = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", str(WORKFLOWS)],
        capture_output=True, text=True, cwd=ROOT, env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- structure ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path):
    for job_id, step in steps(load(path)):
        if "uses" in step:
            assert SHA_PIN.match(step["uses"]), f"{path.name} {job_id}: {step['uses']} is not pinned to a full SHA"
    for line in path.read_text().splitlines():
        m = USES_LINE.match(line)
        if m:
            assert m[2] and re.match(r"#\s*v\d+(\.\d+)*", m[2]), f"{path.name}: `{line.strip()}` lacks a # vX.Y.Z comment"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_permissions_are_least_privilege(path: Path):
    workflow = load(path)
    assert workflow.get("permissions") in ({}, {"contents": "read"}), f"{path.name}: top-level permissions too broad"
    for job_id, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"{path.name} {job_id}: no job-level permissions"
        assert "write-all" not in str(job["permissions"]) and "read-all" not in str(job["permissions"])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_jobs_have_timeouts_and_checkouts_keep_no_credentials(path: Path):
    workflow = load(path)
    for job_id, job in workflow["jobs"].items():
        assert job.get("timeout-minutes"), f"{path.name} {job_id}: no timeout-minutes"
    for job_id, step in steps(workflow):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{path.name} {job_id}: persist-credentials"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_expressions_inside_run_scripts(path: Path):
    for job_id, step in steps(load(path)):
        assert "${{" not in step.get("run", ""), f"{path.name} {job_id}: pass values to `run:` through env"


def test_pr_workflow_runs_pr_code_without_secrets_and_previews_same_repo_only():
    workflow = by_name("pr.yml")
    assert set(triggers(workflow)) == {"pull_request"}  # never pull_request_target
    jobs = workflow["jobs"]
    plan = jobs["plan"]
    assert "secrets." not in yaml.safe_dump(plan)
    assert plan["permissions"] == {"contents": "read"}
    uploads = [s for s in plan["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploads and uploads[0]["with"]["name"] == "prodkit-plan-comment"
    assert "prodkit plan" in plan["name"]
    runs = "\n".join(s.get("run", "") for s in plan["steps"])
    assert 'prodkit plan --stack "$stack"' in runs and "prodkit comment " in runs
    assert "python - " not in runs and "<<" not in runs, "the comment is made by `prodkit comment`, not by a script inlined here"
    checkouts = [s for s in plan["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert [c.get("with", {}).get("ref") for c in checkouts] == [None, "${{ github.event.pull_request.base.sha }}"]
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    for job_id, job in jobs.items():
        if "secrets." in yaml.safe_dump(job):
            assert same_repo in job.get("if", ""), f"pr.yml {job_id} uses secrets but may run for forks"
    preview = jobs["preview"]
    assert same_repo in preview["if"]
    pulumi = [s for s in preview["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert len(pulumi) == 1 and pulumi[0]["with"]["command"] == "preview"
    assert pulumi[0]["with"]["policyPacks"] == "policies"
    assert "policies/config/" in pulumi[0]["with"]["policyPackConfigs"]


def test_comment_workflow_never_touches_pr_code():
    workflow = by_name("pr-comment.yml")
    on = triggers(workflow)
    assert set(on) == {"workflow_run"}
    assert on["workflow_run"]["workflows"] == [by_name("pr.yml")["name"]]
    for job_id, step in steps(workflow):
        assert not step.get("uses", "").startswith("actions/checkout@"), f"pr-comment.yml {job_id} checks out code"
    text = (WORKFLOWS / "pr-comment.yml").read_text()
    assert "^[0-9]{1,10}$" in text and "--body-file" in text
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}


def test_deploys_staging_on_main_and_prod_on_version_tags_behind_approval():
    workflow = by_name("deploy.yml")
    push = triggers(workflow)["push"]
    assert set(triggers(workflow)) == {"push"}
    assert push["branches"] == ["main"] and push["tags"] == ["v*.*.*"]
    jobs = workflow["jobs"]

    def pulumi_step(job: dict[str, Any]) -> dict[str, Any]:
        (step,) = [s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
        return step

    staging, prod = jobs["staging"], jobs["prod"]
    assert staging["if"] == "github.ref == 'refs/heads/main'"
    assert staging["environment"] == "staging"
    assert pulumi_step(staging)["with"]["command"] == "up" and "staging" in pulumi_step(staging)["with"]["stack-name"]

    assert prod["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert prod["environment"] == "production"
    assert pulumi_step(prod)["with"]["command"] == "up" and "prod" in pulumi_step(prod)["with"]["stack-name"]

    groups = set()
    for job_id, job in jobs.items():
        assert job["concurrency"]["cancel-in-progress"] is False, f"deploy.yml {job_id} may cancel a running deploy"
        groups.add(job["concurrency"]["group"])
        assert set(job["permissions"]) <= {"contents", "id-token"}
    assert len(groups) == len(jobs), "each stack needs its own concurrency group"


def _plan_script() -> str:
    (step,) = [s for s in by_name("pr.yml")["jobs"]["plan"]["steps"] if s.get("id") == "plan"]
    return step["run"]


def test_the_plan_step_plans_head_and_base_and_writes_the_comment(tmp_path):
    """Run the workflow's plan step as GitHub would: a head checkout, the base in .prodkit-base, a base venv."""
    import shutil

    work = tmp_path / "work"
    base = work / ".prodkit-base"
    base.mkdir(parents=True)
    for name in ("Pulumi.yaml", "Pulumi.aws-staging.yaml"):
        shutil.copy(ROOT / name, work / name)
        shutil.copy(ROOT / name, base / name)
    # The pull request raises the log retention of staging: the comment must show that change.
    head_file = work / "Pulumi.aws-staging.yaml"
    head_file.write_text(head_file.read_text().replace("config:\n", "config:\n  prodkit:overrides:\n    log_retention_days: 30\n", 1))
    temp = tmp_path / "runner"
    (temp / "base-venv" / "bin").mkdir(parents=True)
    (temp / "base-venv" / "bin" / "prodkit").symlink_to(Path(tool("prodkit")))
    output = tmp_path / "github-output"
    env = {**os.environ, "RUNNER_TEMP": str(temp), "GITHUB_OUTPUT": str(output), "PR_NUMBER": "42", "HEAD_SHA": "f" * 40,
           "COMMENT_DIR": str(temp / "prodkit-plan-comment"), "PATH": f"{Path(tool('prodkit')).parent}:{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "-c", _plan_script()], cwd=work, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    body = (temp / "prodkit-plan-comment" / "comment.md").read_text()
    assert "| `aws-staging` | ✅ clean |" in body
    assert "| `retentionInDays` | `14` | `30` |" in body
    assert "```mermaid" in body
    assert (temp / "prodkit-plan-comment" / "pr-number.txt").read_text() == "42\n"
    assert output.read_text() == "failed=\n"
