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

    rules: list[tuple[Any, str, str]] = field(default_factory=list)
    """(compiled program, rule source, message)."""
    properties: dict[str, "Node"] = field(default_factory=dict)
    items: "Node | None" = None
    additional: "Node | None" = None

    @property
    def empty(self) -> bool:
        return not (self.rules or self.properties or self.items or self.additional)


def compile_schema(schema: dict[str, Any]) -> Node | None:
    """The rule tree of a schema (None when it has no rules anywhere)."""
    import cel

    def walk(s: Any) -> Node:
        node = Node()
        if not isinstance(s, dict):
            return node
        for rule in s.get("x-kubernetes-validations") or ():
            source = rule.get("rule", "")
            if "oldSelf" in source:
                continue
            node.rules.append((_compile(cel, source), source, rule.get("message") or f"failed rule: {source}"))
        for name, sub in (s.get("properties") or {}).items():
            child = walk(sub)
            if not child.empty:
                node.properties[name] = child
        for key, attr in (("items", "items"), ("additionalProperties", "additional")):
            if isinstance(s.get(key), dict):
                child = walk(s[key])
                if not child.empty:
                    setattr(node, attr, child)
        return node

    root = walk(schema)
    return None if root.empty else root


@functools.lru_cache(maxsize=None)
def _compile_cached(source: str) -> Any:
    import cel

    return cel.compile(source)


def _compile(cel: Any, source: str) -> Any:
    return _compile_cached(source)


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
    import cel

    ctx = cel.Context()
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
        for program, source, message in node.rules:
            try:
                ok = program.execute(ctx)
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
