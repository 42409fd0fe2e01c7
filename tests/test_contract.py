"""The component contract: documented fields, backends per cloud, identical outputs, parented and prefixed
children."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect

import pytest

from components import COMPONENTS
from components._core import BackendNotAvailable, Cloud, Platform, supported_clouds
from conftest import APPS, CLOUDS, PROFILES, planned


def _documented_dataclasses(module):
    for _, obj in inspect.getmembers(module, inspect.isclass):
        if dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__:
            yield obj


def _field_docs(cls) -> dict[str, str]:
    """Attribute docstrings (the string literal right after each field)."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body
    docs = {}
    for node, nxt in zip(body, body[1:] + [None]):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                docs[node.target.id] = nxt.value.value
    return docs


ARG_CLASSES = sorted(
    {cls for comp in COMPONENTS for cls in _documented_dataclasses(importlib.import_module(comp.__module__))},
    key=lambda c: c.__qualname__,
)


@pytest.mark.parametrize("cls", ARG_CLASSES, ids=lambda c: c.__name__)
def test_every_args_field_is_documented_with_its_default(cls):
    docs = _field_docs(cls)
    for f in dataclasses.fields(cls):
        assert f.name in docs, f"{cls.__name__}.{f.name} has no docstring"
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING  # type: ignore[misc]
        word = "Required" if required else "Default"
        assert word in docs[f.name], f"{cls.__name__}.{f.name}: docstring must say '{word}': {docs[f.name]!r}"


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_every_component_has_kubernetes_and_aws_backends(component):
    assert {Cloud.KUBERNETES, Cloud.AWS} <= supported_clouds(component)


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_every_component_has_an_azure_backend(component):
    assert Cloud.AZURE in supported_clouds(component)


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_module_docstring_has_the_cloud_differences_table(component):
    doc = importlib.import_module(component.__module__).__doc__
    for cloud in ("aws", "gcp", "azure", "kubernetes"):
        assert f"| {cloud} |" in doc, f"{component.__name__}: no {cloud} row in the cloud-differences table"


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_missing_backend_fails_before_registering_with_the_cloud_named(component, monkeypatch):
    from components._core import component as machinery

    monkeypatch.setitem(machinery._SUFFIX, Cloud.AZURE, "_no_such_backend")  # every cloud has backends now; pretend one lacks them
    platform = Platform(cloud=Cloud.AZURE, app="demo", stack="test")
    with pytest.raises(BackendNotAvailable, match=f"{component.__name__} component has no azure backend"):
        component("x", object.__new__(component.ARGS), platform)


def test_cloud_options_for_another_cloud_are_an_error():
    from components import NetworkArgs
    from components._core import InputError, check_cloud_options
    from components.network import KubernetesNetworkOptions

    with pytest.raises(InputError, match="apply to kubernetes only"):
        check_cloud_options(NetworkArgs(kubernetes=KubernetesNetworkOptions()), Platform(cloud=Cloud.AWS, app="a", stack="s"))


@pytest.mark.parametrize("app", APPS)
def test_same_outputs_on_every_cloud(app):
    seen = {}
    for cloud in CLOUDS:
        _, _, composition = planned(app, "staging", cloud)
        seen[cloud] = {name: sorted(type(c).OUTPUTS) for name, c in composition.components.items() if hasattr(type(c), "OUTPUTS") and type(c).__name__ != "ClusterAddons"}
        for name, comp in composition.components.items():
            for key in type(comp).OUTPUTS:
                assert getattr(comp, key, None) is not None, f"{cloud} {name} lacks output {key}"
    assert seen["kubernetes"] == seen["aws"]
    assert all(outputs == seen["aws"] for outputs in seen.values()), {c: v for c, v in seen.items() if v != seen["aws"]}


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("app", APPS)
def test_children_are_parented_and_prefixed(app, profile, cloud):
    _, inventory, _ = planned(app, profile, cloud)
    by_urn = {r.urn: r for r in inventory.resources}
    for r in inventory.custom():
        if r.type.startswith("random:") and r.name.startswith("secret-"):
            continue  # app-level generated secrets shared by services
        parent = by_urn.get(r.parent)
        assert parent is not None, f"{r.type} {r.name} is not parented to a component"
        assert r.name.startswith(parent.name + "-"), f"{r.name} not prefixed with its parent's name {parent.name}"


def test_component_reference_is_generated_from_the_code():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, str(root / "scripts" / "reference.py")], capture_output=True, text=True, check=True).stdout
    assert out == (root / "docs" / "components.md").read_text(), "docs/components.md is stale: run scripts/reference.py > docs/components.md"
