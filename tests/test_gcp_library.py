"""The GCP backends as a library (no stack layer): a program of its own plans, an autoscaled service gets its
scaling from the Autoscaler, and mistakes are refused by name."""

from __future__ import annotations

import pytest

from components import Autoscaler, AutoscalerArgs, Network, NetworkArgs, Probe, Probes, WebService, WebServiceArgs
from components._core import Cloud, InputError, Platform
from stacks import engine

PLATFORM = Platform(cloud=Cloud.GCP, app="shop", stack="prod", region="europe-west4")
PROBES = Probes(liveness=Probe(path="/health"), readiness=Probe(path="/health"))


def service(net, **kw):
    return WebService("api", WebServiceArgs(network=net, image="ghcr.io/acme/api:1.0.0", port=8080, probes=PROBES, **kw), PLATFORM)


def test_a_fixed_size_service_plans_without_the_stack_layer():
    def program():
        service(Network("net", NetworkArgs(), PLATFORM), replicas=3, public=True)

    inv = engine.run(program, region="europe-west4")
    svc = inv.named("api-service")
    assert svc.inputs["template"]["scaling"] == {"minInstanceCount": 3, "maxInstanceCount": 3}
    assert svc.inputs["location"] == "europe-west4"


def test_an_autoscaled_service_takes_min_max_from_the_autoscaler():
    def program():
        api = service(Network("net", NetworkArgs(), PLATFORM), replicas=2, autoscaled=True)
        Autoscaler("api-scaling", AutoscalerArgs(service=api, min_replicas=2, max_replicas=8, cpu_percent=70), PLATFORM)

    inv = engine.run(program, region="europe-west4")
    assert inv.named("api-service").inputs["template"]["scaling"] == {"minInstanceCount": 2, "maxInstanceCount": 8, "cpuUtilization": 0.7}


def test_autoscaler_on_a_fixed_size_service_is_refused():
    def program():
        api = service(Network("net", NetworkArgs(), PLATFORM))
        Autoscaler("api-scaling", AutoscalerArgs(service=api, min_replicas=2, max_replicas=8, cpu_percent=70), PLATFORM)

    with pytest.raises(InputError, match="create the WebService with autoscaled=True"):
        engine.run(program, region="europe-west4")


def test_aws_options_on_gcp_are_refused():
    from components.web_service import AwsWebServiceOptions

    def program():
        service(Network("net", NetworkArgs(), PLATFORM), aws=AwsWebServiceOptions())

    with pytest.raises(InputError, match="apply to aws only"):
        engine.run(program, region="europe-west4")
