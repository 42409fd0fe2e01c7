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


def ingress_without_rate_limit(rs):
    r = first(rs, "networking.k8s.io/v1:Ingress")
    for key in list(r["inputs"]["metadata"]["annotations"]):
        if "limit-r" in key:
            del r["inputs"]["metadata"]["annotations"][key]
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


MUTATIONS = [
    ("public RDS", "autopr", "aws", public_rds, "no-public-datastore"),
    ("literal API key in env", "compyle", "kubernetes", literal_api_key, "no-literal-secret-env"),
    ("HTTP listener that forwards", "autopr", "aws", forwarding_http_listener, "lb-http-redirect-only"),
    ("Deployment running as root", "compyle", "kubernetes", root_deployment, "container-non-root"),
    ("Redis without TLS", "autopr", "aws", redis_without_tls, "redis-require-tls"),
    ("retention 0", "autopr", "aws", retention_zero, "backup-retention"),
    ("missing rate limit", "compyle", "kubernetes", ingress_without_rate_limit, "ingress-rate-limit"),
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
