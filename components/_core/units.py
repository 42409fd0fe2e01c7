"""Parsing and validation of the units users write: sizes, CPU, cron schedules, durations.

Pure functions, no Pulumi: they are shared by the spec loader, the Args dataclasses and the tests.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import InputError

_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Mi|Gi|Ti)$")
_MIB = {"Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}


def size_mib(field: str, value: Any) -> int:
    """'512Mi' | '4Gi' | '1Ti' -> MiB. Binary units only: '8GB' is ambiguous (10^9 or 2^30?) and refused."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise InputError(field, value, "write a size as a string with a binary unit, e.g. '512Mi', '8Gi', '1Ti'")
    m = _SIZE.match(value.strip())
    if not m:
        hint = ""
        dec = re.match(r"^([0-9.]+)\s*([MGT])B?$", value.strip(), re.IGNORECASE)
        if dec:
            hint = f"Did you mean '{dec.group(1)}{dec.group(2).upper()}i'?"
        raise InputError(field, value, "allowed: a number followed by Mi, Gi or Ti (e.g. '512Mi', '8Gi')", hint or None)
    mib = float(m.group(1)) * _MIB[m.group(2)]
    if mib < 1 or mib != int(mib):
        raise InputError(field, value, "must be a whole number of MiB, at least 1Mi")
    return int(mib)


def size_gib(field: str, value: Any) -> int:
    """A size that must be whole GiB (storage volumes): '100Gi' -> 100."""
    mib = size_mib(field, value)
    if mib % 1024:
        raise InputError(field, value, "storage sizes must be whole GiB (e.g. '20Gi', '1Ti')")
    return mib // 1024


def format_mib(mib: int) -> str:
    """MiB -> the Kubernetes quantity users expect: 4096 -> '4Gi', 1536 -> '1536Mi'."""
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


_CPU = re.compile(r"^([0-9]+(?:\.[0-9]{1,3})?|[0-9]+m)$")


def cpu_millicores(field: str, value: Any) -> int:
    """'2' | 2 | '0.5' | '500m' -> millicores."""
    if isinstance(value, bool):
        raise InputError(field, value, "write CPU as cores ('2', '0.5') or millicores ('500m')")
    text = str(value).strip()
    if not _CPU.match(text):
        raise InputError(field, value, "write CPU as cores ('2', '0.5') or millicores ('500m')")
    milli = int(text[:-1]) if text.endswith("m") else round(float(text) * 1000)
    if milli < 10:
        raise InputError(field, value, "CPU must be at least 10m")
    return milli


def format_millicores(milli: int) -> str:
    """2000 -> '2', 500 -> '500m'."""
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def cron(field: str, value: Any) -> str:
    """A five-field cron expression (minute hour day-of-month month day-of-week), validated."""
    if not isinstance(value, str) or len(value.split()) != 5:
        raise InputError(field, value, "allowed: a five-field cron expression 'minute hour day month weekday', e.g. '0 3 * * *'")
    from croniter import croniter  # small, pure Python; imported only when a schedule is validated

    if not croniter.is_valid(value):
        raise InputError(field, value, "not a valid cron expression; e.g. '0 3 * * *' (daily 03:00) or '0 * * * *' (hourly)")
    return value


_WINDOW = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")


def time_window(field: str, value: Any) -> str:
    """'03:00-04:00' (UTC), at least 30 minutes long as RDS requires."""
    m = _WINDOW.match(str(value)) if isinstance(value, str) else None
    if not m:
        raise InputError(field, value, "allowed: a UTC window 'HH:MM-HH:MM', e.g. '03:00-04:00'")
    start = int(m.group(1)) * 60 + int(m.group(2))
    end = int(m.group(3)) * 60 + int(m.group(4))
    if (end - start) % (24 * 60) < 30:
        raise InputError(field, value, "the window must last at least 30 minutes")
    return value


def in_range(field: str, value: Any, lo: float, hi: float, unit: str = "") -> Any:
    """Check a number lies in [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        suffix = f" {unit}" if unit else ""
        raise InputError(field, value, f"allowed: a number from {lo:g} to {hi:g}{suffix}")
    return value
