"""Kubernetes manifests of a planned inventory: written to disk and validated offline, strictly.

`prodkit plan` on a Kubernetes stack calls :func:`write_and_validate`. For every Kubernetes object the program
registered (type ``kubernetes:*``, with ``apiVersion`` and ``kind``; Helm releases and patches are not objects):

- the manifest is rebuilt from the recorded inputs (:func:`manifest_of`), with every Secret value and every
  input that carried a Pulumi secret replaced by ``REDACTED``: plaintext secrets never reach the disk;
- it is written to ``<out_dir>/<kind>-<metadata.name>.yaml`` (stable names, diffable between runs);
- built-in kinds are validated with ``kubernetes-validate`` against the Kubernetes version's strict schemas
  (unknown fields are errors, as with ``kubectl apply --validate=strict``);
- custom resources are validated against the ``openAPIV3Schema`` of their CRD, with object schemas closed like
  the API server's strict field validation, and against the CRD's CEL rules (``x-kubernetes-validations``,
  :mod:`stacks.cel`) after the schema's defaults are applied; a kind with neither a built-in schema nor a CRD is
  a problem. The CRD schemas ship inside the package (``stacks/crds/``, compacted from the upstream CRDs; its
  README names each one's project, release and licence); ``$PRODKIT_CRDS_DIR`` points at another folder of
  upstream CRD YAML files instead.

Schemas are loaded once per process and compiled validators are reused, so a typical app (about 40 objects)
validates in well under a second after the first load.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Any, Iterable

import yaml

REDACTED = "REDACTED"
DEFAULT_K8S_VERSION = "1.35"  # oldest Kubernetes minor still in upstream support (Nov 2026): valid here, valid on 1.35+
_SKIPPED_TYPES = ("kubernetes:helm.sh/", "kubernetes:yaml", "kubernetes:kustomize")
_MAX_ERRORS_PER_OBJECT = 5


@dataclass(frozen=True)
class Problem:
    """One finding about one manifest."""

    file: str
    """The manifest file (name inside out_dir), or "" when nothing was written."""
    kind: str
    name: str
    message: str
    severity: str = "error"
    """"error" (the manifest would be rejected) or "note" (informational)."""

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        where = self.file or f"{self.kind}/{self.name}"
        return f"{where}: {self.message}"


# --------------------------------------------------------------------------------------------------- manifests


def is_manifest_resource(resource: Any) -> bool:
    """A Kubernetes object (not a Helm release, a patch or a provider)."""
    typ = resource.type
    if not typ.startswith("kubernetes:") or typ.startswith(_SKIPPED_TYPES) or typ.endswith("Patch"):
        return False
    raw = resource.raw_inputs or {}
    return bool(raw.get("apiVersion")) and bool(raw.get("kind"))


def manifest_of(resource: Any) -> dict[str, Any]:
    """The manifest a real deployment would apply, with secrets redacted.

    Inputs that carried a Pulumi secret are taken from the redacted view; a Secret's ``data``/``stringData``
    values are replaced whatever they were.
    """
    raw = resource.raw_inputs or {}
    redacted = getattr(resource, "inputs", {}) or {}
    secret_keys = set(getattr(resource, "secret_paths", ()) or ())
    body = {k: _redact_value(v, redacted.get(k, "[secret]")) if k in secret_keys else copy.deepcopy(v) for k, v in raw.items()}
    manifest: dict[str, Any] = {"apiVersion": body.pop("apiVersion", None), "kind": body.pop("kind", None)}
    manifest["metadata"] = body.pop("metadata", None) or {}
    manifest.update(body)
    if manifest["kind"] == "Secret" and manifest["apiVersion"] == "v1":
        for key in ("data", "stringData"):
            if isinstance(manifest.get(key), dict):
                manifest[key] = {k: REDACTED for k in manifest[key]}
    return manifest


def _redact_value(raw: Any, redacted: Any) -> Any:
    """Merge the raw value with its redacted view: every part the view marks "[secret]" becomes REDACTED,
    keeping the shape (dict keys, list lengths) so the manifest still validates."""
    if redacted == "[secret]":
        return _all_redacted(raw)
    if isinstance(raw, dict) and isinstance(redacted, dict):
        return {k: _redact_value(v, redacted.get(k, "[secret]")) for k, v in raw.items()}
    if isinstance(raw, list) and isinstance(redacted, list) and len(raw) == len(redacted):
        return [_redact_value(r, v) for r, v in zip(raw, redacted)]
    return copy.deepcopy(redacted)


def _all_redacted(raw: Any) -> Any:
    if isinstance(raw, dict):
        return {k: _all_redacted(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_all_redacted(v) for v in raw]
    return REDACTED


def file_name(manifest: dict[str, Any]) -> str:
    kind = str(manifest.get("kind") or "object").lower()
    name = str((manifest.get("metadata") or {}).get("name") or "unnamed")
    return f"{kind}-{re.sub(r'[^A-Za-z0-9._-]+', '-', name)}.yaml"


# -------------------------------------------------------------------------------------------------- validation


#: The CRD schemas packaged with prodkit (see scripts/compact_crds.py).
PACKAGED_CRDS = Path(__file__).resolve().parent / "crds"


def crd_dir() -> Path:
    """Where the CRDs are: $PRODKIT_CRDS_DIR (a folder of upstream CRD YAML files) if set, else the packaged ones."""
    env = os.environ.get("PRODKIT_CRDS_DIR")
    return Path(env) if env else PACKAGED_CRDS


_HEAD_GROUP = re.compile(r"^  group:\s*(\S+)\s*$", re.MULTILINE)
_HEAD_KIND = re.compile(r"^    kind:\s*(\S+)\s*$", re.MULTILINE)


@functools.lru_cache(maxsize=None)
def _crd_index(folder: str) -> dict[tuple[str, str], str]:
    """(group, kind) -> CRD file: the packaged index, or each YAML file's head (schemas are parsed on first use)."""
    index: dict[tuple[str, str], str] = {}
    packaged = Path(folder) / "index.json"
    if packaged.is_file():
        import json

        for key, name in json.loads(packaged.read_text(encoding="utf-8")).items():
            group, _, kind = key.rpartition("/")
            index[(group, kind)] = str(Path(folder) / name)
        return index
    for path in sorted(Path(folder).glob("*.yaml")):
        with open(path, encoding="utf-8") as fh:
            head = fh.read(4096)
        group, kind = _HEAD_GROUP.search(head), _HEAD_KIND.search(head)
        if group and kind:
            index[(group.group(1), kind.group(1))] = str(path)
    return index


@functools.lru_cache(maxsize=None)
def _served_schema(path: str, version: str) -> dict[str, Any] | None:
    """The openAPIV3Schema of the served `version` of the CRD in `path` (shared: never modify it)."""
    for entry in _load_crd(path)["spec"]["versions"]:
        if entry.get("name") == version and entry.get("served", False):
            return entry["schema"]["openAPIV3Schema"]
    return None


@functools.lru_cache(maxsize=None)
def _crd_validator(path: str, version: str):
    """A Draft 7 validator for the served `version` of the CRD in `path`, or None if that version is not served."""
    import jsonschema

    schema = _served_schema(path, version)
    if schema is None:
        return None
    schema = _closed(copy.deepcopy(schema))
    # metadata is validated by the API server itself (ObjectMeta), not by the CRD.
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


@functools.lru_cache(maxsize=None)
def _cel_rules(path: str, version: str):
    from . import cel

    schema = _served_schema(path, version)
    return cel.compile_schema(schema) if schema is not None else None


def cel_errors(manifest: dict[str, Any], path: str, version: str) -> list[str]:
    """The CEL rules of the CRD in `path` that `manifest` breaks, evaluated on the defaulted object."""
    from . import cel

    rules = _cel_rules(path, version)
    if rules is None:
        return []
    body = {k: v for k, v in manifest.items() if k != "metadata"}
    return cel.validate(cel.apply_defaults(body, _served_schema(path, version)), rules)


def _load_crd(path: str) -> dict[str, Any]:
    """Parse a CRD file: a packaged compact JSON file, or an upstream YAML CRD. Parsing the big YAML CRDs (CNPG
    Cluster/Pooler, ~1 MB) costs about half a second, so their parsed form is kept as JSON in the user's cache
    folder, keyed by the file's path, size and mtime; any problem with the cache falls back to parsing the YAML."""
    import hashlib
    import json

    if path.endswith(".json"):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        versions = [{"name": v["name"], "served": True, "schema": {"openAPIV3Schema": v["schema"]}} for v in data["versions"]]
        return {"spec": {"group": data["group"], "names": {"kind": data["kind"]}, "versions": versions}}
    stat = os.stat(path)
    key = hashlib.sha1(f"{os.path.abspath(path)}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:20]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "prodkit" / "crds" / f"{key}.json"
    try:
        with open(cache, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        pass
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as fh:
        crd = yaml.load(fh, Loader=loader)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(crd), encoding="utf-8")
        os.replace(tmp, cache)  # atomic: concurrent runs never read a half-written file
    except OSError:
        pass
    return crd


def _closed(schema: Any) -> Any:
    """Close every object schema that lists properties, as strict field validation does."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in ("properties", "patternProperties", "definitions"):
                for sub in value.values():
                    _closed(sub)
            elif key in ("items", "additionalProperties", "not"):
                _closed(value)
            elif key in ("allOf", "anyOf", "oneOf"):
                for sub in value:
                    _closed(sub)
        if "properties" in schema and "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        for sub in schema:
            _closed(sub)
    return schema


class _SchemaNotFound(Exception):
    pass


@functools.lru_cache(maxsize=None)
def _builtin_registry(version: str):
    """(schema folder, registry holding the shared definitions) for a Kubernetes version, loaded once."""
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    wanted = utils.major_minor(version.lstrip("v"))
    versions = [v for v in utils.all_versions() if tuple(map(int, utils.major_minor(v).split("."))) <= tuple(map(int, wanted.split(".")))]
    if not versions:
        raise ValueError(f"kubernetes-validate has no schemas for Kubernetes {version}")
    folder = f"kubernetes-json-schema/v{versions[-1]}-local-strict"
    definitions = Resource.from_contents(utils.schema_contents(f"{folder}/_definitions.json", version))
    return folder, definitions @ Registry()


@functools.lru_cache(maxsize=None)
def _builtin_validator(version: str, kind: str, api_version: str):
    """The strict validator kubernetes-validate would build for this kind, compiled once (same schema files)."""
    import jsonschema
    from kubernetes_validate import utils
    from referencing import Resource

    folder, registry = _builtin_registry(version)
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = utils.schema_contents(f"{folder}/{kind.lower()}-{api}.json", version)
    except FileNotFoundError:
        raise _SchemaNotFound(kind) from None
    return jsonschema.validators.Draft202012Validator(schema, registry=Resource.from_contents(schema) @ registry)


def _errors(validator: Any, manifest: dict[str, Any]) -> list[str]:
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    out = []
    for error in errors[:_MAX_ERRORS_PER_OBJECT]:
        path = ".".join(str(p) for p in error.absolute_path) or "(root)"
        out.append(f"{path}: {error.message}")
    if len(errors) > _MAX_ERRORS_PER_OBJECT:
        out.append(f"... and {len(errors) - _MAX_ERRORS_PER_OBJECT} more")
    return out


def validate_manifest(manifest: dict[str, Any], k8s_version: str = DEFAULT_K8S_VERSION, crds: Path | None | str = "auto") -> list[tuple[str, str]]:
    """[(severity, message)] for one manifest: empty when it is valid."""
    kind, api_version = str(manifest.get("kind")), str(manifest.get("apiVersion"))
    meta = manifest.get("metadata") or {}
    found: list[tuple[str, str]] = []
    if not meta.get("name"):
        found.append(("error", "metadata.name is missing (objects must be named explicitly, not auto-named)"))

    group, _, version = api_version.rpartition("/")
    folder = crd_dir() if crds == "auto" else Path(crds)
    if group and "." in group:
        crd_file = _crd_index(str(folder)).get((group, kind))
        if crd_file is not None:
            validator = _crd_validator(crd_file, version)
            if validator is None:
                return found + [("error", f"{api_version} is not a served version of the {kind} CRD")]
            schema_errors = _errors(validator, manifest)
            if schema_errors:  # CEL rules assume a structurally valid object
                return found + [("error", m) for m in schema_errors]
            return found + [("error", f"CEL: {m}") for m in cel_errors(manifest, crd_file, version)[:_MAX_ERRORS_PER_OBJECT]]
    try:
        validator = _builtin_validator(k8s_version, kind, api_version)
    except _SchemaNotFound:
        return found + [("error", f"unknown kind {kind} ({api_version}): no Kubernetes {k8s_version} schema and no CRD in {folder}")]
    return found + [("error", m) for m in _errors(validator, manifest)]


def write_and_validate(inventory: Any, out_dir: Path, k8s_version: str = DEFAULT_K8S_VERSION) -> list[Problem]:
    """Write and validate every manifest now (see :func:`begin`)."""
    return begin(inventory, out_dir, k8s_version)()


def begin(inventory: Any, out_dir: Path, k8s_version: str = DEFAULT_K8S_VERSION) -> Callable[[], list[Problem]]:
    """Write every Kubernetes object of `inventory` to `out_dir` (one YAML file each) and validate it.

    Returns a function that finishes the work and returns the problems found (empty when every manifest is
    valid). Files of earlier runs are not removed: pass a fresh folder.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, dict[str, Any], str]] = []
    written: set[str] = set()
    for resource in _k8s_objects(inventory.resources):
        manifest = manifest_of(resource)
        fname = file_name(manifest)
        if fname in written:  # same kind and name in two namespaces
            namespace = (manifest.get("metadata") or {}).get("namespace") or "cluster"
            fname = fname.replace("-", f"-{namespace}-", 1)
        written.add(fname)
        jobs.append((fname, manifest, str((manifest.get("metadata") or {}).get("name") or resource.name)))
    if len(jobs) < _PARALLEL_FROM or not hasattr(os, "fork"):
        return lambda: _write_and_validate(jobs, out_dir, k8s_version)
    # Schema validation is CPU-bound pure Python: for a large app (100 services: ~1000 objects) a forked worker
    # starts on half of it at once, while this process goes on (policy checks) and then does the other half.
    import multiprocessing

    half = len(jobs) // 2
    pool = multiprocessing.get_context("fork").Pool(1)
    other = pool.apply_async(_write_and_validate, (jobs[half:], out_dir, k8s_version))

    def finish() -> list[Problem]:
        try:
            return _write_and_validate(jobs[:half], out_dir, k8s_version) + other.get()
        finally:
            pool.close()
            pool.join()

    return finish


#: Below this many objects a worker costs more than it saves.
_PARALLEL_FROM = 150


def _write_and_validate(jobs: list[tuple[str, dict[str, Any], str]], out_dir: Path, k8s_version: str) -> list[Problem]:
    folder = crd_dir()
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    problems: list[Problem] = []
    for fname, manifest, name in jobs:
        with open(out_dir / fname, "w", encoding="utf-8") as fh:
            yaml.dump(manifest, fh, Dumper=dumper, sort_keys=False, default_flow_style=False)
        for severity, message in validate_manifest(manifest, k8s_version, folder):
            problems.append(Problem(fname, str(manifest["kind"]), name, message, severity))
    return problems


def _k8s_objects(resources: Iterable[Any]) -> list[Any]:
    return [r for r in resources if is_manifest_resource(r)]
