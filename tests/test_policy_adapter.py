"""The CrossGuard adapters driven in-process: fake analyzer arguments in, reported violations out.

The analyzer wraps props in unknown-checking proxies and hands plaintext secrets; these tests build the same
argument objects (pulumi_policy's own classes and proxy) and never construct a PolicyPack (that starts a gRPC
server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import (
    EnforcementLevel, PolicyResource, PolicyResourceOptions, PolicyCustomTimeouts, ResourceValidationArgs,
    ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

import policies
from policies.adapter import all_policies, make_resource_policy, make_stack_policy, plain
from policies.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
RULE = {r.id: r for r in RULES}
LABELS = {"app": "demo", "stack": "prod", "component": "postgres", "managed-by": "prodkit"}


def opts(protect: bool = False, ignore_changes: list[str] | None = None, parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, ignore_changes or [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def resource_args(type_: str, props: dict, name: str = "x", **kw: Any) -> ResourceValidationArgs:
    urn = f"urn:pulumi:prod::prodkit::{type_}::{name}"
    return ResourceValidationArgs(type_, unknown_checking_proxy(props), urn, name, opts(**kw), None)


class Collector:
    def __init__(self) -> None:
        self.violations: list[tuple[str, str | None]] = []

    def __call__(self, message: str, urn: str | None = None) -> None:
        self.violations.append((message, urn))


def run(policy: ResourceValidationPolicy, args: ResourceValidationArgs) -> list[tuple[str, str | None]]:
    report = Collector()
    policy.validate(args, report)
    return report.violations


RDS = "aws:rds/instance:Instance"
RDS_OK = {"engine": "postgres", "identifier": "db", "storageEncrypted": True, "publiclyAccessible": False, "dbSubnetGroupName": "g",
          "multiAz": True, "deletionProtection": True, "backupRetentionPeriod": 30.0, "tags": LABELS}


def test_public_rds_reported_with_urn() -> None:
    policy = make_resource_policy(RULE["no-public-datastore"])
    args = resource_args(RDS, {**RDS_OK, "publiclyAccessible": True}, name="postgres-instance")
    assert run(policy, args) == [("publiclyAccessible is true: the database gets a public DNS name and address", args.urn)]
    assert run(policy, resource_args(RDS, RDS_OK)) == []


def test_literal_api_key_in_deployment_env() -> None:
    container = {"name": "api", "image": "ghcr.io/a/api:1.0.0", "env": [{"name": "OPENAI_API_KEY", "value": "sk-live-123"}]}
    props = {"metadata": {"name": "api"}, "spec": {"template": {"spec": {"containers": [container]}}}}
    found = run(make_resource_policy(RULE["no-literal-secret-env"]), resource_args("kubernetes:apps/v1:Deployment", props))
    assert [m for m, _ in found] == ["container api: OPENAI_API_KEY has a literal value; use valueFrom.secretKeyRef"]


def test_http_listener_that_forwards() -> None:
    props = {"protocol": "HTTP", "port": 80.0, "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}]}
    found = run(make_resource_policy(RULE["lb-http-redirect-only"]), resource_args("aws:lb/listener:Listener", props))
    assert len(found) == 1 and "its only action must be a redirect to HTTPS" in found[0][0]


def test_root_container_and_float_numbers() -> None:
    """CrossGuard numbers arrive as floats (JSON): runAsUser 0.0 is root."""
    container = {"name": "api", "securityContext": {"runAsUser": 0.0, "runAsNonRoot": False}}
    props = {"spec": {"template": {"spec": {"containers": [container]}}}}
    found = run(make_resource_policy(RULE["container-non-root"]), resource_args("kubernetes:apps/v1:Deployment", props))
    assert [m for m, _ in found] == ["container api: runAsUser is 0 (root)"]


def test_redis_without_tls() -> None:
    props = {"transitEncryptionEnabled": False, "authToken": "tok", "atRestEncryptionEnabled": True}
    found = run(make_resource_policy(RULE["redis-require-tls"]), resource_args("aws:elasticache/replicationGroup:ReplicationGroup", props))
    assert [m for m, _ in found][0].startswith("transitEncryptionEnabled is not true")


def test_database_url_checked_in_clear_under_crossguard() -> None:
    """The analyzer hands secret values in clear, so the sslmode check that prodkit plan cannot do runs here."""
    policy = make_resource_policy(RULE["database-url-sslmode"])
    bad = resource_args("aws:secretsmanager/secretVersion:SecretVersion", {"secretString": "postgresql://a:b@db:5432/app"})
    good = resource_args("aws:secretsmanager/secretVersion:SecretVersion", {"secretString": "postgresql://a:b@db:5432/app?sslmode=require"})
    assert [m for m, _ in run(policy, bad)] == ["a Postgres URL to db has sslmode=(unset); add sslmode=require"]
    assert run(policy, good) == []


def test_protect_and_ignore_changes_come_from_opts() -> None:
    protect = make_resource_policy(RULE["stateful-protected"])
    assert run(protect, resource_args(RDS, RDS_OK, protect=True)) == []
    assert len(run(protect, resource_args(RDS, RDS_OK, protect=False))) == 1
    ha = make_resource_policy(RULE["high-availability"])
    dep = {"spec": {"replicas": 1.0}}
    assert len(run(ha, resource_args("kubernetes:apps/v1:Deployment", dep))) == 1
    assert run(ha, resource_args("kubernetes:apps/v1:Deployment", dep, ignore_changes=["spec.replicas"])) == []


def test_unknown_values_do_not_raise_or_fire() -> None:
    """A value unknown during preview is "cannot tell": no UnknownValueError, no violation."""
    props = {"transitEncryptionEnabled": UNKNOWN_STRING_VALUE, "authToken": "tok"}
    assert run(make_resource_policy(RULE["redis-require-tls"]), resource_args("aws:elasticache/replicationGroup:ReplicationGroup", props)) == []
    task = {"cpu": "256", "memory": "512", "containerDefinitions": UNKNOWN_STRING_VALUE}
    assert run(make_resource_policy(RULE["container-non-root"]), resource_args("aws:ecs/taskDefinition:TaskDefinition", task)) == []


def test_resource_policy_ignores_other_types() -> None:
    assert run(make_resource_policy(RULE["no-public-datastore"]), resource_args("aws:s3/bucket:Bucket", {"bucket": "b"})) == []


def test_plain_unwraps_nested_proxies() -> None:
    raw = {"a": [{"b": UNKNOWN_STRING_VALUE}, 1.0], "c": {"d": "x"}}
    out = plain(unknown_checking_proxy(raw))
    assert out["c"] == {"d": "x"} and out["a"][1] == 1.0 and str(out["a"][0]["b"]) == "<unknown>"
    assert isinstance(out["a"], list) and isinstance(out["c"], dict)


def _stack_resource(type_: str, name: str, props: dict, parent: str = "urn:edge") -> PolicyResource:
    urn = f"urn:pulumi:prod::prodkit::{type_}::{name}"
    return PolicyResource(type_, unknown_checking_proxy(props), urn, name, opts(parent=parent), None, None, [], {})


def test_stack_policy_missing_rate_limit() -> None:
    alb = _stack_resource("aws:lb/loadBalancer:LoadBalancer", "edge-alb", {"internal": False, "loadBalancerType": "application"})
    acl = _stack_resource("aws:wafv2/webAcl:WebAcl", "edge-waf", {"rules": [{"name": "managed", "statement": {"managedRuleGroupStatement": {}}}]})
    # ARNs are unknown during a first preview: the association is matched to its ALB and ACL by their component.
    assoc = _stack_resource("aws:wafv2/webAclAssociation:WebAclAssociation", "edge-waf-assoc",
                            {"resourceArn": UNKNOWN_STRING_VALUE, "webAclArn": UNKNOWN_STRING_VALUE})
    report = Collector()
    make_stack_policy(RULE["alb-waf-rate-limit"]).validate(StackValidationArgs([alb, acl, assoc]), report)
    assert report.violations == [("the ALB's web ACL has no rate-based rule: clients are not rate-limited", alb.urn)]
    rated = _stack_resource("aws:wafv2/webAcl:WebAcl", "edge-waf", {"rules": [{"name": "rate", "action": {"block": {}}, "statement": {"rateBasedStatement": {"limit": 600.0}}}]})
    report = Collector()
    make_stack_policy(RULE["alb-waf-rate-limit"]).validate(StackValidationArgs([alb, rated, assoc]), report)
    assert report.violations == []


def test_stack_policy_networkpolicy_default_deny() -> None:
    ns = _stack_resource("kubernetes:core/v1:Namespace", "net-namespace", {"metadata": {"name": "demo-prod"}})
    report = Collector()
    make_stack_policy(RULE["networkpolicy-default-deny"]).validate(StackValidationArgs([ns]), report)
    assert report.violations == [("namespace demo-prod has no default-deny NetworkPolicy: every pod may talk to every other pod", ns.urn)]


def test_all_policies_kinds_and_names() -> None:
    pols = all_policies()
    by_name = {p.name: p for p in pols}
    crossguard = [r for r in RULES if "crossguard" in r.engines]
    assert set(by_name) == {r.id for r in crossguard}
    for r in crossguard:
        assert isinstance(by_name[r.id], StackValidationPolicy if r.scope == "stack" else ResourceValidationPolicy)
    # Plan-only rules rely on redaction the analyzer does not do.
    assert "no-secret-in-workload-spec" not in by_name and "secret-values-marked-secret" not in by_name


def _effective_level(policy: Any, config: dict[str, Any]) -> EnforcementLevel:
    """What the analyzer applies (pulumi_policy _get_enforcement_level): the CLI expands `all` to every policy;
    a per-policy entry wins; else the policy's own level; else the pack default (advisory)."""
    value = config.get(policy.name, config.get("all"))
    if isinstance(value, dict):
        value = value.get("enforcementLevel")
    if value is not None:
        return EnforcementLevel(value)
    return policy.enforcement_level or EnforcementLevel.ADVISORY


@pytest.mark.parametrize("profile,expected", [("prod", "mandatory"), ("staging", "advisory")])
def test_config_files_set_the_level(profile: str, expected: str) -> None:
    config = json.loads((ROOT / "policies" / "config" / f"{profile}.json").read_text())
    levels = {p.name: _effective_level(p, config) for p in all_policies()}
    prod_only = {r.id for r in RULES if r.prod_only}
    for name, level in levels.items():
        if profile == "staging" and name in prod_only:
            assert level == EnforcementLevel.DISABLED
        else:
            assert level == EnforcementLevel(expected), name
    # The same choice as prodkit plan / prodkit check.
    assert policies.level_for(profile) == expected


def test_default_is_advisory_and_explicit_levels_apply() -> None:
    assert all(_effective_level(p, {}) == EnforcementLevel.ADVISORY for p in all_policies())
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in all_policies("mandatory"))


def test_main_constructs_the_pack_with_advisory_default() -> None:
    """__main__.py is the only PolicyPack construction; read it rather than run it (running serves gRPC forever)."""
    source = (ROOT / "policies" / "__main__.py").read_text()
    assert source.count("PolicyPack(") == 1 and "enforcement_level=EnforcementLevel.ADVISORY" in source
    assert "policies=all_policies()" in source
    for path in (ROOT / "policies").rglob("*.py"):
        if path.name != "__main__.py":
            assert "PolicyPack(" not in path.read_text(), path
