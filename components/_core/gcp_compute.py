"""Compute Engine resources without the weight of the typed `pulumi_gcp.compute` module.

Importing `pulumi_gcp.compute` loads ~290 resource modules and a 4.6 MB `_inputs.py` (about a second here, the
largest single cost of a GCP plan). prodkit's GCP backends create fifteen compute kinds from plain dicts, so they use
these classes instead: the same constructor surface (`compute.Network("n", name=..., opts=...)`), the same type
tokens, the same snake_case -> camelCase wire names for nested fields (free-form maps such as `labels` keep their
keys), the same provider version (`pulumi_gcp._utilities`), and the outputs the backends read (`id`, `name`,
`self_link`, a global address's `address`). The inventory goldens were generated with the typed classes and
compare the result with what they produced.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pulumi
from pulumi_gcp import _utilities

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
#: Maps whose keys are data (label keys), never field names.
_FREE_FORM = {"labels", "params"}


def camel(key: str) -> str:
    if _SNAKE.match(key):
        head, *rest = key.split("_")
        return head + "".join(part.capitalize() for part in rest)
    return key


def snake(key: str) -> str:
    return _CAMEL.sub(lambda m: "_" + m.group(1).lower(), key)


def wire(value: Any, free_form: bool = False) -> Any:
    """Nested field names in the wire form (the keys of free-form maps kept as written)."""
    if isinstance(value, dict):
        return {(key if free_form else camel(key)): wire(item, free_form=not free_form and key in _FREE_FORM) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [wire(item) for item in value]
    return value


class ComputeResource(pulumi.CustomResource):
    """A Compute Engine resource registered under the provider's type token."""

    _token: str = ""
    _outputs: tuple[str, ...] = ("self_link",)

    def __init__(self, resource_name: str, opts: pulumi.ResourceOptions | None = None, **props: Any) -> None:
        opts = pulumi.ResourceOptions.merge(_utilities.get_resource_opts_defaults(), opts)
        wired = {key: wire(value, free_form=key in _FREE_FORM) for key, value in props.items() if value is not None}
        # Translation is by this table of top-level names only: nested keys are already in wire form, and the SDK
        # would otherwise run the translator over the keys of free-form maps too.
        self._names = {key: camel(key) for key in wired}
        for key in self._outputs:
            wired.setdefault(key, None)
            self._names.setdefault(key, camel(key))
        super().__init__(self._token, resource_name, wired, opts)

    def translate_input_property(self, prop: str) -> str:
        names = self.__dict__.get("_names") or {}
        return names.get(prop, prop)

    def translate_output_property(self, prop: str) -> str:
        return snake(prop)


def _kind(module: str, name: str, *outputs: str) -> type:
    token = f"gcp:compute/{module}:{name}"
    return type(name, (ComputeResource,), {"_token": token, "_outputs": ("self_link", *outputs)})


_KINDS = [
    ("network", "Network"), ("subnetwork", "Subnetwork"), ("firewall", "Firewall"), ("router", "Router"),
    ("routerNat", "RouterNat"), ("managedSslCertificate", "ManagedSslCertificate"), ("sSLPolicy", "SSLPolicy"),
    ("securityPolicy", "SecurityPolicy"), ("regionNetworkEndpointGroup", "RegionNetworkEndpointGroup"),
    ("backendService", "BackendService"), ("uRLMap", "URLMap"), ("targetHttpsProxy", "TargetHttpsProxy"),
    ("targetHttpProxy", "TargetHttpProxy"), ("globalForwardingRule", "GlobalForwardingRule"),
]
compute = SimpleNamespace(
    **{name: _kind(module, name) for module, name in _KINDS},
    GlobalAddress=_kind("globalAddress", "GlobalAddress", "address"),
)
