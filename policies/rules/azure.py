"""Azure rules: the seeds' checklist on the azure-native resources the Azure backends create (Container Apps,
PostgreSQL Flexible Server, Azure Managed Redis, Key Vault, Front Door Premium + WAF, Storage, NSGs, Azure Backup,
Azure Monitor). Same contract as every theme module: pure functions of the engine's camelCase inputs."""

from __future__ import annotations

import re
from typing import Any, Mapping

from ._util import REDACTED, as_int, get, image_problem, items, looks_secret, mapping, of_type, refers_to, unknown, violated_true
from .registry import rule

PG = "azure-native:dbforpostgresql:Server"
PG_CONFIG = "azure-native:dbforpostgresql:Configuration"
REDIS = "azure-native:redisenterprise:RedisEnterprise"
REDIS_DB = "azure-native:redisenterprise:Database"
VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"
KEY = "azure-native:keyvault:Key"
APP = "azure-native:app:ContainerApp"
ENV = "azure-native:app:ManagedEnvironment"
STORAGE = "azure-native:storage:StorageAccount"
NSG = "azure-native:network:NetworkSecurityGroup"
ROLE = "azure-native:authorization:RoleAssignment"
LOCK = "azure-native:authorization:ManagementLockByScope"
WORKSPACE = "azure-native:operationalinsights:Workspace"
FD_PROFILE = "azure-native:cdn:Profile"
FD_ROUTE = "azure-native:cdn:Route"
FD_DOMAIN = "azure-native:cdn:AFDCustomDomain"
FD_ORIGIN = "azure-native:cdn:AFDOrigin"
FD_RULE = "azure-native:cdn:Rule"
FD_SECURITY = "azure-native:cdn:SecurityPolicy"
WAF = "azure-native:frontdoor:Policy"
BACKUP_VAULT = "azure-native:dataprotection:BackupVault"
RS_VAULT = "azure-native:recoveryservices:Vault"
ALERT = "azure-native:monitor:MetricAlert"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
#: Built-in role "Key Vault Secrets User".
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
#: Built-in role "Key Vault Crypto Service Encryption User".
CRYPTO_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
_MIN_HSTS = 15552000  # 180 days


def _disabled(value: Any) -> bool:
    return unknown(value) or str(value).lower() == "disabled"


@rule(
    "azure-no-public-network-access",
    description="Disable public network access on Flexible Servers, Managed Redis, Key Vaults, storage accounts and the Container Apps environment (private endpoints or VNet injection only).",
    severity="high",
    checklist="Review and restrict database access; no public databases or caches (architecture)",
    seeds=("003",),
    types=(PG, REDIS, VAULT, STORAGE, ENV),
)
def no_public_network_access(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == PG:
        out = []
        if not _disabled(get(props, "network", "publicNetworkAccess")):
            out.append("network.publicNetworkAccess is not Disabled: the server is reachable from the internet")
        if get(props, "network", "delegatedSubnetResourceId") is None:
            out.append("network.delegatedSubnetResourceId is missing: the server is not VNet-injected")
        return out
    if resource_type == VAULT:
        p = mapping(props.get("properties"))
        out = []
        if not _disabled(p.get("publicNetworkAccess")):
            out.append("properties.publicNetworkAccess is not Disabled: the vault's data plane is reachable from the internet")
        if get(p, "networkAcls", "defaultAction") not in ("Deny",) and not unknown(get(p, "networkAcls", "defaultAction")):
            out.append("properties.networkAcls.defaultAction is not Deny")
        return out
    return [] if _disabled(props.get("publicNetworkAccess")) else ["publicNetworkAccess is not Disabled"]


def _server_refs(config: Mapping[str, Any], server: Mapping[str, Any]) -> bool:
    name = get(server, "inputs", "serverName")
    ref = get(config, "inputs", "serverName")
    return (name is not None and ref == name) or bool(refers_to(ref, server))


@rule(
    "azure-postgres-require-tls",
    description="Require TLS 1.2+ on every Flexible Server: a require_secure_transport=ON and an ssl_min_protocol_version TLSv1.2/1.3 configuration of the stack.",
    severity="high",
    checklist="Database connections use SSL (000, 004)",
    seeds=("000", "004"),
    types=(PG, PG_CONFIG),
    scope="stack",
)
def postgres_require_tls(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    configs = of_type(resources, PG_CONFIG)
    for server in of_type(resources, PG):
        mine = {get(c, "inputs", "configurationName"): get(c, "inputs", "value") for c in configs if _server_refs(c, server)}
        secure = mine.get("require_secure_transport")
        if secure is None or (not unknown(secure) and str(secure).upper() != "ON"):
            out.append((server["urn"], f"require_secure_transport is {secure or 'not set by the stack'}; set it ON so plaintext connections are refused"))
        tls = mine.get("ssl_min_protocol_version")
        if tls is None or (not unknown(tls) and str(tls) not in ("TLSv1.2", "TLSv1.3")):
            out.append((server["urn"], f"ssl_min_protocol_version is {tls or 'not set by the stack'}; allow TLSv1.2 or TLSv1.3 only"))
    return out


@rule(
    "azure-redis-require-tls",
    description="Serve Managed Redis over TLS only: cluster minimumTlsVersion 1.2+ and database clientProtocol Encrypted.",
    severity="high",
    checklist="Redis TLS + AUTH (001, 004)",
    seeds=("001", "004"),
    types=(REDIS, REDIS_DB),
)
def redis_require_tls(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == REDIS:
        v = props.get("minimumTlsVersion")
        return [] if unknown(v) or v in ("1.2", "1.3") else [f"minimumTlsVersion is {v!r}; require '1.2' or later"]
    out = []
    proto = props.get("clientProtocol")
    if not unknown(proto) and proto != "Encrypted":
        out.append(f"clientProtocol is {proto!r}: clients may connect in plaintext; set Encrypted")
    return out


@rule(
    "azure-key-vault-protected",
    description="Key Vaults use RBAC authorization, soft delete (7-90 days) and purge protection.",
    severity="high",
    checklist="Secrets management in place (001, 004); secrets never lost",
    seeds=("001", "004"),
    types=(VAULT,),
)
def key_vault_protected(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    p = mapping(props.get("properties"))
    out = []
    if violated_true(p.get("enableRbacAuthorization")):
        out.append("enableRbacAuthorization is not true: access policies grant vault-wide secret access")
    if violated_true(p.get("enablePurgeProtection")):
        out.append("enablePurgeProtection is not true: a deleted vault or secret can be purged before its retention ends")
    if p.get("enableSoftDelete") is False:
        out.append("enableSoftDelete is false")
    days = as_int(p.get("softDeleteRetentionInDays"))
    if days is not None and not 7 <= days <= 90:
        out.append(f"softDeleteRetentionInDays is {days}; allowed 7-90")
    return out


@rule(
    "azure-container-app-https-only",
    description="Container App ingress never accepts plain HTTP (allowInsecure false: HTTP is redirected to HTTPS).",
    severity="high",
    checklist="HTTPS for all endpoints (000, 001, 003, 004)",
    seeds=("000", "001", "003", "004"),
    types=(APP,),
)
def container_app_https_only(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    ingress = get(props, "configuration", "ingress")
    if ingress is None:
        return []
    return ["configuration.ingress.allowInsecure is true: the app answers plain HTTP"] if get(ingress, "allowInsecure") is True else []


@rule(
    "azure-secrets-by-reference",
    description="Container App secrets are Key Vault references (keyVaultUrl + identity, no value) and secret-looking env vars come only from secretRef.",
    severity="high",
    checklist="All secrets in env vars or a secrets manager (000, 001, 002, 004)",
    seeds=("000", "001", "002", "004"),
    types=(APP,),
)
def secrets_by_reference(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    for s in items(get(props, "configuration", "secrets")):
        if get(s, "value") is not None:
            out.append(f"secret {get(s, 'name')!r} carries its value in the app definition; reference Key Vault (keyVaultUrl) instead")
        elif get(s, "keyVaultUrl") is None:
            out.append(f"secret {get(s, 'name')!r} has no keyVaultUrl")
        elif get(s, "identity") is None:
            out.append(f"secret {get(s, 'name')!r} has no identity to read Key Vault with")
    for c in items(get(props, "template", "containers")) + items(get(props, "template", "initContainers")):
        for e in items(get(c, "env")):
            if looks_secret(get(e, "name")) and get(e, "value") is not None:
                out.append(f"container {get(c, 'name')!r} sets {get(e, 'name')} as a literal value; use secretRef")
    return out


@rule(
    "azure-secret-values-marked-secret",
    description="Key Vault secret values, the Flexible Server administrator password and environment storage keys are Pulumi secrets (redacted in state and previews).",
    severity="high",
    checklist="Secrets management in place (000, 001, 002, 004)",
    seeds=("000", "001", "002", "004"),
    types=(SECRET, PG, "azure-native:app:ManagedEnvironmentsStorage"),
    engines=("plan",),
)
def secret_values_marked_secret(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == SECRET:
        p = props.get("properties")
        value = p if p == REDACTED else get(p, "value")
        return [] if value in (None, REDACTED) or unknown(value) else ["properties.value is not a Pulumi secret: it is stored in clear in the state"]
    if resource_type == PG:
        value = props.get("administratorLoginPassword")
        return [] if value in (None, REDACTED) or unknown(value) else ["administratorLoginPassword is not a Pulumi secret"]
    p = props.get("properties")
    key = p if p == REDACTED else get(p, "azureFile", "accountKey")
    return [] if key in (None, REDACTED) or unknown(key) else ["properties.azureFile.accountKey is not a Pulumi secret"]


@rule(
    "azure-container-app-hardened",
    description="Container Apps pin their image, set CPU and memory and have liveness and readiness probes.",
    severity="medium",
    checklist="Resource limits and health checks configured (000, 001, 002, 004)",
    seeds=("000", "001", "002", "004"),
    types=(APP,),
)
def container_app_hardened(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    for c in items(get(props, "template", "containers")):
        name = get(c, "name")
        problem = image_problem(get(c, "image"))
        if problem:
            out.append(f"container {name!r}: {problem}")
        if get(c, "resources", "cpu") is None or get(c, "resources", "memory") is None:
            out.append(f"container {name!r} sets no cpu/memory")
        kinds = {str(get(p, "type")).lower() for p in items(get(c, "probes"))}
        for kind in ("liveness", "readiness"):
            if kind not in kinds:
                out.append(f"container {name!r} has no {kind} probe")
    return out


@rule(
    "azure-key-vault-secret-scoped-access",
    description="Grant Key Vault Secrets User on single secrets, never on a vault, resource group or subscription.",
    severity="medium",
    checklist="Secrets management in place: least privilege (001, 004)",
    seeds=("001", "004"),
    types=(ROLE, SECRET),
    scope="stack",
)
def secret_scoped_access(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    secrets = of_type(resources, SECRET)
    out = []
    for ra in of_type(resources, ROLE):
        role_id = str(get(ra, "inputs", "roleDefinitionId") or "")
        if not role_id.endswith(SECRETS_USER):
            continue
        scope = get(ra, "inputs", "scope")
        if unknown(scope) or scope is None:
            continue
        if "/secrets/" in str(scope) or any(refers_to(scope, s) for s in secrets):
            continue
        out.append((ra["urn"], f"Key Vault Secrets User is granted on {scope!r}, not on one secret: the identity can read every secret there"))
    return out


@rule(
    "azure-front-door-https",
    description="Front Door routes redirect HTTP to HTTPS and forward over HTTPS only; custom domains require TLS 1.2+; origins check the certificate name.",
    severity="high",
    checklist="SSL/TLS with valid certificates, TLSv1.2+; HTTPS for all endpoints (000, 001, 003, 004)",
    seeds=("000", "001", "003", "004"),
    types=(FD_ROUTE, FD_DOMAIN, FD_ORIGIN),
)
def front_door_https(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    if resource_type == FD_ROUTE:
        if props.get("httpsRedirect") != "Enabled" and not unknown(props.get("httpsRedirect")):
            out.append("httpsRedirect is not Enabled: HTTP requests are served, not redirected")
        if props.get("forwardingProtocol") != "HttpsOnly" and not unknown(props.get("forwardingProtocol")):
            out.append(f"forwardingProtocol is {props.get('forwardingProtocol')!r}; forward to origins over HTTPS only")
    elif resource_type == FD_DOMAIN:
        tls = mapping(props.get("tlsSettings"))
        if tls.get("minimumTlsVersion") not in ("TLS12", "TLS13") and not unknown(tls.get("minimumTlsVersion")):
            out.append(f"tlsSettings.minimumTlsVersion is {tls.get('minimumTlsVersion')!r}; require TLS12 or TLS13")
        if tls.get("certificateType") is None:
            out.append("tlsSettings.certificateType is missing: no certificate for the custom domain")
    elif props.get("enforceCertificateNameCheck") is False:
        out.append("enforceCertificateNameCheck is false: Front Door accepts any certificate from the origin")
    return out


def _headers(rule_: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for a in items(get(rule_, "inputs", "actions")):
        if get(a, "name") == "ModifyResponseHeader" and get(a, "parameters", "headerAction") in ("Overwrite", "Append"):
            out[str(get(a, "parameters", "headerName")).lower()] = str(get(a, "parameters", "value") or "")
    return out


@rule(
    "azure-front-door-security-headers",
    description="Every Front Door route applies a rule set adding HSTS (max-age >= 180 days), X-Content-Type-Options nosniff and X-Frame-Options.",
    severity="medium",
    checklist="Security headers (HSTS, nosniff, framing) (000, 004)",
    seeds=("000", "004"),
    types=(FD_ROUTE, FD_RULE),
    scope="stack",
)
def front_door_security_headers(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    headers: dict[str, str] = {}
    for r in of_type(resources, FD_RULE):
        headers.update(_headers(r))
    hsts = re.search(r"max-age=(\d+)", headers.get("strict-transport-security", ""))
    missing = []
    if not hsts or int(hsts.group(1)) < _MIN_HSTS:
        missing.append("Strict-Transport-Security max-age >= 15552000")
    if headers.get("x-content-type-options", "").lower() != "nosniff":
        missing.append("X-Content-Type-Options: nosniff")
    if headers.get("x-frame-options", "").upper() not in ("DENY", "SAMEORIGIN"):
        missing.append("X-Frame-Options")
    for route in of_type(resources, FD_ROUTE):
        if not items(get(route, "inputs", "ruleSets")):
            out.append((route["urn"], "the route applies no rule set, so no security headers"))
        elif missing:
            out.append((route["urn"], "the stack's Front Door rules do not add " + ", ".join(missing)))
    return out


def _waf_ok(waf: Mapping[str, Any]) -> list[str]:
    p = mapping(waf.get("inputs"))
    problems = []
    if get(p, "policySettings", "enabledState") == "Disabled":
        problems.append("the WAF policy is disabled")
    managed = {get(m, "ruleSetType") for m in items(get(p, "managedRules", "managedRuleSets"))}
    if not managed & {"Microsoft_DefaultRuleSet", "DefaultRuleSet"}:
        problems.append("the WAF policy has no Microsoft_DefaultRuleSet")
    rate = [c for c in items(get(p, "customRules", "rules")) if get(c, "ruleType") == "RateLimitRule" and get(c, "enabledState") != "Disabled"]
    if not rate:
        problems.append("the WAF policy has no rate-limit rule")
    elif not any(get(c, "action") == "Block" for c in rate):
        problems.append("no rate-limit rule blocks (action Block)")
    return problems


@rule(
    "azure-front-door-waf",
    description="Every Front Door profile has a security policy linking a WAF policy with the Microsoft default rule set and blocking rate-limit rules.",
    severity="high",
    checklist="Rate limiting configured; WAF in front of the app (000, 001, 003, 004)",
    seeds=("000", "001", "003", "004"),
    types=(FD_PROFILE, FD_SECURITY, WAF),
    scope="stack",
)
def front_door_waf(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    wafs = of_type(resources, WAF)
    links = of_type(resources, FD_SECURITY)
    out = []
    for profile in of_type(resources, FD_PROFILE):
        name = get(profile, "inputs", "profileName")
        mine = [s for s in links if get(s, "inputs", "profileName") == name or refers_to(get(s, "inputs", "profileName"), profile)]
        linked = [w for s in mine for w in wafs if refers_to(get(s, "inputs", "parameters", "wafPolicy", "id"), w)]
        if not linked:
            out.append((profile["urn"], "no security policy links a WAF policy of the stack to this Front Door"))
            continue
        for w in linked:
            for problem in _waf_ok(w):
                out.append((profile["urn"], problem))
    return out


@rule(
    "azure-waf-prevention",
    description="In prod the Front Door WAF policy is in Prevention mode (blocking), not Detection.",
    severity="high",
    checklist="Rate limiting configured (000, 003)",
    seeds=("000", "003"),
    types=(WAF,),
    prod_only=True,
)
def waf_prevention(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    mode = get(props, "policySettings", "mode")
    return [] if unknown(mode) or mode == "Prevention" else [f"policySettings.mode is {mode!r}: the WAF only logs; use Prevention in prod"]


def _key_uris(keys: list[Mapping[str, Any]]) -> tuple[set[str], set[str], bool]:
    """(versionless URIs, names, some key's URI is unknown) of the stack's Key Vault keys."""
    uris, names, unsure = set(), set(), False
    for k in keys:
        vault, name = get(k, "inputs", "vaultName"), get(k, "inputs", "keyName")
        if isinstance(vault, str) and isinstance(name, str) and not unknown(vault) and not unknown(name):
            uris.add(f"https://{vault}.vault.azure.net/keys/{name}".lower())
            names.add(name)
        else:
            unsure = True
    return uris, names, unsure


def _stack_key(value: Any, uris: set[str], unsure: bool) -> bool:
    if unknown(value) or (unsure and isinstance(value, str) and value):
        return True
    if not isinstance(value, str):
        return False
    v = value.lower().rstrip("/")
    return any(v == u or v.startswith(u + "/") for u in uris)


@rule(
    "azure-customer-managed-keys",
    description="In prod Flexible Servers (and their geo-redundant backups), Managed Redis clusters, storage accounts and backup vaults encrypt with a Key Vault key of the stack (RSA 3072+, with a rotation policy), as on AWS.",
    severity="medium",
    checklist="Encryption at rest with customer-managed keys in production (as on AWS)",
    seeds=("001",),
    types=(PG, REDIS, STORAGE, BACKUP_VAULT, RS_VAULT, KEY, ROLE),
    scope="stack",
    prod_only=True,
)
def customer_managed_keys(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    keys = of_type(resources, KEY)
    uris, names, unsure = _key_uris(keys)
    out = []
    for k in keys:
        p = mapping(get(k, "inputs", "properties"))
        size = as_int(p.get("keySize"))
        if (p.get("kty") not in ("RSA", "RSA-HSM") and not unknown(p.get("kty"))) or (size is not None and size < 3072):
            out.append((k["urn"], f"key is {p.get('kty')} {size}: use RSA 3072 or 4096"))
        actions = [get(a, "action", "type") for a in items(get(p, "rotationPolicy", "lifetimeActions"))]
        if not unknown(p.get("rotationPolicy")) and not any(str(a).lower() == "rotate" or unknown(a) for a in actions):
            out.append((k["urn"], "rotationPolicy has no rotate action: the key never rotates"))
    for g in of_type(resources, ROLE):
        role = get(g, "inputs", "roleDefinitionId")
        scope = get(g, "inputs", "scope")
        if isinstance(role, str) and role.lower().endswith(CRYPTO_USER) and not unknown(scope) and not any(refers_to(scope, k) for k in keys) \
                and "/keys/" not in str(scope).lower():
            out.append((g["urn"], "Key Vault Crypto Service Encryption User is granted beyond one key (vault, group or subscription)"))
    for r in of_type(resources, PG):
        enc = mapping(get(r, "inputs", "dataEncryption"))
        if unknown(get(r, "inputs", "dataEncryption")):
            continue
        if enc.get("type") != "AzureKeyVault" or not _stack_key(enc.get("primaryKeyURI"), uris, unsure):
            out.append((r["urn"], "dataEncryption does not use a Key Vault key of the stack (primaryKeyURI): Microsoft-managed key"))
        elif not enc.get("primaryUserAssignedIdentityId"):
            out.append((r["urn"], "dataEncryption.primaryUserAssignedIdentityId is not set"))
        if get(r, "inputs", "backup", "geoRedundantBackup") == "Enabled" and not (
                _stack_key(enc.get("geoBackupKeyURI"), uris, unsure) and enc.get("geoBackupUserAssignedIdentityId")):
            out.append((r["urn"], "geo-redundant backups without geoBackupKeyURI/geoBackupUserAssignedIdentityId of a stack key in the paired region"))
    for r in of_type(resources, REDIS):
        url = get(r, "inputs", "encryption", "customerManagedKeyEncryption", "keyEncryptionKeyUrl")
        if unknown(get(r, "inputs", "encryption")):
            continue
        if not _stack_key(url, uris, unsure):
            out.append((r["urn"], "encryption.customerManagedKeyEncryption.keyEncryptionKeyUrl is not a Key Vault key of the stack: Microsoft-managed key"))
    for r in of_type(resources, STORAGE):
        enc = get(r, "inputs", "encryption")
        if unknown(enc):
            continue
        name = get(enc, "keyVaultProperties", "keyName")
        if get(enc, "keySource") != "Microsoft.Keyvault" or not (unknown(name) or unsure or name in names):
            out.append((r["urn"], "encryption.keySource is not Microsoft.Keyvault with a key of the stack: Microsoft-managed key"))
    for r in of_type(resources, BACKUP_VAULT):
        enc = get(r, "inputs", "properties", "securitySettings", "encryptionSettings")
        if unknown(enc):
            continue
        if get(enc, "state") != "Enabled" or not _stack_key(get(enc, "keyVaultProperties", "keyUri"), uris, unsure):
            out.append((r["urn"], "properties.securitySettings.encryptionSettings does not use a Key Vault key of the stack: Microsoft-managed key"))
    for r in of_type(resources, RS_VAULT):
        enc = get(r, "inputs", "properties", "encryption")
        if unknown(enc):
            continue
        if not _stack_key(get(enc, "keyVaultProperties", "keyUri"), uris, unsure):
            out.append((r["urn"], "properties.encryption.keyVaultProperties.keyUri is not a Key Vault key of the stack: Microsoft-managed key"))
    return out


@rule(
    "azure-stateful-protected",
    description="In prod the stack's Azure data (Flexible Server, Managed Redis, the customer-managed Key Vault keys, file storage, backup vaults) is protect=True and retained on delete.",
    severity="high",
    checklist="Nothing lost: deletion protection in prod (architecture)",
    seeds=("001", "004"),
    types=(PG, REDIS, REDIS_DB, STORAGE, BACKUP_VAULT, RS_VAULT, KEY),
    prod_only=True,
)
def stateful_protected(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    if not options.get("protect"):
        out.append("protect is not set: `pulumi destroy` or a replacement deletes the data")
    if not options.get("retainOnDelete"):
        out.append("retainOnDelete is not set")
    return out


@rule(
    "azure-delete-lock",
    description="In prod every Flexible Server and Managed Redis cluster carries a CanNotDelete management lock (Azure's deletion protection).",
    severity="high",
    checklist="Nothing lost: deletion protection in prod (architecture)",
    seeds=("001", "004"),
    types=(PG, REDIS, LOCK),
    scope="stack",
    prod_only=True,
)
def delete_lock(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    locks = [l for l in of_type(resources, LOCK) if get(l, "inputs", "level") == "CanNotDelete"]
    out = []
    for r in of_type(resources, PG, REDIS):
        if not any(refers_to(get(l, "inputs", "scope"), r) or unknown(get(l, "inputs", "scope")) for l in locks):
            out.append((r["urn"], "no CanNotDelete lock on this resource: anyone with delete rights removes it and its backups"))
    return out


@rule(
    "azure-high-availability",
    description="In prod Flexible Servers are zone-redundant with geo-redundant backups, Managed Redis has high availability and the Container Apps environment is zone-redundant.",
    severity="high",
    checklist="RTO/RPO; Multi-AZ database and Redis failover (001, 004)",
    seeds=("001", "004"),
    types=(PG, REDIS, ENV),
    prod_only=True,
)
def high_availability(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == PG:
        out = []
        if get(props, "highAvailability", "mode") != "ZoneRedundant":
            out.append(f"highAvailability.mode is {get(props, 'highAvailability', 'mode')!r}; use ZoneRedundant")
        if get(props, "backup", "geoRedundantBackup") != "Enabled":
            out.append("backup.geoRedundantBackup is not Enabled: a region outage loses the backups")
        return out
    if resource_type == REDIS:
        return [] if props.get("highAvailability", "Enabled") == "Enabled" else ["highAvailability is Disabled: one node, no failover"]
    return [] if props.get("zoneRedundant") is True else ["zoneRedundant is not true: a zone outage stops every app"]


@rule(
    "azure-backup-retention",
    description="Flexible Server backups are kept 7-35 days.",
    severity="high",
    checklist="Database backups running and tested; Configure backup strategy (000, 001, 002, 003, 004)",
    seeds=("000", "001", "002", "003", "004"),
    types=(PG,),
)
def backup_retention(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    days = as_int(get(props, "backup", "backupRetentionDays"))
    if days is None:
        return [] if unknown(get(props, "backup", "backupRetentionDays")) else ["backup.backupRetentionDays is not set"]
    return [] if 7 <= days <= 35 else [f"backup.backupRetentionDays is {days}; keep backups 7-35 days"]


@rule(
    "azure-log-retention",
    description="Log Analytics workspaces keep logs at least 30 days.",
    severity="medium",
    checklist="Log aggregation configured (000, 004)",
    seeds=("000", "004"),
    types=(WORKSPACE,),
)
def log_retention(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    days = as_int(props.get("retentionInDays"))
    return [] if days is None or days >= 30 else [f"retentionInDays is {days}; keep at least 30 days"]


@rule(
    "azure-nsg-no-internet-inbound",
    description="No network security group allows inbound traffic from the internet (Front Door reaches the apps over a private link).",
    severity="high",
    checklist="Configure firewall rules (003)",
    seeds=("003",),
    types=(NSG,),
)
def nsg_no_internet_inbound(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    for r in items(props.get("securityRules")):
        if get(r, "direction") != "Inbound" or get(r, "access") != "Allow":
            continue
        sources = [get(r, "sourceAddressPrefix")] + items(get(r, "sourceAddressPrefixes"))
        if any(str(s) in ("*", "Internet", "0.0.0.0/0", "::/0", "Any") for s in sources if s is not None):
            out.append(f"rule {get(r, 'name')!r} allows inbound traffic from the internet")
    return out


@rule(
    "azure-storage-secure",
    description="Storage accounts accept HTTPS only with TLS 1.2+, allow no public blob access and encrypt infrastructure.",
    severity="high",
    checklist="Encryption in transit and at rest (001)",
    seeds=("001",),
    types=(STORAGE,),
)
def storage_secure(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    if props.get("enableHttpsTrafficOnly") is False:
        out.append("enableHttpsTrafficOnly is false")
    if props.get("minimumTlsVersion") not in ("TLS1_2", "TLS1_3") and not unknown(props.get("minimumTlsVersion")):
        out.append(f"minimumTlsVersion is {props.get('minimumTlsVersion')!r}; require TLS1_2")
    if props.get("allowBlobPublicAccess") is not False and not unknown(props.get("allowBlobPublicAccess")):
        out.append("allowBlobPublicAccess is not false")
    return out


@rule(
    "azure-alerts-exist",
    description="Every Container App, Flexible Server and Managed Redis cluster is watched by a metric alert that notifies an action group.",
    severity="medium",
    checklist="Monitoring and alerting configured (000, 002, 003, 004)",
    seeds=("000", "002", "003", "004"),
    types=(APP, PG, REDIS, ALERT, ACTION_GROUP),
    scope="stack",
)
def alerts_exist(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    alerts = of_type(resources, ALERT)
    if not alerts:
        return []  # alarms off in this profile: nothing to check (the profile decides)
    out = []
    for r in of_type(resources, APP, PG, REDIS):
        if not any(any(refers_to(s, r) or unknown(s) for s in items(get(a, "inputs", "scopes"))) for a in alerts):
            out.append((r["urn"], "no metric alert watches this resource"))
    for a in alerts:
        if not items(get(a, "inputs", "actions")):
            out.append((a["urn"], "the alert notifies nobody (no action group)"))
    return out


#: Taggable Azure types the backends create (their SDK Args have `tags`).
TAGGABLE = (
    "azure-native:resources:ResourceGroup", "azure-native:network:VirtualNetwork", NSG, "azure-native:network:PublicIPAddress",
    "azure-native:network:NatGateway", "azure-native:network:PrivateEndpoint", "azure-native:privatedns:PrivateZone",
    "azure-native:privatedns:VirtualNetworkLink", VAULT, SECRET, WORKSPACE, ENV, APP, "azure-native:managedidentity:UserAssignedIdentity",
    PG, REDIS, FD_PROFILE, "azure-native:cdn:AFDEndpoint", WAF, ACTION_GROUP, ALERT, BACKUP_VAULT, STORAGE, RS_VAULT,
)
_TAG_KEYS = ("app", "stack", "component", "managed-by")


@rule(
    "azure-resource-tags",
    description="Tag every taggable Azure resource with app, stack, component and managed-by.",
    severity="low",
    checklist="Monitoring dashboards, runbooks: find what belongs to which app and stack (001)",
    seeds=("001",),
    types=TAGGABLE,
)
def resource_tags(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    tags = props.get("tags")
    if unknown(tags):
        return []
    missing = [k for k in _TAG_KEYS if k not in mapping(tags)]
    return [f"tags lack {', '.join(missing)}"] if missing else []
