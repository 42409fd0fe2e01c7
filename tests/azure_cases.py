"""Cases of the Azure rules (policies/rules/azure.py), added to tests/test_policies.py's CASES and STACK_CASES:
for each rule and type a compliant input (as the Azure backends produce it) and a broken one, with the message."""

from __future__ import annotations

from typing import Any, Callable

from policy_cases import OPTS, PROTECTED, with_, drop, setp  # noqa: F401 (shared helpers)
from policies.rules import azure as az
from policies.rules._util import mock_id





KEY_URI = "https://demo-prod-abc123.vault.azure.net/keys/demo-prod-key"
GEO_KEY_URI = "https://demo-prod-def456.vault.azure.net/keys/demo-prod-geo-key"
KEY_OK = {"vaultName": "demo-prod-abc123", "keyName": "demo-prod-key", "properties": {
    "kty": "RSA", "keySize": 3072, "keyOps": ["wrapKey", "unwrapKey"],
    "rotationPolicy": {"attributes": {"expiryTime": "P1Y"}, "lifetimeActions": [{"action": {"type": "rotate"}, "trigger": {"timeBeforeExpiry": "P90D"}}]}}}
GEO_KEY_OK = {**KEY_OK, "vaultName": "demo-prod-def456", "keyName": "demo-prod-geo-key"}
PG_OK = {"serverName": "demo-prod-postgres", "network": {"publicNetworkAccess": "Disabled", "delegatedSubnetResourceId": "/sub/postgres"},
         "highAvailability": {"mode": "ZoneRedundant"}, "backup": {"backupRetentionDays": 30, "geoRedundantBackup": "Enabled"},
         "dataEncryption": {"type": "AzureKeyVault", "primaryKeyURI": KEY_URI, "primaryUserAssignedIdentityId": "/id/cmk",
                            "geoBackupKeyURI": GEO_KEY_URI, "geoBackupUserAssignedIdentityId": "/id/geo"}}
REDIS_OK = {"clusterName": "demo-prod-redis", "publicNetworkAccess": "Disabled", "minimumTlsVersion": "1.2", "highAvailability": "Enabled",
            "encryption": {"customerManagedKeyEncryption": {"keyEncryptionKeyUrl": KEY_URI + "/0123456789abcdef",
                                                            "keyEncryptionKeyIdentity": {"identityType": "userAssignedIdentity", "userAssignedIdentityResourceId": "/id/cmk"}}}}
REDIS_DB_OK = {"clientProtocol": "Encrypted", "port": 10000, "accessKeysAuthentication": "Enabled"}
VAULT_OK = {"properties": {"enableRbacAuthorization": True, "enablePurgeProtection": True, "enableSoftDelete": True, "softDeleteRetentionInDays": 90,
                           "publicNetworkAccess": "Disabled", "networkAcls": {"defaultAction": "Deny", "bypass": "None"}}}
STORAGE_OK = {"publicNetworkAccess": "Disabled", "enableHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False,
              "encryption": {"keySource": "Microsoft.Keyvault", "keyVaultProperties": {"keyName": "demo-prod-key", "keyVaultUri": "https://demo-prod-abc123.vault.azure.net/"},
                             "encryptionIdentity": {"encryptionUserAssignedIdentity": "/id/cmk"}}}
ENV_OK = {"publicNetworkAccess": "Disabled", "zoneRedundant": True}
APP_OK = {
    "configuration": {"ingress": {"allowInsecure": False, "external": True, "targetPort": 8080},
                      "secrets": [{"name": "secret-openai-api-key", "keyVaultUrl": "https://v.vault.azure.net/secrets/x", "identity": "/id"}]},
    "template": {"containers": [{
        "name": "app", "image": "ghcr.io/acme/api:1.4.2", "resources": {"cpu": 1, "memory": "2Gi"},
        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "OPENAI_API_KEY", "secretRef": "secret-openai-api-key"}],
        "probes": [{"type": "Liveness", "httpGet": {"path": "/health", "port": 8080}}, {"type": "Readiness", "httpGet": {"path": "/health", "port": 8080}}],
    }]},
}
ROUTE_OK = {"httpsRedirect": "Enabled", "forwardingProtocol": "HttpsOnly", "supportedProtocols": ["Http", "Https"], "ruleSets": [{"id": "rs"}]}
DOMAIN_OK = {"hostName": "app.example.com", "tlsSettings": {"certificateType": "ManagedCertificate", "minimumTlsVersion": "TLS12"}}
ORIGIN_OK = {"hostName": "api.x.azurecontainerapps.io", "enforceCertificateNameCheck": True}
WAF_OK = {"policySettings": {"enabledState": "Enabled", "mode": "Prevention"},
          "managedRules": {"managedRuleSets": [{"ruleSetType": "Microsoft_DefaultRuleSet", "ruleSetVersion": "2.1"}]},
          "customRules": {"rules": [{"name": "RateLimitRoot", "ruleType": "RateLimitRule", "action": "Block", "rateLimitThreshold": 100, "enabledState": "Enabled"}]}}
NSG_OK = {"securityRules": [
    {"name": "allow-https-from-vnet", "direction": "Inbound", "access": "Allow", "sourceAddressPrefix": "VirtualNetwork"},
    {"name": "deny-internet-inbound", "direction": "Inbound", "access": "Deny", "sourceAddressPrefix": "Internet"},
    {"name": "allow-https-out", "direction": "Outbound", "access": "Allow", "sourceAddressPrefix": "10.0.0.0/20"},
]}

CASES: list[tuple[str, str, dict, dict, str | None]] = [
    ("azure-no-public-network-access", az.PG, PG_OK, OPTS, None),
    ("azure-no-public-network-access", az.PG, with_(PG_OK, "network.publicNetworkAccess", "Enabled"), OPTS, "reachable from the internet"),
    ("azure-no-public-network-access", az.PG, with_(PG_OK, "network.delegatedSubnetResourceId", None), OPTS, "not VNet-injected"),
    ("azure-no-public-network-access", az.REDIS, REDIS_OK, OPTS, None),
    ("azure-no-public-network-access", az.REDIS, with_(REDIS_OK, "publicNetworkAccess", "Enabled"), OPTS, "publicNetworkAccess is not Disabled"),
    ("azure-no-public-network-access", az.VAULT, VAULT_OK, OPTS, None),
    ("azure-no-public-network-access", az.VAULT, with_(VAULT_OK, "properties.publicNetworkAccess", "Enabled"), OPTS, "data plane is reachable"),
    ("azure-no-public-network-access", az.VAULT, with_(VAULT_OK, "properties.networkAcls.defaultAction", "Allow"), OPTS, "defaultAction is not Deny"),
    ("azure-no-public-network-access", az.STORAGE, STORAGE_OK, OPTS, None),
    ("azure-no-public-network-access", az.STORAGE, with_(STORAGE_OK, "publicNetworkAccess", "Enabled"), OPTS, "publicNetworkAccess is not Disabled"),
    ("azure-no-public-network-access", az.ENV, ENV_OK, OPTS, None),
    ("azure-no-public-network-access", az.ENV, with_(ENV_OK, "publicNetworkAccess", None), OPTS, "publicNetworkAccess is not Disabled"),
    ("azure-redis-require-tls", az.REDIS, REDIS_OK, OPTS, None),
    ("azure-redis-require-tls", az.REDIS, with_(REDIS_OK, "minimumTlsVersion", "1.0"), OPTS, "require '1.2'"),
    ("azure-redis-require-tls", az.REDIS_DB, REDIS_DB_OK, OPTS, None),
    ("azure-redis-require-tls", az.REDIS_DB, with_(REDIS_DB_OK, "clientProtocol", "Plaintext"), OPTS, "connect in plaintext"),
    ("azure-key-vault-protected", az.VAULT, VAULT_OK, OPTS, None),
    ("azure-key-vault-protected", az.VAULT, with_(VAULT_OK, "properties.enablePurgeProtection", False), OPTS, "enablePurgeProtection is not true"),
    ("azure-key-vault-protected", az.VAULT, with_(VAULT_OK, "properties.enableRbacAuthorization", None), OPTS, "enableRbacAuthorization is not true"),
    ("azure-key-vault-protected", az.VAULT, with_(VAULT_OK, "properties.softDeleteRetentionInDays", 3), OPTS, "allowed 7-90"),
    ("azure-container-app-https-only", az.APP, APP_OK, OPTS, None),
    ("azure-container-app-https-only", az.APP, with_(APP_OK, "configuration.ingress.allowInsecure", True), OPTS, "answers plain HTTP"),
    ("azure-secrets-by-reference", az.APP, APP_OK, OPTS, None),
    ("azure-secrets-by-reference", az.APP, with_(APP_OK, "configuration.secrets.0", {"name": "k", "value": "sk-123"}), OPTS, "carries its value"),
    ("azure-secrets-by-reference", az.APP, with_(APP_OK, "template.containers.0.env.1", {"name": "OPENAI_API_KEY", "value": "sk-123"}), OPTS, "as a literal value"),
    ("azure-secret-values-marked-secret", az.SECRET, {"secretName": "s", "properties": "[secret]"}, OPTS, None),
    ("azure-secret-values-marked-secret", az.SECRET, {"secretName": "s", "properties": {"value": "hunter2", "contentType": "x"}}, OPTS, "stored in clear"),
    ("azure-secret-values-marked-secret", az.PG, {**PG_OK, "administratorLoginPassword": "[secret]"}, OPTS, None),
    ("azure-secret-values-marked-secret", az.PG, {**PG_OK, "administratorLoginPassword": "hunter2"}, OPTS, "administratorLoginPassword is not a Pulumi secret"),
    ("azure-secret-values-marked-secret", "azure-native:app:ManagedEnvironmentsStorage", {"properties": "[secret]"}, OPTS, None),
    ("azure-secret-values-marked-secret", "azure-native:app:ManagedEnvironmentsStorage", {"properties": {"azureFile": {"accountKey": "k"}}}, OPTS, "accountKey is not a Pulumi secret"),
    ("azure-container-app-hardened", az.APP, APP_OK, OPTS, None),
    ("azure-container-app-hardened", az.APP, with_(APP_OK, "template.containers.0.probes", []), OPTS, "no liveness probe"),
    ("azure-container-app-hardened", az.APP, with_(APP_OK, "template.containers.0.image", "ghcr.io/acme/api:latest"), OPTS, "container 'app'"),
    ("azure-front-door-https", az.FD_ROUTE, ROUTE_OK, OPTS, None),
    ("azure-front-door-https", az.FD_ROUTE, with_(ROUTE_OK, "httpsRedirect", "Disabled"), OPTS, "not redirected"),
    ("azure-front-door-https", az.FD_ROUTE, with_(ROUTE_OK, "forwardingProtocol", "MatchRequest"), OPTS, "HTTPS only"),
    ("azure-front-door-https", az.FD_DOMAIN, DOMAIN_OK, OPTS, None),
    ("azure-front-door-https", az.FD_DOMAIN, with_(DOMAIN_OK, "tlsSettings.minimumTlsVersion", "TLS10"), OPTS, "require TLS12"),
    ("azure-front-door-https", az.FD_ORIGIN, ORIGIN_OK, OPTS, None),
    ("azure-front-door-https", az.FD_ORIGIN, with_(ORIGIN_OK, "enforceCertificateNameCheck", False), OPTS, "accepts any certificate"),
    ("azure-waf-prevention", az.WAF, WAF_OK, OPTS, None),
    ("azure-waf-prevention", az.WAF, with_(WAF_OK, "policySettings.mode", "Detection"), OPTS, "the WAF only logs"),
    *[c for t in (az.PG, az.REDIS, az.REDIS_DB, az.STORAGE, az.BACKUP_VAULT, az.RS_VAULT, az.KEY) for c in (
        ("azure-stateful-protected", t, {}, PROTECTED, None),
        ("azure-stateful-protected", t, {}, OPTS, "protect is not set"),
    )],
    ("azure-high-availability", az.PG, PG_OK, OPTS, None),
    ("azure-high-availability", az.PG, with_(PG_OK, "highAvailability.mode", "Disabled"), OPTS, "use ZoneRedundant"),
    ("azure-high-availability", az.PG, with_(PG_OK, "backup.geoRedundantBackup", "Disabled"), OPTS, "region outage loses the backups"),
    ("azure-high-availability", az.REDIS, REDIS_OK, OPTS, None),
    ("azure-high-availability", az.REDIS, with_(REDIS_OK, "highAvailability", "Disabled"), OPTS, "no failover"),
    ("azure-high-availability", az.ENV, ENV_OK, OPTS, None),
    ("azure-high-availability", az.ENV, with_(ENV_OK, "zoneRedundant", False), OPTS, "zone outage"),
    ("azure-backup-retention", az.PG, PG_OK, OPTS, None),
    ("azure-backup-retention", az.PG, with_(PG_OK, "backup.backupRetentionDays", 1), OPTS, "keep backups 7-35 days"),
    ("azure-log-retention", az.WORKSPACE, {"retentionInDays": 30}, OPTS, None),
    ("azure-log-retention", az.WORKSPACE, {"retentionInDays": 7}, OPTS, "keep at least 30 days"),
    ("azure-nsg-no-internet-inbound", az.NSG, NSG_OK, OPTS, None),
    ("azure-nsg-no-internet-inbound", az.NSG, with_(NSG_OK, "securityRules.1.access", "Allow"), OPTS, "allows inbound traffic from the internet"),
    *[c for t in az.TAGGABLE for c in (
        ("azure-resource-tags", t, {"tags": {"app": "demo", "stack": "prod", "component": "network", "managed-by": "prodkit"}}, OPTS, None),
        ("azure-resource-tags", t, {"tags": {"app": "demo"}}, OPTS, "tags lack stack, component, managed-by"),
    )],
    ("azure-storage-secure", az.STORAGE, STORAGE_OK, OPTS, None),
    ("azure-storage-secure", az.STORAGE, with_(STORAGE_OK, "minimumTlsVersion", "TLS1_0"), OPTS, "require TLS1_2"),
    ("azure-storage-secure", az.STORAGE, with_(STORAGE_OK, "allowBlobPublicAccess", True), OPTS, "allowBlobPublicAccess is not false"),
]


def res(type_: str, name: str, inputs: dict, **extra: Any) -> dict:
    return {"urn": f"urn:pulumi:prod::prodkit::{type_}::{name}", "type": type_, "name": name, "parent": "urn:comp",
            "protect": False, "retainOnDelete": False, "ignoreChanges": [], "inputs": inputs, **extra}


def stack(**mutate: Callable[[list[dict]], None]) -> list[dict]:
    headers = {"Strict-Transport-Security": "max-age=31536000; includeSubDomains", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
    rs = [
        res(az.PG, "postgres-server", PG_OK),
        res(az.PG_CONFIG, "postgres-param-require-secure-transport", {"serverName": "demo-prod-postgres", "configurationName": "require_secure_transport", "value": "ON"}),
        res(az.PG_CONFIG, "postgres-param-ssl-min-protocol-version", {"serverName": "demo-prod-postgres", "configurationName": "ssl_min_protocol_version", "value": "TLSv1.2"}),
        res(az.REDIS, "redis-cluster", REDIS_OK),
        res(az.KEY, "network-key", KEY_OK),
        res(az.KEY, "network-geo-key", GEO_KEY_OK),
        res(az.STORAGE, "api-files", STORAGE_OK),
        res(az.BACKUP_VAULT, "backups-vault", {"properties": {"securitySettings": {"encryptionSettings": {
            "state": "Enabled", "keyVaultProperties": {"keyUri": KEY_URI}, "kekIdentity": {"identityType": "UserAssigned", "identityId": "/id/cmk"}}}}}),
        res(az.RS_VAULT, "backups-files-vault", {"properties": {"encryption": {
            "keyVaultProperties": {"keyUri": KEY_URI}, "kekIdentity": {"userAssignedIdentity": "/id/cmk", "useSystemAssignedIdentity": False}}}}),
        res(az.APP, "api-app", APP_OK),
        res(az.SECRET, "api-secret-openai-api-key", {"secretName": "demo-prod-api-secret-openai-api-key"}),
        res(az.FD_PROFILE, "ingress-profile", {"profileName": "demo-prod-ingress-fd"}),
        res(az.FD_ROUTE, "ingress-route-root", ROUTE_OK),
        res(az.FD_RULE, "ingress-headers-rule", {"actions": [
            {"name": "ModifyResponseHeader", "parameters": {"headerAction": "Overwrite", "headerName": k, "value": v}} for k, v in headers.items()]}),
        res(az.WAF, "ingress-waf", WAF_OK),
        res(az.ACTION_GROUP, "monitoring-action-group", {"emailReceivers": [{"emailAddress": "oncall@example.com"}]}),
    ]
    by = {r["name"]: r for r in rs}
    rs.append(res(az.ROLE, "api-read-secret-openai-api-key", {"roleDefinitionId": f"/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{az.SECRETS_USER}",
                                                              "scope": mock_id(by["api-secret-openai-api-key"])}))
    rs.append(res(az.ROLE, "network-key-encryption-user", {"roleDefinitionId": f"/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{az.CRYPTO_USER}",
                                                           "scope": mock_id(by["network-key"])}))
    rs.append(res(az.FD_SECURITY, "ingress-waf-link", {"profileName": "demo-prod-ingress-fd", "parameters": {"wafPolicy": {"id": mock_id(by["ingress-waf"])}}}))
    for target in ("postgres-server", "redis-cluster"):
        rs.append(res(az.LOCK, f"{target}-lock", {"level": "CanNotDelete", "scope": mock_id(by[target])}))
    for target in ("postgres-server", "redis-cluster", "api-app"):
        rs.append(res(az.ALERT, f"monitoring-{target}", {"scopes": [mock_id(by[target])], "actions": [{"actionGroupId": mock_id(by["monitoring-action-group"])}]}))
    for fn in mutate.values():
        fn(rs)
    return rs






STACK_CASES: list[tuple[str, Callable[[], list[dict]], list[tuple[str, str]]]] = [
    ("azure-postgres-require-tls", stack, []),
    ("azure-postgres-require-tls", lambda: stack(a=setp("postgres-param-require-secure-transport", "value", "OFF")), [("postgres-server", "require_secure_transport is OFF")]),
    ("azure-postgres-require-tls", lambda: stack(a=drop("postgres-param-ssl-min-protocol-version")), [("postgres-server", "ssl_min_protocol_version is not set")]),
    ("azure-key-vault-secret-scoped-access", stack, []),
    ("azure-key-vault-secret-scoped-access", lambda: stack(a=setp("api-read-secret-openai-api-key", "scope", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v")),
     [("api-read-secret-openai-api-key", "not on one secret")]),
    ("azure-front-door-security-headers", stack, []),
    ("azure-front-door-security-headers", lambda: stack(a=setp("ingress-route-root", "ruleSets", [])), [("ingress-route-root", "applies no rule set")]),
    ("azure-front-door-security-headers", lambda: stack(a=drop("ingress-headers-rule")), [("ingress-route-root", "Strict-Transport-Security")]),
    ("azure-front-door-waf", stack, []),
    ("azure-front-door-waf", lambda: stack(a=drop("ingress-waf-link")), [("ingress-profile", "no security policy links a WAF")]),
    ("azure-front-door-waf", lambda: stack(a=setp("ingress-waf", "customRules.rules", [])), [("ingress-profile", "no rate-limit rule")]),
    ("azure-front-door-waf", lambda: stack(a=setp("ingress-waf", "managedRules.managedRuleSets", [])), [("ingress-profile", "no Microsoft_DefaultRuleSet")]),
    ("azure-delete-lock", stack, []),
    ("azure-delete-lock", lambda: stack(a=drop("postgres-server-lock")), [("postgres-server", "no CanNotDelete lock")]),
    ("azure-customer-managed-keys", stack, []),
    ("azure-customer-managed-keys", lambda: stack(a=setp("postgres-server", "dataEncryption", {"type": "SystemManaged"})), [("postgres-server", "Microsoft-managed key")]),
    ("azure-customer-managed-keys", lambda: stack(a=setp("postgres-server", "dataEncryption.primaryKeyURI", "https://elsewhere.vault.azure.net/keys/k")), [("postgres-server", "primaryKeyURI")]),
    ("azure-customer-managed-keys", lambda: stack(a=setp("postgres-server", "dataEncryption.geoBackupKeyURI", None)), [("postgres-server", "geoBackupKeyURI")]),
    ("azure-customer-managed-keys", lambda: stack(a=setp("redis-cluster", "encryption", None)), [("redis-cluster", "keyEncryptionKeyUrl")]),
    ("azure-customer-managed-keys", lambda: stack(a=setp("api-files", "encryption.keySource", "Microsoft.Storage")), [("api-files", "keySource")]),
    ("azure-customer-managed-keys", lambda: stack(a=drop("network-key"), b=drop("network-geo-key")),
     [("postgres-server", "primaryKeyURI"), ("postgres-server", "geoBackupKeyURI"), ("redis-cluster", "keyEncryptionKeyUrl"), ("api-files", "keySource")]),
    ("azure-customer-managed-keys", lambda: stack(a=setp("backups-vault", "properties.securitySettings.encryptionSettings", None)), [("backups-vault", "Microsoft-managed key")]),
    ("azure-customer-managed-keys", lambda: stack(a=setp("backups-files-vault", "properties.encryption", None)), [("backups-files-vault", "Microsoft-managed key")]),
    ("azure-customer-managed-keys", lambda: stack(a=setp("network-key-encryption-user", "scope", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v")),
     [("network-key-encryption-user", "beyond one key")]),
    ("azure-customer-managed-keys", lambda: stack(a=setp("network-key", "properties.keySize", 2048)), [("network-key", "use RSA 3072 or 4096")]),
    ("azure-customer-managed-keys", lambda: stack(a=setp("network-key", "properties.rotationPolicy.lifetimeActions", [])), [("network-key", "never rotates")]),
    ("azure-alerts-exist", stack, []),
    ("azure-alerts-exist", lambda: stack(a=drop("monitoring-api-app")), [("api-app", "no metric alert")]),
    ("azure-alerts-exist", lambda: stack(a=setp("monitoring-redis-cluster", "actions", [])), [("monitoring-redis-cluster", "notifies nobody")]),
]
