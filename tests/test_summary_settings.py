"""The settings `prodkit plan` shows (and the stack goldens record) for Azure and AWS resources: the ones a reviewer
checks before approving (public access, TLS, HA, backups, WAF mode, KMS keys, drain and stop timeouts)."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from conftest import planned
from stacks import summary


def _text(app: str, profile: str, cloud: str, inventory=None) -> str:
    cfg, planned_inventory, _ = planned(app, profile, cloud)
    return summary.text(cfg, inventory or planned_inventory, [], [], Path("out"))


def _line(text: str, name: str) -> str:
    """The plan line of the resource called `name`."""
    found = [line for line in text.splitlines() if re.match(rf"  \S+ {re.escape(name)}( |$)", line)]
    assert len(found) == 1, (name, found)
    return found[0]


def test_azure_prod_plan_shows_the_security_and_resilience_settings():
    text = _text("arches", "prod", "azure")
    server = _line(text, "postgres-server")
    assert "highAvailability.mode=ZoneRedundant" in server and "publicNetworkAccess=Disabled" in server
    assert '"backupRetentionDays": 30' in server and '"geoRedundantBackup": "Enabled"' in server
    assert "value=TLSv1.2" in _line(text, "postgres-param-ssl-min-protocol-version")
    assert "value=ON" in _line(text, "postgres-param-require-secure-transport")
    cluster = _line(text, "redis-cluster")
    assert "highAvailability=Enabled" in cluster and "minimumTlsVersion=1.2" in cluster and "publicNetworkAccess=Disabled" in cluster
    db = _line(text, "redis-database")
    assert "clientProtocol=Encrypted" in db and "evictionPolicy=AllKeysLRU" in db
    app = _line(text, "api-app")
    assert "allowInsecure=false" in app and "external=true" in app and "minReplicas=" in app and "maxReplicas=" in app
    assert '"cpu": 1' in app and '"memory": "2Gi"' in app
    vault = _line(text, "network-vault")
    assert "enablePurgeProtection=true" in vault and "enableRbacAuthorization=true" in vault and "defaultAction=Deny" in vault
    env = _line(text, "network-environment")
    assert "zoneRedundant=true" in env and "internal=true" in env and "publicNetworkAccess=Disabled" in env
    waf = _line(text, "ingress-waf")
    assert "policySettings.mode=Prevention" in waf and "ruleSetType=Microsoft_DefaultRuleSet" in waf
    assert "minimumTlsVersion=TLS12" in _line(text, "ingress-domain")
    assert "forwardingProtocol=HttpsOnly" in _line(text, "ingress-route-root")
    assert "level=CanNotDelete" in _line(text, "postgres-lock")


def test_azure_staging_plan_shows_what_staging_relaxes():
    backup = _line(_text("arches", "staging", "azure"), "backups-vault")
    assert '"type": "LocallyRedundant"' in backup and '"state": "Unlocked"' in backup
    assert '"geoRedundantBackup": "Disabled"' in _line(_text("arches", "staging", "azure"), "postgres-server")


def test_a_weakened_azure_setting_shows_in_the_plan():
    _, inventory, _ = planned("compyle", "prod", "azure")
    weak = copy.deepcopy(inventory)
    storage = next(r for r in weak.resources if r.name == "fastapi-files")
    storage.inputs["publicNetworkAccess"] = "Enabled"
    storage.inputs["minimumTlsVersion"] = "TLS1_0"
    line = _line(_text("compyle", "prod", "azure", weak), "fastapi-files")
    assert "publicNetworkAccess=Enabled" in line and "minimumTlsVersion=TLS1_0" in line
    assert "publicNetworkAccess=Disabled" in _line(_text("compyle", "prod", "azure"), "fastapi-files")


def test_aws_plan_shows_kms_keys_drain_stop_and_connect_timeouts():
    text = _text("compyle", "prod", "aws")
    for name in ("fastapi-secret-anthropic-api-key", "fastapi-logs", "fastapi-workspaces-fs", "postgres-url"):
        assert "kmsKeyId=network-key" in _line(text, name), name  # the key by name, not a mock ARN
    assert "kmsMasterKeyId=network-key" in _line(text, "monitoring-topic")
    assert "deregistrationDelay=600" in _line(text, "fastapi-tg")
    assert "stopTimeout=120" in _line(text, "fastapi-task")  # the app container's, read from containerDefinitions
    service = _line(text, "fastapi-service")
    assert '"perRequestTimeoutSeconds": 600' in service and "enableExecuteCommand=false" in service
    assert "upstreamRegistryUrl=public.ecr.aws" in _line(text, "network-ptc-ecr-public")
    assert "functionName=" in _line(text, "postgres-bootstrap-run")
    assert "enableKeyRotation=true" in _line(text, "postgres-key")


@pytest.mark.parametrize("cloud", ["aws", "azure"])
@pytest.mark.parametrize("app", ["compyle", "arches"])
def test_plan_text_has_no_mock_ids_or_mock_arns(app, cloud):
    text = _text(app, "prod", cloud)
    assert not re.search(r"\bid-[0-9a-f]{12}\b", text)
    assert not re.search(r"arn:aws:[a-z0-9-]+:[a-z0-9-]*:\d{12}:[a-z0-9-]+-(key|topic|role)\b", text)


def test_stack_goldens_record_the_azure_settings():
    import goldens

    _, inventory, _ = planned("arches", "prod", "azure")
    snap = goldens.snapshot(inventory.custom(), full_inputs=False)["resources"]
    assert snap["postgres-server"]["settings"]["network.publicNetworkAccess"] == "Disabled"
    assert snap["redis-database"]["settings"]["clientProtocol"] == "Encrypted"
    assert snap["network-vault"]["settings"]["properties.enablePurgeProtection"] is True
    stateful = ("azure-native:dbforpostgresql:Server", "azure-native:redisenterprise:RedisEnterprise", "azure-native:keyvault:Vault",
                "azure-native:app:ContainerApp", "azure-native:frontdoor:Policy", "azure-native:dataprotection:BackupVault")
    for name, entry in snap.items():
        if entry["type"] in stateful:
            assert entry.get("settings"), f"{name} ({entry['type']}) records no settings"


def test_setting_reads_json_strings_selectors_and_misses():
    inputs = {"containerDefinitions": '[{"name": "init", "stopTimeout": 5}, {"name": "app", "stopTimeout": 120}]',
              "a": {"b": [{"c": 1}]}, "s": "plain"}
    assert summary.setting(inputs, "containerDefinitions.name=app.stopTimeout") == 120
    assert summary.setting(inputs, "containerDefinitions.0.stopTimeout") == 5
    assert summary.setting(inputs, "containerDefinitions.name=sidecar.stopTimeout") is None
    assert summary.setting(inputs, "a.b.0.c") == 1
    assert summary.setting(inputs, "a.b.3.c") is None
    assert summary.setting(inputs, "s.x") is None
    assert summary.setting({"j": "[not json"}, "j.0") is None


def test_generic_last_parts_are_labelled_with_their_parent():
    assert summary._label("policySettings.mode") == "policySettings.mode"
    assert summary._label("configuration.ingress.external") == "external"
    assert summary._label("rules") == "rules"
    assert summary._label("managedRules.managedRuleSets.0") == "managedRules.managedRuleSets.0"
