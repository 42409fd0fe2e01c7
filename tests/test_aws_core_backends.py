"""AWS backends of Network, WebService, ManagedPostgres and ManagedRedis: the settings that matter, per profile.

Staging-like and prod-like Args are written out here (components know no profiles); each test asserts one
behaviour on the planned inventory of the offline engine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from components import (
    ManagedPostgres, ManagedPostgresArgs, ManagedRedis, ManagedRedisArgs, Network, NetworkArgs, Pooler, Probe, Probes,
    SharedVolume, WebService, WebServiceArgs,
)
from components._core import Cloud, InputError, Platform
from components.web_service._aws import attach_unrouted
from components.network import AwsNetworkOptions
from components.postgres import AwsPostgresOptions
from components.redis import AwsRedisOptions
from components.web_service import AwsWebServiceOptions
from stacks import engine

ROOT = Path(__file__).resolve().parent.parent
SECRET_VALUE = "sk-live-do-not-leak-123"
FILE_VALUE = "-----BEGIN PRIVATE KEY-----do-not-leak"
PROBES = Probes(liveness=Probe(path="/health", period_seconds=30, timeout_seconds=10), readiness=Probe(path="/ready"))

PROFILES = {
    "staging": dict(
        network=dict(zones=2, nat_per_zone=False, flow_log_retention_days=7),
        db=dict(high_availability=False, deletion_protection=False, backup_retention_days=7),
        cache=dict(high_availability=False, deletion_protection=False, snapshot_retention_days=1),
        svc=dict(deletion_protection=False, log_retention_days=7, aws=AwsWebServiceOptions(fargate_weight=1, fargate_spot_weight=4, enable_exec=True)),
    ),
    "prod": dict(
        network=dict(zones=3, nat_per_zone=True, flow_log_retention_days=90),
        db=dict(high_availability=True, deletion_protection=True, backup_retention_days=30, pooler=Pooler()),
        cache=dict(high_availability=True, deletion_protection=True, snapshot_retention_days=7),
        svc=dict(deletion_protection=True, log_retention_days=90, aws=AwsWebServiceOptions(fargate_weight=1, fargate_spot_weight=0)),
    ),
}


def plan(profile: str, net_aws: AwsNetworkOptions | None = None, extra=None, **svc_overrides):
    p = PROFILES[profile]
    platform = Platform(cloud=Cloud.AWS, app="demo", stack=profile, region="us-east-1")

    def program() -> None:
        net = Network("net", NetworkArgs(**p["network"], aws=net_aws), platform)
        db = ManagedPostgres("db", ManagedPostgresArgs(network=net, version="16", extensions=("vector",), **p["db"]), platform)
        cache = ManagedRedis("cache", ManagedRedisArgs(network=net, memory_mib=1024, **p["cache"]), platform)
        svc = dict(
            network=net, image="123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.0.0", port=8080, probes=PROBES,
            cpu_millicores=1000, cpu_limit_millicores=1000, memory_mib=2048, links=[db, cache], public=True,
            autoscaled=True, internet_egress=True, secrets={"OPENAI_API_KEY": SECRET_VALUE},
            secret_files={"/app/secrets/key.pem": FILE_VALUE}, env={"LOG_LEVEL": "info"},
            volumes=[SharedVolume(name="workspaces", mount_path="/workspaces", size_gib=100)], **p["svc"],
        )
        svc.update(svc_overrides)
        api = WebService("api", WebServiceArgs(**svc), platform)
        if extra is not None:
            extra(net, api, platform)
        attach_unrouted()  # no TlsIngress here: register the ECS service with the bare target group

    return engine.run(program, stack=profile)


@pytest.fixture(scope="module")
def staging():
    return plan("staging")


@pytest.fixture(scope="module")
def prod():
    return plan("prod")


def one(inv, type_suffix: str):
    found = inv.of_type(type_suffix)
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def containers(inv) -> list[dict]:
    return json.loads(one(inv, "ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])


def app_container(inv) -> dict:
    return next(c for c in containers(inv) if c["name"] == "app")


# --- Network -------------------------------------------------------------------------------------------------


def test_staging_has_one_nat_gateway_for_two_zones(staging):
    assert len(staging.of_type("ec2/natGateway:NatGateway")) == 1
    assert len(staging.of_type("ec2/subnet:Subnet")) == 6


def test_prod_has_one_nat_gateway_per_zone_and_private_routes_through_it(prod):
    nats = prod.of_type("ec2/natGateway:NatGateway")
    assert len(nats) == 3
    routes = [r for r in prod.of_type("ec2/route:Route") if r.inputs.get("natGatewayId")]
    assert len(routes) == 3 and all(r.inputs["destinationCidrBlock"] == "0.0.0.0/0" for r in routes)


def test_isolated_route_table_has_no_internet_route(prod):
    isolated_id = mock_id("aws:ec2/routeTable:RouteTable", "net-isolated-rt")
    assert not prod.named("net-isolated-rt").inputs.get("routes")
    assert not [r for r in prod.of_type("ec2/route:Route") if r.inputs["routeTableId"] == isolated_id]


def test_subnets_are_carved_deterministically_per_tier(prod):
    cidrs = {r.name: r.inputs["cidrBlock"] for r in prod.of_type("ec2/subnet:Subnet")}
    assert cidrs["net-public-0"] == "10.0.0.0/20"
    assert cidrs["net-private-0"] == "10.0.64.0/20"
    assert cidrs["net-isolated-2"] == "10.0.160.0/20"
    assert all(not r.inputs["mapPublicIpOnLaunch"] for r in prod.of_type("ec2/subnet:Subnet"))


def test_flow_logs_go_to_a_log_group_with_the_given_retention(prod):
    assert prod.named("net-flow-logs").inputs["retentionInDays"] == 90
    flow = one(prod, "ec2/flowLog:FlowLog")
    assert flow.inputs["trafficType"] == "ALL" and flow.inputs["logDestinationType"] == "cloud-watch-logs"


def test_stack_key_rotates_and_is_usable_only_through_the_stack_services(prod):
    key = prod.named("net-key")
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    via = statements["UseThroughStackServices"]
    # Any principal of the account, but only through the listed services: never a bare "use it anywhere" grant.
    assert via["Condition"]["StringEquals"]["kms:CallerAccount"]
    assert all(v.endswith(".amazonaws.com") for v in via["Condition"]["StringLike"]["kms:ViaService"])
    logs = statements["CloudWatchLogsOfThisAccount"]
    assert logs["Principal"]["Service"].startswith("logs.") and "kms:EncryptionContext:aws:logs:arn" in logs["Condition"]["ArnLike"]
    assert "kms:*" not in json.dumps([s["Action"] for sid, s in statements.items() if sid != "AccountAdministers"])


def test_flow_logs_are_encrypted_with_the_stack_key(prod):
    key_arn = "arn:aws:kms:us-east-1:123456789012:net-key"  # the mock ARN of the stack key
    assert prod.named("net-flow-logs").inputs["kmsKeyId"] == key_arn


def test_flow_log_role_may_only_write_to_its_log_group(prod):
    policy = json.loads(prod.named("net-flow-logs-policy").inputs["policy"])
    (statement,) = policy["Statement"]
    assert "*" not in json.dumps(statement["Resource"]).replace(":*", "")
    assert all(a.startswith("logs:") for a in statement["Action"])


def test_default_security_group_has_no_rules(prod):
    sg = one(prod, "ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert sg.inputs["ingress"] == [] and sg.inputs["egress"] == []


def test_s3_gateway_endpoint_serves_private_and_isolated_route_tables(prod):
    s3 = prod.named("net-s3-endpoint")
    assert s3.inputs["vpcEndpointType"] == "Gateway"
    assert len(s3.inputs["routeTableIds"]) == 4  # 3 private (one per NAT) + isolated


def mock_id(type_token: str, name: str) -> str:
    """The id the offline engine gives a resource (deterministic)."""
    return engine._fake("id", f"{type_token}::{name}")


def test_data_subnet_groups_use_isolated_subnets(prod):
    isolated = [mock_id("aws:ec2/subnet:Subnet", f"net-isolated-{z}") for z in range(3)]
    assert prod.named("net-db-subnets").inputs["subnetIds"] == isolated
    assert prod.named("net-cache-subnets").inputs["subnetIds"] == isolated


def test_every_taggable_network_resource_carries_the_standard_labels(prod):
    for r in prod.resources:
        if r.custom and "tags" in r.inputs:
            assert {"app", "stack", "component", "managed-by"} <= set(r.inputs["tags"]), r.name


def test_cidr_too_small_for_three_tiers_is_refused():
    from components.network import _aws

    args = NetworkArgs(zones=3)
    object.__setattr__(args, "cidr", "10.0.0.0/26")  # below what the facade admits: the backend still refuses it
    with pytest.raises(InputError, match=r"network.cidr.*too small.*3 tiers x 3 zones"):
        _aws.validate(args, Platform(cloud=Cloud.AWS, app="demo", stack="prod"))


# --- WebService ------------------------------------------------------------------------------------------------


def test_task_definition_holds_no_plaintext_secret(prod):
    task = one(prod, "ecs/taskDefinition:TaskDefinition")
    raw = json.dumps(task.raw_inputs)
    assert SECRET_VALUE not in raw and FILE_VALUE not in raw


def test_every_secret_is_injected_by_value_from(prod):
    app = app_container(prod)
    names = {s["name"] for s in app["secrets"]}
    assert names == {"OPENAI_API_KEY", "DATABASE_URL", "REDIS_URL"}
    assert all(s["valueFrom"].startswith("arn:aws:secretsmanager:") for s in app["secrets"])
    assert all(e["name"] not in names for e in app["environment"])


def test_container_is_non_root_with_read_only_root_filesystem(prod):
    app = app_container(prod)
    assert app["readonlyRootFilesystem"] is True and app["user"] == "10001"
    assert {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False} in app["mountPoints"]
    assert app["linuxParameters"]["initProcessEnabled"] is True


def test_routed_service_without_a_command_has_no_container_health_check(prod):
    # The target group's HTTP check watches a routed service; nothing assumes curl (or any tool) in the image.
    app = app_container(prod)
    assert "healthCheck" not in app
    assert "curl" not in json.dumps(containers(prod))
    assert one(prod, "lb/targetGroup:TargetGroup").inputs["healthCheck"]["path"] == "/ready"
    assert app["logConfiguration"]["logDriver"] == "awslogs"
    assert prod.named("api-logs").inputs["retentionInDays"] == 90


def test_health_command_becomes_the_container_health_check_timed_by_liveness():
    probes = Probes(liveness=PROBES.liveness, readiness=PROBES.readiness, command=["CMD", "/app/healthcheck"])
    app = app_container(plan("prod", probes=probes))
    assert app["healthCheck"]["command"] == ["CMD", "/app/healthcheck"]
    assert (app["healthCheck"]["interval"], app["healthCheck"]["timeout"]) == (30, 10)


@pytest.mark.parametrize("command", [["curl", "-f", "http://x"], ["CMD"], "CMD /bin/true"])
def test_health_command_must_be_in_docker_form(command):
    with pytest.raises(InputError, match="health.command"):
        Probes(liveness=PROBES.liveness, readiness=PROBES.readiness, command=command)


def test_secret_file_is_written_by_an_init_container_and_mounted_read_only(prod):
    init = next(c for c in containers(prod) if c["name"] == "secret-files")
    assert init["essential"] is False and init["secrets"][0]["name"] == "KEY_PEM_CONTENT"
    app = app_container(prod)
    assert app["dependsOn"] == [{"containerName": "secret-files", "condition": "SUCCESS"}]
    assert {"sourceVolume": "secret-files-0", "containerPath": "/app/secrets", "readOnly": True} in app["mountPoints"]


def test_fargate_task_size_comes_from_the_limits(prod):
    task = one(prod, "ecs/taskDefinition:TaskDefinition")
    assert (task.inputs["cpu"], task.inputs["memory"]) == ("1024", "2048")
    assert task.inputs["requiresCompatibilities"] == ["FARGATE"] and task.inputs["networkMode"] == "awsvpc"


def test_execution_role_reads_exactly_the_referenced_secrets(prod):
    policy = json.loads(prod.named("api-exec-secrets").inputs["policy"])
    read, decrypt = policy["Statement"]
    assert read["Action"] == ["secretsmanager:GetSecretValue"]
    referenced = {s["valueFrom"] for c in containers(prod) for s in c.get("secrets", [])}
    assert set(read["Resource"]) == referenced
    # The secrets are under the stack key: decrypt through Secrets Manager only.
    assert decrypt["Action"] == ["kms:Decrypt"] and decrypt["Resource"] == STACK_KEY
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}


def test_task_role_has_no_exec_permissions_when_exec_is_off(prod):
    policy = json.loads(prod.named("api-task-policy").inputs["policy"])
    assert not any("ssmmessages" in json.dumps(s) for s in policy["Statement"])
    assert one(prod, "ecs/service:Service").inputs["enableExecuteCommand"] is False


def test_staging_exec_adds_only_ssm_messages(staging):
    policy = json.loads(staging.named("api-task-policy").inputs["policy"])
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert {a for a in actions if a.startswith("ssmmessages:")} and all(a.startswith(("ssmmessages:", "elasticfilesystem:")) for a in actions)


def test_service_runs_privately_with_circuit_breaker_rollback(prod):
    svc = one(prod, "ecs/service:Service")
    assert svc.inputs["networkConfiguration"]["assignPublicIp"] is False
    assert svc.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert (svc.inputs["deploymentMinimumHealthyPercent"], svc.inputs["deploymentMaximumPercent"]) == (100, 200)
    assert svc.inputs["healthCheckGracePeriodSeconds"] == 60


def test_autoscaled_service_ignores_desired_count(prod):
    assert one(prod, "ecs/service:Service").ignore_changes == ["desiredCount"]


def test_not_autoscaled_service_owns_desired_count():
    inv = plan("staging", autoscaled=False)
    assert one(inv, "ecs/service:Service").ignore_changes == []


def test_spot_strategy_keeps_one_on_demand_task(staging):
    strategy = one(staging, "ecs/service:Service").inputs["capacityProviderStrategies"]
    assert strategy == [
        {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "weight": 4},
    ]


def test_weight_zero_spot_is_left_out_of_the_strategy(prod):
    strategy = one(prod, "ecs/service:Service").inputs["capacityProviderStrategies"]
    assert strategy == [{"capacityProvider": "FARGATE", "weight": 1}]


def test_public_service_admits_only_the_load_balancer_and_stack_services(prod):
    ingress = {r.name: r for r in prod.of_type("vpc/securityGroupIngressRule:SecurityGroupIngressRule") if r.name.startswith("api-ingress")}
    assert set(ingress) == {"api-ingress-lb", "api-ingress-services"}
    assert ingress["api-ingress-lb"].inputs["referencedSecurityGroupId"] == mock_id("aws:ec2/securityGroup:SecurityGroup", "net-lb-sg")
    assert ingress["api-ingress-services"].inputs["referencedSecurityGroupId"] == mock_id("aws:ec2/securityGroup:SecurityGroup", "net-services-sg")
    assert all("cidrIpv4" not in r.inputs for r in ingress.values())
    tg = one(prod, "lb/targetGroup:TargetGroup")
    assert tg.inputs["targetType"] == "ip" and tg.inputs["healthCheck"]["path"] == "/ready"
    assert tg.inputs["healthCheck"]["matcher"] == "200-399"


def test_private_service_without_internet_egress_reaches_only_the_vpc():
    inv = plan("staging", net_aws=AwsNetworkOptions(ssm_messages_endpoint=True), internet_egress=False, public=False, secret_files={})
    egress = [r for r in inv.of_type("vpc/securityGroupEgressRule:SecurityGroupEgressRule") if r.name.startswith("api-")]
    assert not [r for r in egress if r.inputs.get("cidrIpv4") == "0.0.0.0/0"]
    assert not inv.of_type("lb/targetGroup:TargetGroup")
    assert "loadBalancers" not in one(inv, "ecs/service:Service").inputs


def test_links_open_exactly_the_store_ports(prod):
    rules = {r.name: r.inputs for r in prod.of_type("vpc/securityGroupIngressRule:SecurityGroupIngressRule")}
    assert rules["api-to-db-ingress"]["fromPort"] == 5432 and rules["api-to-cache-ingress"]["fromPort"] == 6379


def test_shared_volume_is_encrypted_efs_protected_in_prod(prod):
    fs = one(prod, "efs/fileSystem:FileSystem")
    assert fs.inputs["encrypted"] is True and fs.inputs["throughputMode"] == "elastic"
    assert fs.protect and fs.retain_on_delete
    ap = one(prod, "efs/accessPoint:AccessPoint")
    assert ap.inputs["posixUser"] == {"uid": 10001, "gid": 10001}
    volume = next(v for v in one(prod, "ecs/taskDefinition:TaskDefinition").inputs["volumes"] if v["name"] == "workspaces")
    assert volume["efsVolumeConfiguration"]["transitEncryption"] == "ENABLED"
    assert volume["efsVolumeConfiguration"]["authorizationConfig"]["iam"] == "ENABLED"
    assert len(prod.of_type("efs/mountTarget:MountTarget")) == 3


def test_shared_volume_not_protected_in_staging(staging):
    assert not one(staging, "efs/fileSystem:FileSystem").protect


def _svc_args(**kw):
    base = dict(network=None, image="repo/app:1.0.0", port=8080, probes=PROBES, internet_egress=True)
    base.update(kw)
    return WebServiceArgs(**base)


@pytest.mark.parametrize("cpu,memory,match", [
    (1024, 512, r"aws.task_memory_mib: got 512; with 1024 CPU units Fargate allows memory of 2Gi, 3Gi"),
    (768, 2048, r"aws.task_cpu_units: got 768; Fargate task CPU must be one of 256, 512, 1024"),
    (4096, 32768, r"aws.task_memory_mib: got 32768.*8Gi.*30Gi"),
])
def test_fargate_refuses_impossible_explicit_task_sizes(cpu, memory, match):
    from components.web_service import _aws

    args = _svc_args(aws=AwsWebServiceOptions(task_cpu_units=cpu, task_memory_mib=memory))
    with pytest.raises(InputError, match=match):
        _aws.validate(args, Platform(cloud=Cloud.AWS, app="demo", stack="prod"))


@pytest.mark.parametrize("cpu_limit,memory_limit,size", [
    (1000, 1024, (1024, 2048)),   # copilot's 1 vCPU / 1Gi limits: rounded up to the smallest 1 vCPU task
    (2000, 4096, (2048, 4096)),   # seed 001's task, exactly
    (750, 2048, (1024, 2048)),
    (250, 512, (256, 512)),
])
def test_fargate_size_derived_from_limits_rounds_up(cpu_limit, memory_limit, size):
    from components.web_service import _aws

    args = _svc_args(cpu_millicores=min(cpu_limit, 250), cpu_limit_millicores=cpu_limit, memory_mib=512, memory_limit_mib=memory_limit)
    assert _aws.fargate_size(args) == size


def test_no_fargate_task_holds_a_huge_limit():
    from components.web_service import _aws

    args = _svc_args(cpu_millicores=500, cpu_limit_millicores=16000, memory_mib=512, memory_limit_mib=200 * 1024)
    with pytest.raises(InputError, match="no Fargate task holds"):
        _aws.validate(args, Platform(cloud=Cloud.AWS, app="demo", stack="prod"))


def test_no_capacity_provider_weight_is_refused():
    from components.web_service import _aws

    args = _svc_args(cpu_limit_millicores=500, memory_limit_mib=1024, aws=AwsWebServiceOptions(fargate_weight=0))
    with pytest.raises(InputError, match="aws.fargate_weight"):
        _aws.validate(args, Platform(cloud=Cloud.AWS, app="demo", stack="prod"))


def test_bad_task_size_fails_before_any_resource_is_registered():
    platform = Platform(cloud=Cloud.AWS, app="demo", stack="prod")

    def program():
        net = Network("net", NetworkArgs(), platform)
        WebService("api", _svc_args(network=net, aws=AwsWebServiceOptions(task_cpu_units=1024, task_memory_mib=512)), platform)

    with pytest.raises(InputError, match="aws.task_memory_mib"):
        inventory = engine.run(program)
        assert not [r for r in inventory.resources if r.name.startswith("api")]


# --- ManagedPostgres ---------------------------------------------------------------------------------------------


def test_rds_in_prod_is_protected_multi_az_encrypted_and_private(prod):
    db = one(prod, "rds/instance:Instance")
    i = db.inputs
    assert i["deletionProtection"] is True and i["multiAz"] is True
    assert i["storageEncrypted"] is True and i["kmsKeyId"].startswith("arn:aws:kms:")
    assert i["publiclyAccessible"] is False
    assert i["backupRetentionPeriod"] == 30
    assert i["skipFinalSnapshot"] is False and i["finalSnapshotIdentifier"]
    assert db.protect and db.retain_on_delete


def test_rds_in_staging_is_disposable(staging):
    db = one(staging, "rds/instance:Instance")
    assert db.inputs["deletionProtection"] is False and db.inputs["skipFinalSnapshot"] is True
    assert "finalSnapshotIdentifier" not in db.inputs and not db.protect
    assert db.inputs["multiAz"] is False


def test_rds_storage_autoscales_on_gp3_with_managed_master_password(prod):
    i = one(prod, "rds/instance:Instance").inputs
    assert (i["storageType"], i["allocatedStorage"], i["maxAllocatedStorage"]) == ("gp3", 20, 100)
    assert i["manageMasterUserPassword"] is True and "password" not in i
    assert i["engineVersion"] == "16" and i["caCertIdentifier"] == "rds-ca-rsa2048-g1"
    assert i["performanceInsightsEnabled"] is True and i["monitoringInterval"] == 60
    assert i["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]


def test_maintenance_window_does_not_overlap_backups(prod):
    i = one(prod, "rds/instance:Instance").inputs
    assert i["backupWindow"] == "03:00-04:00" and i["maintenanceWindow"] == "sun:04:30-sun:05:30"


def test_parameter_group_forces_ssl(prod):
    params = {p["name"]: p["value"] for p in one(prod, "rds/parameterGroup:ParameterGroup").inputs["parameters"]}
    assert params["rds.force_ssl"] == "1"
    assert "pg_stat_statements" in params["shared_preload_libraries"]
    assert one(prod, "rds/parameterGroup:ParameterGroup").inputs["family"] == "postgres16"


def test_database_url_secret_requires_tls_and_is_never_plaintext(prod):
    version = prod.named("db-url-version")
    assert version.inputs["secretString"] == "[secret]"
    assert version.raw_inputs["secretString"].startswith("postgresql://app_app:")
    assert version.raw_inputs["secretString"].endswith("/app?sslmode=require")


def test_pooler_is_rds_proxy_with_tls_and_the_url_points_at_it(prod):
    proxy = one(prod, "rds/proxy:Proxy")
    assert proxy.inputs["requireTls"] is True and proxy.inputs["engineFamily"] == "POSTGRESQL"
    assert ".proxy-" in prod.named("db-url-version").raw_inputs["secretString"]


def test_rds_proxy_may_decrypt_the_app_credentials_with_the_stack_key(prod):
    read, decrypt = json.loads(prod.named("db-proxy-policy").inputs["policy"])["Statement"]
    assert read["Action"] == ["secretsmanager:GetSecretValue"] and len(read["Resource"]) == 1
    assert decrypt["Action"] == ["kms:Decrypt"] and decrypt["Resource"] == [prod.named("db-app-credentials").inputs["kmsKeyId"]]
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}


def test_database_security_group_has_no_open_ingress(prod):
    sg_id = prod.named("api-to-db-ingress").inputs["securityGroupId"]
    for rule in prod.of_type("vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        if rule.inputs["securityGroupId"] == sg_id:
            assert "cidrIpv4" not in rule.inputs and rule.inputs.get("referencedSecurityGroupId")


def test_bad_performance_insights_retention_is_refused():
    from components.postgres import _aws

    args = ManagedPostgresArgs(network=None, aws=AwsPostgresOptions(performance_insights_retention_days=30))
    with pytest.raises(InputError, match="performance_insights_retention_days: got 30; allowed: 7"):
        _aws.validate(args, Platform(cloud=Cloud.AWS, app="demo", stack="prod"))


def test_backup_window_leaving_no_room_for_maintenance_is_refused():
    from components.postgres import _aws

    args = ManagedPostgresArgs(network=None, backup_window="00:00-23:00")
    with pytest.raises(InputError, match="postgres.backup_window"):
        _aws.validate(args, Platform(cloud=Cloud.AWS, app="demo", stack="prod"))


def test_every_secret_and_log_group_of_the_data_stores_uses_the_stack_key(prod):
    key_arn = "arn:aws:kms:us-east-1:123456789012:net-key"  # the mock ARN of the Network's stack key
    secrets = [r for r in prod.of_type("secretsmanager/secret:Secret") if r.name.startswith(("db-", "cache-"))]
    groups = [r for r in prod.of_type("cloudwatch/logGroup:LogGroup") if r.name.startswith(("db-", "cache-"))]
    assert {r.name for r in secrets} == {"db-app-credentials", "db-url", "cache-auth", "cache-url"}
    assert {r.name for r in groups} == {"db-log-postgresql", "db-log-upgrade", "db-bootstrap-log", "cache-slow-log"}
    for r in secrets + groups:
        assert r.inputs.get("kmsKeyId") == key_arn, r.name


def test_rds_log_export_groups_exist_before_the_instance_with_retention(prod):
    db = one(prod, "rds/instance:Instance")
    identifier = db.inputs["identifier"]
    for kind in ("postgresql", "upgrade"):
        group = prod.named(f"db-log-{kind}")
        assert group.inputs["name"] == f"/aws/rds/instance/{identifier}/{kind}"
        assert group.inputs["retentionInDays"] == 30
        assert group.urn in db.dependencies  # RDS would otherwise create it implicitly, never expiring


def test_bootstrap_invocation_runs_after_the_instance_and_the_app_secret(prod):
    run = one(prod, "lambda/invocation:Invocation")
    deps = set(run.dependencies)
    assert prod.named("db-instance").urn in deps and prod.named("db-app-credentials-version").urn in deps
    assert prod.named("db-bootstrap-secrets").urn in deps  # the policy exists before the function reads
    event = json.loads(run.inputs["input"])
    assert set(event) == {"host", "port", "database", "master_secret_arn", "app_secret_arn", "extensions"}
    assert event["extensions"] == ["vector"] and event["database"] == "app"
    assert event["master_secret_arn"].startswith("arn:aws:secretsmanager:") and "rds!" in event["master_secret_arn"]
    # password_version and code are unknown offline (computed by AWS), so only these three are recorded here.
    assert {"role", "extensions", "instance"} <= set(run.inputs["triggers"])
    assert run.inputs["triggers"]["role"] == "app_app"
    # DATABASE_URL (what services read) waits for the role to exist.
    assert run.urn in prod.named("db-url").dependencies
    assert "password" not in run.raw_inputs["input"]


def test_bootstrap_function_may_read_exactly_the_two_secrets_and_decrypt_with_their_keys(prod):
    policy = json.loads(prod.named("db-bootstrap-secrets").inputs["policy"])
    read, decrypt = policy["Statement"]
    master = json.loads(one(prod, "lambda/invocation:Invocation").inputs["input"])["master_secret_arn"]
    credentials = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{prod.named('db-app-credentials').name}"
    assert (read["Effect"], read["Action"]) == ("Allow", ["secretsmanager:GetSecretValue"])
    assert read["Resource"][0] == master and read["Resource"][1].startswith("arn:aws:secretsmanager:")
    assert len(read["Resource"]) == 2 and "*" not in json.dumps(read["Resource"])
    assert (decrypt["Effect"], decrypt["Action"]) == ("Allow", ["kms:Decrypt"])
    assert len(decrypt["Resource"]) == 2 and all(k.startswith("arn:aws:kms:") for k in decrypt["Resource"])
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}
    assert len(policy["Statement"]) == 2
    assert credentials.split(":secret:")[0] in read["Resource"][1]
    # Its other permissions: its own log group, and Lambda's ENI management in the VPC.
    logs = json.loads(prod.named("db-bootstrap-logs").inputs["policy"])["Statement"]
    assert logs == [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                     "Resource": [logs[0]["Resource"][0]]}] and "db-bootstrap-log" in logs[0]["Resource"][0]
    assert prod.named("db-bootstrap-eni").inputs["policyArn"].endswith(":policy/service-role/AWSLambdaENIManagementAccess")
    attached = [r.name for r in prod.of_type("iam/rolePolicyAttachment:RolePolicyAttachment") if r.name.startswith("db-bootstrap")]
    assert attached == ["db-bootstrap-eni"]


def test_bootstrap_function_runs_in_the_isolated_subnets_reaching_only_the_db_and_the_endpoints(prod):
    fn = one(prod, "lambda/function:Function")
    assert fn.inputs["runtime"] == "python3.13" and fn.inputs["handler"] == "handler.handler"
    isolated = {prod.named(f"net-isolated-{z}").urn for z in range(3)}
    assert isolated <= set(fn.dependencies) and len(fn.inputs["vpcConfig"]["subnetIds"]) == 3
    assert fn.inputs["loggingConfig"]["logGroup"].startswith("/aws/lambda/")
    assert "environment" not in fn.inputs  # no secrets in env
    egress = {r.name: r.inputs for r in prod.of_type("vpc/securityGroupEgressRule:SecurityGroupEgressRule") if r.name.startswith("db-bootstrap")}
    assert set(egress) == {"db-bootstrap-to-db", "db-bootstrap-to-endpoints"}
    assert (egress["db-bootstrap-to-db"]["fromPort"], egress["db-bootstrap-to-db"]["toPort"]) == (5432, 5432)
    assert egress["db-bootstrap-to-db"]["referencedSecurityGroupId"] and "cidrIpv4" not in egress["db-bootstrap-to-db"]
    assert (egress["db-bootstrap-to-endpoints"]["fromPort"], egress["db-bootstrap-to-endpoints"]["cidrIpv4"]) == (443, "10.0.0.0/16")
    ingress = prod.named("db-from-bootstrap").inputs
    assert (ingress["fromPort"], ingress["toPort"]) == (5432, 5432) and ingress["referencedSecurityGroupId"]


def test_force_ssl_in_parameters_is_refused():
    from components.postgres import _aws

    for key in ("rds.force_ssl", "RDS.FORCE_SSL"):
        args = ManagedPostgresArgs(network=None, parameters={key: "0"})
        with pytest.raises(InputError, match=rf"postgres.parameters.{key}: got '0'; rds.force_ssl is always 1"):
            _aws.validate(args, Platform(cloud=Cloud.AWS, app="demo", stack="prod"))


def test_app_role_name_longer_than_63_characters_is_refused():
    from components.postgres import _aws

    platform = Platform(cloud=Cloud.AWS, app="demo", stack="prod")
    _aws.validate(ManagedPostgresArgs(network=None, username="u" * 59), platform)  # u..u_app: 63
    with pytest.raises(InputError, match="postgres.username: got 'u{60}'.*at most 59"):
        _aws.validate(ManagedPostgresArgs(network=None, username="u" * 60), platform)


def test_rds_log_retention_must_be_a_cloudwatch_value():
    from components.postgres import _aws

    args = ManagedPostgresArgs(network=None, aws=AwsPostgresOptions(log_retention_days=10))
    with pytest.raises(InputError, match="aws.log_retention_days: got 10; allowed"):
        _aws.validate(args, Platform(cloud=Cloud.AWS, app="demo", stack="prod"))


# --- ManagedRedis ------------------------------------------------------------------------------------------------


def test_elasticache_encrypts_in_transit_and_at_rest(staging):
    i = one(staging, "elasticache/replicationGroup:ReplicationGroup").inputs
    assert i["transitEncryptionEnabled"] is True and i["transitEncryptionMode"] == "required"
    assert i["atRestEncryptionEnabled"] is True and i["kmsKeyId"].startswith("arn:aws:kms:")


def test_elasticache_in_prod_fails_over_across_zones(prod):
    group = one(prod, "elasticache/replicationGroup:ReplicationGroup")
    i = group.inputs
    assert i["numCacheClusters"] == 2 and i["automaticFailoverEnabled"] is True and i["multiAzEnabled"] is True
    assert i["finalSnapshotIdentifier"] and group.protect


def test_elasticache_in_staging_is_a_single_node(staging):
    i = one(staging, "elasticache/replicationGroup:ReplicationGroup").inputs
    assert i["numCacheClusters"] == 1 and i["automaticFailoverEnabled"] is False
    assert i["nodeType"] == "cache.t4g.small"


def test_auth_token_is_never_plaintext(prod):
    group = one(prod, "elasticache/replicationGroup:ReplicationGroup")
    assert group.inputs["authToken"] == "[secret]"
    assert prod.named("cache-url-version").inputs["secretString"] == "[secret]"
    assert prod.named("cache-url-version").raw_inputs["secretString"].startswith("rediss://:")


def test_parameter_group_sets_the_eviction_policy(prod):
    params = one(prod, "elasticache/parameterGroup:ParameterGroup").inputs
    assert params["family"] == "redis7"
    assert params["parameters"] == [{"name": "maxmemory-policy", "value": "allkeys-lru"}]


def test_redis_memory_above_the_largest_node_is_refused():
    from components.redis import _aws

    args = ManagedRedisArgs(network=None, memory_mib=400 * 1024, storage_gib=500)
    with pytest.raises(InputError, match=r"redis.memory_mib.*cache.r7g.16xlarge"):
        _aws.validate(args, Platform(cloud=Cloud.AWS, app="demo", stack="prod"))


def test_unknown_cache_engine_is_refused():
    from components.redis import _aws

    args = ManagedRedisArgs(network=None, aws=AwsRedisOptions(engine="memcached"))
    with pytest.raises(InputError, match="aws.engine: got 'memcached'; allowed: redis, valkey"):
        _aws.validate(args, Platform(cloud=Cloud.AWS, app="demo", stack="prod"))


# --- imports -------------------------------------------------------------------------------------------------------

_PROGRAM = """
import sys
from components import *
from components._core import Cloud, Platform
from stacks import engine
p = Platform(cloud=Cloud.AWS, app="demo", stack="prod")
def prog():
    net = Network("net", NetworkArgs(), p)
    db = ManagedPostgres("db", ManagedPostgresArgs(network=net), p)
    cache = ManagedRedis("cache", ManagedRedisArgs(network=net), p)
    WebService("api", WebServiceArgs(network=net, image="repo/api:1.0.0", port=8080, cpu_limit_millicores=1000, internet_egress=True,
               memory_mib=2048, probes=Probes(liveness=Probe(path="/h"), readiness=Probe(path="/h")), links=[db, cache]), p)
engine.run(prog)
print(sorted({m.split(".")[0] for m in sys.modules if m.startswith(("pulumi_kubernetes", "pulumi_gcp", "pulumi_azure_native"))}))
"""


def test_aws_backends_import_no_other_cloud_sdk():
    out = subprocess.run([sys.executable, "-c", _PROGRAM], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


# --- issue 8: what a real account needs ---------------------------------------------------------------------------

STACK_KEY = "arn:aws:kms:us-east-1:123456789012:net-key"
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
CACHE = AwsNetworkOptions(ecr_pull_through_cache={"ghcr.io": "robot:ghp_token", "public.ecr.aws": None})


def test_image_outside_ecr_without_egress_is_refused_naming_the_fixes():
    from components.web_service import _aws

    platform = Platform(cloud=Cloud.AWS, app="demo", stack="prod", region="us-east-1")
    with pytest.raises(InputError) as exc:
        _aws.validate(_svc_args(image="ghcr.io/acme/web:1.0.0", internet_egress=False), platform)
    message = str(exc.value)
    assert "ghcr.io/acme/web:1.0.0" in message and "push it to ECR" in message
    assert "internet_egress" in message and "prodkit:ecrPullThroughCache" in message
    # ECR of the stack's region is reached through the endpoints; another region's ECR is not.
    _aws.validate(_svc_args(image=f"{ECR}/web:1.0.0", internet_egress=False), platform)
    with pytest.raises(InputError, match="not of the stack's region"):
        _aws.validate(_svc_args(image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.0.0", internet_egress=False), platform)


def test_secret_files_without_egress_need_the_cache_for_the_init_image():
    from components.web_service import _aws

    platform = Platform(cloud=Cloud.AWS, app="demo", stack="prod", region="us-east-1")
    args = _svc_args(image=f"{ECR}/web:1.0.0", internet_egress=False, secret_files={"/app/secrets/k.pem": "x"})
    with pytest.raises(InputError, match="secret_files.*init container"):
        _aws.validate(args, platform)


@pytest.fixture(scope="module")
def cached():
    """No internet egress, images through the pull-through cache (ghcr.io app image, ECR Public init image)."""
    return plan("prod", net_aws=CACHE, image="ghcr.io/acme/api:1.0.0", internet_egress=False)


def test_pull_through_cache_rules_per_upstream_with_credentials_under_the_stack_key(cached):
    rules = {r.inputs["upstreamRegistryUrl"]: r.inputs for r in cached.of_type("ecr/pullThroughCacheRule:PullThroughCacheRule")}
    assert set(rules) == {"ghcr.io", "public.ecr.aws"}
    assert rules["ghcr.io"]["ecrRepositoryPrefix"] == "demo-prod-ghcr"
    assert rules["public.ecr.aws"]["ecrRepositoryPrefix"] == "demo-prod-ecr-public" and "credentialArn" not in rules["public.ecr.aws"]
    secret = cached.named("net-ptc-ghcr-credential")
    assert secret.type.endswith("secretsmanager/secret:Secret")
    assert secret.inputs["name"].startswith("ecr-pullthroughcache/") and secret.inputs["kmsKeyId"] == STACK_KEY
    assert rules["ghcr.io"]["credentialArn"].endswith(":net-ptc-ghcr-credential")
    version = cached.named("net-ptc-ghcr-credential-version")
    assert "ghp_token" not in json.dumps(version.inputs)  # a Pulumi secret, redacted
    assert "ghp_token" in json.dumps(version.raw_inputs)


def test_cached_repositories_are_encrypted_and_bounded(cached):
    template = cached.named("net-ptc-ghcr-template").inputs
    assert (template["prefix"], template["appliedFors"]) == ("demo-prod-ghcr", ["PULL_THROUGH_CACHE"])
    assert template["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    (rule,) = json.loads(template["lifecyclePolicy"])["rules"]
    assert rule["selection"]["countType"] == "imageCountMoreThan" and rule["action"] == {"type": "expire"}


def test_pull_through_credential_is_stored_in_the_shape_ecr_reads():
    from components.network._aws import _credential_json

    assert json.loads(_credential_json("robot:ghp:with:colons")) == {"username": "robot", "accessToken": "ghp:with:colons"}


def test_images_are_rewritten_to_the_cache_and_the_execution_role_may_import(cached):
    by_name = {c["name"]: c for c in containers(cached)}
    assert by_name["app"]["image"] == f"{ECR}/demo-prod-ghcr/acme/api:1.0.0"
    assert by_name["secret-files"]["image"] == f"{ECR}/demo-prod-ecr-public/docker/library/busybox:1.37.0"
    (statement,) = json.loads(cached.named("api-exec-pull-through").inputs["policy"])["Statement"]
    assert sorted(statement["Action"]) == ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
    assert sorted(statement["Resource"]) == [
        "arn:aws:ecr:us-east-1:123456789012:repository/demo-prod-ecr-public/*",
        "arn:aws:ecr:us-east-1:123456789012:repository/demo-prod-ghcr/*",
    ]


def test_prod_waits_for_steady_state():
    inv = plan("prod", aws=AwsWebServiceOptions(wait_for_steady_state=True))
    assert one(inv, "ecs/service:Service").inputs["waitForSteadyState"] is True


def test_service_connect_timeouts_follow_the_longest_request():
    long = plan("prod", request_timeout_seconds=600).named("api-service").inputs["serviceConnectConfiguration"]["services"][0]
    assert long["timeout"] == {"perRequestTimeoutSeconds": 600, "idleTimeoutSeconds": 600}
    short = plan("prod", request_timeout_seconds=30).named("api-service").inputs["serviceConnectConfiguration"]["services"][0]
    assert short["timeout"] == {"perRequestTimeoutSeconds": 30, "idleTimeoutSeconds": 300}


def test_ecs_service_waits_for_its_role_policies_and_the_services_it_calls():
    def web(net, api, platform):
        WebService("web", WebServiceArgs(network=net, image=f"{ECR}/web:1.0.0", port=3000, probes=PROBES,
                                         calls=[api], aws=AwsWebServiceOptions()), platform)

    inv = plan("prod", extra=web)
    urn = {r.name: r.urn for r in inv.resources}
    api = inv.named("api-service")
    assert {urn["api-exec-managed"], urn["api-exec-secrets"], urn["api-task-policy"]} <= set(api.dependencies)
    assert urn["api-service"] in inv.named("web-service").dependencies
    assert urn["web-exec-managed"] in inv.named("web-service").dependencies


def test_calls_must_be_aws_web_services():
    with pytest.raises(InputError, match="calls"):
        plan("prod", calls=[object()])


def test_ecs_exec_gets_writable_ssm_agent_paths_and_the_ssmmessages_endpoint(staging):
    app = app_container(staging)
    assert app["readonlyRootFilesystem"] is True
    for volume, path in (("ssm-state", "/var/lib/amazon/ssm"), ("ssm-logs", "/var/log/amazon/ssm")):
        assert {"sourceVolume": volume, "containerPath": path, "readOnly": False} in app["mountPoints"]
    names = {v["name"] for v in one(staging, "ecs/taskDefinition:TaskDefinition").inputs["volumes"]}
    assert {"ssm-state", "ssm-logs"} <= names
    no_egress = plan("staging", net_aws=AwsNetworkOptions(ssm_messages_endpoint=True), internet_egress=False,
                     image=f"{ECR}/api:1.0.0", secret_files={})
    endpoint = no_egress.named("net-ssmmessages-endpoint").inputs
    assert endpoint["serviceName"] == "com.amazonaws.us-east-1.ssmmessages" and endpoint["privateDnsEnabled"] is True


def test_exec_off_has_no_ssm_paths_and_no_ssmmessages_endpoint(prod):
    assert not [m for m in app_container(prod)["mountPoints"] if "amazon/ssm" in m["containerPath"]]
    assert "net-ssmmessages-endpoint" not in {r.name for r in prod.resources}


def test_exec_without_egress_needs_the_ssmmessages_endpoint():
    from components.web_service import _aws

    platform = Platform(cloud=Cloud.AWS, app="demo", stack="staging", region="us-east-1")
    args = _svc_args(image=f"{ECR}/web:1.0.0", internet_egress=False, aws=AwsWebServiceOptions(enable_exec=True))
    with pytest.raises(InputError, match="ssmmessages"):
        _aws.validate(args, platform)


@pytest.mark.parametrize("timeout,stop,drain", [(600, 120, 600), (45, 45, 45), (3600, 120, 3600)])
def test_draining_and_stop_timeout_follow_the_longest_request(timeout, stop, drain):
    inv = plan("prod", request_timeout_seconds=timeout)
    assert app_container(inv)["stopTimeout"] == stop  # Fargate's ceiling is 120 s
    assert one(inv, "lb/targetGroup:TargetGroup").inputs["deregistrationDelay"] == drain


def test_every_secret_log_group_and_file_system_of_the_service_uses_the_stack_key(prod):
    mine = [r for r in prod.resources if r.name.startswith("api-")]
    for type_ in ("secretsmanager/secret:Secret", "cloudwatch/logGroup:LogGroup", "efs/fileSystem:FileSystem"):
        found = [r for r in mine if r.type.endswith(type_)]
        assert found, type_
        assert all(r.inputs.get("kmsKeyId") == STACK_KEY for r in found), [(r.name, r.inputs.get("kmsKeyId")) for r in found]


@pytest.mark.parametrize("days", [10, 4, 700])
def test_log_retention_outside_cloudwatch_values_is_refused(days):
    from components.web_service import _aws

    with pytest.raises(InputError, match="log_retention_days.*CloudWatch Logs accepts only 1, 3, 5, 7, 14"):
        _aws.validate(_svc_args(log_retention_days=days), Platform(cloud=Cloud.AWS, app="demo", stack="prod"))


def test_one_zone_and_bad_flow_log_retention_are_refused_on_aws():
    from components.network import _aws

    with pytest.raises(InputError, match="network.zones.*at least 2 zones"):
        _aws.validate(NetworkArgs(zones=1), Platform(cloud=Cloud.AWS, app="demo", stack="prod"))
    with pytest.raises(InputError, match="network.flow_log_retention_days.*CloudWatch"):
        _aws.validate(NetworkArgs(flow_log_retention_days=10), Platform(cloud=Cloud.AWS, app="demo", stack="prod"))


def test_monitoring_endpoint_only_when_asked(prod):
    assert "net-monitoring-endpoint" not in {r.name for r in prod.resources}
    inv = plan("prod", net_aws=AwsNetworkOptions(monitoring_endpoint=True))
    assert inv.named("net-monitoring-endpoint").inputs["serviceName"] == "com.amazonaws.us-east-1.monitoring"


def test_unsupported_cache_registry_and_missing_credential_are_refused():
    with pytest.raises(InputError, match="ECR can cache these upstream registries"):
        AwsNetworkOptions(ecr_pull_through_cache={"yourregistry.com": None})
    with pytest.raises(InputError, match="needs a credential"):
        AwsNetworkOptions(ecr_pull_through_cache={"ghcr.io": None})


def test_zone_names_fall_back_to_the_region_when_the_provider_reports_none():
    from components.network._aws import zone_names

    assert zone_names([], 3, "eu-west-1") == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert zone_names(["us-east-1a", "us-east-1b", "us-east-1c"], 2, "") == ["us-east-1a", "us-east-1b"]
    with pytest.raises(InputError, match="reported no availability zones"):
        zone_names([], 2, "")
    with pytest.raises(InputError, match="only 1 available zones"):
        zone_names(["us-east-1a"], 2, "us-east-1")


README_UNDER_PLAIN_MOCKS = r"""
import re
import pulumi

class Plain(pulumi.runtime.Mocks):  # what a user writes: every invoke answers nothing
    def new_resource(self, args):
        return args.name + "-id", args.inputs
    def call(self, args):
        return {}

pulumi.runtime.set_mocks(Plain(), preview=False)
snippet = re.search(r"## Using the components in your own program\n\n```python\n(.*?)```", open("README.md").read(), re.S).group(1)
snippet = snippet.replace("Cloud.KUBERNETES", "Cloud.AWS")
exec(compile(snippet, "README", "exec"))
print("ok")
"""


def test_readme_snippet_runs_on_aws_under_plain_mocks():
    """Plain mocks answer getAvailabilityZones with nothing: the zones come from the region, no len(None)."""
    done = subprocess.run([sys.executable, "-c", README_UNDER_PLAIN_MOCKS], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]


# --- the stack layer on AWS: the bundled apps --------------------------------------------------------------------


def test_chat_frontend_without_egress_pulls_through_the_cache_and_waits_for_the_backend():
    from conftest import planned

    _, inv, _ = planned("chat", "prod", "aws")
    rules = {r.inputs["upstreamRegistryUrl"]: r for r in inv.of_type("ecr/pullThroughCacheRule:PullThroughCacheRule")}
    assert set(rules) == {"ghcr.io"} and rules["ghcr.io"].inputs["credentialArn"].endswith(":network-ptc-ghcr-credential")
    frontend = next(c for c in json.loads(inv.named("frontend-task").inputs["containerDefinitions"]) if c["name"] == "app")
    assert frontend["image"] == f"{ECR}/chat-prod-ghcr/kirotodo/kirotodo-frontend:1.0.0"
    # The frontend calls ${services.backend.url}: its ECS service is created after the backend's.
    assert inv.named("backend-service").urn in inv.named("frontend-service").dependencies
    assert inv.named("frontend-service").inputs["waitForSteadyState"] is True


def test_arches_platform_pulls_docker_hub_through_the_cache():
    from conftest import planned

    _, inv, _ = planned("arches", "staging", "aws")
    rules = {r.inputs["upstreamRegistryUrl"] for r in inv.of_type("ecr/pullThroughCacheRule:PullThroughCacheRule")}
    assert rules == {"registry-1.docker.io"}
    images = {c["name"]: c["image"] for c in json.loads(inv.named("platform-task").inputs["containerDefinitions"])}
    assert images["app"] == f"{ECR}/arches-staging-docker-hub/archesai/platform:1.0.0"
    assert inv.named("platform-service").inputs["waitForSteadyState"] is False  # staging does not wait


def test_compyle_agent_calls_are_not_cut_by_service_connect_or_draining():
    from conftest import planned

    _, inv, _ = planned("compyle", "prod", "aws")
    fastapi = inv.named("fastapi-service").inputs
    assert fastapi["serviceConnectConfiguration"]["services"][0]["timeout"] == {"perRequestTimeoutSeconds": 600, "idleTimeoutSeconds": 600}
    assert inv.named("fastapi-tg").inputs["deregistrationDelay"] == 600
    app = next(c for c in json.loads(inv.named("fastapi-task").inputs["containerDefinitions"]) if c["name"] == "app")
    assert app["stopTimeout"] == 120
    assert app["healthCheck"]["command"] == ["CMD", "curl", "-f", "http://localhost:8000/health"]  # the seed's own check (000 L176)
    assert inv.named("fastapi-service").urn in inv.named("nextjs-service").dependencies


def test_copilot_queue_publisher_and_exec_in_staging():
    from conftest import planned

    _, inv, _ = planned("copilot", "staging", "aws")
    (statement,) = json.loads(inv.named("workflow-autoscaler-put-metric").inputs["policy"])["Statement"]
    assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "prodkit/copilot"}}
    assert inv.named("monitoring-workflow-queue-missing").inputs["treatMissingData"] == "breaching"
    assert inv.named("network-ssmmessages-endpoint").inputs["serviceName"].endswith(".ssmmessages")
    api = inv.named("api-service")
    assert {inv.named("workflow-service").urn, inv.named("context-service").urn} <= set(api.dependencies)
    topic = inv.named("monitoring-topic").inputs
    assert topic["kmsMasterKeyId"] == "arn:aws:kms:us-east-1:123456789012:network-key"


def test_a_queue_scaled_service_without_egress_gets_the_monitoring_endpoint(tmp_path):
    import yaml

    from stacks import cli
    from stacks.spec import APPS_DIR

    data = yaml.safe_load((APPS_DIR / "copilot.yaml").read_text())
    data["services"]["workflow"]["internet_egress"] = False
    spec = tmp_path / "copilot-private-workflow.yaml"
    spec.write_text(yaml.safe_dump(data))
    cfg = cli.load_stack(ROOT, "aws-prod", [f"prodkit:app={spec}"])
    inventory, _ = cli.run_plan(cfg)
    assert inventory.named("network-monitoring-endpoint").inputs["serviceName"] == "com.amazonaws.us-east-1.monitoring"
    assert "network-ssmmessages-endpoint" not in {r.name for r in inventory.resources}  # exec is off in prod
    images = [c["image"] for c in json.loads(inventory.named("workflow-task").inputs["containerDefinitions"])]
    assert images == [f"{ECR}/copilot-aws-prod-docker-hub/llmcopilot/workflow-engine:1.0.0"]


# --- the database bootstrap function against a real PostgreSQL -------------------------------------------------

def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="module")
def real_postgres():
    """A throwaway PostgreSQL cluster shaped like RDS: TLS on and required (hostssl only, like rds.force_ssl=1),
    SCRAM-SHA-256 logins, and a master user that is *not* a superuser (CREATEROLE, owns the database)."""
    import os
    import shutil
    import socket

    bin_dir = _pg_bin()
    if bin_dir is None or shutil.which("openssl") is None:
        pytest.skip("no local PostgreSQL server (apt-get install postgresql) or openssl: real-database test skipped")
    import tempfile

    # Not under pytest's tmp dir: that one is private to its owner, and the server may run as another user.
    root = Path(tempfile.mkdtemp(prefix="prodkit-pg-"))
    data, run_dir = root / "data", root / "run"
    run_dir.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux) to start PostgreSQL as nobody: real-database test skipped")
    if os.geteuid() == 0:  # initdb/postgres refuse to run as root: run them as nobody
        import pwd

        nobody = pwd.getpwnam("nobody")
        for path in (root, run_dir):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        root.chmod(0o755)
        as_user = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]
    superpw = root / "superpw"
    superpw.write_text("super-secret\n")
    superpw.chmod(0o644)

    def run(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, capture_output=True, env={"PATH": "/usr/bin:/bin", "HOME": str(root)})

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256", f"--pwfile={superpw}", "-E", "UTF8")
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
        "-keyout", str(data / "server.key"), "-out", str(data / "server.crt"))
    (data / "server.key").chmod(0o600)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{run_dir}'\n"
                   "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\npassword_encryption = 'scram-sha-256'\n")
    (data / "pg_hba.conf").write_text("hostssl all all 127.0.0.1/32 scram-sha-256\n")
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "30", "start")
    try:
        import pg8000.native
        from components.postgres._bootstrap.handler import tls_context

        con = pg8000.native.Connection("postgres", password="super-secret", host="127.0.0.1", port=port,
                                       database="postgres", ssl_context=tls_context())
        con.run("CREATE ROLE app WITH LOGIN CREATEROLE CREATEDB PASSWORD 'master-pw'")
        con.run("CREATE DATABASE app OWNER app")
        con.close()
        yield {"host": "127.0.0.1", "port": port, "database": "app", "master_user": "app", "master_password": "master-pw"}
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _login(db, user, password, **kwargs):
    import pg8000.native
    from components.postgres._bootstrap.handler import tls_context

    return pg8000.native.Connection(user, password=password, host=db["host"], port=db["port"], database=db["database"],
                                    ssl_context=kwargs.pop("ssl_context", tls_context()), **kwargs)


def test_bootstrap_creates_the_app_role_idempotently_and_rotates_its_password(real_postgres):
    import pg8000.exceptions
    from components.postgres._bootstrap.handler import bootstrap

    db = real_postgres
    first = bootstrap(**db, app_user="app_app", app_password="first-password-1234", extensions=["pgcrypto", "citext"])
    again = bootstrap(**db, app_user="app_app", app_password="first-password-1234", extensions=["pgcrypto", "citext"])
    assert first == {"role": "app_app", "created": True, "extensions": ["pgcrypto", "citext"]}
    assert again == {**first, "created": False}  # second run: same state, no error

    master = _login(db, "app", "master-pw")
    master.run("CREATE TABLE made_by_migration (id serial PRIMARY KEY, note text)")  # the master creates a table later
    (row,) = master.run("SELECT rolsuper, rolcreaterole, rolcreatedb, rolcanlogin FROM pg_roles WHERE rolname = 'app_app'")
    assert row == [False, False, False, True]
    (verifier,) = master.run("SELECT count(*) FROM pg_extension WHERE extname IN ('pgcrypto', 'citext')")[0]
    assert verifier == 2
    master.close()

    app = _login(db, "app_app", "first-password-1234")
    app.run("CREATE TABLE owned_by_app (id int)")  # CREATE on schema public (revoked from PUBLIC since PG15)
    app.run("INSERT INTO made_by_migration (note) VALUES ('x')")  # default privileges on the master's tables
    assert app.run("SELECT count(*) FROM made_by_migration") == [[1]]
    assert app.run("SELECT pg_has_role('app_app', 'app', 'MEMBER')") == [[False]]  # not a member of the master role
    app.close()

    master = _login(db, "app", "master-pw")
    master.run("CREATE TABLE made_before_rotation (id int)")
    master.close()
    bootstrap(**db, app_user="app_app", app_password="rotated-password-5678")
    app = _login(db, "app_app", "rotated-password-5678")
    assert app.run("SELECT count(*) FROM made_before_rotation") == [[0]]
    app.close()
    with pytest.raises(pg8000.exceptions.DatabaseError, match="password authentication failed"):
        _login(db, "app_app", "first-password-1234")


def test_bootstrap_requires_tls_and_sends_no_plaintext_password(real_postgres):
    import pg8000.exceptions
    from components.postgres._bootstrap.handler import scram_verifier

    with pytest.raises((pg8000.exceptions.DatabaseError, pg8000.exceptions.InterfaceError)):
        _login(real_postgres, "app", "master-pw", ssl_context=False)  # hostssl only: plaintext connections refused
    # The verifier has PostgreSQL's format and does not contain the password.
    v = scram_verifier("first-password-1234", salt=b"0123456789abcdef")
    assert v.startswith("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$") and "first-password" not in v


def test_bootstrap_zip_imports_with_nothing_but_its_own_files(tmp_path):
    from components.postgres._bootstrap import HANDLER, files

    for name, path in files().items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    module, func = HANDLER.split(".")
    code = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import pg8000.native, {module}; assert callable({module}.{func})"
    subprocess.run([sys.executable, "-S", "-I", "-c", code], check=True)  # -S: no site-packages
    assert not any("__pycache__" in n or n.endswith((".pyc", "/RECORD")) for n in files())


def test_bootstrap_reruns_when_the_password_or_the_code_changes(monkeypatch):
    import pulumi_aws as aws

    seen = {}

    class Spy(aws.lambda_.Invocation):
        def __init__(self, name, *args, **kwargs):
            seen["triggers"] = kwargs["triggers"]
            super().__init__(name, *args, **kwargs)

    monkeypatch.setattr(aws.lambda_, "Invocation", Spy)
    plan("staging")
    triggers = seen["triggers"]
    assert set(triggers) == {"password_version", "role", "extensions", "instance", "code"}
    assert all(isinstance(triggers[k], __import__("pulumi").Output) for k in ("password_version", "instance", "code"))


def test_bootstrap_handler_reads_both_secrets_and_bootstraps(real_postgres, monkeypatch):
    """The Lambda entry point end to end, with a stand-in for boto3's Secrets Manager client."""
    import types

    from components.postgres._bootstrap import handler as module

    db = real_postgres
    store = {
        "arn:master": json.dumps({"username": db["master_user"], "password": db["master_password"]}),
        "arn:app": json.dumps({"username": "app_handler", "password": "handler-password-1"}),
    }
    asked = []

    class Client:
        def get_secret_value(self, SecretId):
            asked.append(SecretId)
            return {"SecretString": store[SecretId]}

    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=lambda service: Client() if service == "secretsmanager" else None))
    event = {"host": db["host"], "port": db["port"], "database": db["database"], "master_secret_arn": "arn:master",
             "app_secret_arn": "arn:app", "extensions": ["citext"]}
    result = module.handler(event, None)
    assert result == {"role": "app_handler", "created": True, "extensions": ["citext"]}
    assert asked == ["arn:master", "arn:app"]
    assert "handler-password-1" not in json.dumps(result)
    _login(db, "app_handler", "handler-password-1").close()
