"""Shared fixtures: planned stacks (cached per session) and the inventory goldens."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

APPS = ("compyle", "autopr", "copilot", "chat", "arches")
PROFILES = ("staging", "prod")
CLOUDS = ("kubernetes", "aws", "gcp", "azure")
#: Config a cloud needs beside the shared stack files (GCP: a project id and a GCP region).
CLOUD_CONFIG = {"gcp": ["gcp:project=acme-prodkit", "prodkit:region=us-central1"]}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-inventories", action="store_true", help="regenerate tests/inventories/ goldens")


@pytest.fixture(scope="session")
def update_inventories(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-inventories"))


@functools.lru_cache(maxsize=None)
def planned(app: str, profile: str, cloud: str):
    """(StackConfig, Inventory, Composition) of a bundled app planned offline, like `prodkit plan`."""
    from stacks import cli

    stack = "prod" if profile == "prod" else "staging"
    if cloud == "azure":  # Azure needs its location (and subscription): the Azure stack files carry them
        stack = f"azure-{stack}"
    sets = [f"prodkit:app={app}", f"prodkit:profile={profile}", f"prodkit:cloud={cloud}", *CLOUD_CONFIG.get(cloud, [])]
    if cloud == "aws":
        # As the bundled AWS stack files do: images from ghcr.io / Docker Hub reach no-egress tasks through ECR.
        sets.append("prodkit:ecrPullThroughCache=true")
    cfg = cli.load_stack(ROOT, stack, sets)
    inventory, composition = cli.run_plan(cfg)
    return cfg, inventory, composition

