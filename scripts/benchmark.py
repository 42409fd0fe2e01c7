"""Benchmark `prodkit plan`: whole-process wall time and peak RSS per app x profile x cloud, plus a synthetic
app with 100 services. A script, not a timed test: run it on a quiet machine and paste the table.

    .venv/bin/python scripts/benchmark.py [--runs 3] [--clouds kubernetes,aws,gcp,azure] [--services 100] [--engine-apps compyle]

When the real engine can be built (a Go toolchain: scripts/pulumi-engine), a second table puts the wall time of
`pulumi preview` (kubernetes provider in render mode, local backend, secrets set) beside `prodkit plan` for the
same Kubernetes stacks (`--engine-apps ''` skips it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
APPS = ("compyle", "autopr", "copilot", "chat", "arches")
#: Config a cloud needs beside the shared stack files.
CLOUD_CONFIG = {"gcp": ["gcp:project=acme-prodkit", "prodkit:region=us-central1"]}


def run_once(args: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, exit code) of one `prodkit plan` process."""
    cmd = [sys.executable, "-m", "stacks.cli", *args]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.stderr.write(proc.stderr.read().decode() if proc.stderr else "")
    return wall, usage.ru_maxrss / 1024, code


def synthetic_spec(n: int, path: Path) -> None:
    services = {}
    for i in range(n):
        services[f"svc{i:03d}"] = {
            "image": "ghcr.io/acme/svc", "tag": "1.0.0", "port": 8080, "replicas": 2,
            "health": {"path": "/health"}, "cpu": "250m", "memory": "512Mi", "uses": ["postgres", "redis"],
        }
    spec = {
        "name": "synthetic", "services": services,
        "routes": [{"path": f"/s{i:03d}", "service": f"svc{i:03d}", "rate_limit_per_minute": 600} for i in range(n)],
        "postgres": {"version": "16"}, "redis": {"version": "7"},
        "backups": {"database": {"schedule": "0 3 * * *", "retention_days": 7}},
    }
    path.write_text(yaml.safe_dump(spec))


def engine_env(home: Path) -> dict[str, str] | None:
    """The environment running the real CLI (built by scripts/pulumi-engine), or None when it cannot be built."""
    if shutil.which("go") is None:
        return None
    env = {**os.environ, "PULUMI_HOME": str(home), "PULUMI_CONFIG_PASSPHRASE": "benchmark", "PRODKIT_PYTHON": sys.executable,
           "PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true"}
    env.pop("PULUMI_BACKEND_URL", None)
    build = subprocess.run([str(ROOT / "scripts" / "pulumi-engine")], env=env, text=True, stdout=subprocess.PIPE)
    if build.returncode != 0:
        return None
    env["PATH"] = build.stdout.strip().splitlines()[-1] + os.pathsep + env.get("PATH", "")
    return env


def engine_preview_times(app: str, profile: str, runs: int, env: dict[str, str], work: Path) -> list[float]:
    """Wall seconds of `pulumi preview` of the app on Kubernetes in render mode (a fresh stack, secrets set)."""
    from stacks.spec import load_app

    stack = f"{app}-{profile}"
    project = work / stack
    project.mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    shutil.copy(ROOT / f"Pulumi.{'prod' if profile == 'prod' else 'staging'}.yaml", project / f"Pulumi.{stack}.yaml")
    for name in ("stacks", "components", "policies", ".venv"):
        (project / name).symlink_to(ROOT / name)

    def pulumi(*args: str, stdin: str | None = None) -> None:
        subprocess.run(["pulumi", *args], cwd=project, env=env, input=stdin, text=True, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    pulumi("login", f"file://{work}")
    pulumi("stack", "select", "--create", stack)
    for key, value in {"prodkit:app": app, "prodkit:profile": profile, "prodkit:cloud": "kubernetes",
                       "kubernetes:renderYamlToDirectory": str(work / f"{stack}-rendered")}.items():
        pulumi("config", "set", key, value, "--stack", stack)
    for name, spec in load_app(app).secrets.items():
        if spec.source == "config" and not spec.optional:
            pulumi("config", "set", "--secret", f"prodkit:{name}", "--stack", stack, stdin=f"benchmark-{name}")
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        pulumi("preview", "--stack", stack, "--non-interactive")
        walls.append(time.perf_counter() - start)
    return walls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clouds", default="kubernetes,aws,gcp,azure")
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--engine-apps", default="compyle", help="apps whose real `pulumi preview` is timed ('' for none)")
    opts = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="prodkit-bench-"))
    rows = []
    cases = [(app, profile, cloud) for cloud in opts.clouds.split(",") for app in APPS for profile in ("staging", "prod")]
    spec = out / "synthetic.yaml"
    synthetic_spec(opts.services, spec)
    cases += [(str(spec), "staging", cloud) for cloud in opts.clouds.split(",")]
    for app, profile, cloud in cases:
        stack = "prod" if profile == "prod" else "staging"
        if cloud in ("aws", "azure"):  # their stack files carry what the cloud needs (ECR pull-through cache, location)
            stack = f"{cloud}-{stack}"
        args = ["plan", "--stack", stack, "-c", f"prodkit:app={app}", "-c", f"prodkit:profile={profile}",
                "-c", f"prodkit:cloud={cloud}", "--out", str(out / "o"), "--format", "json"]
        for item in CLOUD_CONFIG.get(cloud, []):
            args += ["-c", item]
        results = [run_once(args) for _ in range(opts.runs)]
        walls = [r[0] for r in results]
        label = app if app in APPS else f"synthetic-{opts.services}"
        rows.append((label, profile, cloud, statistics.median(walls), max(walls), max(r[1] for r in results), results[-1][2]))
    print(f"{'app':<16} {'profile':<8} {'cloud':<11} {'median s':>9} {'max s':>7} {'peak RSS MiB':>13} {'exit':>5}")
    for label, profile, cloud, med, worst, rss, code in rows:
        print(f"{label:<16} {profile:<8} {cloud:<11} {med:>9.2f} {worst:>7.2f} {rss:>13.0f} {code:>5}")
    engine_apps = [a for a in opts.engine_apps.split(",") if a]
    env = engine_env(out / "pulumi-home") if engine_apps else None
    if engine_apps and env is None:
        print("\npulumi preview: not timed (no Go toolchain, or scripts/pulumi-engine failed)")
    if env is not None:
        print(f"\n{'app':<16} {'profile':<8} {'prodkit plan s':>15} {'pulumi preview s':>17}   (kubernetes, medians)")
        plans = {(label, profile): med for label, profile, cloud, med, *_ in rows if cloud == "kubernetes"}
        for app in engine_apps:
            for profile in ("staging", "prod"):
                walls = engine_preview_times(app, profile, opts.runs, env, out / "engine")
                plan_s = plans.get((app, profile))
                print(f"{app:<16} {profile:<8} {plan_s if plan_s is not None else float('nan'):>15.2f} {statistics.median(walls):>17.2f}")


if __name__ == "__main__":
    main()
