"""The CEL rules of a CRD (`x-kubernetes-validations`), evaluated offline on a custom resource.

`jsonschema` checks a CRD's structural schema but none of its CEL rules, and Gateway API and Envoy Gateway put
much of their validation there (HTTPRoute alone has 178 rules across its served versions: path values, filter
combinations, timeouts, unique listener names...). The API server evaluates them after applying the schema's
`default`s, on every node where the value is present, with ``self`` bound to that node's value; so does
:func:`validate`.

The CEL engine is ``common-expression-language`` (Python bindings of the Rust `cel` interpreter, from PyPI). It
has CEL's standard macros and functions (``has``, ``size``, ``all``, ``exists``, ``exists_one``, ``filter``,
``map``, ``matches``, ``startsWith``, ``endsWith``, ``contains``, ``duration``); the Kubernetes CEL library
functions the CRDs we validate against call beyond those are implemented here (:data:`KUBERNETES_FUNCTIONS`:
the ``upperAscii``, ``lowerAscii`` and ``split`` string extensions). Transition rules (those naming ``oldSelf``)
need the stored object and are skipped: a plan creates objects.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from typing import Any


def _split(value: str, separator: str, limit: int | None = None) -> list[str]:
    if limit is None or limit < 0:
        return value.split(separator)
    if limit == 0:
        return []
    return value.split(separator, limit - 1)


#: Kubernetes CEL library (strings extension) functions the packaged CRDs use; receiver-style calls
#: (`self.x.upperAscii()`) pass the receiver as the first argument.
KUBERNETES_FUNCTIONS = {
    "upperAscii": lambda s: "".join(c.upper() if c.isascii() else c for c in s),
    "lowerAscii": lambda s: "".join(c.lower() if c.isascii() else c for c in s),
    "split": _split,
}


@dataclass
class Node:
    """The rules at one schema node and the nodes below it."""

    rules: list[tuple[str, str]] = field(default_factory=list)
    """(rule source, message); compiled on first use (most rules sit on optional fields an object never sets)."""
    properties: dict[str, "Node"] = field(default_factory=dict)
    items: "Node | None" = None
    additional: "Node | None" = None


def rule_tree(schema: Any) -> dict[str, Any] | None:
    """The CEL rules of a schema as plain data, only along the paths that hold rules (None when there are none):
    {"rules": [[source, message], ...], "properties": {name: tree}, "items": tree, "additionalProperties": tree}.
    Transition rules (naming ``oldSelf``) are left out. scripts/compact_crds.py stores it with each packaged schema."""
    if not isinstance(schema, dict):
        return None
    tree: dict[str, Any] = {}
    rules = [[r.get("rule", ""), r.get("message") or f"failed rule: {r.get('rule', '')}"]
             for r in schema.get("x-kubernetes-validations") or () if "oldSelf" not in r.get("rule", "")]
    if rules:
        tree["rules"] = rules
    props = {name: sub for name, sub in ((n, rule_tree(s)) for n, s in (schema.get("properties") or {}).items()) if sub}
    if props:
        tree["properties"] = props
    for key in ("items", "additionalProperties"):
        sub = rule_tree(schema.get(key))
        if sub:
            tree[key] = sub
    return tree or None


def compile_tree(tree: dict[str, Any] | None) -> Node | None:
    """The evaluable form of a :func:`rule_tree`."""
    if not tree:
        return None
    return Node(
        rules=[(src, msg) for src, msg in tree.get("rules", ())],
        properties={name: compile_tree(sub) for name, sub in (tree.get("properties") or {}).items()},
        items=compile_tree(tree.get("items")),
        additional=compile_tree(tree.get("additionalProperties")),
    )


def compile_schema(schema: dict[str, Any]) -> Node | None:
    """The rule tree of a schema, ready to evaluate (None when it has no rules anywhere)."""
    return compile_tree(rule_tree(schema))


@functools.lru_cache(maxsize=None)
def engine() -> Any:
    """The CEL engine: the package's native extension module, loaded without ``cel/__init__``, which also imports
    the package's command-line interface (prompt_toolkit, rich, typer: ~0.1 s per plan for nothing)."""
    import importlib.machinery
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("cel")
    if spec is not None and spec.origin:
        for path in sorted(Path(spec.origin).parent.glob("cel.*")):
            if path.suffix in (".so", ".pyd"):
                try:
                    loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(path))
                    module = importlib.util.module_from_spec(importlib.util.spec_from_file_location("cel.cel", str(path), loader=loader))
                    loader.exec_module(module)
                    return module
                except ImportError:
                    break
    import cel  # the documented import path, if the layout ever changes

    return cel


@functools.lru_cache(maxsize=None)
def _compiled(source: str) -> Any:
    return engine().compile(source)


def apply_defaults(value: Any, schema: Any) -> Any:
    """A copy of `value` with the schema's `default`s filled in where properties are absent, and integral floats
    turned back into integers where the schema says integer (Pulumi's mocks carry numbers as floats)."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, float) and value.is_integer() and (schema.get("type") == "integer" or schema.get("x-kubernetes-int-or-string")):
        return int(value)
    if isinstance(value, dict):
        out = dict(value)
        props = schema.get("properties") or {}
        for name, sub in props.items():
            if name not in out and isinstance(sub, dict) and "default" in sub:
                out[name] = copy.deepcopy(sub["default"])
            if name in out:
                out[name] = apply_defaults(out[name], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for name in out:
                if name not in props:
                    out[name] = apply_defaults(out[name], extra)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(v, schema["items"]) for v in value]
    return value


def _context(value: Any) -> Any:
    ctx = engine().Context()
    for name, fn in KUBERNETES_FUNCTIONS.items():
        ctx.add_function(name, fn)
    ctx.add_variable("self", value)
    return ctx


def _path(parts: list[str]) -> str:
    out = ""
    for p in parts:
        out += p if p.startswith("[") else (f".{p}" if out else p)
    return out or "(root)"


def validate(value: Any, node: Node | None, where: list[str] | None = None) -> list[str]:
    """Messages of the rules `value` breaks ("path: message"), empty when it passes every rule."""
    if node is None or value is None:
        return []
    where = where or []
    out: list[str] = []
    if node.rules:
        ctx = _context(value)
        for source, message in node.rules:
            try:
                ok = _compiled(source).execute(ctx)
            except Exception as exc:  # an error evaluating a rule rejects the object, as on the API server
                out.append(f"{_path(where)}: rule {source!r} could not be evaluated: {exc}")
                continue
            if ok is not True:
                out.append(f"{_path(where)}: {message}")
    if isinstance(value, dict):
        for name, child in node.properties.items():
            if name in value:
                out += validate(value[name], child, where + [name])
        if node.additional is not None:
            for name, item in value.items():
                if name not in node.properties:
                    out += validate(item, node.additional, where + [name])
    elif isinstance(value, list) and node.items is not None:
        for index, item in enumerate(value):
            out += validate(item, node.items, where + [f"[{index}]"])
    return out
