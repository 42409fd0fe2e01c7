"""AWS backends of TlsIngress, Autoscaler, BackupSchedule and Monitoring.

Network/WebService/ManagedPostgres/ManagedRedis are stand-ins carrying only the AWS `.handle` / `.link` contract
these backends may read, so each test exercises one backend; the last test composes the real components.
"""

from __future__ import annotations

import json
from types import SimpleNamespace as NS

import pytest

from components import (
    AlertThresholds, Autoscaler, AutoscalerArgs, BackupSchedule, BackupScheduleArgs, InputError, ManagedPostgres,
    ManagedPostgresArgs, ManagedRedis, ManagedRedisArgs, Monitoring, MonitoringArgs, Network, NetworkArgs, Probe,
    Probes, QueueTrigger, Route, ScalingPolicy, ScheduledScaling, SecurityHeaders, TlsIngress, TlsIngressArgs,
    VolumeBackup, WebService, WebServiceArgs,
)
from components._core import Cloud, Link, Platform, SecretRef
from components.backup_schedule import AwsBackupOptions
from components.network import AwsNetworkOptions
from components.backup_schedule._aws import to_aws_cron
from components.tls_ingress import AwsIngressOptions
from stacks import engine

PROD = Platform(cloud=Cloud.AWS, app="demo", stack="prod", region="us-east-1")
STAGING = Platform(cloud=Cloud.AWS, app="demo", stack="staging", region="us-east-1")


# ---- stand-ins -------------------------------------------------------------------------------------------------

def network():
    return NS(handle=NS(vpc_id="vpc-1", cidr="10.0.0.0/16", public_subnet_ids=["subnet-a", "subnet-b"],
                        private_subnet_ids=["subnet-c"], isolated_subnet_ids=["subnet-d"], lb_security_group_id="sg-alb"))


def service(name, port, *, public=True, volumes=()):
    return NS(handle=NS(
        name=name, cluster_name=f"demo-prod-{name}", service_name=f"demo-prod-{name}", security_group_id=f"sg-{name}",
        target_group_arn=f"arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/{name}/1" if public else None,
        target_group_arn_suffix=f"targetgroup/{name}/1" if public else None, port=port, log_group_name=f"/ecs/{name}",
        file_systems={v: NS(id=f"fs-{v}", arn=f"arn:aws:elasticfilesystem:us-east-1:1:file-system/fs-{v}") for v in volumes},
        probes=None, public=public, task_role_id=f"{name}-task-role", internet_egress=True,
        kms_key_arn="arn:aws:kms:us-east-1:123456789012:net-key",
    ))


def postgres_store():
    return NS(
        handle=NS(instance_identifier="demo-prod-db", instance_arn="arn:aws:rds:us-east-1:1:db:demo-prod-db", security_group_id="sg-db"),
        link=Link(kind="postgres", name="db", port=5432, env={"DATABASE_URL": SecretRef("arn:secret:db")}, peer="sg-db"),
    )


def redis_store():
    return NS(
        handle=NS(replication_group_id="demo-prod-cache", security_group_id="sg-cache"),
        link=Link(kind="redis", name="cache", port=6379, env={"REDIS_URL": SecretRef("arn:secret:cache")}, peer="sg-cache"),
    )


def ingress_args(routes, **kwargs):
    return TlsIngressArgs(network=network(), domain="app.example.com", routes=routes, **kwargs)


def plan_ingress(platform=PROD, **kwargs):
    api, web = service("api", 8000), service("web", 3000)
    routes = kwargs.pop("routes", None) or [
        Route(path="/api/agents", service=api, timeout_seconds=600, rate_limit_per_minute=60),
        Route(path="/api/stream", service=api, streaming=True),
        Route(path="/", service=web, rate_limit_per_minute=100),
    ]
    return engine.run(lambda: TlsIngress("edge", ingress_args(routes, **kwargs), platform), stack=platform.stack)


def rules_of(inv, acl="edge-waf"):
    return {r["name"]: r for r in inv.named(acl).inputs["rules"]}


def refused(build) -> tuple[InputError, list]:
    """Run `build` under the engine, catching its InputError: return it and what was registered."""
    caught: list[InputError] = []

    def program():
        try:
            build()
        except InputError as exc:
            caught.append(exc)

    inv = engine.run(program)
    assert caught, "expected an InputError"
    return caught[0], inv.resources


# ---- TlsIngress ----------------------------------------------------------------------------------------------

def test_http_listener_only_redirects_to_https_with_301():
    actions = plan_ingress().named("edge-http").inputs["defaultActions"]
    assert actions == [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]


def test_https_listener_uses_tls13_policy_and_the_validated_certificate():
    https = plan_ingress().named("edge-https").inputs
    assert (https["port"], https["protocol"]) == (443, "HTTPS")
    assert https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["certificateArn"].endswith(":edge-cert")


def test_https_listener_sets_hsts_and_security_headers_and_hides_server():
    inv = plan_ingress(headers=SecurityHeaders(content_security_policy="default-src 'self'", frame_options="DENY"))
    https = inv.named("edge-https").inputs
    assert https["routingHttpResponseStrictTransportSecurityHeaderValue"] == "max-age=31536000; includeSubDomains"
    assert https["routingHttpResponseXContentTypeOptionsHeaderValue"] == "nosniff"
    assert https["routingHttpResponseXFrameOptionsHeaderValue"] == "DENY"
    assert https["routingHttpResponseContentSecurityPolicyHeaderValue"] == "default-src 'self'"
    assert https["routingHttpResponseServerEnabled"] is False


def test_root_route_is_the_default_action_and_other_routes_are_rules_longest_first():
    inv = plan_ingress()
    assert inv.named("edge-https").inputs["defaultActions"] == [
        {"type": "forward", "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/1"}]
    rules = sorted(inv.of_type("lb/listenerRule:ListenerRule"), key=lambda r: r.inputs["priority"])
    assert [r.inputs["conditions"][0]["pathPattern"]["values"] for r in rules] == [
        ["/api/agents", "/api/agents/*"], ["/api/stream", "/api/stream/*"]]
    assert all(r.inputs["actions"][0]["targetGroupArn"].endswith("targetgroup/api/1") for r in rules)


def test_without_root_route_the_default_action_is_404():
    api = service("api", 8000)
    inv = plan_ingress(routes=[Route(path="/api", service=api)])
    action = inv.named("edge-https").inputs["defaultActions"][0]
    assert action["type"] == "fixed-response" and action["fixedResponse"]["statusCode"] == "404"


def test_alb_drops_invalid_headers_and_uses_strictest_desync_mitigation():
    alb = plan_ingress().named("edge-alb").inputs
    assert alb["dropInvalidHeaderFields"] is True
    assert alb["desyncMitigationMode"] == "strictest"
    assert alb["internal"] is False and alb["subnets"] == ["subnet-a", "subnet-b"] and alb["securityGroups"] == ["sg-alb"]


def test_alb_deletion_protection_on_in_prod_off_in_staging():
    assert plan_ingress(PROD).named("edge-alb").inputs["enableDeletionProtection"] is True
    assert plan_ingress(STAGING, deletion_protection=False).named("edge-alb").inputs["enableDeletionProtection"] is False


def test_idle_timeout_covers_the_600s_agent_route():
    assert plan_ingress().named("edge-alb").inputs["idleTimeout"] == 600


def test_idle_timeout_is_at_least_60_seconds():
    api = service("api", 8000)
    inv = plan_ingress(routes=[Route(path="/", service=api, timeout_seconds=10)])
    assert inv.named("edge-alb").inputs["idleTimeout"] == 60


def test_security_group_admits_80_443_from_anywhere_and_egresses_only_to_services():
    inv = plan_ingress()
    ingress = {(r.inputs["fromPort"], r.inputs.get("cidrIpv4") or r.inputs.get("cidrIpv6")) for r in inv.of_type("SecurityGroupIngressRule")}
    assert ingress == {(443, "0.0.0.0/0"), (80, "0.0.0.0/0")}
    # The ALB is IPv4-only: no IPv6 rule on its security group.
    assert inv.named("edge-alb").inputs["ipAddressType"] == "ipv4"
    assert all("cidrIpv6" not in r.inputs for r in inv.of_type("SecurityGroupIngressRule"))
    egress = {(r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"]) for r in inv.of_type("SecurityGroupEgressRule")}
    assert egress == {("sg-api", 8000), ("sg-web", 3000)}
    assert all("cidrIpv4" not in r.inputs for r in inv.of_type("SecurityGroupEgressRule"))


def test_waf_rate_rules_block_with_429_in_block_mode():
    rules = rules_of(plan_ingress(waf_mode="block"))
    agents = rules["rate-api-agents"]
    assert agents["action"] == {"block": {"customResponse": {"responseCode": 429}}}
    statement = agents["statement"]["rateBasedStatement"]
    assert (statement["limit"], statement["evaluationWindowSec"], statement["aggregateKeyType"]) == (60, 60, "IP")
    assert statement["scopeDownStatement"] == {"orStatement": {"statements": [
        {"byteMatchStatement": {"searchString": "/api/agents", "positionalConstraint": "EXACTLY", "fieldToMatch": {"uriPath": {}},
                                "textTransformations": [{"priority": 0, "type": "NONE"}]}},
        {"byteMatchStatement": {"searchString": "/api/agents/", "positionalConstraint": "STARTS_WITH", "fieldToMatch": {"uriPath": {}},
                                "textTransformations": [{"priority": 0, "type": "NONE"}]}},
    ]}}
    assert rules["rate-root"]["statement"]["rateBasedStatement"]["limit"] == 100


def waf_matches(statement, path):
    """Evaluate a WAF scope-down statement (as registered) against a request path, as WAF does."""
    if statement is None:
        return True
    if "andStatement" in statement:
        return all(waf_matches(s, path) for s in statement["andStatement"]["statements"])
    if "orStatement" in statement:
        return any(waf_matches(s, path) for s in statement["orStatement"]["statements"])
    if "notStatement" in statement:
        return not waf_matches(statement["notStatement"]["statement"], path)
    byte = statement["byteMatchStatement"]
    assert byte["fieldToMatch"] == {"uriPath": {}} and byte["textTransformations"] == [{"priority": 0, "type": "NONE"}]
    value, how = byte["searchString"], byte["positionalConstraint"]
    return path == value if how == "EXACTLY" else path.startswith(value) if how == "STARTS_WITH" else pytest.fail(how)


def waf_depth(statement):
    """Logical nesting levels below the scope-down statement (a rate-based scope-down allows two)."""
    for key, many in (("andStatement", "statements"), ("orStatement", "statements"), ("notStatement", "statement")):
        if key in statement:
            inner = statement[key][many]
            return 1 + max(waf_depth(s) for s in (inner if isinstance(inner, list) else [inner]))
    return 0


def counted_by(inv, path, acl="edge-waf"):
    """The rate rules that count a request for `path`."""
    return {name for name, r in rules_of(inv, acl).items() if name.startswith("rate-")
            and waf_matches(r["statement"]["rateBasedStatement"].get("scopeDownStatement"), path)}


@pytest.mark.parametrize("paths, requests", [
    # chat: /api/auth (tight) nested in /api, /health, "/" the rest
    (["/api/auth", "/api", "/health", "/"], {
        "/api/auth": "api-auth", "/api/auth/session": "api-auth", "/api": "api", "/api/1/chat": "api",
        "/api/authX": "api", "/apiX": "root", "/api-docs": "root", "/health": "health", "/healthz": "root",
        "/": "root", "/login": "root"}),
    # compyle: two siblings under /api, no /api route
    (["/api/agents", "/api/stream", "/"], {
        "/api/agents": "api-agents", "/api/agents/1/run": "api-agents", "/api/stream/x": "api-stream",
        "/api/streams": "root", "/api/other": "root", "/": "root"}),
    # arches: /api, /health and /
    (["/api", "/health", "/"], {"/api/v1/x": "api", "/api": "api", "/health": "health", "/health/deep": "health",
                                "/apiv2": "root", "/index.html": "root"}),
    # three levels, no root: /a/b/c inside /a/b inside /a; requests outside every route are counted by none
    (["/a", "/a/b", "/a/b/c"], {"/a/x": "a", "/a/b": "a-b", "/a/b/x": "a-b", "/a/b/c/d": "a-b-c", "/b": None}),
])
def test_each_request_is_counted_by_its_most_specific_route_only(paths, requests):
    api = service("api", 8000)
    inv = plan_ingress(routes=[Route(path=p, service=api) for p in paths])
    for path, role in requests.items():
        assert counted_by(inv, path) == ({f"rate-{role}"} if role else set()), path
    for rule in rules_of(inv).values():
        scope = rule["statement"].get("rateBasedStatement", {}).get("scopeDownStatement")
        assert scope is None or waf_depth(scope) <= 2


def test_only_the_root_route_counts_everything_without_scope_down():
    inv = plan_ingress(routes=[Route(path="/", service=service("web", 3000))])
    assert "scopeDownStatement" not in rules_of(inv)["rate-root"]["statement"]["rateBasedStatement"]


def test_waf_only_counts_in_count_mode():
    rules = rules_of(plan_ingress(STAGING, waf_mode="count"))
    assert rules["rate-api-agents"]["action"] == {"count": {}}
    assert rules["AWSManagedRulesCommonRuleSet"]["overrideAction"] == {"count": {}}


def test_waf_has_the_managed_rule_groups_and_is_associated_with_the_alb():
    inv = plan_ingress()
    acl = inv.named("edge-waf").inputs
    assert acl["scope"] == "REGIONAL" and acl["defaultAction"] == {"allow": {}}
    rules = rules_of(inv)
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"):
        assert rules[group]["statement"]["managedRuleGroupStatement"] == {**rules[group]["statement"]["managedRuleGroupStatement"], "vendorName": "AWS", "name": group}
        assert rules[group]["overrideAction"] == {"none": {}}
        assert rules[group]["visibilityConfig"]["cloudwatchMetricsEnabled"] is True
    assoc = inv.named("edge-waf-association").inputs
    assert assoc["resourceArn"].endswith(":edge-alb") and assoc["webAclArn"].endswith(":edge-waf")
    assert len({r["priority"] for r in rules.values()}) == len(rules)


def test_access_log_bucket_is_encrypted_private_versioned_and_expires():
    inv = plan_ingress(access_log_retention_days=30)
    sse = inv.named("edge-logs-encryption").inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert sse == {"sseAlgorithm": "AES256"}  # ALB log delivery supports SSE-S3 only
    block = inv.named("edge-logs-public-access").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert inv.named("edge-logs-ownership").inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert inv.named("edge-logs-versioning").inputs["versioningConfiguration"] == {"status": "Enabled"}
    rule = inv.named("edge-logs-lifecycle").inputs["rules"][0]
    assert rule["status"] == "Enabled" and rule["expiration"] == {"days": 30}
    assert inv.named("edge-alb").inputs["accessLogs"]["enabled"] is True


def test_access_log_bucket_policy_admits_log_delivery_and_denies_plain_http():
    policy = json.loads(plan_ingress().named("edge-logs-policy").inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    delivery = by_sid["ElbLogDelivery"]
    assert delivery["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject" and "/alb/AWSLogs/" in delivery["Resource"]
    deny = by_sid["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_access_log_bucket_protected_in_prod_not_in_staging():
    prod = plan_ingress(PROD).named("edge-logs")
    assert prod.protect and prod.retain_on_delete and prod.inputs["forceDestroy"] is False
    assert not plan_ingress(STAGING, deletion_protection=False).named("edge-logs").protect


def test_hosted_zone_gives_dns_validation_and_alias_record():
    inv = plan_ingress(aws=AwsIngressOptions(hosted_zone_id="Z123"))
    record = inv.named("edge-cert-validation-record").inputs
    assert record["zoneId"] == "Z123" and record["type"] == "CNAME"
    assert inv.named("edge-cert-validation").inputs["validationRecordFqdns"]
    alias = inv.named("edge-alias").inputs
    assert alias["type"] == "A" and alias["name"] == "app.example.com" and alias["aliases"][0]["evaluateTargetHealth"] is True
    assert alias["zoneId"] == "Z123"
    assert alias["aliases"][0]["name"] == "edge-alb.us-east-1.elb.amazonaws.com" and alias["aliases"][0]["zoneId"] == "Z35SXDOTRQ7X7K"
    # IPv4-only ALB: an A alias and no AAAA.
    assert sorted(r.inputs["type"] for r in inv.of_type("route53/record:Record")) == ["A", "CNAME"]


def test_without_hosted_zone_no_dns_records_are_created():
    inv = plan_ingress()
    assert not inv.of_type("route53/record:Record")
    assert inv.named("edge-cert").inputs == {**inv.named("edge-cert").inputs, "validationMethod": "DNS", "domainName": "app.example.com"}


def test_without_hosted_zone_the_records_to_create_are_in_the_handle():
    api = service("api", 8000)
    made, seen = [], {}

    def program():
        made.append(TlsIngress("edge", ingress_args([Route(path="/", service=api)]), PROD))
        made[0].handle.dns_records.apply(lambda v: seen.setdefault("records", v))

    inv = engine.run(program)
    # The mock certificate's validation option and the mock ALB's DNS name.
    assert seen["records"] == [
        {"name": "_x.edge-cert.", "type": "CNAME", "value": "_y.acm-validations.aws."},
        {"name": "app.example.com", "type": "CNAME", "value": "edge-alb.us-east-1.elb.amazonaws.com"},
    ]
    assert not inv.of_type("route53/record:Record")
    assert made[0].handle.hosted_zone_id is None


def test_certificate_validation_waits_30_minutes_not_75(monkeypatch):
    import pulumi_aws as aws

    timeouts = []

    class Spy(aws.acm.CertificateValidation):
        def __init__(self, name, *args, opts=None, **kwargs):
            timeouts.append(opts.custom_timeouts.create if opts and opts.custom_timeouts else None)
            super().__init__(name, *args, opts=opts, **kwargs)

    monkeypatch.setattr(aws.acm, "CertificateValidation", Spy)
    for kwargs in ({}, {"aws": AwsIngressOptions(hosted_zone_id="Z123")}):
        inv = plan_ingress(**kwargs)
        assert inv.named("edge-cert-validation").urn in inv.named("edge-https").dependencies  # listener waits for ISSUED
    assert timeouts == ["30m", "30m"]


def test_paths_that_slug_alike_get_distinct_rule_names():
    api = service("api", 8000)
    inv = plan_ingress(routes=[Route(path="/api-auth", service=api), Route(path="/api/auth", service=api)])
    assert {r.name for r in inv.of_type("lb/listenerRule:ListenerRule")} == {"edge-route-api-auth", "edge-route-api-auth-2"}
    assert {"rate-api-auth", "rate-api-auth-2"} <= set(rules_of(inv))


def test_ingress_publishes_the_lb_suffix_on_routed_services():
    api = service("api", 8000)
    seen = {}

    def program():
        TlsIngress("edge", ingress_args([Route(path="/", service=api)]), PROD)
        api.handle.load_balancer_arn_suffix.apply(lambda v: seen.__setitem__("suffix", v))

    inv = engine.run(program)
    (alb,) = inv.of_type("lb/loadBalancer:LoadBalancer")
    assert seen["suffix"] == f"app/{alb.name}/abc"  # the ALB's own suffix (request-count scaling and alarms read it)


# ---- TlsIngress bad inputs -------------------------------------------------------------------------------------

def test_waf_rate_below_minimum_is_refused_before_registration():
    api = service("api", 8000)
    err, registered = refused(lambda: TlsIngress("edge", ingress_args([Route(path="/", service=api, rate_limit_per_minute=5)]), PROD))
    assert "rate_limit_per_minute" in str(err) and "at least 10" in str(err)
    assert registered == []


def test_path_too_long_for_an_alb_pattern_is_refused():
    api = service("api", 8000)
    path = "/" + "a" * 127  # valid Route, but "<path>/*" exceeds ALB's 128 characters
    with pytest.raises(InputError, match=r"routes\[/a+\]\.path.*at most 128"):
        engine.run(lambda: TlsIngress("edge", ingress_args([Route(path=path, service=api)]), PROD))


@pytest.mark.parametrize("policy", ["ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS13-1-0-2021-06", "ELBSecurityPolicy-TLS-1-1-2017-01"])
def test_weak_ssl_policy_is_refused(policy):
    api = service("api", 8000)
    err, registered = refused(lambda: TlsIngress("edge", ingress_args([Route(path="/", service=api)], aws=AwsIngressOptions(ssl_policy=policy)), PROD))
    assert "aws.ssl_policy" in str(err) and "TLS 1.2" in str(err)
    assert registered == []


def test_route_to_private_service_is_refused():
    private = service("worker", 8000, public=False)
    with pytest.raises(InputError, match=r"routes\[/\]\.service.*not public.*public=True"):
        engine.run(lambda: TlsIngress("edge", ingress_args([Route(path="/", service=private)]), PROD))


# ---- Autoscaler ---------------------------------------------------------------------------------------------

def plan_autoscaler(**kwargs):
    svc = kwargs.pop("service", None) or service("api", 8080)
    args = AutoscalerArgs(service=svc, **{"min_replicas": 2, "max_replicas": 10, **kwargs})
    return engine.run(lambda: Autoscaler("api-scaling", args, PROD))


def test_scalable_target_has_min_max_on_the_ecs_service():
    target = plan_autoscaler(cpu_percent=75).named("api-scaling-target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 10)
    assert target["serviceNamespace"] == "ecs" and target["scalableDimension"] == "ecs:service:DesiredCount"
    assert target["resourceId"] == "service/demo-prod-api/demo-prod-api"


def test_cpu_target_75_with_seed_001_cooldowns():
    # Seed 001: scale-up window 0 (AWS cooldown 60 s), scale-down window 300 s.
    inv = plan_autoscaler(cpu_percent=75, memory_percent=80,
                          scale_up=ScalingPolicy(stabilization_window_seconds=0, value=100, period_seconds=15))
    cpu = inv.named("api-scaling-cpu").inputs["targetTrackingScalingPolicyConfiguration"]
    assert cpu["targetValue"] == 75
    assert cpu["predefinedMetricSpecification"]["predefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    assert (cpu["scaleOutCooldown"], cpu["scaleInCooldown"]) == (60, 300)
    memory = inv.named("api-scaling-memory").inputs["targetTrackingScalingPolicyConfiguration"]
    assert memory["targetValue"] == 80


def test_request_count_policy_uses_lb_and_target_group_suffixes():
    svc = service("api", 8080)
    svc.handle.load_balancer_arn_suffix = "app/demo-prod-edge/123"
    policy = plan_autoscaler(service=svc, requests_per_target=500).named("api-scaling-requests").inputs
    spec = policy["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"]
    assert spec == {"predefinedMetricType": "ALBRequestCountPerTarget", "resourceLabel": "app/demo-prod-edge/123/targetgroup/api/1"}


def test_request_count_without_known_load_balancer_is_refused():
    with pytest.raises(InputError, match="requests_per_target.*create the TlsIngress"):
        plan_autoscaler(requests_per_target=500)


def test_queue_trigger_is_step_scaling_on_the_published_metric():
    inv = plan_autoscaler(queue=QueueTrigger(redis=redis_store(), list_name="jobs", target_length=100))
    high = inv.named("api-scaling-queue-high").inputs
    assert (high["namespace"], high["metricName"], high["dimensions"]) == ("prodkit/demo", "QueueDepth", {"QueueName": "jobs"})
    assert high["threshold"] == 100 and high["alarmActions"][0].endswith(":api-scaling-queue-out")
    out = inv.named("api-scaling-queue-out").inputs
    assert out["policyType"] == "StepScaling"
    assert [s["scalingAdjustment"] for s in out["stepScalingPolicyConfiguration"]["stepAdjustments"]] == [1, 2, 4]


def test_queue_publisher_may_put_metrics_in_the_app_namespace_only():
    inv = plan_autoscaler(queue=QueueTrigger(redis=redis_store(), list_name="jobs", target_length=100))
    policy = inv.named("api-scaling-put-metric")
    assert policy.inputs["role"] == "api-task-role"
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Action"] == "cloudwatch:PutMetricData" and statement["Effect"] == "Allow"
    assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "prodkit/demo"}}


def test_queue_scaling_without_egress_needs_the_monitoring_endpoint():
    from components.autoscaler._aws import validate as validate_autoscaler
    from stacks.app import placeholder

    probes = Probes(liveness=Probe(path="/health"), readiness=Probe(path="/health"))
    net = placeholder(Network, "network", NetworkArgs(), PROD)
    worker = placeholder(WebService, "worker", WebServiceArgs(network=net, image="123456789012.dkr.ecr.us-east-1.amazonaws.com/w:1",
                                                              port=8000, probes=probes), PROD)
    args = AutoscalerArgs(service=worker, min_replicas=1, max_replicas=3, queue=QueueTrigger(redis=redis_store(), list_name="jobs"))
    with pytest.raises(InputError, match="autoscaling.queue.*monitoring endpoint"):
        validate_autoscaler(args, PROD)
    net_ok = placeholder(Network, "network", NetworkArgs(aws=AwsNetworkOptions(monitoring_endpoint=True)), PROD)
    ok = placeholder(WebService, "worker", WebServiceArgs(network=net_ok, image="123456789012.dkr.ecr.us-east-1.amazonaws.com/w:1",
                                                          port=8000, probes=probes), PROD)
    validate_autoscaler(AutoscalerArgs(service=ok, min_replicas=1, max_replicas=3, queue=QueueTrigger(redis=redis_store(), list_name="jobs")), PROD)


def test_a_silent_queue_pages_through_a_missing_data_alarm():
    def program():
        api = service("api", 8000)
        api.handle.load_balancer_arn_suffix = "app/demo-prod-edge/123"
        Autoscaler("api-scaling", AutoscalerArgs(service=api, min_replicas=2, max_replicas=5,
                                                 queue=QueueTrigger(redis=redis_store(), list_name="jobs")), PROD)
        Monitoring("monitoring", MonitoringArgs(services=[api]), PROD)

    inv = engine.run(program)
    missing = inv.named("monitoring-api-queue-missing").inputs
    assert missing["treatMissingData"] == "breaching"
    assert (missing["namespace"], missing["metricName"], missing["dimensions"]) == ("prodkit/demo", "QueueDepth", {"QueueName": "jobs"})
    assert (missing["statistic"], missing["comparisonOperator"], missing["threshold"]) == ("SampleCount", "LessThanThreshold", 1)
    assert missing["alarmActions"][0].endswith(":monitoring-topic")
    # The scaling alarms themselves still ignore missing data (no scaling on silence).
    assert inv.named("api-scaling-queue-high").inputs["treatMissingData"] == "notBreaching"


def test_scheduled_actions_use_aws_cron():
    inv = plan_autoscaler(cpu_percent=70, schedules=[ScheduledScaling(name="business-hours", schedule="0 8 * * 1-5", min_replicas=4, max_replicas=10)])
    action = inv.named("api-scaling-business-hours").inputs
    assert action["schedule"] == "cron(0 8 ? * MON-FRI *)"
    assert action["scalableTargetAction"] == {"minCapacity": 4, "maxCapacity": 10}


# ---- BackupSchedule ------------------------------------------------------------------------------------------

def plan_backups(platform=PROD, **kwargs):
    args = BackupScheduleArgs(**{"database": postgres_store(), **kwargs})
    return engine.run(lambda: BackupSchedule("backups", args, platform), stack=platform.stack)


@pytest.mark.parametrize(("unix", "aws"), [
    ("0 3 * * *", "cron(0 3 * * ? *)"),
    ("0 * * * *", "cron(0 * * * ? *)"),
    ("0 4 * * 0", "cron(0 4 ? * SUN *)"),
    ("0 2 1 * *", "cron(0 2 1 * ? *)"),
    ("0 0 * * 5-7", "cron(0 0 ? * FRI-SAT,SUN *)"),
])
def test_cron_conversion(unix, aws):
    assert to_aws_cron("schedule", unix) == aws


def test_backup_plan_has_schedule_retention_windows_and_pitr():
    inv = plan_backups(schedule="0 3 * * *", retention_days=30)
    rule = inv.named("backups-plan").inputs["rules"][0]
    assert rule["schedule"] == "cron(0 3 * * ? *)"
    assert rule["lifecycle"] == {"deleteAfter": 30}
    assert (rule["startWindow"], rule["completionWindow"]) == (60, 180)
    assert rule["enableContinuousBackup"] is True
    assert rule["targetVaultName"] == "demo-prod-backups-vault"
    selection = inv.named("backups-selection").inputs
    assert selection["resources"] == ["arn:aws:rds:us-east-1:1:db:demo-prod-db"]


def test_long_retention_disables_continuous_backup():
    rule = plan_backups(retention_days=90).named("backups-plan").inputs["rules"][0]
    assert rule["enableContinuousBackup"] is False and rule["lifecycle"] == {"deleteAfter": 90}


def test_vault_encrypted_with_own_key_and_protected_in_prod():
    inv = plan_backups(PROD, retention_days=30)
    vault = inv.named("backups-vault")
    assert vault.protect and vault.retain_on_delete and vault.inputs["kmsKeyArn"].endswith(":backups-key")
    assert inv.named("backups-key").protect and inv.named("backups-key").inputs["enableKeyRotation"] is True
    lock = inv.named("backups-vault-lock").inputs
    assert lock["minRetentionDays"] == 1 and lock["maxRetentionDays"] >= 30
    assert "changeableForDays" not in lock  # governance mode: compliance mode is irreversible


def test_vault_not_protected_or_locked_in_staging():
    inv = plan_backups(STAGING, deletion_protection=False)
    assert not inv.named("backups-vault").protect
    assert not inv.of_type("backup/vaultLockConfiguration:VaultLockConfiguration")


def test_volume_backups_get_their_own_plan_and_efs_selection():
    api = service("api", 8000, volumes=("workspaces",))
    inv = plan_backups(volumes=[VolumeBackup(service=api, volume="workspaces", schedule="0 4 * * 0", retention_days=14)])
    rule = inv.named("backups-workspaces-plan").inputs["rules"][0]
    assert rule["schedule"] == "cron(0 4 ? * SUN *)" and rule["lifecycle"] == {"deleteAfter": 14}
    assert inv.named("backups-workspaces-selection").inputs["resources"] == ["arn:aws:elasticfilesystem:us-east-1:1:file-system/fs-workspaces"]
    assert len(inv.named("backups-plan").inputs["rules"]) == 1  # the database plan does not snapshot the volume


def test_cross_region_copy_goes_to_a_vault_created_in_the_copy_region():
    inv = plan_backups(aws=AwsBackupOptions(copy_region="us-west-2"))
    vault, key = inv.named("backups-copy-vault"), inv.named("backups-copy-key")
    assert vault.inputs["region"] == "us-west-2" and key.inputs["region"] == "us-west-2"
    assert vault.inputs["name"] == inv.named("backups-vault").inputs["name"] == "demo-prod-backups-vault"
    assert vault.inputs["kmsKeyArn"].endswith(":backups-copy-key") and key.inputs["enableKeyRotation"] is True
    assert vault.protect and key.protect and vault.inputs["forceDestroy"] is False
    assert inv.named("backups-copy-vault-lock").inputs["region"] == "us-west-2"
    plan = inv.named("backups-plan")
    # The copy action names the vault made here (its ARN), so the plan is created after it.
    assert plan.inputs["rules"][0]["copyActions"][0]["destinationVaultArn"].endswith(":backups-copy-vault")
    assert vault.urn in plan.dependencies
    assert not any(r.name.startswith("backups-copy") for r in plan_backups().resources)  # none without copy_region


def test_backup_role_has_the_aws_backup_managed_policies():
    inv = plan_backups()
    arns = {r.inputs["policyArn"] for r in inv.of_type("iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert arns == {"arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
                    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"}


def test_sub_hourly_backup_schedule_is_refused():
    with pytest.raises(InputError, match="at most once an hour"):
        plan_backups(schedule="*/15 * * * *")


def test_unknown_volume_is_refused():
    api = service("api", 8000)
    with pytest.raises(InputError, match="no shared volume"):
        plan_backups(volumes=[VolumeBackup(service=api, volume="workspaces", schedule="0 4 * * 0")])


# ---- Monitoring ----------------------------------------------------------------------------------------------

def plan_monitoring(**kwargs):
    api = service("api", 8000)
    api.handle.load_balancer_arn_suffix = "app/demo-prod-edge/123"
    args = MonitoringArgs(**{"services": [api, service("worker", 9000, public=False)],
                             "stores": [postgres_store(), redis_store()], "notify_emails": ["ops@example.com"], **kwargs})
    return engine.run(lambda: Monitoring("monitoring", args, PROD))


def test_cpu_alarm_above_80_percent_is_wired_to_the_topic():
    inv = plan_monitoring(thresholds=AlertThresholds(cpu_percent=80))
    cpu = inv.named("monitoring-api-cpu").inputs
    assert (cpu["namespace"], cpu["metricName"], cpu["comparisonOperator"], cpu["threshold"]) == (
        "AWS/ECS", "CPUUtilization", "GreaterThanThreshold", 80)
    assert cpu["dimensions"] == {"ClusterName": "demo-prod-api", "ServiceName": "demo-prod-api"}
    topic = "arn:aws:sns:us-east-1:123456789012:monitoring-topic"
    assert cpu["alarmActions"] == [topic] and cpu["okActions"] == [topic]
    assert cpu["treatMissingData"] == "notBreaching"


def test_every_alarm_notifies_the_topic():
    alarms = plan_monitoring().of_type("cloudwatch/metricAlarm:MetricAlarm")
    assert len(alarms) == 9  # api: cpu, memory, 5xx, latency; worker: cpu, memory; db: cpu, storage; cache: memory
    assert all(a.inputs["alarmActions"] == a.inputs["okActions"] and a.inputs["alarmActions"][0].endswith(":monitoring-topic") for a in alarms)


def test_topic_is_encrypted_with_the_stack_key_and_emails_subscribe():
    inv = plan_monitoring()
    # The Network's stack key (its policy lets this account's CloudWatch alarms publish); no key of its own.
    assert inv.named("monitoring-topic").inputs["kmsMasterKeyId"] == "arn:aws:kms:us-east-1:123456789012:net-key"
    assert not inv.of_type("kms/key:Key")
    subs = inv.of_type("sns/topicSubscription:TopicSubscription")
    assert [(s.inputs["protocol"], s.inputs["endpoint"]) for s in subs] == [("email", "ops@example.com")]


def test_alb_error_rate_and_p95_latency_alarms_for_public_services():
    inv = plan_monitoring(thresholds=AlertThresholds(error_rate_percent=5, latency_p95_seconds=2))
    errors = inv.named("monitoring-api-5xx").inputs
    rate = next(q for q in errors["metricQueries"] if q.get("returnData"))
    assert "errors / requests" in rate["expression"] and errors["threshold"] == 5
    dims = {"LoadBalancer": "app/demo-prod-edge/123", "TargetGroup": "targetgroup/api/1"}
    assert all(q["metric"]["dimensions"] == dims for q in errors["metricQueries"] if "metric" in q)
    latency = inv.named("monitoring-api-latency").inputs
    assert (latency["extendedStatistic"], latency["threshold"], latency["dimensions"]) == ("p95", 2, dims)
    names = {r.name for r in inv.resources}
    assert "monitoring-worker-5xx" not in names  # private service: no load balancer


def test_store_alarms_watch_rds_and_elasticache():
    inv = plan_monitoring()
    assert inv.named("monitoring-db-cpu").inputs["dimensions"] == {"DBInstanceIdentifier": "demo-prod-db"}
    storage = inv.named("monitoring-db-storage").inputs
    assert storage["comparisonOperator"] == "LessThanThreshold" and storage["threshold"] == 2 * 1024 ** 3
    memory = inv.named("monitoring-cache-memory").inputs
    assert (memory["metricName"], memory["threshold"], memory["dimensions"]) == (
        "DatabaseMemoryUsagePercentage", 80, {"CacheClusterId": "demo-prod-cache-001"})


# ---- composed with the real AWS components -------------------------------------------------------------------

def test_real_components_wire_lb_suffix_into_autoscaler_and_alarms():
    probes = Probes(liveness=Probe(path="/health"), readiness=Probe(path="/health"))

    def program():
        net = Network("net", NetworkArgs(), PROD)
        db = ManagedPostgres("db", ManagedPostgresArgs(network=net), PROD)
        cache = ManagedRedis("cache", ManagedRedisArgs(network=net), PROD)
        api = WebService("api", WebServiceArgs(network=net, image="ghcr.io/acme/api:1.0.0", port=8080, probes=probes, internet_egress=True,
                                               public=True, autoscaled=True, links=[db, cache], memory_mib=2048), PROD)
        TlsIngress("edge", TlsIngressArgs(network=net, domain="app.example.com", routes=[Route(path="/", service=api)]), PROD)
        Autoscaler("api-scaling", AutoscalerArgs(service=api, min_replicas=2, max_replicas=10, requests_per_target=500), PROD)
        Monitoring("monitoring", MonitoringArgs(services=[api], stores=[db, cache]), PROD)

    inv = engine.run(program, stack="prod")
    label = inv.named("api-scaling-requests").inputs["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"]["resourceLabel"]
    assert label.startswith("app/edge-alb/") and "/targetgroup/" in label
    assert inv.named("monitoring-api-5xx").inputs["metricQueries"][0]["metric"]["dimensions"]["LoadBalancer"].startswith("app/edge-alb/")


def test_validators_work_on_check_pass_placeholders():
    # `prodkit plan` validates with placeholders (handle None, Args known) before registering anything.
    from components.autoscaler._aws import validate as validate_autoscaler
    from components.tls_ingress._aws import validate as validate_ingress
    from stacks.app import placeholder

    probes = Probes(liveness=Probe(path="/health"), readiness=Probe(path="/health"))
    private = placeholder(WebService, "worker", WebServiceArgs(network=network(), image="ghcr.io/acme/w:1.0.0", port=8000, probes=probes), PROD)
    public = placeholder(WebService, "web", WebServiceArgs(network=network(), image="ghcr.io/acme/w:1.0.0", port=8000, probes=probes, public=True), PROD)
    validate_ingress(ingress_args([Route(path="/", service=public)]), PROD)
    with pytest.raises(InputError, match="not public"):
        validate_ingress(ingress_args([Route(path="/", service=private)]), PROD)
    with pytest.raises(InputError, match="needs a public service"):
        validate_autoscaler(AutoscalerArgs(service=private, min_replicas=1, max_replicas=2, requests_per_target=100), PROD)


def test_ecs_service_registers_with_its_target_group_only_after_the_listener_forwards_to_it():
    """ECS rejects a target group no listener uses; the service must wait for the ingress rules."""
    from conftest import planned

    _, inventory, _ = planned("compyle", "prod", "aws")
    rules = {r.urn for r in inventory.of_type("lb/listenerRule:ListenerRule")}
    https = {r.urn for r in inventory.of_type("lb/listener:Listener") if r.inputs.get("port") == 443}
    services = {r.name: r for r in inventory.of_type("ecs/service:Service")}
    for name, svc in services.items():
        tg = svc.inputs["loadBalancers"][0]["targetGroupArn"]
        assert tg.startswith("arn:aws:"), (name, tg)
        assert set(svc.dependencies) & (rules | https), f"{name} does not wait for any listener or rule"


# ---- the stack: DNS outputs and the plan text -----------------------------------------------------------------

def test_aws_stack_exports_the_dns_records_and_the_plan_text_lists_them(tmp_path):
    from pathlib import Path

    from stacks import app, cli, summary

    root = Path(__file__).resolve().parent.parent
    for sets, managed in (([], False), (["prodkit:hostedZoneId=Z0123"], True)):
        cfg = cli.load_stack(root, "aws-staging", sets)
        seen = {}

        def program():
            comp = app.compose(cfg, app.Builder())
            seen["keys"] = set(comp.exports)
            comp.exports["dns_records"].apply(lambda v: seen.setdefault("records", v))

        inventory = engine.run(program, stack="aws-staging", region=cfg.region or "us-east-1")
        assert {"ingress_hostname", "dns_records", "url"} <= seen["keys"]
        if managed:
            assert seen["records"] == []
        else:
            assert [(r["type"], r["name"]) for r in seen["records"]] == [("CNAME", "_x.ingress-cert."), ("CNAME", cfg.domain)]
        text = summary.text(cfg, inventory, [], [], tmp_path)
        if managed:
            assert "DNS: Route 53 zone Z0123" in text and "DNS to create" not in text
        else:
            assert "DNS to create before the first deploy finishes" in text
            assert f"CNAME  {cfg.domain}  ->  <load balancer DNS name>" in text
            assert "_<token>.acm-validations.aws." in text


def test_routes_needing_more_waf_capacity_than_a_web_acl_holds_are_refused_before_registration():
    api = service("api", 8000)
    routes = [Route(path="/", service=api)] + [Route(path=f"/r{i}", service=api) for i in range(60)]
    err, registered = refused(lambda: TlsIngress("edge", ingress_args(routes), PROD))
    assert "routes: got 61" in str(err) and "1500" in str(err) and not registered
    from components.tls_ingress._aws import waf_capacity

    assert waf_capacity(["/api/auth", "/api", "/health", "/"]) == 925 + (2 + 4) + (2 + 4 + 4) + (2 + 4) + (2 + 8)


def test_chat_stack_on_aws_counts_each_request_against_its_most_specific_route_only():
    from pathlib import Path

    from stacks import cli

    cfg = cli.load_stack(Path(__file__).resolve().parent.parent, "aws-prod", ["prodkit:app=chat"])
    inventory, _ = cli.run_plan(cfg)
    limits = {r.path: r.rate_limit_per_minute for r in cfg.app.routes}
    assert {"/api/auth", "/api", "/"} <= set(limits)
    for path, route in (("/api/auth/callback/github", "/api/auth"), ("/api/1/chat", "/api"), ("/api", "/api"),
                        ("/apidocs", "/"), ("/", "/")):
        (rule,) = counted_by(inventory, path, acl="ingress-waf")
        assert rule == {"/api/auth": "rate-api-auth", "/api": "rate-api", "/": "rate-root"}[route], path
        statement = rules_of(inventory, "ingress-waf")[rule]["statement"]["rateBasedStatement"]
        assert statement["limit"] == limits[route], (path, rule)
