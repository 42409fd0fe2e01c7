"""The typed, validated view of `Pulumi.<stack>.yaml` (the `prodkit:` namespace).

The same function validates the file for `prodkit plan` (read from YAML, secure values become placeholders)
and for the real program (read from the Pulumi runtime, secure values decrypted by the engine).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from components._core import Cloud, InputError, did_you_mean, dns_label

from . import profiles
from .profiles import Profile
from .spec import AppSpec, load_app

NAMESPACE = "prodkit"
PLACEHOLDER = "[secret placeholder]"
_SECRET_KEY = re.compile(r"^[A-Z_][A-Z0-9_]*$")

#: Every plain key of the prodkit namespace, with what it means (shown when a key is unknown).
KEYS: Mapping[str, str] = {
    "app": "bundled app name (compyle, autopr, copilot, chat, arches) or path to a spec file",
    "cloud": "aws | gcp | azure | kubernetes",
    "profile": "staging | prod",
    "domain": "public hostname of the app",
    "region": "cloud region (defaults to the provider's)",
    "namespace": "Kubernetes namespace (default {app}-{stack})",
    "imageTags": "map service -> image tag (CI sets these)",
    "overrides": "map of profile fields to override",
    "alertEmails": "list of emails receiving alerts",
    "backupBucket": "s3://bucket[/prefix] for Kubernetes backups",
    "backupEndpoint": "S3 endpoint URL for non-AWS object stores",
    "clusterIssuer": "cert-manager ClusterIssuer (Kubernetes)",
    "hostedZoneId": "Route 53 zone for certificate validation and DNS (AWS)",
    "vpcCidr": "VPC CIDR (AWS), default 10.0.0.0/16",
    "backupCopyRegion": "region receiving copies of AWS Backup recovery points",
}


@dataclass(frozen=True)
class StackConfig:
    stack: str
    app: AppSpec
    app_ref: str
    cloud: Cloud
    profile: Profile
    domain: str
    region: str = ""
    namespace: str = ""
    image_tags: Mapping[str, str] = field(default_factory=dict)
    alert_emails: tuple[str, ...] = ()
    backup_bucket: str = ""
    backup_endpoint: str = ""
    cluster_issuer: str = "letsencrypt-prod"
    hosted_zone_id: str = ""
    vpc_cidr: str = "10.0.0.0/16"
    backup_copy_region: str = ""
    secrets: Mapping[str, Any] = field(default_factory=dict)
    """Secret name -> value (an Output in the real program, a placeholder offline)."""
    unset_secrets: tuple[str, ...] = ()
    """Offline only: required secrets the stack has not set (planned with placeholders; set them before deploying)."""


def _decode(value: Any) -> Any:
    """Runtime config arrives as strings; objects and lists as JSON."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def resolve(stack: str, raw: Mapping[str, Any], secret_values: Mapping[str, Any], *, app_overridden: bool = False, offline: bool = False) -> StackConfig:
    """Validate the prodkit keys of a stack's config.

    raw: "prodkit:key" -> value for every plain key (other namespaces are ignored);
    secret_values: "NAME" -> value for every secure prodkit key.
    app_overridden: the offline plan swapped the stack file's app with `-c prodkit:app=...`; the file's secrets
    were written for another app, so the new app's missing secrets become placeholders and unused ones are ignored.
    offline: `prodkit plan` (nothing is deployed): a required secret the stack has not set becomes a placeholder and
    is listed in ``unset_secrets``; the real program (offline=False) refuses to run without it.
    """
    dns_label("stack name", stack)
    values: dict[str, Any] = {}
    for full_key, value in raw.items():
        ns, _, key = full_key.partition(":")
        if ns != NAMESPACE:
            continue
        if _SECRET_KEY.match(key):
            raise InputError(f"prodkit:{key}", "<plain text>", f"secret values must be encrypted: run `pulumi config set --secret prodkit:{key} <value> --stack {stack}`")
        if key not in KEYS:
            raise InputError(f"prodkit:{key}", value, "unknown config key; allowed: " + ", ".join(KEYS) + "." + did_you_mean(key, KEYS))
        values[key] = _decode(value)
    for key in ("app", "cloud", "profile"):
        if key not in values:
            raise InputError(f"prodkit:{key}", None, f"required ({KEYS[key]}); set it with `pulumi config set prodkit:{key} <value> --stack {stack}`")
    cloud = Cloud.parse(str(values["cloud"]))
    overrides = values.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise InputError("prodkit:overrides", overrides, "expected a mapping of profile fields")
    profile = profiles.resolve(str(values["profile"]), overrides)
    app = load_app(str(values["app"]))
    domain = str(values.get("domain") or f"{app.name}.example.com")

    tags = values.get("imageTags") or {}
    if not isinstance(tags, dict):
        raise InputError("prodkit:imageTags", tags, "expected a mapping service -> tag")
    for svc, tag in tags.items():
        if svc not in app.services:
            raise InputError(f"prodkit:imageTags.{svc}", tag, "unknown service; the app has: " + ", ".join(app.services) + did_you_mean(svc, app.services))
        if not isinstance(tag, str) or not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$", tag) or tag == "latest":
            raise InputError(f"prodkit:imageTags.{svc}", tag, "allowed: an explicit image tag such as '1.4.2' or a git sha ('latest' is not reproducible)")

    emails = values.get("alertEmails") or []
    if isinstance(emails, str):
        emails = [e.strip() for e in emails.split(",") if e.strip()]
    if app_overridden:
        secret_values = {k: v for k, v in secret_values.items() if k in app.secrets}
        if not offline:  # offline, the missing ones are placeholders listed in unset_secrets (below)
            secret_values.update({k: PLACEHOLDER for k, s in app.secrets.items() if s.source == "config" and not s.optional and k not in secret_values})
    for extra in secret_values:
        if extra not in app.secrets:
            raise InputError(f"prodkit:{extra}", "<secret>", "the app declares no such secret; declared: " + (", ".join(app.secrets) or "none") + did_you_mean(extra, app.secrets))
    needed = [name for name, s in app.secrets.items() if s.source == "config" and not s.optional and name not in secret_values]
    unset: tuple[str, ...] = ()
    if needed and offline:
        unset, needed = tuple(needed), []
        secret_values = {**secret_values, **{name: PLACEHOLDER for name in unset}}
    if needed:
        name = needed[0]
        raise InputError(
            f"prodkit:{name}", None,
            f"the {app.name} app requires this secret ({app.secrets[name].description or 'see the app spec'})",
            f"Set it with `pulumi config set --secret prodkit:{name} <value> --stack {stack}`.",
        )
    return StackConfig(
        stack=stack, app=app, app_ref=str(values["app"]), cloud=cloud, profile=profile, domain=domain,
        region=str(values.get("region") or ""), namespace=str(values.get("namespace") or ""),
        image_tags=dict(tags), alert_emails=tuple(emails), backup_bucket=str(values.get("backupBucket") or ""),
        backup_endpoint=str(values.get("backupEndpoint") or ""),
        cluster_issuer=str(values.get("clusterIssuer") or "letsencrypt-prod"),
        hosted_zone_id=str(values.get("hostedZoneId") or ""), vpc_cidr=str(values.get("vpcCidr") or "10.0.0.0/16"),
        backup_copy_region=str(values.get("backupCopyRegion") or ""),
        secrets=dict(secret_values), unset_secrets=unset,
    )


def read_stack_file(path: Path) -> tuple[dict[str, Any], set[str]]:
    """(plain config, secure keys) of a Pulumi.<stack>.yaml; secure values are not decrypted."""
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise InputError("--stack", path.stem.removeprefix("Pulumi."), f"no stack file {path.name} in {path.parent}") from None
    except yaml.YAMLError as exc:
        raise InputError(path.name, "invalid YAML", str(exc).splitlines()[0]) from None
    plain: dict[str, Any] = {}
    secure: set[str] = set()
    for key, value in (doc.get("config") or {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            secure.add(key)
        else:
            plain[key] = value
    return plain, secure


def split_overrides(plain: dict[str, Any], secure: set[str], sets: list[str]) -> tuple[dict[str, Any], set[str]]:
    """Apply `-c KEY=VALUE` overrides (values parsed as YAML scalars/objects); an override of a secure key
    replaces the placeholder with a plain value, which `resolve` then refuses like any plaintext secret."""
    plain = dict(plain)
    secure = set(secure)
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or ":" not in key:
            raise InputError("-c", item, "write overrides as NAMESPACE:KEY=VALUE, e.g. -c prodkit:app=copilot")
        try:
            parsed = yaml.safe_load(value) if value else ""
        except yaml.YAMLError:
            parsed = value
        if key.partition(":")[2] in ("app", "domain", "region", "namespace", "backupBucket") or parsed is None:
            parsed = value
        secure.discard(key)
        plain[key] = parsed
    return plain, secure
