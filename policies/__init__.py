"""prodkit's policy pack: every item of the seeds' security checklists as a pure rule.

Public API:

- :data:`RULES` / :class:`Rule`: the rules (``policies.rules``).
- :func:`evaluate`: run them over an inventory (``prodkit plan`` / ``prodkit check``).
- :func:`pack_config`: the ``--policy-pack-config`` document of a profile (``config/<profile>.json``).

``policies/__main__.py`` adapts the same rules to CrossGuard (``pulumi preview --policy-pack policies``); this
module imports nothing from ``pulumi_policy``.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from .rules import RULES, Rule

__all__ = ["RULES", "Rule", "evaluate", "level_for", "pack_config", "PROFILES"]

PROFILES = ("staging", "prod")


def level_for(profile: str, enforcement: str | None = None) -> str:
    """"mandatory" in prod (or when asked), "advisory" otherwise."""
    if enforcement is not None:
        if enforcement not in ("mandatory", "advisory"):
            raise ValueError(f"enforcement: got {enforcement!r}; allowed: mandatory, advisory")
        return enforcement
    return "mandatory" if profile == "prod" else "advisory"


def _options(resource: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "protect": bool(resource.get("protect")),
        "retainOnDelete": bool(resource.get("retainOnDelete")),
        "ignoreChanges": list(resource.get("ignoreChanges") or []),
    }


def evaluate(
    resources: Iterable[Mapping[str, Any]],
    *,
    profile: str,
    enforcement: str | None = None,
    engine: str = "plan",
) -> list[dict[str, str]]:
    """Violations of every applicable rule: [{"policy", "level", "urn", "message"}], in rule then inventory order.

    `resources` are dicts in the inventory JSON shape (``stacks.engine.Resource.as_json()``). `profile` decides
    which rules apply (prod-only rules are skipped elsewhere) and the level, unless `enforcement` overrides it.
    """
    inventory = [dict(r) for r in resources]
    level = level_for(profile, enforcement)
    violations: list[dict[str, str]] = []
    for rule in RULES:
        if rule.prod_only and profile != "prod":
            continue
        if engine not in rule.engines:
            continue
        if rule.scope == "stack":
            for urn, message in rule.check(inventory):
                violations.append({"policy": rule.id, "level": level, "urn": urn, "message": message})
            continue
        for r in inventory:
            rtype = str(r.get("type", ""))
            if not rule.applies_to(rtype):
                continue
            for message in rule.check(rtype, r.get("inputs") or {}, _options(r)):
                violations.append({"policy": rule.id, "level": level, "urn": str(r.get("urn", "")), "message": message})
    return violations


def pack_config(profile: str) -> dict[str, Any]:
    """The CrossGuard policy-pack config of a profile: every policy mandatory in prod; advisory in staging, with the
    prod-only policies disabled (as `evaluate` skips them)."""
    if profile not in PROFILES:
        raise ValueError(f"profile: got {profile!r}; allowed: {', '.join(PROFILES)}")
    if profile == "prod":
        return {"all": "mandatory"}
    config: dict[str, Any] = {"all": "advisory"}
    for rule in RULES:
        if rule.prod_only:
            config[rule.id] = "disabled"
    return config
