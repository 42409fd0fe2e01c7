"""Azure backends: the properties that matter on each planned Azure resource (seed apps x profiles through the real
stack files), the Azure limits as bad input (exit 2 before anything is registered), and the pure sizing helpers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from components import ManagedRedis, ManagedRedisArgs, WebService, WebServiceArgs
from components._core import Cloud, InputError, Platform
from components.redis import AzureRedisOptions
from components.web_service import AzureWebServiceOptions, Probe, Probes
from conftest import ROOT, planned
from stacks import cli
from stacks.spec import APPS_DIR

SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
PLATFORM = Platform(cloud=Cloud.AZURE, app="demo", stack="prod", region="eastus2")


def inv(app: str, profile: str):
    return planned(app, profile, "azure")[1]


def one(inventory, suffix: str, name: str | None = None):
    found = [r for r in inventory.of_type(suffix) if name is None or r.name == name]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def mock_id(r) -> str:
    from policies.rules._util import mock_id as mid

    return mid(r.as_json())


# --- ManagedPostgres: Flexible Server ----------------------------------------------------------------------------

def test_flexible_server_is_private_tls_only_and_zone_redundant_in_prod():
    i = inv("autopr", "prod")
    server = one(i, "dbforpostgresql:Server")
    net = server.inputs["network"]
    assert net["publicNetworkAccess"] == "Disabled"
    assert net["delegatedSubnetResourceId"] == mock_id(one(i, "network:Subnet", "network-postgres-subnet"))
    assert net["privateDnsZoneArmResourceId"] == mock_id(one(i, "privatedns:PrivateZone", "network-postgres-dns"))
    assert server.inputs["highAvailability"]["mode"] == "ZoneRedundant"
    assert server.inputs["backup"] == {"backupRetentionDays": 30, "geoRedundantBackup": "Enabled"}
    assert server.inputs["version"] == "15" and server.inputs["storage"]["storageSizeGB"] == 128  # 100 GiB rounds up
    assert server.inputs["storage"]["autoGrow"] == "Enabled"
    assert server.protect and server.retain_on_delete
    assert "administratorLoginPassword" in server.secret_paths
    params = {r.inputs["configurationName"]: r.inputs["value"] for r in i.of_type("dbforpostgresql:Configuration")}
    assert params["require_secure_transport"] == "ON" and params["ssl_min_protocol_version"] == "TLSv1.2"
    lock = one(i, "authorization:ManagementLockByScope", "postgres-lock")
    assert lock.inputs["level"] == "CanNotDelete" and lock.inputs["scope"] == mock_id(server)


def test_flexible_server_staging_is_unprotected_without_geo_backup_and_burstable_when_not_ha():
    i = inv("chat", "staging")
    server = one(i, "dbforpostgresql:Server")
    assert not server.protect and server.inputs["backup"]["geoRedundantBackup"] == "Disabled"
    assert server.inputs["highAvailability"]["mode"] == "Disabled"
    assert server.inputs["sku"] == {"name": "Standard_B2ms", "tier": "Burstable"}
    assert not i.of_type("authorization:ManagementLockByScope")


def test_pgvector_is_allow_listed_in_azure_extensions():
    for app in ("copilot", "arches"):
        params = {r.inputs["configurationName"]: r.inputs["value"] for r in inv(app, "prod").of_type("dbforpostgresql:Configuration")}
        assert "VECTOR" in params["azure.extensions"].split(","), app


def test_database_url_requires_tls_and_is_a_secret_in_key_vault():
    i = inv("autopr", "prod")
    url = one(i, "keyvault:Secret", "postgres-url")
    assert url.inputs["properties"] == "[secret]"  # the value makes the whole properties object secret
    raw = url.raw_inputs["properties"]["value"]
    assert raw.startswith("postgresql://autopr_app:") and raw.endswith("/autopr?sslmode=require")
    admin = one(i, "keyvault:Secret", "postgres-admin-secret")
    assert admin.inputs["properties"] == "[secret]" and "properties" in admin.secret_paths


# --- ManagedRedis: Azure Managed Redis ---------------------------------------------------------------------------

def test_managed_redis_is_tls_only_private_and_ha_in_prod():
    i = inv("autopr", "prod")
    cluster = one(i, "redisenterprise:RedisEnterprise")
    assert cluster.inputs["sku"]["name"] == "Balanced_B3"  # maxmemory 3Gi
    assert cluster.inputs["minimumTlsVersion"] == "1.2" and cluster.inputs["publicNetworkAccess"] == "Disabled"
    assert cluster.inputs["highAvailability"] == "Enabled" and cluster.protect
    db = one(i, "redisenterprise:Database")
    assert db.inputs["clientProtocol"] == "Encrypted" and db.inputs["clusteringPolicy"] == "EnterpriseCluster"
    assert db.inputs["evictionPolicy"] == "AllKeysLRU" and db.inputs["persistence"] == {"aofEnabled": True, "aofFrequency": "1s"}
    pe = one(i, "network:PrivateEndpoint", "redis-pe")
    assert pe.inputs["privateLinkServiceConnections"][0]["groupIds"] == ["redisEnterprise"]
    url = one(i, "keyvault:Secret", "redis-url").raw_inputs["properties"]["value"]
    assert url.startswith("rediss://:") and url.endswith(":10000/0")
    assert not [t for t in (r.type for r in i.resources) if t.startswith("azure-native:redis:")], "Azure Cache for Redis is retired"


def test_managed_redis_noeviction_for_queues():
    assert one(inv("copilot", "prod"), "redisenterprise:Database").inputs["evictionPolicy"] == "NoEviction"  # copilot queues jobs in Redis: a full cache must refuse writes, not evict jobs


# --- Network and Key Vault -----------------------------------------------------------------------------------------

def test_network_subnets_are_delegated_nsg_guarded_and_apps_leave_through_nat():
    i = inv("autopr", "prod")
    apps = one(i, "network:Subnet", "network-apps-subnet")
    assert apps.inputs["delegations"][0]["serviceName"] == "Microsoft.App/environments"
    assert apps.inputs["natGateway"]["id"] == mock_id(one(i, "network:NatGateway"))
    pg = one(i, "network:Subnet", "network-postgres-subnet")
    assert pg.inputs["delegations"][0]["serviceName"] == "Microsoft.DBforPostgreSQL/flexibleServers"
    for s in i.of_type("network:Subnet"):
        assert s.inputs["defaultOutboundAccess"] is False and s.inputs["networkSecurityGroup"]["id"]
    for nsg in i.of_type("network:NetworkSecurityGroup"):
        rules = nsg.inputs["securityRules"]
        assert any(r["access"] == "Deny" and r["direction"] == "Inbound" and r["sourceAddressPrefix"] == "VirtualNetwork" for r in rules), nsg.name
        assert not [r for r in rules if r["direction"] == "Inbound" and r["access"] == "Allow" and r["sourceAddressPrefix"] in ("*", "Internet")]
    pg_rules = one(i, "network:NetworkSecurityGroup", "network-postgres-nsg").inputs["securityRules"]
    allow = [r for r in pg_rules if r["access"] == "Allow"]
    assert {r["sourceAddressPrefix"] for r in allow} == {"10.0.0.0/20", "10.0.16.0/20"} and {r["destinationPortRange"] for r in allow} == {"5432"}


def test_key_vault_is_rbac_purge_protected_and_private():
    i = inv("autopr", "prod")
    p = one(i, "keyvault:Vault", "network-vault").inputs["properties"]
    assert p["enableRbacAuthorization"] is True and p["enablePurgeProtection"] is True and p["enableSoftDelete"] is True
    # prod encrypts with customer-managed keys, which Flexible Server and Storage reach as trusted Azure services
    assert p["publicNetworkAccess"] == "Disabled" and p["networkAcls"] == {"bypass": "AzureServices", "defaultAction": "Deny"}
    assert "accessPolicies" not in p
    staging = one(inv("autopr", "staging"), "keyvault:Vault").inputs["properties"]
    assert staging["networkAcls"] == {"bypass": "None", "defaultAction": "Deny"}
    pe = one(i, "network:PrivateEndpoint", "network-vault-pe")
    assert pe.inputs["privateLinkServiceConnections"][0]["groupIds"] == ["vault"]


def test_container_apps_environment_is_internal_and_zone_redundant_in_prod_only():
    for profile, zr in (("prod", True), ("staging", False)):
        env = one(inv("autopr", profile), "app:ManagedEnvironment")
        assert env.inputs["vnetConfiguration"]["internal"] is True and env.inputs["publicNetworkAccess"] == "Disabled"
        assert env.inputs["zoneRedundant"] is zr
        assert env.inputs["peerTrafficConfiguration"]["encryption"]["enabled"] is True
    ws = one(inv("autopr", "staging"), "operationalinsights:Workspace")
    assert ws.inputs["retentionInDays"] == 30  # staging's 14 days raised to the PerGB2018 minimum


# --- customer-managed keys (prod) ----------------------------------------------------------------------------------

CRYPTO_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"


def _key_uri(key) -> str:
    return f"https://{key.inputs['vaultName']}.vault.azure.net/keys/{key.inputs['keyName']}"


def _encryption_identity(i, key, identity_name: str):
    """The identity and the single Crypto Service Encryption User grant it holds, which must be on exactly `key`."""
    identity = one(i, "managedidentity:UserAssignedIdentity", identity_name)
    grants = [r for r in i.of_type("authorization:RoleAssignment") if r.inputs["principalId"].lower() == _principal(identity)]
    assert len(grants) == 1, [g.name for g in grants]
    assert grants[0].inputs["roleDefinitionId"].endswith("/roleDefinitions/" + CRYPTO_USER)
    assert grants[0].inputs["scope"] == mock_id(key)  # the key itself, never the vault
    return identity


def _principal(identity) -> str:
    from stacks.engine import _uuid

    return _uuid(f"principal:{identity.name}")


def test_prod_stack_key_is_rsa_3072_rotated_protected_in_the_stack_vault():
    i = inv("autopr", "prod")
    vault = one(i, "keyvault:Vault", "network-vault")
    key = one(i, "keyvault:Key", "network-key")
    assert key.inputs["vaultName"] == vault.inputs["vaultName"]
    p = key.inputs["properties"]
    assert p["kty"] == "RSA" and p["keySize"] in (3072, 4096) and p["keyOps"] == ["wrapKey", "unwrapKey"]
    policy = p["rotationPolicy"]
    assert policy["attributes"]["expiryTime"] == "P1Y"
    assert {"action": {"type": "rotate"}, "trigger": {"timeBeforeExpiry": "P90D"}} in policy["lifetimeActions"]
    assert key.protect and key.retain_on_delete
    assert vault.inputs["properties"]["enablePurgeProtection"] is True  # Azure refuses CMK on a vault without it


def test_prod_flexible_server_encrypts_with_the_stack_key_and_the_paired_region_key_for_geo_backups():
    i = inv("autopr", "prod")
    server = one(i, "dbforpostgresql:Server")
    key, geo_key = one(i, "keyvault:Key", "network-key"), one(i, "keyvault:Key", "network-geo-key")
    identity = _encryption_identity(i, key, "network-cmk-identity")
    geo_identity = _encryption_identity(i, geo_key, "network-geo-identity")
    enc = server.inputs["dataEncryption"]
    assert enc == {
        "type": "AzureKeyVault", "primaryKeyURI": _key_uri(key), "primaryUserAssignedIdentityId": mock_id(identity),
        "geoBackupKeyURI": _key_uri(geo_key), "geoBackupUserAssignedIdentityId": mock_id(geo_identity),
    }
    assert server.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {mock_id(identity): {}, mock_id(geo_identity): {}}}
    # Azure wants the geo-backup key, its vault and identity in the paired region (eastus2 -> centralus).
    geo_vault = one(i, "keyvault:Vault", "network-geo-vault")
    assert geo_vault.inputs["location"] == "centralus" and geo_identity.inputs["location"] == "centralus"
    assert geo_key.inputs["vaultName"] == geo_vault.inputs["vaultName"] != one(i, "keyvault:Vault", "network-vault").inputs["vaultName"]
    assert geo_vault.inputs["properties"]["enablePurgeProtection"] is True and geo_vault.inputs["properties"]["publicNetworkAccess"] == "Disabled"
    assert geo_key.protect


def test_prod_managed_redis_encrypts_with_a_version_of_the_stack_key():
    i = inv("autopr", "prod")
    cluster = one(i, "redisenterprise:RedisEnterprise")
    key = one(i, "keyvault:Key", "network-key")
    identity = _encryption_identity(i, key, "network-cmk-identity")
    cmk = cluster.inputs["encryption"]["customerManagedKeyEncryption"]
    assert cmk["keyEncryptionKeyUrl"].startswith(_key_uri(key) + "/")  # the API takes versioned URLs only
    assert cmk["keyEncryptionKeyIdentity"] == {"identityType": "userAssignedIdentity", "userAssignedIdentityResourceId": mock_id(identity)}
    assert cluster.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [mock_id(identity)]}


def test_prod_azure_files_account_encrypts_with_the_stack_key():
    i = inv("compyle", "prod")
    key = one(i, "keyvault:Key", "network-key")
    identity = _encryption_identity(i, key, "network-cmk-identity")
    vault = one(i, "keyvault:Vault", "network-vault")
    for account in i.of_type("storage:StorageAccount"):
        enc = account.inputs["encryption"]
        assert enc["keySource"] == "Microsoft.Keyvault", account.name
        assert enc["keyVaultProperties"] == {"keyName": key.inputs["keyName"], "keyVaultUri": f"https://{vault.inputs['vaultName']}.vault.azure.net/"}
        assert enc["encryptionIdentity"] == {"encryptionUserAssignedIdentity": mock_id(identity)}
        assert account.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [mock_id(identity)]}


def test_prod_backup_vaults_encrypt_with_the_stack_key():
    i = inv("compyle", "prod")
    key = one(i, "keyvault:Key", "network-key")
    identity = mock_id(_encryption_identity(i, key, "network-cmk-identity"))
    dpp = one(i, "dataprotection:BackupVault")
    assert dpp.inputs["properties"]["securitySettings"]["encryptionSettings"] == {
        "state": "Enabled", "keyVaultProperties": {"keyUri": _key_uri(key)}, "kekIdentity": {"identityType": "UserAssigned", "identityId": identity}}
    assert dpp.inputs["identity"] == {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": [identity]}  # system identity keeps the backup roles
    rsv = one(i, "recoveryservices:Vault")
    assert rsv.inputs["properties"]["encryption"] == {
        "keyVaultProperties": {"keyUri": _key_uri(key)}, "kekIdentity": {"userAssignedIdentity": identity, "useSystemAssignedIdentity": False}}
    assert rsv.inputs["identity"] == {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": [identity]}


def test_staging_has_no_customer_managed_keys():
    for app in ("autopr", "compyle"):
        i = inv(app, "staging")
        assert not i.of_type("keyvault:Key"), app
        assert [r.name for r in i.of_type("keyvault:Vault")] == ["network-vault"]
        assert "dataEncryption" not in one(i, "dbforpostgresql:Server").inputs
        assert "encryption" not in one(i, "redisenterprise:RedisEnterprise").inputs
        for account in i.of_type("storage:StorageAccount"):
            assert account.inputs["encryption"]["keySource"] == "Microsoft.Storage"
        for vault in i.of_type("dataprotection:BackupVault"):
            assert "encryptionSettings" not in vault.inputs["properties"]["securitySettings"]
        for vault in i.of_type("recoveryservices:Vault"):
            assert "encryption" not in vault.inputs["properties"]


def test_cmk_with_geo_backups_in_a_location_without_a_paired_region_exits_2(tmp_path, capsys):
    for name in ("Pulumi.yaml", "Pulumi.azure-prod.yaml", "Pulumi.prod.yaml"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, tmp_path / name)
    assert_clear(*plan(tmp_path, capsys, "prodkit:location=italynorth", stack="azure-prod"), "prodkit:location", "'italynorth'", "no Azure paired region")
    # staging (no customer-managed keys) plans there
    shutil.copy(ROOT / "Pulumi.azure-staging.yaml", tmp_path / "Pulumi.azure-staging.yaml")
    code, err = plan(tmp_path, capsys, "prodkit:location=italynorth")
    assert code == 0, err


# --- WebService: Container Apps ------------------------------------------------------------------------------------

def test_container_app_secrets_are_key_vault_references_granted_one_by_one():
    i = inv("autopr", "prod")
    app = one(i, "app:ContainerApp")
    secrets = app.inputs["configuration"]["secrets"]
    identity = mock_id(one(i, "managedidentity:UserAssignedIdentity", "engine-identity"))
    assert secrets and all(set(s) == {"name", "keyVaultUrl", "identity"} and s["identity"] == identity for s in secrets)
    env = {e["name"]: e for e in app.inputs["template"]["containers"][0]["env"]}
    for name in ("GITHUB_TOKEN", "OPENAI_API_KEY", "DATABASE_URL", "REDIS_URL"):
        assert set(env[name]) == {"name", "secretRef"}, name
    assert "SENTRY_DSN" not in env  # optional and unset
    grants = [r for r in i.of_type("authorization:RoleAssignment") if r.inputs["roleDefinitionId"].endswith(SECRETS_USER)]
    by_id = {mock_id(r): r.name for r in i.of_type("keyvault:Secret")}
    scopes = sorted(by_id[g.inputs["scope"]] for g in grants)  # every grant is on one secret of the stack
    assert scopes == sorted(["engine-secret-github-token", "engine-secret-openai-api-key", "postgres-url", "redis-url", "redis-password"])
    assert all(g.inputs["principalType"] == "ServicePrincipal" for g in grants)
    assert set(g.urn for g in grants) <= set(app.dependencies)  # grants exist before the revision resolves references


def test_container_app_ingress_https_only_external_only_when_routed():
    for r in inv("copilot", "prod").of_type("app:ContainerApp"):
        ingress = r.inputs["configuration"]["ingress"]
        assert ingress["allowInsecure"] is False
        assert ingress["external"] is (r.name == "api-app"), r.name  # only the routed API is reachable by Front Door


def test_container_app_size_is_a_consumption_pair_holding_the_limits():
    res = one(inv("autopr", "prod"), "app:ContainerApp").inputs["template"]["containers"][0]["resources"]
    assert res == {"cpu": 2, "memory": "4Gi"}  # limits 2 CPU / 4 GiB
    compyle = {r.name: r for r in inv("compyle", "prod").of_type("app:ContainerApp")}
    assert compyle["fastapi-app"].inputs["template"]["containers"][0]["resources"] == {"cpu": 4, "memory": "8Gi"}


def test_secret_file_is_a_secret_volume_and_shared_volume_an_azure_files_share():
    i = inv("compyle", "prod")
    app = one(i, "app:ContainerApp", "fastapi-app")
    volumes = {v["name"]: v for v in app.inputs["template"]["volumes"]}
    assert volumes["secret-files"]["storageType"] == "Secret"
    assert volumes["workspaces"]["storageType"] == "AzureFile"
    account = one(i, "storage:StorageAccount")
    assert account.inputs["publicNetworkAccess"] == "Disabled" and account.inputs["minimumTlsVersion"] == "TLS1_2"
    assert account.inputs["enableHttpsTrafficOnly"] is True and account.protect
    storage = one(i, "app:ManagedEnvironmentsStorage")
    assert "properties" in storage.secret_paths  # the account key is a secret input
    assert one(i, "storage:FileShare").inputs["shareQuota"] == 500


def test_service_to_service_urls_use_container_app_names():
    env = {e["name"]: e.get("value") for e in one(inv("copilot", "prod"), "app:ContainerApp", "api-app").inputs["template"]["containers"][0]["env"]}
    assert env["CONTEXT_SERVICE_URL"] == "http://copilot-azure-prod-context"


# --- Autoscaler ------------------------------------------------------------------------------------------------------

def test_autoscaler_sets_scale_rules_on_the_container_app():
    scale = one(inv("autopr", "prod"), "app:ContainerApp").inputs["template"]["scale"]
    assert scale["minReplicas"] == 2 and scale["maxReplicas"] == 10 and scale["cooldownPeriod"] == 300
    rules = {r["name"]: r["custom"] for r in scale["rules"]}
    assert rules["cpu"] == {"type": "cpu", "metadata": {"type": "Utilization", "value": "75"}}
    assert rules["memory"]["metadata"]["value"] == "80"


def test_queue_depth_is_a_keda_redis_rule_over_tls_with_the_key_from_key_vault():
    app = one(inv("copilot", "prod"), "app:ContainerApp", "workflow-app")
    queue = next(r for r in app.inputs["template"]["scale"]["rules"] if r["name"] == "queue")["custom"]
    assert queue["type"] == "redis" and queue["metadata"]["enableTLS"] == "true"
    assert queue["metadata"]["address"].endswith(":10000") and queue["metadata"]["listLength"] == "100"
    secret_names = {s["name"] for s in app.inputs["configuration"]["secrets"]}
    assert queue["auth"] == [{"secretRef": "redis-password", "triggerParameter": "password"}] and "redis-password" in secret_names


# --- TlsIngress: Front Door ------------------------------------------------------------------------------------------

def test_front_door_waf_blocks_in_prod_and_detects_in_staging_with_a_rate_rule_per_route():
    for profile, mode in (("prod", "Prevention"), ("staging", "Detection")):
        waf = one(inv("compyle", profile), "frontdoor:Policy").inputs
        assert waf["policySettings"]["mode"] == mode and waf["policySettings"]["enabledState"] == "Enabled"
        assert {m["ruleSetType"] for m in waf["managedRules"]["managedRuleSets"]} == {"Microsoft_DefaultRuleSet", "Microsoft_BotManagerRuleSet"}
        rates = {r["name"]: r for r in waf["customRules"]["rules"]}
        assert rates["RateLimitApiAgents"]["rateLimitThreshold"] == 60 and rates["RateLimitRoot"]["rateLimitThreshold"] == 100
        assert all(r["action"] == "Block" and r["groupBy"] == [{"variableName": "SocketAddr"}] for r in rates.values())
        root = rates["RateLimitRoot"]["matchConditions"]
        assert all(c["negateCondition"] for c in root)  # "/" counts only what longer routes do not


def test_front_door_routes_redirect_and_forward_https_over_a_private_link():
    i = inv("compyle", "prod")
    for route in i.of_type("cdn:Route"):
        assert route.inputs["httpsRedirect"] == "Enabled" and route.inputs["forwardingProtocol"] == "HttpsOnly"
        assert route.inputs["linkToDefaultDomain"] == "Disabled" and route.inputs["ruleSets"]
    patterns = {r.inputs["routeName"]: r.inputs["patternsToMatch"] for r in i.of_type("cdn:Route")}
    assert patterns["root"] == ["/*"] and patterns["api-agents"] == ["/api/agents", "/api/agents/*"]
    env = mock_id(one(i, "app:ManagedEnvironment"))
    for origin in i.of_type("cdn:AFDOrigin"):
        link = origin.inputs["sharedPrivateLinkResource"]
        assert link["privateLink"]["id"] == env and link["groupId"] == "managedEnvironments"
        assert origin.inputs["enforceCertificateNameCheck"] is True
    assert one(i, "cdn:Profile").inputs["originResponseTimeoutSeconds"] == 240  # 600 s asked; Front Door's ceiling
    assert one(i, "cdn:AFDCustomDomain").inputs["tlsSettings"] == {"certificateType": "ManagedCertificate", "minimumTlsVersion": "TLS12"}
    headers = {a["parameters"]["headerName"]: a["parameters"]["value"] for a in one(i, "cdn:Rule").inputs["actions"]}
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    link = one(i, "cdn:SecurityPolicy").inputs["parameters"]
    assert link["wafPolicy"]["id"] == mock_id(one(i, "frontdoor:Policy"))


# --- BackupSchedule, Monitoring ---------------------------------------------------------------------------------------

def test_backup_vault_policy_follows_the_spec_schedule_and_retention():
    i = inv("autopr", "prod")
    vault = one(i, "dataprotection:BackupVault")
    assert vault.protect and vault.inputs["properties"]["securitySettings"]["immutabilitySettings"]["state"] == "Locked"
    rules = one(i, "dataprotection:BackupPolicy").inputs["properties"]["policyRules"]
    backup = next(r for r in rules if r["objectType"] == "AzureBackupRule")
    assert backup["trigger"]["schedule"]["repeatingTimeIntervals"] == ["R/2024-01-07T02:00:00+00:00/P1D"]  # "0 2 * * *"
    retention = next(r for r in rules if r["objectType"] == "AzureRetentionRule")
    assert retention["lifecycles"][0]["deleteAfter"]["duration"] == "P30D"
    scopes = {r.inputs["scope"] for r in i.of_type("authorization:RoleAssignment") if r.name.startswith("backups-")}
    assert mock_id(one(i, "dbforpostgresql:Server")) in scopes
    assert one(i, "dataprotection:BackupInstance").inputs["properties"]["dataSourceInfo"]["datasourceType"] == "Microsoft.DBforPostgreSQL/flexibleServers"


def test_hourly_database_backups_become_daily_vault_copies():
    rules = one(inv("arches", "prod"), "dataprotection:BackupPolicy").inputs["properties"]["policyRules"]
    backup = next(r for r in rules if r["objectType"] == "AzureBackupRule")
    assert backup["trigger"]["schedule"]["repeatingTimeIntervals"] == ["R/2024-01-07T00:00:00+00:00/P1D"]  # "0 * * * *"


def test_volume_backups_protect_each_share_in_a_recovery_services_vault():
    i = inv("compyle", "prod")
    item = one(i, "recoveryservices:ProtectedItem")
    assert item.inputs["properties"]["protectedItemType"] == "AzureFileShareProtectedItem"
    policy = one(i, "recoveryservices:ProtectionPolicy").inputs["properties"]
    assert policy["retentionPolicy"]["dailySchedule"]["retentionDuration"]["count"] >= 30


def test_monitoring_alerts_every_app_and_store_and_the_front_door():
    i = inv("autopr", "prod")
    group = one(i, "monitor:ActionGroup")
    assert [r["emailAddress"] for r in group.inputs["emailReceivers"]] == ["oncall@example.com"]
    metrics = {(a.inputs["criteria"]["allOf"][0]["metricName"], a.inputs["scopes"][0]) for a in i.of_type("monitor:MetricAlert")}
    assert ("CpuPercentage", mock_id(one(i, "app:ContainerApp"))) in metrics
    assert ("storage_percent", mock_id(one(i, "dbforpostgresql:Server"))) in metrics
    assert ("usedmemorypercentage", mock_id(one(i, "redisenterprise:RedisEnterprise"))) in metrics
    assert ("Percentage5XX", mock_id(one(i, "cdn:Profile"))) in metrics
    assert all(a.inputs["actions"] == [{"actionGroupId": mock_id(group)}] for a in i.of_type("monitor:MetricAlert"))


# --- pure sizing and option checks (fail before anything is registered) ------------------------------------------------

class _Net:
    handle = None


def _service(network=None, **kw):
    return WebServiceArgs(network=network or _Net(), image="ghcr.io/acme/api:1.0.0", port=8080,
                          probes=Probes(liveness=Probe(path="/h"), readiness=Probe(path="/h")), **kw)


def test_cpu_memory_pair_must_be_one_container_apps_offers():
    WebService.check(_service(azure=AzureWebServiceOptions(cpu=1.0, memory_gib=2.0)), PLATFORM)
    with pytest.raises(InputError, match=r"azure.cpu/memory_gib: got '0.5/4.0Gi'; Container Apps .* accepts these vCPU/memory pairs: 0.25/0.5Gi"):
        WebService.check(_service(azure=AzureWebServiceOptions(cpu=0.5, memory_gib=4.0)), PLATFORM)
    with pytest.raises(InputError, match="the largest is 4 vCPU / 8 GiB"):
        WebService.check(_service(cpu_millicores=4000, cpu_limit_millicores=6000), PLATFORM)


def test_redis_sku_must_offer_the_size():
    args = dict(network=_Net(), memory_mib=3072)
    ManagedRedis.check(ManagedRedisArgs(**args, azure=AzureRedisOptions(sku="Balanced_B3")), PLATFORM)
    with pytest.raises(InputError, match=r"azure.sku: got 'Balanced_B1'; offers 1 GB but redis.memory_mib asks 3072 MiB .*smallest Balanced SKU that holds it is Balanced_B3"):
        ManagedRedis.check(ManagedRedisArgs(**args, azure=AzureRedisOptions(sku="Balanced_B1")), PLATFORM)
    with pytest.raises(InputError, match="azure.sku: got 'Standard_C1'"):
        ManagedRedis.check(ManagedRedisArgs(**args, azure=AzureRedisOptions(sku="Standard_C1")), PLATFORM)
    from components.redis._azure import sku_of

    assert sku_of(ManagedRedisArgs(network=_Net(), memory_mib=1024, azure=AzureRedisOptions(tier="MemoryOptimized"))) == "MemoryOptimized_M10"


def test_azure_options_are_refused_on_another_cloud():
    with pytest.raises(InputError, match="apply to azure only"):
        WebService.check(_service(azure=AzureWebServiceOptions()), Platform(cloud=Cloud.AWS, app="demo", stack="prod"))


# --- bad input through `prodkit plan` (exit 2, one paragraph) ------------------------------------------------------------

@pytest.fixture()
def project(tmp_path: Path) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.azure-staging.yaml", "Pulumi.staging.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def plan(project: Path, capsys, *sets: str, stack: str = "azure-staging") -> tuple[int, str]:
    args = ["plan", "--stack", stack, "--dir", str(project), "--out", str(project / "out")]
    for s in sets:
        args += ["-c", s]
    code = cli.main(args)
    return code, capsys.readouterr().err


def assert_clear(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") <= 2, err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"


def spec_with(project: Path, app: str, mutate) -> str:
    data = yaml.safe_load((APPS_DIR / f"{app}.yaml").read_text())
    mutate(data)
    path = project / f"{app}-broken.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_invalid_location_names_the_key_and_a_close_match(project, capsys):
    assert_clear(*plan(project, capsys, "prodkit:location=east us2"), "prodkit:location", "'east us2'", "Did you mean 'eastus2'?")
    assert_clear(*plan(project, capsys, "prodkit:location=mars-north"), "prodkit:location", "lowercase without spaces")


def test_missing_location_and_bad_subscription_are_refused(project, capsys):
    assert_clear(*plan(project, capsys, "prodkit:cloud=azure", stack="staging"), "prodkit:location", "required on Azure", "pulumi config set prodkit:location")
    assert_clear(*plan(project, capsys, "prodkit:subscription=not-a-guid"), "prodkit:subscription", "GUID")


def test_azure_keys_on_another_cloud_are_refused(project, capsys):
    assert_clear(*plan(project, capsys, "prodkit:cloud=aws"), "prodkit:location", "target cloud is aws")


def test_service_larger_than_a_consumption_replica_exits_2(project, capsys):
    def big(d):
        d["services"]["engine"]["cpu_limit"] = "8"

    assert_clear(*plan(project, capsys, f"prodkit:app={spec_with(project, 'autopr', big)}"), "cpu_limit/memory_limit", "4 vCPU / 8 GiB")


def test_replicas_above_1000_exit_2(project, capsys):
    def many(d):
        d["services"]["engine"]["autoscaling"]["max"] = 1001

    assert_clear(*plan(project, capsys, f"prodkit:app={spec_with(project, 'autopr', many)}", "prodkit:profile=prod"), "max_replicas", "1001")


def test_rate_limit_below_front_doors_minimum_exits_2(project, capsys):
    def slow(d):
        d["routes"][0]["rate_limit_per_minute"] = 5

    assert_clear(*plan(project, capsys, f"prodkit:app={spec_with(project, 'autopr', slow)}"), "routes[0].rate_limit_per_minute", "got 5", "10 or more")


def test_more_than_35_days_of_flexible_server_retention_is_capped_not_refused(project, capsys):
    code, err = plan(project, capsys, "prodkit:overrides={min_backup_retention_days: 35}")
    assert code == 0, err


# --- the deferred scale block --------------------------------------------------------------------------------------------

def _one_service(autoscaler: bool):
    from components import Autoscaler, AutoscalerArgs, Network, NetworkArgs
    from components.web_service._azure import forget_pending, scale_unscaled
    from stacks import engine

    def program() -> None:
        forget_pending()
        net = Network("network", NetworkArgs(), PLATFORM)
        api = WebService("api", _service(net, autoscaled=True, replicas=3), PLATFORM)
        if autoscaler:
            Autoscaler("api-autoscaler", AutoscalerArgs(service=api, min_replicas=2, max_replicas=6, cpu_percent=70), PLATFORM)
        scale_unscaled()

    return engine.run(program, stack="prod", region="eastus2")


def test_an_autoscaled_app_without_autoscaler_gets_a_fixed_scale():
    scale = one(_one_service(False), "app:ContainerApp").inputs["template"]["scale"]
    assert scale == {"minReplicas": 3, "maxReplicas": 3}


def test_the_autoscaler_resolves_the_apps_scale_block():
    scale = one(_one_service(True), "app:ContainerApp").inputs["template"]["scale"]
    assert scale["minReplicas"] == 2 and scale["maxReplicas"] == 6 and scale["rules"][0]["name"] == "cpu"


def test_empty_azure_keys_are_unset_on_other_clouds(project, capsys):
    # The real engine passes Pulumi.yaml's defaults ("") for prodkit:location and prodkit:subscription on every stack.
    code, err = plan(project, capsys, "prodkit:location=", "prodkit:subscription=", stack="staging")
    assert code == 0, err
