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
