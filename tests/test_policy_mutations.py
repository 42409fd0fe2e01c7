"""Mutation tests: take a compliant planned inventory, break one property, and assert the right rule fires,
through `prodkit check` (the CLI on an inventory file) and through the CrossGuard adapter (in-process)."""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

import pytest
from pulumi_policy import PolicyResource, PolicyResourceOptions, PolicyCustomTimeouts, ResourceValidationArgs, StackValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy

from conftest import planned
from policies.adapter import make_resource_policy, make_stack_policy
from policies.rules import RULES
from stacks import cli

RULE = {r.id: r for r in RULES}


def inventory(app: str, cloud: str) -> list[dict[str, Any]]:
    _, inv, _ = planned(app, "prod", cloud)
    return [r.as_json() for r in inv.resources]


def first(resources: list[dict[str, Any]], type_suffix: str, pred: Callable[[dict], bool] = lambda r: True) -> dict[str, Any]:
    return next(r for r in resources if r["type"].endswith(type_suffix) and pred(r))


def public_rds(rs):
    r = first(rs, "rds/instance:Instance")
    r["inputs"]["publiclyAccessible"] = True
    return r


def literal_api_key(rs):
    r = first(rs, "apps/v1:Deployment")
    r["inputs"]["spec"]["template"]["spec"]["containers"][0].setdefault("env", []).append({"name": "ANTHROPIC_API_KEY", "value": "sk-ant-123"})
    return r


def forwarding_http_listener(rs):
    r = first(rs, "lb/listener:Listener", lambda r: r["inputs"].get("port") == 80)
    r["inputs"]["defaultActions"] = [{"type": "forward", "targetGroupArn": "arn:aws:elasticloadbalancing:tg"}]
    return r


def root_deployment(rs):
    r = first(rs, "apps/v1:Deployment")
    pod = r["inputs"]["spec"]["template"]["spec"]
    pod["securityContext"]["runAsNonRoot"] = False
    pod["securityContext"]["runAsUser"] = 0
    for c in pod["containers"]:
        c["securityContext"]["runAsNonRoot"] = False
        c["securityContext"]["runAsUser"] = 0
    return r


def redis_without_tls(rs):
    r = first(rs, "elasticache/replicationGroup:ReplicationGroup")
    r["inputs"]["transitEncryptionEnabled"] = False
    return r


def retention_zero(rs):
    r = first(rs, "rds/instance:Instance")
    r["inputs"]["backupRetentionPeriod"] = 0
    return r


def route_without_rate_limit(rs):
    route = first(rs, "gateway.networking.k8s.io/v1:HTTPRoute", lambda r: r["name"] == "ingress-api-agents")
    rs.remove(first(rs, "gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy", lambda r: r["name"] == "ingress-api-agents-traffic"))
    return route


def http_listener_forwarding(rs):
    # The HTTP listener's route forwards to the app instead of redirecting: plain-HTTP content.
    r = first(rs, "gateway.networking.k8s.io/v1:HTTPRoute", lambda r: r["name"] == "ingress-redirect")
    r["inputs"]["spec"]["rules"] = [{"backendRefs": [{"name": "nextjs", "port": 3000}]}]
    return r


def cors_any_origin(rs):
    r = first(rs, "gateway.envoyproxy.io/v1alpha1:SecurityPolicy")
    r["inputs"]["spec"]["cors"]["allowOrigins"] = ["*"]
    return r


def gateway_tls_10(rs):
    r = first(rs, "gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy")
    r["inputs"]["spec"]["tls"]["minVersion"] = "1.0"
    return r


def route_without_hsts(rs):
    r = first(rs, "gateway.networking.k8s.io/v1:HTTPRoute", lambda r: r["name"] == "ingress-root")
    r["inputs"]["spec"]["rules"][0]["filters"] = []
    return r


def alb_tls_10_policy(rs):
    r = first(rs, "lb/listener:Listener", lambda r: r["inputs"].get("protocol") == "HTTPS")
    r["inputs"]["sslPolicy"] = "ELBSecurityPolicy-TLS-1-0-2015-04"
    return r


def _gcp(rs, type_suffix, name=None):
    return first(rs, type_suffix, lambda r: name is None or r["name"] == name)


def gcp_public_sql(rs):
    r = _gcp(rs, "sql/databaseInstance:DatabaseInstance")
    r["inputs"]["settings"]["ipConfiguration"]["ipv4Enabled"] = True
    return r


def gcp_sql_plaintext(rs):
    r = _gcp(rs, "sql/databaseInstance:DatabaseInstance")
    r["inputs"]["settings"]["ipConfiguration"]["sslMode"] = "ALLOW_UNENCRYPTED_AND_ENCRYPTED"
    return r


def gcp_sql_no_pitr(rs):
    r = _gcp(rs, "sql/databaseInstance:DatabaseInstance")
    r["inputs"]["settings"]["backupConfiguration"]["pointInTimeRecoveryEnabled"] = False
    return r


def gcp_sql_unprotected(rs):
    r = _gcp(rs, "sql/databaseInstance:DatabaseInstance")
    r["inputs"]["deletionProtection"] = False
    return r


def gcp_sql_not_protect(rs):
    r = _gcp(rs, "sql/databaseInstance:DatabaseInstance")
    r["protect"] = False
    return r


def azure_public_postgres(rs):
    r = first(rs, "dbforpostgresql:Server")
    r["inputs"]["network"]["publicNetworkAccess"] = "Enabled"
    return r


def azure_redis_plaintext(rs):
    r = first(rs, "redisenterprise:Database")
    r["inputs"]["clientProtocol"] = "Plaintext"
    return r


def azure_insecure_ingress(rs):
    r = first(rs, "app:ContainerApp")
    r["inputs"]["configuration"]["ingress"]["allowInsecure"] = True
    return r


def azure_vault_without_purge_protection(rs):
    r = first(rs, "keyvault:Vault")
    r["inputs"]["properties"]["enablePurgeProtection"] = False
    return r


def azure_waf_detection(rs):
    r = first(rs, "frontdoor:Policy")
    r["inputs"]["policySettings"]["mode"] = "Detection"
    return r


def azure_unprotected_server(rs):
    r = first(rs, "dbforpostgresql:Server")
    r["protect"] = False
    return r


def gcp_sql_zonal(rs):
    r = _gcp(rs, "sql/databaseInstance:DatabaseInstance")
    r["inputs"]["settings"]["availabilityType"] = "ZONAL"
    return r


def gcp_redis_plaintext(rs):
    r = _gcp(rs, "redis/instance:Instance")
    r["inputs"]["transitEncryptionMode"] = "DISABLED"
    return r


def gcp_redis_no_auth(rs):
    r = _gcp(rs, "redis/instance:Instance")
    r["inputs"]["authEnabled"] = False
    return r


def gcp_run_ingress_all(rs):
    r = _gcp(rs, "cloudrunv2/service:Service")
    r["inputs"]["ingress"] = "INGRESS_TRAFFIC_ALL"
    return r


def gcp_run_all_users(rs):
    svc = _gcp(rs, "cloudrunv2/service:Service")
    r = {**copy.deepcopy(svc), "type": "gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "name": "engine-public-invoker",
         "urn": svc["urn"].rsplit("::", 2)[0] + "::gcp:cloudrunv2/serviceIamMember:ServiceIamMember::engine-public-invoker",
         "inputs": {"name": svc["inputs"]["name"], "location": "us-central1", "role": "roles/run.invoker", "member": "allUsers"}, "protect": False}
    rs.append(r)
    return r


def gcp_run_literal_key(rs):
    r = _gcp(rs, "cloudrunv2/service:Service")
    r["inputs"]["template"]["containers"][0]["envs"].append({"name": "ANTHROPIC_API_KEY", "value": "sk-ant-123"})
    return r


def gcp_armor_detached(rs):
    r = _gcp(rs, "compute/backendService:BackendService")
    del r["inputs"]["securityPolicy"]
    return r


def gcp_armor_preview(rs):
    r = _gcp(rs, "compute/securityPolicy:SecurityPolicy")
    for rule in r["inputs"]["rules"]:
        if rule["action"] == "rate_based_ban":
            rule["preview"] = True
    return r


def gcp_tls10(rs):
    r = _gcp(rs, "compute/sSLPolicy:SSLPolicy")
    r["inputs"]["minTlsVersion"] = "TLS_1_0"
    return r


def gcp_http_serves(rs):
    m = _gcp(rs, "compute/uRLMap:URLMap", "ingress-redirect")
    m["inputs"]["defaultService"] = "projects/p/global/backendServices/x"
    return _gcp(rs, "compute/targetHttpProxy:TargetHttpProxy")


def gcp_public_bucket(rs):
    r = _gcp(rs, "storage/bucket:Bucket")
    r["inputs"]["publicAccessPrevention"] = "inherited"
    return r


def gcp_secret_google_key(rs):
    r = _gcp(rs, "secretmanager/secret:Secret", "engine-secret-github-token")
    for replica in r["inputs"]["replication"]["userManaged"]["replicas"]:
        del replica["customerManagedEncryption"]
    return r


def gcp_bucket_google_key(rs):
    r = _gcp(rs, "storage/bucket:Bucket")
    del r["inputs"]["encryption"]
    return r


def gcp_unlabelled_service(rs):
    r = _gcp(rs, "cloudrunv2/service:Service")
    del r["inputs"]["labels"]["component"]
    return r


def gcp_sql_unlabelled(rs):
    r = _gcp(rs, "sql/databaseInstance:DatabaseInstance")
    del r["inputs"]["settings"]["userLabels"]
    return r


def gcp_no_deny_egress(rs):
    rs.remove(_gcp(rs, "compute/firewall:Firewall", "network-deny-egress"))
    return _gcp(rs, "compute/network:Network")


def azure_literal_secret(rs):
    r = first(rs, "app:ContainerApp")
    r["inputs"]["configuration"]["secrets"][0] = {"name": "secret-openai-api-key", "value": "sk-123"}
    return r


def azure_secure_transport_off(rs):
    cfg = first(rs, "dbforpostgresql:Configuration", lambda r: r["inputs"].get("configurationName") == "require_secure_transport")
    cfg["inputs"]["value"] = "OFF"
    return first(rs, "dbforpostgresql:Server")


def azure_lock_removed(rs):
    lock = first(rs, "authorization:ManagementLockByScope", lambda r: r["name"] == "postgres-lock")
    rs.remove(lock)
    return first(rs, "dbforpostgresql:Server")


def azure_waf_unlinked(rs):
    rs.remove(first(rs, "cdn:SecurityPolicy"))
    return first(rs, "cdn:Profile")


def azure_vault_wide_grant(rs):
    r = first(rs, "authorization:RoleAssignment", lambda r: r["inputs"].get("roleDefinitionId", "").endswith("4633458b-17de-408a-b874-0445c86b69e6"))
    r["inputs"]["scope"] = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v"
    return r


def azure_server_microsoft_key(rs):
    r = first(rs, "dbforpostgresql:Server")
    r["inputs"]["dataEncryption"] = {"type": "SystemManaged"}
    return r


def azure_redis_microsoft_key(rs):
    r = first(rs, "redisenterprise:RedisEnterprise")
    del r["inputs"]["encryption"]
    return r


def azure_files_microsoft_key(rs):
    r = first(rs, "storage:StorageAccount")
    r["inputs"]["encryption"]["keySource"] = "Microsoft.Storage"
    del r["inputs"]["encryption"]["keyVaultProperties"]
    return r


def azure_backup_vault_microsoft_key(rs):
    r = first(rs, "dataprotection:BackupVault")
    del r["inputs"]["properties"]["securitySettings"]["encryptionSettings"]
    return r


def azure_vault_wide_crypto_grant(rs):
    r = first(rs, "authorization:RoleAssignment", lambda r: r["inputs"].get("roleDefinitionId", "").endswith("e147488a-f6f5-4113-8e2d-b22465e65bf6"))
    r["inputs"]["scope"] = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v"
    return r


def azure_key_not_protected(rs):
    r = first(rs, "keyvault:Key")
    r["protect"] = False
    return r


def secret_without_cmk(rs):
    r = first(rs, "secretsmanager/secret:Secret", lambda r: r["name"].startswith("engine-"))
    del r["inputs"]["kmsKeyId"]
    return r


def log_group_without_cmk(rs):
    r = first(rs, "cloudwatch/logGroup:LogGroup", lambda r: r["name"] == "engine-logs")
    del r["inputs"]["kmsKeyId"]
    return r


def efs_under_aws_managed_key(rs):
    r = first(rs, "efs/fileSystem:FileSystem")
    r["inputs"]["kmsKeyId"] = "alias/aws/elasticfilesystem"
    return r


def topic_without_cmk(rs):
    r = first(rs, "sns/topic:Topic")
    del r["inputs"]["kmsMasterKeyId"]
    return r


def private_service_without_health_check(rs):
    task = first(rs, "ecs/taskDefinition:TaskDefinition", lambda r: r["name"] == "workflow-task")
    defs = json.loads(task["inputs"]["containerDefinitions"]) if isinstance(task["inputs"]["containerDefinitions"], str) else task["inputs"]["containerDefinitions"]
    for c in defs:
        c.pop("healthCheck", None)
    task["inputs"]["containerDefinitions"] = json.dumps(defs)
    return first(rs, "ecs/service:Service", lambda r: r["name"] == "workflow-service")


MUTATIONS = [
    ("public RDS", "autopr", "aws", public_rds, "no-public-datastore"),
    ("literal API key in env", "compyle", "kubernetes", literal_api_key, "no-literal-secret-env"),
    ("HTTP listener that forwards", "autopr", "aws", forwarding_http_listener, "lb-http-redirect-only"),
    ("Deployment running as root", "compyle", "kubernetes", root_deployment, "container-non-root"),
    ("Redis without TLS", "autopr", "aws", redis_without_tls, "redis-require-tls"),
    ("retention 0", "autopr", "aws", retention_zero, "backup-retention"),
    ("secret under the AWS-managed key", "autopr", "aws", secret_without_cmk, "secret-customer-managed-key"),
    ("log group under the AWS-managed key", "autopr", "aws", log_group_without_cmk, "log-group-customer-managed-key"),
    ("EFS under aws/elasticfilesystem", "compyle", "aws", efs_under_aws_managed_key, "efs-customer-managed-key"),
    ("alert topic without a key", "autopr", "aws", topic_without_cmk, "sns-topic-customer-managed-key"),
    ("private ECS service without health check", "copilot", "aws", private_service_without_health_check, "ecs-service-health-checked"),
    ("route without a rate limit", "compyle", "kubernetes", route_without_rate_limit, "ingress-rate-limit"),
    ("HTTP listener route that forwards", "compyle", "kubernetes", http_listener_forwarding, "gateway-http-redirect-only"),
    ("CORS any origin", "chat", "kubernetes", cors_any_origin, "cors-not-wildcard"),
    ("Gateway accepting TLS 1.0", "compyle", "kubernetes", gateway_tls_10, "gateway-tls-policy"),
    ("route without HSTS", "compyle", "kubernetes", route_without_hsts, "hsts-and-security-headers"),
    ("ALB TLS 1.0 policy", "autopr", "aws", alb_tls_10_policy, "lb-tls-policy"),
    ("GCP public Cloud SQL", "autopr", "gcp", gcp_public_sql, "gcp-cloudsql-private"),
    ("GCP Cloud SQL plaintext", "autopr", "gcp", gcp_sql_plaintext, "gcp-cloudsql-tls"),
    ("GCP Cloud SQL without PITR", "autopr", "gcp", gcp_sql_no_pitr, "gcp-cloudsql-backups"),
    ("GCP Cloud SQL deletable", "autopr", "gcp", gcp_sql_unprotected, "gcp-deletion-protection"),
    ("GCP Cloud SQL not protect", "autopr", "gcp", gcp_sql_not_protect, "gcp-stateful-protected"),
    ("GCP Cloud SQL zonal", "autopr", "gcp", gcp_sql_zonal, "gcp-high-availability"),
    ("GCP Redis plaintext", "autopr", "gcp", gcp_redis_plaintext, "gcp-redis-auth-tls"),
    ("GCP Redis without AUTH", "autopr", "gcp", gcp_redis_no_auth, "gcp-redis-auth-tls"),
    ("GCP Cloud Run ingress all", "autopr", "gcp", gcp_run_ingress_all, "gcp-cloudrun-ingress"),
    ("GCP allUsers invoker", "autopr", "gcp", gcp_run_all_users, "gcp-cloudrun-no-public-invoker"),
    ("GCP literal API key", "autopr", "gcp", gcp_run_literal_key, "gcp-cloudrun-secret-refs"),
    ("GCP backend without Cloud Armor", "autopr", "gcp", gcp_armor_detached, "gcp-armor-attached"),
    ("GCP Cloud Armor in preview", "autopr", "gcp", gcp_armor_preview, "gcp-armor-enforced"),
    ("GCP TLS 1.0 policy", "autopr", "gcp", gcp_tls10, "gcp-ssl-policy"),
    ("GCP HTTP map serves", "autopr", "gcp", gcp_http_serves, "gcp-http-redirect-only"),
    ("GCP public bucket", "autopr", "gcp", gcp_public_bucket, "gcp-bucket-not-public"),
    ("GCP VPC without deny-all egress", "autopr", "gcp", gcp_no_deny_egress, "gcp-vpc-default-deny"),
    ("GCP Cloud Run service without its component label", "autopr", "gcp", gcp_unlabelled_service, "resource-labels"),
    ("GCP Cloud SQL without user labels", "autopr", "gcp", gcp_sql_unlabelled, "resource-labels"),
    ("GCP secret under a Google-managed key", "autopr", "gcp", gcp_secret_google_key, "gcp-customer-managed-keys"),
    ("GCP bucket under a Google-managed key", "autopr", "gcp", gcp_bucket_google_key, "gcp-customer-managed-keys"),
    ("Azure public Flexible Server", "autopr", "azure", azure_public_postgres, "azure-no-public-network-access"),
    ("Azure Redis plaintext protocol", "autopr", "azure", azure_redis_plaintext, "azure-redis-require-tls"),
    ("Azure insecure Container App ingress", "autopr", "azure", azure_insecure_ingress, "azure-container-app-https-only"),
    ("Azure vault without purge protection", "autopr", "azure", azure_vault_without_purge_protection, "azure-key-vault-protected"),
    ("Azure WAF detecting in prod", "autopr", "azure", azure_waf_detection, "azure-waf-prevention"),
    ("Azure server not protected", "autopr", "azure", azure_unprotected_server, "azure-stateful-protected"),
    ("Azure literal app secret", "compyle", "azure", azure_literal_secret, "azure-secrets-by-reference"),
    ("Azure require_secure_transport OFF", "autopr", "azure", azure_secure_transport_off, "azure-postgres-require-tls"),
    ("Azure delete lock removed", "autopr", "azure", azure_lock_removed, "azure-delete-lock"),
    ("Azure WAF not linked", "autopr", "azure", azure_waf_unlinked, "azure-front-door-waf"),
    ("Azure vault-wide secret grant", "autopr", "azure", azure_vault_wide_grant, "azure-key-vault-secret-scoped-access"),
    ("Azure server on a Microsoft-managed key", "autopr", "azure", azure_server_microsoft_key, "azure-customer-managed-keys"),
    ("Azure Redis on a Microsoft-managed key", "autopr", "azure", azure_redis_microsoft_key, "azure-customer-managed-keys"),
    ("Azure Files on a Microsoft-managed key", "compyle", "azure", azure_files_microsoft_key, "azure-customer-managed-keys"),
    ("Azure backup vault on a Microsoft-managed key", "autopr", "azure", azure_backup_vault_microsoft_key, "azure-customer-managed-keys"),
    ("Azure vault-wide crypto grant", "autopr", "azure", azure_vault_wide_crypto_grant, "azure-customer-managed-keys"),
    ("Azure customer-managed key not protected", "autopr", "azure", azure_key_not_protected, "azure-stateful-protected"),
]


@pytest.mark.parametrize("label,app,cloud,mutate,rule", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_mutation_fires_through_prodkit_check(label, app, cloud, mutate, rule, tmp_path, capsys):
    resources = copy.deepcopy(inventory(app, cloud))
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps({"profile": "prod", "resources": resources}))
    assert cli.main(["check", str(clean), "--format", "json"]) == 0, capsys.readouterr().out
    capsys.readouterr()

    broken = mutate(resources)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"profile": "prod", "resources": resources}))
    assert cli.main(["check", str(bad), "--format", "json"]) == 1
    violations = json.loads(capsys.readouterr().out)["violations"]
    fired = {(v["policy"], v["urn"]) for v in violations if v["level"] == "mandatory"}
    assert (rule, broken["urn"]) in fired, f"{label}: {rule} did not fire on {broken['urn']}; got {sorted(fired)}"


def _opts(r: dict[str, Any]) -> PolicyResourceOptions:
    return PolicyResourceOptions(r.get("protect", False), r.get("ignoreChanges", []), None, [], PolicyCustomTimeouts(0, 0, 0), [], r.get("parent"))


@pytest.mark.parametrize("label,app,cloud,mutate,rule", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_mutation_fires_through_the_crossguard_adapter(label, app, cloud, mutate, rule):
    resources = copy.deepcopy(inventory(app, cloud))
    broken = mutate(resources)
    spec = RULE[rule]
    reported: list[tuple[str, str | None]] = []
    if spec.scope == "resource":
        policy = make_resource_policy(spec)
        args = ResourceValidationArgs(broken["type"], unknown_checking_proxy(broken["inputs"]), broken["urn"], broken["name"], _opts(broken), None)
        policy.validate(args, lambda message, urn=None: reported.append((message, urn)))
    else:
        policy = make_stack_policy(spec)
        stack = [
            PolicyResource(r["type"], unknown_checking_proxy(r["inputs"]), r["urn"], r["name"], _opts(r), None, [], {}, [])
            for r in resources
        ]
        policy.validate(StackValidationArgs(stack, None), lambda message, urn=None: reported.append((message, urn)))
    assert any(urn == broken["urn"] for _, urn in reported), f"{label}: adapter reported {reported}"
