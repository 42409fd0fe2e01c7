"""The Azure backends register resources through light stand-ins (components/_core/azure.py) instead of the typed
azure-native SDK, to keep the plan fast. This test holds them to the SDK: every input name of every Azure resource
planned for every seed app x profile must be a property of the installed pulumi-azure-native's Args class for that
type token (nested objects against their nested input types), so no name is guessed or misspelt."""

from __future__ import annotations

import collections.abc
import importlib
import typing
from typing import Any

import pulumi._types as pulumi_types
import pytest

from conftest import APPS, PROFILES, planned


def _args_class(token: str) -> type:
    """The resource's own Args class (from its module: `<module>.VirtualNetworkArgs` may be a nested input type)."""
    _, module, kind = token.split(":")
    resource = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), kind)
    module_ = importlib.import_module(resource.__module__)
    # Where a nested input type has the same name, the SDK calls the resource's own `<Kind>InitArgs`.
    return getattr(module_, f"{kind}InitArgs", None) or getattr(module_, f"{kind}Args")


def _input_types(tp: Any) -> list[type]:
    """The input-type classes a (possibly generic) annotation allows for an object value."""
    origin = typing.get_origin(tp)
    if origin is None:
        return [tp] if isinstance(tp, type) and pulumi_types.is_input_type(tp) else []
    out: list[type] = []
    for arg in typing.get_args(tp):
        out += _input_types(arg)
    return out


def _is_map(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin in (dict, collections.abc.Mapping, typing.Mapping):
        return True
    return any(_is_map(a) for a in typing.get_args(tp)) if origin is typing.Union else False


def _check(value: Any, candidates: list[type], path: str, problems: list[str]) -> None:
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check(item, candidates, f"{path}[{i}]", problems)
        return
    if not isinstance(value, dict) or not candidates:
        return
    for key, item in value.items():
        owners = [c for c in candidates if key in pulumi_types.input_type_types(c)]
        if not owners:
            names = sorted({n for c in candidates for n in pulumi_types.input_type_types(c)})
            problems.append(f"{path}.{key}: not a property of {[c.__name__ for c in candidates]} (has {names})")
            continue
        hints = [pulumi_types.input_type_types(c)[key] for c in owners]
        if any(_is_map(h) for h in hints):
            continue  # free-form map (tags, metadata): keys are data
        _check(item, [t for h in hints for t in _input_types(h)], f"{path}.{key}", problems)


@pytest.mark.parametrize("app,profile", [(a, p) for a in APPS for p in PROFILES])
def test_every_azure_input_name_is_the_sdks(app, profile):
    _, inventory, _ = planned(app, profile, "azure")
    problems: list[str] = []
    seen = 0
    for r in inventory.resources:
        if not r.type.startswith("azure-native:"):
            continue
        seen += 1
        _check(r.raw_inputs, [_args_class(r.type)], f"{r.type} {r.name}", problems)
    assert seen > 40
    assert not problems, "\n".join(problems[:20])


def test_a_misspelt_name_is_caught():
    problems: list[str] = []
    _check({"properties": {"enablePurgeProtektion": True}}, [_args_class("azure-native:keyvault:Vault")], "vault", problems)
    assert problems and "enablePurgeProtektion" in problems[0]


def test_planning_does_not_import_the_typed_sdk_modules():
    import json
    import subprocess
    import sys

    from conftest import ROOT

    script = (
        "import sys, json; from pathlib import Path; from stacks import cli;"
        "cli.run_plan(cli.load_stack(Path('.'), 'azure-prod', ['prodkit:app=compyle']));"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('pulumi_azure_native'))))"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
