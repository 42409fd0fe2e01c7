"""CrossGuard adapters: each pure rule as a pulumi_policy ResourceValidationPolicy or StackValidationPolicy.

Kept apart from ``__main__.py`` (which only constructs the PolicyPack, and serves it when run) so that tests
drive the adapters in-process with fake argument objects.

What the analyzer hands a policy, and how it is made to look like a ``prodkit plan`` inventory:

- ``args.props`` are the resource's inputs in the engine's shape (camelCase, as for the mock engine), wrapped in
  proxies that raise ``UnknownValueError`` on values unknown during preview. They are copied into plain dicts and
  lists, each unknown value becoming :data:`policies.rules._util.UNKNOWN`, which the rules treat as "cannot tell"
  (so one unknown ARN does not abort a whole stack rule). Numbers arrive as floats; rules accept both.
- Secret values arrive in clear text (the analyzer unwraps them), so the rules that rely on prodkit plan's
  ``[secret]`` redaction (``engines=("plan",)``) are not adapted.
- ``args.opts`` carries ``protect`` and ``ignore_changes`` but not ``retain_on_delete``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity,
    StackValidationArgs, StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_ARCHIVE_VALUE, UNKNOWN_ARRAY_VALUE, UNKNOWN_ASSET_VALUE, UNKNOWN_BOOLEAN_VALUE, \
    UNKNOWN_NUMBER_VALUE, UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE

from .rules import RULES, Rule
from .rules._util import UNKNOWN

_UNKNOWNS = {UNKNOWN_ARCHIVE_VALUE, UNKNOWN_ARRAY_VALUE, UNKNOWN_ASSET_VALUE, UNKNOWN_BOOLEAN_VALUE,
             UNKNOWN_NUMBER_VALUE, UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE}
_SEVERITY = {"high": Severity.HIGH, "medium": Severity.MEDIUM, "low": Severity.LOW}
_LEVELS = {"advisory": EnforcementLevel.ADVISORY, "mandatory": EnforcementLevel.MANDATORY}


def plain(value: Any) -> Any:
    """A deep plain copy of analyzer props (proxies unwrapped without tripping their unknown checks)."""
    if isinstance(value, Mapping):
        target = _target(value)
        return {k: plain(v) for k, v in target.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        target = _target(value)
        return [plain(v) for v in target]
    if isinstance(value, str) and value in _UNKNOWNS:
        return UNKNOWN
    return value


def _target(proxy: Any) -> Any:
    """The raw container behind a pulumi_policy proxy (its `__target`), or the value itself."""
    try:
        return proxy["__target"]
    except (KeyError, IndexError, TypeError):
        return proxy


def _options(opts: Any) -> dict[str, Any]:
    return {
        "protect": bool(getattr(opts, "protect", False)),
        # Not exposed to analyzers; no rule depends on it.
        "retainOnDelete": False,
        "ignoreChanges": list(getattr(opts, "ignore_changes", None) or []),
    }


def make_resource_policy(rule: Rule, enforcement_level: EnforcementLevel | None = None) -> ResourceValidationPolicy:
    """A ResourceValidationPolicy that runs `rule.check` on each resource of the rule's types."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not rule.applies_to(args.resource_type):
            return
        for message in rule.check(args.resource_type, plain(args.props), _options(args.opts)):
            report_violation(message, args.urn)

    return ResourceValidationPolicy(
        name=rule.id,
        description=rule.description,
        validate=validate,
        enforcement_level=enforcement_level,
        severity=_SEVERITY[rule.severity],
        tags=[f"seed-{s}" for s in rule.seeds] + (["prod-only"] if rule.prod_only else []),
        remediation_steps=f"Checklist item: {rule.checklist}",
    )


def as_inventory(resource: Any) -> dict[str, Any]:
    """A CrossGuard PolicyResource in the inventory JSON shape the stack rules read."""
    opts = getattr(resource, "opts", None)
    parent = getattr(opts, "parent", None) or getattr(getattr(resource, "parent", None), "urn", "") or ""
    return {
        "urn": resource.urn,
        "type": resource.resource_type,
        "name": resource.name,
        "parent": parent,
        **{k: v for k, v in _options(opts).items()},
        "inputs": plain(resource.props),
    }


def make_stack_policy(rule: Rule, enforcement_level: EnforcementLevel | None = None) -> StackValidationPolicy:
    """A StackValidationPolicy that runs `rule.check` over the whole stack."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        inventory = [as_inventory(r) for r in args.resources]
        for urn, message in rule.check(inventory):
            report_violation(message, urn)

    return StackValidationPolicy(
        name=rule.id,
        description=rule.description,
        validate=validate,
        enforcement_level=enforcement_level,
        severity=_SEVERITY[rule.severity],
        tags=[f"seed-{s}" for s in rule.seeds] + (["prod-only"] if rule.prod_only else []),
        remediation_steps=f"Checklist item: {rule.checklist}",
    )


def all_policies(enforcement: str | None = None) -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """Every CrossGuard-capable rule as a policy. `enforcement` ("advisory"/"mandatory") fixes each policy's level;
    None leaves it to the pack default and the `--policy-pack-config` file (config/<profile>.json)."""
    level = _LEVELS[enforcement] if enforcement is not None else None
    out: list[ResourceValidationPolicy | StackValidationPolicy] = []
    for rule in RULES:
        if "crossguard" not in rule.engines:
            continue
        out.append(make_stack_policy(rule, level) if rule.scope == "stack" else make_resource_policy(rule, level))
    return out


def enforcement_level(name: str) -> EnforcementLevel:
    return _LEVELS[name]
