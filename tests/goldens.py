"""Inventory goldens (cloud-foundation-fabric style): YAML files of the planned graph.

Counts are exact (a resource appearing or disappearing fails), values are subset-matched (the golden lists
what matters; extra inputs are fine). `pytest --update-inventories` regenerates them; review the diff: a
removed name means a replacement (justify it or add `aliases`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import yaml

GOLDENS = Path(__file__).parent / "inventories"


def snapshot(resources: list[Any], full_inputs: bool) -> dict[str, Any]:
    """The golden form of a list of engine Resources."""
    from stacks.summary import setting, settings_of

    entries = {}
    for r in resources:
        entry: dict[str, Any] = {"type": r.type}
        if r.protect:
            entry["protect"] = True
        if full_inputs:
            entry["inputs"] = r.inputs
        else:
            picked = {}
            for path in settings_of(r.type):
                value = setting(r.inputs, path)
                if value is not None:
                    picked[path] = value
            if picked:
                entry["settings"] = picked
        entries[r.name] = entry
    counts = Counter(r.type for r in resources)
    return {"counts": dict(sorted(counts.items())), "resources": dict(sorted(entries.items()))}


def subset(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Differences where `expected` is not contained in `actual`."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected a mapping, got {actual!r}"]
        out = []
        for k, v in expected.items():
            if k not in actual:
                out.append(f"{path}.{k}: missing")
            else:
                out.extend(subset(v, actual[k], f"{path}.{k}"))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {actual!r:.200}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual)) for d in subset(e, a, f"{path}[{i}]")]
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def check(relpath: str, current: dict[str, Any], update: bool) -> None:
    """Compare `current` with the golden at relpath (or write it when updating)."""
    import pytest

    file = GOLDENS / relpath
    if update:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(yaml.safe_dump(current, sort_keys=True, width=120))
        return
    if not file.exists():
        pytest.fail(f"missing golden {file}; run `pytest --update-inventories` and review it")
    golden = yaml.safe_load(file.read_text())
    problems = []
    if golden["counts"] != current["counts"]:
        problems.append(f"resource counts differ: golden {golden['counts']} vs now {current['counts']}")
    gone = sorted(set(golden["resources"]) - set(current["resources"]))
    if gone:
        problems.append(f"resources gone (replacement! justify or add aliases): {gone}")
    problems += subset(golden["resources"], current["resources"], "resources")
    assert not problems, f"{relpath}:\n  " + "\n  ".join(problems[:30])
