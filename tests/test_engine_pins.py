"""scripts/pulumi-engine builds the kubernetes plugin at exactly the version the pinned Python SDK requests (the
engine refuses any other plugin version), and a CLI no older than the pulumi SDK."""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path

import pulumi_kubernetes

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = (ROOT / "scripts" / "pulumi-engine").read_text()


def _pinned(name: str) -> str:
    return re.search(rf"^{name}=(\S+)", SCRIPT, re.M).group(1)


def test_kubernetes_plugin_version_is_the_sdk_pin() -> None:
    pin = re.search(r'"pulumi-kubernetes==([0-9.]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    assert _pinned("K8S_VERSION") == pin
    plugin = json.loads((Path(pulumi_kubernetes.__file__).parent / "pulumi-plugin.json").read_text())
    assert plugin["version"] == pin  # what the SDK asks the engine for


def test_cli_is_not_older_than_the_pulumi_sdk() -> None:
    version = lambda s: tuple(int(x) for x in s.split(".")[:3])  # noqa: E731
    assert version(importlib.metadata.version("pulumi")) <= version(_pinned("PULUMI_VERSION"))


def test_the_provider_pseudo_version_is_the_release_commit() -> None:
    # pulumi-kubernetes tags v4.25.0 at the repository root; its commit f47bc2d6f199 is the provider/v4 pseudo-version.
    assert _pinned("K8S_PROVIDER_VERSION").endswith("-f47bc2d6f199") and _pinned("K8S_VERSION") == "4.25.0"
