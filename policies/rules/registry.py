"""The Rule type and the registry every theme module adds its rules to.

A rule is data plus a pure function. Resource rules see one resource at a time, exactly as CrossGuard's
``ResourceValidationPolicy`` does; stack rules see the whole inventory, like ``StackValidationPolicy``. Both are
written against the engine's property shape (camelCase inputs, secrets redacted to ``"[secret]"`` by
``prodkit plan``), so the same function runs under ``prodkit plan``/``prodkit check`` and under
``pulumi preview --policy-pack policies``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping, Sequence

Severity = Literal["high", "medium", "low"]
Scope = Literal["resource", "stack"]

ResourceCheck = Callable[[str, Mapping[str, Any], Mapping[str, Any]], list[str]]
"""check(type, props, options) -> messages; options = {"protect", "retainOnDelete", "ignoreChanges"}."""
StackCheck = Callable[[list[dict[str, Any]]], list[tuple[str, str]]]
"""check(resources) -> [(urn, message)]; each resource in the inventory JSON shape."""

_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Rule:
    """One policy: metadata for the README/CrossGuard plus the pure check."""

    id: str
    """kebab-case, unique; the CrossGuard policy name and the `policy` of a violation."""
    description: str
    """One imperative line."""
    severity: Severity
    checklist: str
    """The seed checklist item (or architecture requirement) this rule enforces."""
    seeds: tuple[str, ...]
    """Seed guides whose checklist the item comes from, e.g. ("000", "004")."""
    resource_types: tuple[str, ...]
    """Exact type tokens, or prefixes ending in "*"."""
    scope: Scope
    check: Callable[..., Any]
    prod_only: bool = False
    """Skipped outside the prod profile (HA, deletion protection, protect=True)."""
    engines: tuple[str, ...] = ("plan", "crossguard")
    """Where the rule can run. "plan"-only rules rely on prodkit plan's secret redaction, which the CrossGuard
    analyzer does not perform (it hands policies plaintext secret values)."""

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"rule id {self.id!r} is not kebab-case")
        if self.severity not in ("high", "medium", "low"):
            raise ValueError(f"rule {self.id}: severity {self.severity!r}")
        if self.scope not in ("resource", "stack"):
            raise ValueError(f"rule {self.id}: scope {self.scope!r}")
        if not self.resource_types:
            raise ValueError(f"rule {self.id}: no resource types")

    def applies_to(self, resource_type: str) -> bool:
        """Whether a resource of this type is in the rule's scope."""
        return matches(resource_type, self.resource_types)


def matches(resource_type: str, patterns: Sequence[str]) -> bool:
    for p in patterns:
        if p.endswith("*"):
            if resource_type.startswith(p[:-1]):
                return True
        elif resource_type == p:
            return True
    return False


RULES: list[Rule] = []
"""Every rule, in registration order (theme modules append on import)."""


def rule(
    id: str,  # noqa: A002 - the field is called id
    *,
    description: str,
    severity: Severity,
    checklist: str,
    seeds: tuple[str, ...],
    types: tuple[str, ...],
    scope: Scope = "resource",
    prod_only: bool = False,
    engines: tuple[str, ...] = ("plan", "crossguard"),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register the decorated pure function as a Rule."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if any(r.id == id for r in RULES):
            raise ValueError(f"duplicate rule id {id}")
        RULES.append(Rule(id=id, description=description, severity=severity, checklist=checklist, seeds=seeds,
                          resource_types=types, scope=scope, check=fn, prod_only=prod_only, engines=engines))
        return fn

    return register
