"""Regenerate the CRD schemas packaged in stacks/crds/ from the upstream CRDs (../shared/crds by default).

    python scripts/compact_crds.py [SOURCE_DIR]

Each upstream CRD becomes ``stacks/crds/<group>_<plural>.json``: its group, kind and, per served version, the
``openAPIV3Schema`` with every ``description`` removed (the bulk of the text; nothing validation reads). Defaults,
patterns, enums, ``x-kubernetes-*`` markers and the CEL rules (``x-kubernetes-validations``) are kept.
``index.json`` maps "group/kind" to the file. tests/test_manifests.py checks the packaged files match a
regeneration whenever the upstream folder is present.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "stacks" / "crds"
DEFAULT_SOURCE = ROOT.parent / "shared" / "crds"

_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")


def strip(schema: Any) -> Any:
    """The schema without descriptions (only the keyword: a property named "description" stays)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "description" and isinstance(value, str):
            continue
        if key in ("properties", "patternProperties", "definitions") and isinstance(value, dict):
            out[key] = {name: strip(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = strip(value)
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            out[key] = [strip(sub) for sub in value]
        else:
            out[key] = value
    return out


def compact(crd: dict[str, Any]) -> dict[str, Any]:
    spec = crd["spec"]
    return {
        "group": spec["group"],
        "kind": spec["names"]["kind"],
        "plural": spec["names"]["plural"],
        "scope": spec.get("scope", "Namespaced"),
        "versions": [
            {"name": v["name"], "schema": strip(v["schema"]["openAPIV3Schema"])}
            for v in spec["versions"] if v.get("served", False)
        ],
    }


def render(source: Path) -> dict[str, str]:
    """{file name: content} of the packaged folder (index.json included), from the CRDs in `source`."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    files: dict[str, str] = {}
    index: dict[str, str] = {}
    for path in sorted(source.glob("*.yaml")):
        with open(path, encoding="utf-8") as fh:
            crd = yaml.load(fh, Loader=loader)
        if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
            continue
        data = compact(crd)
        name = f"{data['group']}_{data['plural']}.json"
        files[name] = json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"
        index[f"{data['group']}/{data['kind']}"] = name
    files["index.json"] = json.dumps(index, sort_keys=True, indent=1) + "\n"
    return files


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    if not source.is_dir():
        print(f"{source}: not a folder of CRDs", file=sys.stderr)
        return 2
    files = render(source)
    for old in TARGET.glob("*.json"):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        (TARGET / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files to {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
