"""The `--out` folder of `prodkit plan` is ours: a plan removes what an earlier plan wrote there, and nothing else.

Each plan lists the files it wrote in ``OUT/.prodkit-plan``. The next plan into the same folder deletes exactly
those files (and the folders that became empty) before writing, so `kubectl apply -f OUT/manifests` never applies
a manifest of an app planned earlier. A non-empty folder without that list was not written by prodkit: the plan
refuses it rather than mix its files with someone else's.
"""

from __future__ import annotations

from pathlib import Path

from components._core import InputError

MANIFEST = ".prodkit-plan"
_HEADER = "# files written by `prodkit plan` into this folder; the next plan here removes them first\n"


def claim(out: Path) -> list[str]:
    """Check that `out` is fresh, empty or ours; return the files an earlier plan wrote there."""
    if not out.exists():
        return []
    if not out.is_dir():
        raise InputError("--out", str(out), "is a file, not a folder: pass a folder for the plan's output")
    listing = out / MANIFEST
    if listing.is_file():
        return [line for line in listing.read_text().splitlines() if line and not line.startswith("#")]
    if any(out.iterdir()):
        raise InputError(
            "--out", str(out),
            f"this folder is not empty and holds no {MANIFEST} list, so prodkit did not write it and will not clean it; "
            "pass a new or empty folder (or remove this one)",
        )
    return []


def clean(out: Path, previous: list[str]) -> set[str]:
    """Delete the files of the earlier plan (only those, only inside `out`); return the files left (not ours)."""
    root = out.resolve()
    folders: set[Path] = set()
    for rel in previous:
        path = (out / rel).resolve()
        if root not in path.parents:  # a hand-edited list must not reach outside the folder
            continue
        if path.is_file() or path.is_symlink():
            path.unlink()
        parent = path.parent
        while parent != root and root in parent.parents:
            folders.add(parent)
            parent = parent.parent
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()  # only when empty: foreign files keep their folder
        except OSError:
            pass
    (out / MANIFEST).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    return _files(out)


def _files(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MANIFEST}


def record(out: Path, foreign: set[str]) -> list[str]:
    """List every file in `out` but the `foreign` ones (so: this plan's files) in OUT/.prodkit-plan."""
    written = sorted(_files(out) - foreign)
    (out / MANIFEST).write_text(_HEADER + "".join(f"{name}\n" for name in written))
    return written
