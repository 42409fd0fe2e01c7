"""The lightweight Compute Engine classes (components/_core/gcp_compute.py) send what the typed SDK sends, and a
GCP plan never loads the typed `pulumi_gcp.compute` module (a second of import time)."""

from __future__ import annotations

import json
import subprocess
import sys

from components._core.gcp_compute import camel, compute, snake, wire
from conftest import CLOUD_CONFIG, ROOT
from stacks import engine


def test_names_translate_like_the_provider():
    assert camel("ip_cidr_range") == "ipCidrRange" and camel("ipv4_enabled") == "ipv4Enabled" and camel("name") == "name"
    assert snake("selfLink") == "self_link" and snake("address") == "address"


def test_label_keys_are_data_not_field_names():
    out = wire({"labels": {"cost_center": "x"}, "log_config": {"flow_sampling": 0.5}}, free_form=False)
    assert out == {"labels": {"cost_center": "x"}, "logConfig": {"flowSampling": 0.5}}


def test_registered_inputs_and_outputs():
    seen = {}

    def program():
        addr = compute.GlobalAddress("edge-ip", name="ip", labels={"cost_center": "a1"}, address_type="EXTERNAL")
        fw = compute.Firewall("net-fw", name="fw", network="n", log_config={"metadata": "INCLUDE_ALL_METADATA"},
                              allows=[{"protocol": "tcp", "ports": ["443"]}])
        addr.address.apply(lambda v: seen.__setitem__("address", v))
        fw.id.apply(lambda v: seen.__setitem__("id", v))

    inv = engine.run(program, region="us-central1")
    ip, fw = inv.named("edge-ip"), inv.named("net-fw")
    assert ip.type == "gcp:compute/globalAddress:GlobalAddress"
    assert ip.inputs == {"name": "ip", "labels": {"cost_center": "a1"}, "addressType": "EXTERNAL"}
    assert fw.inputs["logConfig"] == {"metadata": "INCLUDE_ALL_METADATA"} and fw.inputs["allows"] == [{"protocol": "tcp", "ports": ["443"]}]
    assert seen["address"] == "203.0.113.10" and seen["id"].startswith("id-")


def test_gcp_plan_does_not_import_the_typed_compute_module():
    script = (
        "import sys, pathlib; from stacks import cli; "
        f"cfg = cli.load_stack(pathlib.Path('.'), 'staging', ['prodkit:cloud=gcp', 'prodkit:app=compyle'] + {CLOUD_CONFIG['gcp']!r}); "
        "cli.run_plan(cfg); print(sorted(m for m in sys.modules if m.startswith('pulumi_gcp.compute.')))"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1].replace("'", '"')) == []
