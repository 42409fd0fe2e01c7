"""Errors a user can act on.

Every bad input surfaces as an :class:`InputError` before any resource is registered: it names the field
(as the user wrote it: a spec path, a config key or an Args field), the value, and what is allowed.
`prodkit plan` prints it as one paragraph and exits 2; a Pulumi program shows the same sentence.
"""

from __future__ import annotations

import difflib
from typing import Any, Iterable


class InputError(ValueError):
    """A value given by the user is not acceptable."""

    def __init__(self, field: str, value: Any, allowed: str, hint: str | None = None) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        self.hint = hint
        shown = value if isinstance(value, (int, float, bool)) or value is None else repr(value)
        if isinstance(shown, str) and len(shown) > 120:
            shown = shown[:117] + "...'"
        message = f"{field}: got {shown}; {allowed}"
        if hint:
            message += f" {hint}"
        message = message.rstrip(".")
        super().__init__(message if message.endswith("?") else message + ".")


class BackendNotAvailable(InputError, NotImplementedError):
    """The component has no backend for the requested cloud (yet)."""

    def __init__(self, component: str, cloud: str, supported: Iterable[str]) -> None:
        names = ", ".join(sorted(supported)) or "none"
        super().__init__(
            "prodkit:cloud",
            cloud,
            f"the {component} component has no {cloud} backend yet (implemented: {names})",
            "Pick one of those clouds, or contribute components/<component>/_" + cloud + ".py.",
        )


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' Did you mean X?' suffix when a close match exists, else ''."""
    match = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" Did you mean {match[0]!r}?" if match else ""


def one_of(field: str, value: Any, allowed: Iterable[str]) -> InputError:
    """An InputError for a value outside a closed set of choices."""
    choices = sorted(str(a) for a in allowed)
    return InputError(field, value, "allowed: " + ", ".join(choices) + "." + did_you_mean(value, choices))
