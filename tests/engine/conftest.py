"""The real Pulumi engine (CLI, Python language host, kubernetes and random plugins) on temporary local backends.

Collected only when PRODKIT_ENGINE_TESTS=1 (`.ci/run` sets it after the unit suite), so the default `pytest` run
does not run them twice. Without a Go toolchain they are skipped with one line: the engine is built from the Go
module proxy by scripts/pulumi-engine (cold: minutes; then cached).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "prodkit-engine-tests"
NO_GO = "engine tests: no Go toolchain on PATH (scripts/pulumi-engine builds Pulumi from the Go module proxy)"

if os.environ.get("PRODKIT_ENGINE_TESTS") != "1":
    collect_ignore_glob = ["test_*.py"]


@dataclass
class Engine:
    bin: Path
    env: dict[str, str]
    state: Path
    log: list[str] = field(default_factory=list)

    def run(self, *args: str, cwd: Path, stdin: str | None = None, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
        """Run `pulumi ARGS...` (the README's commands), non-interactively, returning stdout+stderr in .stdout."""
        cmd = [str(self.bin / "pulumi"), *args]
        if args[0] in ("preview", "up", "destroy"):
            cmd += ["--non-interactive", "--color", "never"]
        proc = subprocess.run(cmd, cwd=cwd, env=self.env, input=stdin, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout)
        self.log.append(f"$ pulumi {' '.join(args)}  -> {proc.returncode}")
        if check and proc.returncode != 0:
            raise AssertionError(f"`pulumi {' '.join(args)}` exited {proc.returncode}:\n{proc.stdout[-6000:]}")
        return proc


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    if shutil.which("go") is None:
        pytest.skip(NO_GO)
    home = tmp_path_factory.mktemp("pulumi-home")
    env = {
        **os.environ,
        "PULUMI_HOME": str(home),
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        # Only the kubernetes and random plugins exist here: never try to download others (aws, gcp, azure).
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
        "PRODKIT_PYTHON": sys.executable,
    }
    env.pop("PULUMI_BACKEND_URL", None)
    env.pop("PULUMI_ACCESS_TOKEN", None)
    build = subprocess.run([str(ROOT / "scripts" / "pulumi-engine")], env=env, text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=5400)
    if build.returncode != 0:
        raise AssertionError(f"scripts/pulumi-engine failed ({build.returncode}):\n{build.stderr[-6000:]}")
    bin_dir = Path(build.stdout.strip().splitlines()[-1])
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    state = tmp_path_factory.mktemp("pulumi-state")
    eng = Engine(bin=bin_dir, env=env, state=state)
    eng.run("login", f"file://{state}", cwd=ROOT)
    return eng


def make_project(dest: Path, stack_files: dict[str, str]) -> Path:
    """A copy of the project: Pulumi.yaml, the given stack files (name -> committed file to copy), and links to the
    code and the venv (the engine writes encrypted secrets into the stack files: the repository's stay untouched)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", dest / "Pulumi.yaml")
    for stack, source in stack_files.items():
        shutil.copy(ROOT / source, dest / f"Pulumi.{stack}.yaml")
    for name in ("stacks", "components", "policies", ".venv"):
        (dest / name).symlink_to(ROOT / name)
    return dest
