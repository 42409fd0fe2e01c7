"""Only the chosen cloud's SDK is imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CLOUD_CONFIG

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import json, sys
from stacks import cli
cfg = cli.load_stack(__import__('pathlib').Path('.'), {stack!r}, ['prodkit:cloud={cloud}', 'prodkit:app=copilot'] + {extra})
cli.run_plan(cfg)
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules if m.startswith('pulumi_')}})))
"""


@pytest.mark.parametrize(
    "cloud,forbidden",
    [("kubernetes", {"pulumi_aws", "pulumi_gcp", "pulumi_azure_native"}), ("aws", {"pulumi_kubernetes", "pulumi_gcp", "pulumi_azure_native"}),
     ("gcp", {"pulumi_aws", "pulumi_kubernetes", "pulumi_azure_native"}),
     ("azure", {"pulumi_aws", "pulumi_gcp", "pulumi_kubernetes"})],
)
def test_planning_imports_only_the_chosen_cloud_sdk(cloud, forbidden):
    script = SCRIPT.format(cloud=cloud, stack="azure-staging" if cloud == "azure" else "staging", extra=repr(CLOUD_CONFIG.get(cloud, [])))
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not loaded & forbidden, f"{cloud} plan imported {loaded & forbidden}"
    if cloud != "azure":  # Azure registers through components/_core/azure.py, no typed SDK module (tests/test_azure_wire_names.py)
        assert {"kubernetes": "pulumi_kubernetes", "aws": "pulumi_aws", "gcp": "pulumi_gcp"}[cloud] in loaded


def test_importing_components_loads_no_cloud_sdk():
    out = subprocess.run(
        [sys.executable, "-c", "import sys, components, stacks.app; print([m for m in sys.modules if m.startswith('pulumi_')])"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == "[]"
