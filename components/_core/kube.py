"""Kubernetes objects without the weight of the typed SDK.

Importing `pulumi_kubernetes.core.v1` and friends costs ~0.85 s (thousands of typed input classes), a third of
an offline plan. prodkit's backends create a dozen built-in kinds from plain dicts, so they use these classes
instead: the same constructor surface (`k8s.core.v1.Secret("n", metadata=..., string_data=..., opts=...)`), the
same type tokens, the same snake_case -> camelCase translation (the provider's own table), the same secret
handling of Secret data, and the provider version pinned exactly as the typed SDK pins it. The inventory goldens
compare the result with what the typed classes produced.

`apiextensions.CustomResource` and `helm` are the SDK's own (cheap to import, and helm only when used).
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pulumi
from pulumi_kubernetes import _tables, _utilities, apiextensions  # noqa: F401  (apiextensions re-exported)


_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
#: Maps whose keys are data (label keys, file names, resource names), never field names.
_FREE_FORM = {"labels", "annotations", "data", "string_data", "binary_data", "match_labels", "node_selector", "hard"}


def _field(key: str) -> str:
    """A field name in the wire form: the provider's table first, else snake_case -> camelCase."""
    known = _tables.SNAKE_TO_CAMEL_CASE_TABLE.get(key)
    if known:
        return known
    if _SNAKE.match(key):
        head, *rest = key.split("_")
        return head + "".join(part.capitalize() for part in rest)
    return key


def wire(value: Any, free_form: bool = False) -> Any:
    """Translate field names of nested dicts (not the keys of free-form maps), as the typed SDK does from its types."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = key if free_form else _field(key)
            out[name] = wire(item, free_form=not free_form and key in _FREE_FORM)
        return out
    if isinstance(value, (list, tuple)):
        return [wire(item) for item in value]
    return value


class KubeObject(pulumi.CustomResource):
    """A built-in Kubernetes object registered under the provider's type token."""

    _group_version: str = ""
    _kind: str = ""

    def __init__(self, resource_name: str, opts: pulumi.ResourceOptions | None = None, **props: Any) -> None:
        opts = pulumi.ResourceOptions.merge(_utilities.get_resource_opts_defaults(), opts)
        api_version = self._group_version.removeprefix("core/")
        if self._kind == "Secret":
            for key in ("data", "string_data"):
                if props.get(key) is not None:
                    props[key] = pulumi.Output.secret(props[key])
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["data", "stringData"]))
        props = {key: wire(value, free_form=key in _FREE_FORM) for key, value in props.items()}
        super().__init__(
            f"kubernetes:{self._group_version}:{self._kind}",
            resource_name,
            {"api_version": api_version, "kind": self._kind, **props},
            opts,
        )

    def translate_input_property(self, prop: str) -> str:
        return _tables.SNAKE_TO_CAMEL_CASE_TABLE.get(prop) or prop

    def translate_output_property(self, prop: str) -> str:
        return _tables.CAMEL_TO_SNAKE_CASE_TABLE.get(prop) or prop


def _kinds(group_version: str, *kinds: str) -> SimpleNamespace:
    return SimpleNamespace(**{k: type(k, (KubeObject,), {"_group_version": group_version, "_kind": k}) for k in kinds})


core = SimpleNamespace(v1=_kinds(
    "core/v1", "Namespace", "Secret", "ConfigMap", "Service", "ServiceAccount", "PersistentVolumeClaim",
    "ResourceQuota", "LimitRange",
))
apps = SimpleNamespace(v1=_kinds("apps/v1", "Deployment", "StatefulSet"))
batch = SimpleNamespace(v1=_kinds("batch/v1", "CronJob"))
networking = SimpleNamespace(v1=_kinds("networking.k8s.io/v1", "NetworkPolicy", "Ingress"))
policy = SimpleNamespace(v1=_kinds("policy/v1", "PodDisruptionBudget"))
autoscaling = SimpleNamespace(v2=_kinds("autoscaling/v2", "HorizontalPodAutoscaler"))


def __getattr__(name: str) -> Any:
    if name == "helm":  # only ClusterAddons needs it
        import pulumi_kubernetes.helm as helm

        return helm
    raise AttributeError(name)
