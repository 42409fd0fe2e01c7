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
    "sharedGateway": "existing Gateway the routes attach to instead of one per stack: {name, namespace, httpsSection, httpSection} (Kubernetes)",
    "hostedZoneId": "Route 53 zone for certificate validation and DNS (AWS)",
    "vpcCidr": "VPC CIDR (AWS), default 10.0.0.0/16",
    "backupCopyRegion": "region receiving copies of AWS Backup recovery points",
    "apiServerCidrs": "list of CIDRs of the Kubernetes API server, the only addresses database pods may reach on 443/6443 (Kubernetes; default any)",
    "monitoringLabels": "map of labels on ServiceMonitors/PodMonitors/PrometheusRules that Prometheus selects (Kubernetes; default release: kube-prometheus-stack)",
    "project": "GCP project id (or the provider's gcp:project)",
    "location": "Azure location, e.g. eastus2 (Azure; default prodkit:region)",
    "subscription": "Azure subscription id (a GUID; Azure)",
    "ecrPullThroughCache": "true: pull images from ghcr.io, Docker Hub, ECR Public, Quay through ECR (AWS)",
}

#: Secrets of the stack rather than of the app (allowed beside the app's; required only when the stack uses them).
STACK_SECRETS: Mapping[str, str] = {
    "GHCR_CREDENTIALS": "USERNAME:TOKEN of a GitHub account (token with read:packages) for the ECR pull-through cache of ghcr.io",
    "DOCKERHUB_CREDENTIALS": "USERNAME:TOKEN (a Docker Hub access token) for the ECR pull-through cache of Docker Hub",
    "GITLAB_CREDENTIALS": "USERNAME:TOKEN (a GitLab access token with read_registry) for the ECR pull-through cache of registry.gitlab.com",
}

_GCP_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_GCP_REGION = re.compile(r"^[a-z]+(-[a-z]+)+[0-9]{1,2}$")


def gcp_project(value: Any, key: str) -> str:
    """A GCP project id: 6-30 characters, lowercase letters, digits and '-', starting with a letter."""
    text = str(value or "")
    if not _GCP_PROJECT.match(text) or "--" in text or "google" in text:
        raise InputError(key, value, "allowed: a GCP project id of 6-30 lowercase letters, digits and '-', starting with a letter and not ending with '-' (e.g. 'acme-autopr-prod')")
    return text


def gcp_region(value: Any, key: str) -> str:
    """A GCP region such as 'us-central1' or 'europe-west4' (not an AWS-style 'us-east-1' or a zone 'us-central1-a')."""
    text = str(value or "")
    if not _GCP_REGION.match(text):
        raise InputError(key, value, "allowed: a GCP region such as 'us-central1', 'europe-west4' or 'asia-northeast1' (a region, not a zone)")
    return text


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
    shared_gateway: Mapping[str, Any] = field(default_factory=dict)
    """prodkit:sharedGateway: {name, namespace, httpsSection, httpSection}; empty = a Gateway per stack."""
    hosted_zone_id: str = ""
    vpc_cidr: str = "10.0.0.0/16"
    backup_copy_region: str = ""
    api_server_cidrs: tuple[str, ...] = ()
    """Kubernetes API server addresses (CIDRs); empty: any address on the API ports."""
    monitoring_labels: Mapping[str, str] | None = None
    """Labels the cluster's Prometheus selects monitors and rules by; None keeps the Kubernetes default."""
    project: str = ""
    """GCP project id (GCP stacks only)."""
    location: str = ""
    """Azure location (validated against the public Azure locations); the stack's region on Azure."""
    subscription: str = ""
    """Azure subscription id (validated GUID): scopes the role definitions Key Vault access is granted with."""
    secrets: Mapping[str, Any] = field(default_factory=dict)
    """Secret name -> value (an Output in the real program, a placeholder offline)."""
    ecr_pull_through_cache: bool = False
    aws_region: str = ""
    """The AWS provider's `aws:region` (checked against `prodkit:region` on AWS)."""
    unset_secrets: tuple[str, ...] = ()
    """Offline only: required secrets the stack has not set (planned with placeholders; set them before deploying)."""
    unset_stack_secrets: tuple[str, ...] = ()
    """Offline only: stack secrets (STACK_SECRETS) the stack has not set; those its target requires are to set."""


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

    endpoint = str(values.get("backupEndpoint") or "")
    if endpoint and not re.match(r"^https://[^/\s:]+(:\d{1,5})?(/\S*)?$", endpoint):
        raise InputError("prodkit:backupEndpoint", endpoint, "allowed: an https:// URL of the S3-compatible endpoint (credentials and backups must not cross the network in clear)")

    emails = values.get("alertEmails") or []
    if isinstance(emails, str):
        emails = [e.strip() for e in emails.split(",") if e.strip()]
    if app_overridden:
        secret_values = {k: v for k, v in secret_values.items() if k in app.secrets or k in STACK_SECRETS}
        if not offline:  # offline, the missing ones are placeholders listed in unset_secrets (below)
            secret_values.update({k: PLACEHOLDER for k, s in app.secrets.items() if s.source == "config" and not s.optional and k not in secret_values})
    for extra in secret_values:
        if extra not in app.secrets and extra not in STACK_SECRETS:
            raise InputError(f"prodkit:{extra}", "<secret>", "the app declares no such secret; declared: " + (", ".join(app.secrets) or "none") + "; stack secrets: " + ", ".join(STACK_SECRETS) + did_you_mean(extra, [*app.secrets, *STACK_SECRETS]))
    needed = [name for name, s in app.secrets.items() if s.source == "config" and not s.optional and name not in secret_values]
    unset: tuple[str, ...] = ()
    if needed and offline:
        unset, needed = tuple(needed), []
        secret_values = {**secret_values, **{name: PLACEHOLDER for name in unset}}
    # Stack secrets (registry credentials) are required only when the stack uses them (the target says which):
    # offline, the unset ones are placeholders, listed as "to set" where the target requires them.
    unset_stack: tuple[str, ...] = ()
    if offline:
        unset_stack = tuple(k for k in STACK_SECRETS if k not in secret_values)
        secret_values = {**secret_values, **{k: PLACEHOLDER for k in unset_stack}}
    if needed:
        name = needed[0]
        raise InputError(
            f"prodkit:{name}", None,
            f"the {app.name} app requires this secret ({app.secrets[name].description or 'see the app spec'})",
            f"Set it with `pulumi config set --secret prodkit:{name} <value> --stack {stack}`.",
        )
    project, region = "", str(values.get("region") or "")
    if cloud == Cloud.GCP:
        key = "prodkit:project" if values.get("project") else "gcp:project"
        if not (values.get("project") or raw.get("gcp:project")):
            raise InputError("prodkit:project", None, f"a GCP stack needs its project id; set it with `pulumi config set gcp:project <id> --stack {stack}`")
        project = gcp_project(values.get("project") or raw.get("gcp:project"), key)
        if values.get("project") and raw.get("gcp:project") and str(raw["gcp:project"]) != project:
            raise InputError("prodkit:project", project, f"differs from gcp:project ({raw['gcp:project']!r}): the provider would create resources in the other project; set one of them")
        key = "prodkit:region" if region else "gcp:region"
        region = region or str(raw.get("gcp:region") or "")
        if not region:
            raise InputError("prodkit:region", None, f"a GCP stack needs a region; set it with `pulumi config set gcp:region us-central1 --stack {stack}`")
        gcp_region(region, key)
        if values.get("region") and raw.get("gcp:region") and str(raw["gcp:region"]) != region:
            raise InputError("prodkit:region", region, f"differs from gcp:region ({raw['gcp:region']!r}): every regional resource takes prodkit:region; set them alike")
    elif values.get("project"):
        raise InputError("prodkit:project", values["project"], f"applies to cloud gcp only; this stack's cloud is {cloud.value}")
    location, subscription = "", ""
    if cloud is Cloud.AZURE or values.get("location") or values.get("subscription"):  # "" = unset (Pulumi.yaml default)
        from .targets.azure import check_config

        location, subscription = check_config(values, cloud, stack)
    return StackConfig(
        stack=stack, app=app, app_ref=str(values["app"]), cloud=cloud, profile=profile, domain=domain,
        region=location or region, location=location, subscription=subscription, namespace=str(values.get("namespace") or ""),
        image_tags=dict(tags), alert_emails=tuple(emails), backup_bucket=str(values.get("backupBucket") or ""),
        backup_endpoint=str(values.get("backupEndpoint") or ""),
        cluster_issuer=str(values.get("clusterIssuer") or "letsencrypt-prod"),
        shared_gateway=_shared_gateway(values.get("sharedGateway")),
        hosted_zone_id=str(values.get("hostedZoneId") or ""), vpc_cidr=str(values.get("vpcCidr") or "10.0.0.0/16"),
        backup_copy_region=str(values.get("backupCopyRegion") or ""),
        monitoring_labels=_labels("prodkit:monitoringLabels", values.get("monitoringLabels")),
        project=project,
        api_server_cidrs=_cidrs("prodkit:apiServerCidrs", values.get("apiServerCidrs")),
        secrets=dict(secret_values), unset_secrets=unset, unset_stack_secrets=unset_stack,
        ecr_pull_through_cache=_flag("prodkit:ecrPullThroughCache", values.get("ecrPullThroughCache")),
        aws_region=str(raw.get("aws:region") or ""),
    )


def _flag(key: str, value: Any) -> bool:
    """A boolean config value (runtime config arrives as the strings "true"/"false")."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise InputError(key, value, "allowed: true or false")


_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def _labels(key: str, value: Any) -> dict[str, str] | None:
    """A map of Kubernetes labels (keys `[prefix/]name`, values of at most 63 characters), or None when unset."""
    value = _decode(value)
    if value is None or value == "":
        return None
    if not isinstance(value, Mapping):
        raise InputError(key, value, "allowed: a map of label -> value, e.g. {release: kube-prometheus-stack}")
    out = {}
    for k, v in value.items():
        if not isinstance(k, str) or not _LABEL_KEY.match(k) or len(k.rpartition("/")[2]) > 63:
            raise InputError(f"{key}.{k}", k, "allowed: a Kubernetes label key ([prefix/]name, name at most 63 characters)")
        if not isinstance(v, (str, int, float, bool)) or not _LABEL_VALUE.match(str(v)) or len(str(v)) > 63:
            raise InputError(f"{key}.{k}", v, "allowed: a label value (letters, digits, '-', '_', '.', at most 63 characters)")
        out[k] = str(v)
    return out


_SHARED_GATEWAY_KEYS = ("name", "namespace", "httpsSection", "httpSection")


def _shared_gateway(value: Any) -> dict[str, Any]:
    if value in (None, "", {}):
        return {}
    if not isinstance(value, dict):
        raise InputError("prodkit:sharedGateway", value, "expected a mapping {name, namespace, httpsSection, httpSection}")
    for key in value:
        if key not in _SHARED_GATEWAY_KEYS:
            raise InputError(f"prodkit:sharedGateway.{key}", value[key], "unknown key; allowed: " + ", ".join(_SHARED_GATEWAY_KEYS) + did_you_mean(str(key), _SHARED_GATEWAY_KEYS))
    for key in ("name", "namespace"):
        if not value.get(key):
            raise InputError(f"prodkit:sharedGateway.{key}", None, "required: the Gateway's metadata.name and namespace")
    return dict(value)


def _cidrs(key: str, value: Any) -> tuple[str, ...]:
    """A list of CIDR blocks (a comma-separated string is accepted), or () when unset."""
    import ipaddress

    value = _decode(value)
    if value in (None, "", []):
        return ()
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise InputError(key, value, "allowed: a list of CIDR blocks, e.g. [172.20.0.1/32]")
    for item in items:
        try:
            ipaddress.ip_network(str(item), strict=False)
        except ValueError:
            raise InputError(key, item, "allowed: a CIDR block such as 172.20.0.1/32") from None
    return tuple(str(i) for i in items)


def read_stack_file(path: Path) -> tuple[dict[str, Any], set[str]]:
    """(plain config, secure keys) of a Pulumi.<stack>.yaml; secure values are not decrypted."""
    from . import yamlsource

    if not path.is_file():
        raise InputError("--stack", path.stem.removeprefix("Pulumi."), f"no stack file {path.name} in {path.parent}")
    doc, _ = yamlsource.load(path)  # syntax errors and duplicate keys name the file, line and column
    doc = doc or {}
    if not isinstance(doc, dict) or not isinstance(doc.get("config") or {}, dict):
        raise InputError(f"{path.name}: config", doc.get("config") if isinstance(doc, dict) else doc, "expected a mapping of KEY: value under `config:`")
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
