"""The code of the database bootstrap function, packaged for AWS Lambda.

``handler.py`` (this folder) plus the pure-Python PostgreSQL driver pg8000 and what it imports (scramp,
asn1crypto, python-dateutil), taken as ``.py`` files from the installed distributions (they come with prodkit's
``aws`` extra), so the zip needs no build step, no download and no native code (it runs on arm64 and x86_64).
Only ``.py`` files go in (no ``__pycache__``): the archive's content, and so the function's code hash, depends
only on the driver versions.
"""

from __future__ import annotations

from pathlib import Path

#: Lambda handler (module.function inside the zip).
HANDLER = "handler.handler"
#: Lambda runtime the handler and the vendored driver are written for.
RUNTIME = "python3.13"
#: Distributions copied into the zip: the driver and what it imports (with their metadata: scramp and pg8000
#: read their own version from it).
VENDORED = ("pg8000", "scramp", "asn1crypto", "python-dateutil")
#: The import packages those distributions provide.
_PACKAGES = ("pg8000", "scramp", "asn1crypto", "dateutil")
#: Installer bookkeeping that differs between machines: left out.
_SKIP = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def files() -> dict[str, Path]:
    """Path inside the zip -> file on disk, sorted."""
    from importlib import metadata

    out = {"handler.py": Path(__file__).with_name("handler.py")}
    for name in VENDORED:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise RuntimeError(
                f"the database bootstrap function ships the Python distribution {name!r} (pg8000 and its "
                "dependencies): install prodkit with the aws extra (pip install 'prodkit[aws]')"
            ) from None
        for entry in dist.files or ():
            parts = Path(entry).parts
            if "__pycache__" in parts or entry.name in _SKIP or entry.suffix == ".pyc" or ".." in parts:
                continue
            out[Path(entry).as_posix()] = Path(dist.locate_file(entry))
    missing = [pkg for pkg in _PACKAGES if f"{pkg}/__init__.py" not in out]
    if missing:
        raise RuntimeError(
            f"the installed distributions do not list the files of {', '.join(missing)} (no RECORD): reinstall "
            "them with pip (pip install --force-reinstall 'prodkit[aws]') so the bootstrap function can ship them"
        )
    return dict(sorted(out.items()))


def archive():  # -> pulumi.AssetArchive
    """The function's code as a Pulumi archive."""
    import pulumi

    return pulumi.AssetArchive({name: pulumi.FileAsset(str(path)) for name, path in files().items()})
