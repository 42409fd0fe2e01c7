"""YAML files as users wrote them: errors with file, line and column, duplicate keys refused, positions kept.

Stack files and app specs are read with :func:`load`, which returns the data and a :class:`Source` that maps a
field path (``services.fastapi.image``, ``routes[0].path``, ``config.prodkit:domain``) to its line and column and
to the text the user typed (so ``waf_mode: off``, read by YAML 1.1 as false, can be explained).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components._core import InputError

_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parses; construction stays in Python
#: Plain scalars YAML 1.1 (PyYAML) reads as booleans although they look like words.
YAML11_BOOLEANS = {"y", "yes", "n", "no", "on", "off"}


class SourceError(InputError):
    """A file that cannot be read as YAML: the message is the whole sentence ("file not found: PATH")."""

    def __init__(self, where: str, message: str) -> None:
        self.field, self.value, self.allowed, self.hint = where, None, message, None
        ValueError.__init__(self, f"{where}: {message}" if where else message)


class _Loader(_BASE):  # type: ignore[misc, valid-type]
    """SafeLoader refusing duplicate keys (the last one silently winning hides mistakes)."""

    source_name = ""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                continue  # unhashable key: the base constructor reports it
            if first is not None:
                raise SourceError(
                    f"{self.source_name} line {key_node.start_mark.line + 1}, column {key_node.start_mark.column + 1}",
                    f"duplicate key {key!r}: already set at line {first.start_mark.line + 1}; "
                    "YAML would keep only the last one, so remove or rename one of them.",
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)



@dataclass
class Source:
    """Where each field of a loaded file was written."""

    name: str
    positions: dict[str, tuple[int, int, str | None]] = field(default_factory=dict)
    """field path -> (line, column, the scalar as typed or None for a mapping/list), 1-based."""

    def where(self, path: str) -> str:
        """'FILE line L, column C' for the closest written ancestor of `path`, else 'FILE'."""
        found = self.lookup(path)
        return f"{self.name} line {found[0]}, column {found[1]}" if found else self.name

    def lookup(self, path: str) -> tuple[int, int, str | None] | None:
        probe = path
        while probe:
            if probe in self.positions:
                return self.positions[probe]
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return None

    def typed(self, path: str) -> str | None:
        hit = self.positions.get(path)
        return hit[2] if hit else None


def _walk(node: yaml.Node, path: str, out: dict[str, tuple[int, int, str | None]]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            sub = f"{path}.{key}" if path else key
            typed = value_node.value if isinstance(value_node, yaml.ScalarNode) and not value_node.style else None
            out[sub] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1, typed)
            _walk(value_node, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            sub = f"{path}[{i}]"
            typed = item.value if isinstance(item, yaml.ScalarNode) and not item.style else None
            out[sub] = (item.start_mark.line + 1, item.start_mark.column + 1, typed)
            _walk(item, sub, out)


def parse(text: str, name: str) -> tuple[Any, Source]:
    """(data, source) of YAML text; a syntax error or a duplicate key is an InputError naming file, line, column."""

    class Loader(_Loader):
        source_name = name

    try:
        loader = Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name} line {mark.line + 1}, column {mark.column + 1}" if mark else name
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise SourceError(where, f"invalid YAML: {problem}.") from None
    except yaml.YAMLError as exc:
        raise SourceError(name, f"invalid YAML: {str(exc).splitlines()[0]}.") from None
    source = Source(name)
    if node is not None:
        _walk(node, "", source.positions)
    return data, source


def load(path: Path) -> tuple[Any, Source]:
    """Read and parse a YAML file; a missing file is "file not found: PATH"."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise SourceError("", f"file not found: {path}") from None
    except IsADirectoryError:
        raise SourceError("", f"expected a YAML file, but {path} is a folder") from None
    return parse(text, str(path))


def bool_hint(value: Any, typed: str | None) -> str:
    """The YAML 1.1 explanation when a word the user typed was read as a boolean."""
    if isinstance(value, bool) and typed is not None and typed.lower() in YAML11_BOOLEANS:
        return f"YAML reads {typed} as {str(value).lower()}; quote it: '{typed}'."
    return ""
