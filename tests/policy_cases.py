"""Shared helpers of the per-cloud policy case files (azure_cases.py, gcp_policy_cases.py): resource options and
a deep-copying setter for dotted input paths."""

from __future__ import annotations

import copy
from typing import Any, Callable

OPTS = {"protect": False, "retainOnDelete": False, "ignoreChanges": []}
PROTECTED = {"protect": True, "retainOnDelete": True, "ignoreChanges": []}


def with_(props: dict, path: str, value: Any) -> dict:
    """Deep copy of props with the dotted path set, creating missing objects (value None deletes)."""
    out = copy.deepcopy(props)
    node = out
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if p.isdigit() else node.setdefault(p, {})
    last = parts[-1]
    if value is None:
        node.pop(int(last)) if last.isdigit() else node.pop(last, None)
    else:
        node[int(last) if last.isdigit() else last] = value
    return out


def drop(name: str) -> Callable[[list[dict]], None]:
    """Mutation: remove the resource named `name`."""
    return lambda rs: rs.remove(next(r for r in rs if r["name"] == name))


def setp(name: str, path: str, value: Any) -> Callable[[list[dict]], None]:
    """Mutation: set a dotted input path of the resource named `name`."""
    def fn(rs: list[dict]) -> None:
        r = next(r for r in rs if r["name"] == name)
        r["inputs"] = with_(r["inputs"], path, value)
    return fn
