"""A small typed loader: plain YAML/JSON data -> frozen dataclasses, with errors in the user's words.

Why not pydantic: its errors are tracebacks full of internals; ours name the file, the dotted field path, the
value and what is allowed, and suggest the closest known key for a typo.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from components._core import InputError, did_you_mean


def load(cls: type, data: Any, path: str) -> Any:
    """Build `cls` (a dataclass) from `data`, checking keys and types recursively."""
    return _convert(cls, data, path)


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if tp is str:
        return "a string"
    if tp is int:
        return "a whole number"
    if tp is float:
        return "a number"
    if tp is bool:
        return "true or false"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (list, tuple, collections.abc.Sequence) or tp in (list, tuple):
        return "a list"
    if origin in (dict, collections.abc.Mapping) or tp is dict:
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return "a mapping with keys " + ", ".join(f.name for f in dataclasses.fields(tp))
    return str(tp)


@functools.lru_cache(maxsize=None)
def _shape(tp: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field]]:
    """Resolved type hints and init fields of a dataclass (resolving hints is slow; do it once per class)."""
    return typing.get_type_hints(tp), {f.name: f for f in dataclasses.fields(tp) if f.init}


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        non_none = [o for o in options if o is not type(None)]
        errors = []
        for option in non_none:
            try:
                return _convert(option, value, path)
            except InputError as exc:
                errors.append(exc)
        if len(non_none) == 1:
            raise errors[0]
        raise InputError(path, value, "expected " + " or ".join(_type_name(o) for o in non_none))
    if tp is Any:
        return value
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            raise InputError(path, value, "allowed: " + ", ".join(repr(a) for a in allowed) + did_you_mean(value, [str(a) for a in allowed]))
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise InputError(path, value, f"expected {_type_name(tp)}")
        hints, fields = _shape(tp)
        for key in value:
            if key not in fields:
                raise InputError(f"{path}.{key}", value[key], "unknown key; allowed keys: " + ", ".join(fields) + "." + did_you_mean(key, fields))
        kwargs = {}
        for name, f in fields.items():
            if name in value:
                kwargs[name] = _convert(hints[name], value[name], f"{path}.{name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
                raise InputError(f"{path}.{name}", None, f"required: {_type_name(hints[name])}")
        try:
            return tp(**kwargs)
        except InputError as exc:
            if exc.field.startswith(path):
                raise
            raise InputError(f"{path}.{exc.field}" if not exc.field.startswith(path) else exc.field, exc.value, exc.allowed, exc.hint) from None
    if origin in (list, tuple, collections.abc.Sequence) or tp in (list, tuple):
        if not isinstance(value, list):
            raise InputError(path, value, "expected a list")
        (item_tp,) = get_args(tp)[:1] or (Any,)
        return tuple(_convert(item_tp, v, f"{path}[{i}]") for i, v in enumerate(value))
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            raise InputError(path, value, "expected a mapping")
        key_tp, val_tp = get_args(tp) or (str, Any)
        return {str(k): _convert(val_tp, v, f"{path}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise InputError(path, value, "expected true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(path, value, "expected a whole number")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(path, value, "expected a number")
        return float(value)
    if tp is str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InputError(path, value, "expected a string")
        return str(value)
    raise TypeError(f"schema: unsupported type {tp!r} at {path}")
