"""GCP backends, through the seed apps' offline plans: the settings that matter on Cloud Run, Cloud SQL, Memorystore,
the load balancer with Cloud Armor, scaling, backups, monitoring and the network, per profile.

Each test asserts one behaviour (Given the app and profile, When planned on GCP, Then ...)."""

from __future__ import annotations

import json
import re

import pytest

from conftest import planned
from policies.rules._util import mock_id

RUN = "gcp:cloudrunv2/service:Service"
SQL = "gcp:sql/databaseInstance:DatabaseInstance"
REDIS = "gcp:redis/instance:Instance"


def one(inventory, type_, name=None):
    found = [r for r in inventory.resources if r.type == type_ and (name is None or r.name == name)]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def container(service):
    return service.inputs["template"]["containers"][0]


@pytest.fixture(scope="module", params=["staging", "prod"])
def autopr(request):
    cfg, inventory, composition = planned("autopr", request.param, "gcp")
    return request.param, inventory


# --- Cloud Run ---------------------------------------------------------------------------------------------

def test_routed_service_admits_only_the_load_balancer(autopr):
    _, inv = autopr
    svc = one(inv, RUN, "engine-service")
    assert svc.inputs["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"


def test_internal_services_admit_only_the_vpc():
    _, inv, _ = planned("copilot", "prod", "gcp")
    ingress = {r.name: r.inputs["ingress"] for r in inv.of_type(RUN)}
    assert ingress["api-service"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    assert ingress["workflow-service"] == ingress["context-service"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"
    assert ingress["workflow-autoscaler-crema"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"


def test_no_all_users_invoker_anywhere():
    for app in ("autopr", "copilot", "compyle"):
        _, inv, _ = planned(app, "prod", "gcp")
        for r in inv.resources:
            members = [r.inputs.get("member"), *(r.inputs.get("members") or [])]
            assert not {"allUsers", "allAuthenticatedUsers"} & set(members), f"{app} {r.name}"


def test_cloud_run_size_is_the_seed_size_and_concurrency_80(autopr):
    _, inv = autopr
    svc = one(inv, RUN, "engine-service")
    assert container(svc)["resources"]["limits"] == {"cpu": "2", "memory": "4096Mi"}  # 001: --cpu 2 --memory 4Gi
    assert svc.inputs["template"]["maxInstanceRequestConcurrency"] == 80  # 001: --concurrency 80
    assert svc.inputs["template"]["timeout"] == "300s"  # 001: --timeout 300


def test_agent_routes_get_600_second_timeouts():
    _, inv, _ = planned("compyle", "prod", "gcp")
    assert one(inv, RUN, "fastapi-service").inputs["template"]["timeout"] == "600s"


def test_probes_on_the_health_path(autopr):
    _, inv = autopr
    c = container(one(inv, RUN, "engine-service"))
    assert c["startupProbe"]["httpGet"] == {"path": "/api/health", "port": 8080}
    assert c["livenessProbe"]["httpGet"] == {"path": "/api/health", "port": 8080}
    assert c["livenessProbe"]["initialDelaySeconds"] == 30


def test_secrets_are_secret_manager_references_never_literals(autopr):
    _, inv = autopr
    envs = {e["name"]: e for e in container(one(inv, RUN, "engine-service"))["envs"]}
    for name in ("GITHUB_TOKEN", "OPENAI_API_KEY", "DATABASE_URL", "REDIS_URL"):
        assert "value" not in envs[name], name
        assert envs[name]["valueSource"]["secretKeyRef"]["version"] == "latest"
    assert envs["AUTOPR_ENV"]["value"] == "production"
    assert "SENTRY_DSN" not in envs  # optional secret not set in the stack: left out


def test_service_account_reads_exactly_its_secrets(autopr):
    _, inv = autopr
    svc = one(inv, RUN, "engine-service")
    referenced = {e["valueSource"]["secretKeyRef"]["secret"] for e in container(svc)["envs"] if "valueSource" in e}
    secrets = {r.urn: r for r in inv.of_type("gcp:secretmanager/secret:Secret")}
    by_id = {"id-" + __import__("hashlib").sha1(f"{s.type}::{s.name}".encode()).hexdigest()[:12]: s.inputs["secretId"] for s in secrets.values()}
    grants = [r for r in inv.of_type("gcp:secretmanager/secretIamMember:SecretIamMember") if r.name.startswith("engine-")]
    granted = {by_id.get(g.inputs["secretId"], g.inputs["secretId"]) for g in grants}
    assert granted == referenced
    assert all(g.inputs["role"] == "roles/secretmanager.secretAccessor" for g in grants)
    assert {g.inputs["member"] for g in grants} == {f"serviceAccount:{svc.inputs['template']['serviceAccount']}"}


def test_linked_postgres_grants_cloudsql_client(autopr):
    _, inv = autopr
    grant = one(inv, "gcp:projects/iAMMember:IAMMember", "engine-cloudsql-client")
    assert grant.inputs["role"] == "roles/cloudsql.client" and grant.inputs["project"] == "acme-prodkit"


def test_all_egress_through_the_vpc_and_internet_tag_only_when_asked():
    _, inv, _ = planned("chat", "prod", "gcp")
    for svc in inv.of_type(RUN):
        vpc = svc.inputs["template"]["vpcAccess"]
        assert vpc["egress"] == "ALL_TRAFFIC"
    tags = {r.name: r.inputs["template"]["vpcAccess"]["networkInterfaces"][0]["tags"] for r in inv.of_type(RUN)}
    assert "internet-egress" in tags["backend-service"]  # calls OpenAI
    assert "internet-egress" not in tags["frontend-service"]


def test_cloud_run_deletion_protection_only_in_prod(autopr):
    profile, inv = autopr
    assert one(inv, RUN, "engine-service").inputs["deletionProtection"] is (profile == "prod")


def test_service_urls_resolve_to_the_callee_cloud_run_uri():
    _, inv, _ = planned("copilot", "prod", "gcp")
    envs = {e["name"]: e.get("value") for e in container(one(inv, RUN, "api-service"))["envs"]}
    assert envs["WORKFLOW_ENGINE_URL"].startswith("https://copilot-prod-workflow-") and envs["WORKFLOW_ENGINE_URL"].endswith(".run.app")
    assert "{{" not in json.dumps([r.inputs for r in inv.of_type(RUN)])


def test_secret_files_are_mounted_from_secret_manager():
    _, inv, _ = planned("compyle", "prod", "gcp")
    tmpl = one(inv, RUN, "fastapi-service").inputs["template"]
    secret_volumes = [v for v in tmpl["volumes"] if "secret" in v]
    assert secret_volumes and all(v["secret"]["defaultMode"] == 0o444 for v in secret_volumes)


def test_shared_volume_is_a_private_versioned_bucket_protected_in_prod():
    for profile in ("staging", "prod"):
        _, inv, _ = planned("compyle", profile, "gcp")
        bucket = one(inv, "gcp:storage/bucket:Bucket", "fastapi-workspaces-bucket")
        assert bucket.inputs["publicAccessPrevention"] == "enforced" and bucket.inputs["uniformBucketLevelAccess"] is True
        assert bucket.inputs["versioning"] == {"enabled": True}
        assert bucket.protect is (profile == "prod")


# --- Cloud SQL ---------------------------------------------------------------------------------------------

def test_cloud_sql_private_ip_only_and_tls_required(autopr):
    _, inv = autopr
    ip = one(inv, SQL).inputs["settings"]["ipConfiguration"]
    assert ip["ipv4Enabled"] is False and ip["sslMode"] == "ENCRYPTED_ONLY" and ip["privateNetwork"]
    assert "authorizedNetworks" not in ip


def test_cloud_sql_seed_tier_regional_backups_and_pitr():
    _, inv, _ = planned("autopr", "prod", "gcp")
    db = one(inv, SQL)
    s = db.inputs["settings"]
    assert db.inputs["databaseVersion"] == "POSTGRES_15"
    assert s["tier"] == "db-custom-2-7680" and s["availabilityType"] == "REGIONAL"
    b = s["backupConfiguration"]
    assert b["enabled"] is True and b["pointInTimeRecoveryEnabled"] is True and b["startTime"] == "03:00"
    assert b["backupRetentionSettings"] == {"retainedBackups": 30, "retentionUnit": "COUNT"}
    assert b["transactionLogRetentionDays"] == 7
    assert s["insightsConfig"]["queryInsightsEnabled"] is True


def test_cloud_sql_deletion_protection_and_protect_in_prod_only(autopr):
    profile, inv = autopr
    db = one(inv, SQL)
    prod = profile == "prod"
    assert db.inputs["deletionProtection"] is prod and db.inputs["settings"]["deletionProtectionEnabled"] is prod
    assert db.protect is prod and db.retain_on_delete is prod
    assert bool(db.inputs.get("encryptionKeyName")) is prod  # CMEK where the profile asks


def test_database_flags_from_the_spec():
    _, inv, _ = planned("arches", "prod", "gcp")
    flags = {f["name"]: f["value"] for f in one(inv, SQL).inputs["settings"]["databaseFlags"]}
    assert flags["max_connections"] == "200" and flags["log_min_duration_statement"] == "1000"


def test_database_url_requires_tls_and_stays_secret(autopr):
    _, inv = autopr
    version = one(inv, "gcp:secretmanager/secretVersion:SecretVersion", "postgres-url-version")
    assert version.inputs["secretData"] == "[secret]"
    assert version.raw_inputs["secretData"].endswith("/autopr?sslmode=require")
    assert version.raw_inputs["secretData"].startswith("postgresql://autopr_app:")


# --- Memorystore -------------------------------------------------------------------------------------------

def test_memorystore_auth_tls_private(autopr):
    _, inv = autopr
    r = one(inv, REDIS).inputs
    assert r["authEnabled"] is True and r["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    assert r["connectMode"] == "PRIVATE_SERVICE_ACCESS" and r["redisVersion"] == "REDIS_7_2"
    assert r["persistenceConfig"]["persistenceMode"] == "RDB"
    assert r["redisConfigs"] == {"maxmemory-policy": "allkeys-lru"}


def test_memorystore_tier_follows_high_availability():
    _, inv, _ = planned("copilot", "staging", "gcp")
    assert one(inv, REDIS).inputs["tier"] == "BASIC"
    _, inv, _ = planned("copilot", "prod", "gcp")
    assert one(inv, REDIS).inputs["tier"] == "STANDARD_HA"


def test_redis_url_is_rediss_on_the_tls_port(autopr):
    _, inv = autopr
    url = one(inv, "gcp:secretmanager/secretVersion:SecretVersion", "redis-url-version").raw_inputs["secretData"]
    assert url.startswith("rediss://:") and url.endswith(":6378/0")


# --- load balancer and Cloud Armor -------------------------------------------------------------------------

def test_armor_rate_rule_per_route_previews_in_staging_enforces_in_prod(autopr):
    profile, inv = autopr
    rules = one(inv, "gcp:compute/securityPolicy:SecurityPolicy").inputs["rules"]
    rate = [r for r in rules if r["action"] == "rate_based_ban"]
    assert len(rate) == 1
    assert rate[0]["rateLimitOptions"]["rateLimitThreshold"] == {"count": 100, "intervalSec": 60}
    assert rate[0]["rateLimitOptions"]["exceedAction"] == "deny(429)"
    owasp = [r for r in rules if "evaluatePreconfiguredWaf" in json.dumps(r)]
    assert len(owasp) >= 5
    assert all(r["preview"] is (profile == "staging") for r in rate + owasp)


def test_route_rules_longest_path_first():
    _, inv, _ = planned("compyle", "prod", "gcp")
    rules = [r for r in one(inv, "gcp:compute/securityPolicy:SecurityPolicy").inputs["rules"] if r["action"] == "rate_based_ban"]
    exprs = [r["match"].get("expr", {}).get("expression", "*") for r in sorted(rules, key=lambda r: r["priority"])]
    assert exprs[0].startswith("request.path == '/api/") and exprs[-1] == "*"


def test_every_backend_has_armor_logging_and_security_headers(autopr):
    _, inv = autopr
    for backend in inv.of_type("gcp:compute/backendService:BackendService"):
        assert backend.inputs["securityPolicy"] and backend.inputs["logConfig"]["enable"] is True
        headers = backend.inputs["customResponseHeaders"]
        assert "Strict-Transport-Security: max-age=31536000; includeSubDomains" in headers
        assert "X-Frame-Options: DENY" in headers and "X-Content-Type-Options: nosniff" in headers


def test_tls_12_policy_managed_certificate_and_redirect(autopr):
    _, inv = autopr
    assert one(inv, "gcp:compute/sSLPolicy:SSLPolicy").inputs["minTlsVersion"] == "TLS_1_2"
    assert one(inv, "gcp:compute/managedSslCertificate:ManagedSslCertificate").inputs["managed"]["domains"]
    redirect = one(inv, "gcp:compute/uRLMap:URLMap", "ingress-redirect").inputs
    assert redirect["defaultUrlRedirect"]["httpsRedirect"] is True and "defaultService" not in redirect


def test_cors_only_for_the_app_origin(autopr):
    _, inv = autopr
    urlmap = one(inv, "gcp:compute/uRLMap:URLMap", "ingress-urlmap").inputs
    cors = urlmap["pathMatchers"][0]["defaultRouteAction"]["corsPolicy"]
    assert cors["allowOrigins"] and "*" not in cors["allowOrigins"]


# --- scaling, backups, monitoring, network ------------------------------------------------------------------

def test_autoscaler_sets_min_max_and_cpu_target_on_cloud_run(autopr):
    profile, inv = autopr
    scaling = one(inv, RUN, "engine-service").inputs["template"]["scaling"]
    assert scaling == ({"minInstanceCount": 2, "maxInstanceCount": 10, "cpuUtilization": 0.75} if profile == "prod"
                       else {"minInstanceCount": 2, "maxInstanceCount": 2, "cpuUtilization": 0.75})


def test_queue_depth_scales_through_crema_on_the_redis_list():
    _, inv, _ = planned("copilot", "prod", "gcp")
    version = one(inv, "gcp:parametermanager/parameterVersion:ParameterVersion")
    config = json.loads(version.raw_inputs["parameterData"])
    obj = config["spec"]["scaledObjects"][0]["spec"]
    trigger = obj["triggers"][0]
    assert trigger["type"] == "redis" and trigger["metadata"]["listName"] == "copilot:workflows"
    assert trigger["metadata"]["listLength"] == "100" and trigger["metadata"]["enableTLS"] == "true"
    assert (obj["minReplicaCount"], obj["maxReplicaCount"]) == (2, 5)
    crema = one(inv, RUN, "workflow-autoscaler-crema")
    assert crema.inputs["scaling"] == {"scalingMode": "MANUAL", "manualInstanceCount": 1}
    assert "scaling" in one(inv, RUN, "workflow-service").ignore_changes


def test_db_exports_go_to_a_locked_bucket_on_the_spec_schedule():
    for profile in ("staging", "prod"):
        _, inv, _ = planned("autopr", profile, "gcp")
        bucket = one(inv, "gcp:storage/bucket:Bucket", "backups-bucket")
        assert bucket.inputs["retentionPolicy"] == {"retentionPeriod": 30 * 86400, "isLocked": profile == "prod"}
        assert bucket.inputs["publicAccessPrevention"] == "enforced"
        assert one(inv, "gcp:cloudscheduler/job:Job").inputs["schedule"] == "0 2 * * *"


def test_alerts_per_service_and_store_to_email():
    _, inv, _ = planned("autopr", "prod", "gcp")
    channel = one(inv, "gcp:monitoring/notificationChannel:NotificationChannel")
    assert channel.inputs["type"] == "email" and channel.inputs["labels"] == {"email_address": "oncall@example.com"}
    names = {r.name for r in inv.of_type("gcp:monitoring/alertPolicy:AlertPolicy")}
    assert {"monitoring-engine-5xx", "monitoring-engine-latency", "monitoring-engine-at-max", "monitoring-postgres-cpu",
            "monitoring-postgres-disk", "monitoring-redis-memory"} <= names
    at_max = one(inv, "gcp:monitoring/alertPolicy:AlertPolicy", "monitoring-engine-at-max")
    assert at_max.inputs["conditions"][0]["conditionThreshold"]["thresholdValue"] == 9.5


def test_network_denies_by_default_and_nats_only_with_internet_egress(autopr):
    _, inv = autopr
    fw = {r.name: r.inputs for r in inv.of_type("gcp:compute/firewall:Firewall")}
    assert fw["network-deny-ingress"]["denies"] == [{"protocol": "all"}] and fw["network-deny-egress"]["denies"] == [{"protocol": "all"}]
    assert fw["network-allow-egress-internet"]["targetTags"] == ["internet-egress"]
    assert inv.of_type("gcp:compute/routerNat:RouterNat")
    vpc = one(inv, "gcp:compute/network:Network").inputs
    assert vpc["autoCreateSubnetworks"] is False
    assert one(inv, "gcp:compute/subnetwork:Subnetwork").inputs["privateIpGoogleAccess"] is True


def test_flow_and_service_logs_kept_for_the_profile_retention(autopr):
    profile, inv = autopr
    days = 90 if profile == "prod" else 14
    for name in ("network-flow-logs", "engine-logs"):  # VPC flow logs, the service's own logs
        assert one(inv, "gcp:logging/projectBucketConfig:ProjectBucketConfig", name).inputs["retentionDays"] == days
    sink = one(inv, "gcp:logging/projectSink:ProjectSink", "engine-log-sink").inputs
    assert sink["filter"] == 'resource.type="cloud_run_revision" AND resource.labels.service_name="autopr-' + ("prod" if profile == "prod" else "staging") + '-engine"'


def test_no_secret_value_in_any_input():
    _, inv, _ = planned("autopr", "prod", "gcp")
    text = json.dumps([r.inputs for r in inv.resources])
    assert "[secret placeholder]" not in text


@pytest.mark.parametrize("app", ["compyle", "autopr", "copilot", "chat", "arches"])
def test_logical_names_are_unique(app):
    # Two resources of one name (a random password and its Secret Manager secret) made the goldens order-dependent.
    _, inv, _ = planned(app, "prod", "gcp")
    names = [r.name for r in inv.resources]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})


@pytest.mark.parametrize("app", ["compyle", "autopr", "copilot", "chat", "arches"])
def test_stateful_resources_protected_in_prod_only(app):
    stateful = (SQL, REDIS, "gcp:storage/bucket:Bucket", "gcp:kms/cryptoKey:CryptoKey", "gcp:kms/keyRing:KeyRing")
    for profile in ("staging", "prod"):
        _, inv, _ = planned(app, profile, "gcp")
        found = [r for r in inv.resources if r.type in stateful]
        assert found
        for r in found:
            assert r.protect is (profile == "prod") and r.retain_on_delete is (profile == "prod"), f"{profile} {r.type} {r.name}"


def test_cmek_grant_precedes_the_stores_that_use_the_key():
    _, inv, _ = planned("autopr", "prod", "gcp")
    key = one(inv, "gcp:kms/cryptoKey:CryptoKey")
    assert key.inputs["rotationPeriod"] == "7776000s"
    for store, grant in ((SQL, "postgres-key-access"), (REDIS, "redis-key-access")):
        member = inv.named(grant)
        assert member.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
        assert member.urn in one(inv, store).dependencies
    _, staging, _ = planned("autopr", "staging", "gcp")
    assert not staging.of_type("gcp:kms/cryptoKey:CryptoKey")


#: Resources addressed through a parent's full id (key ring, secret, bucket, network, parameter): no project input.
_BY_PARENT = {"gcp:kms/cryptoKey:CryptoKey", "gcp:secretmanager/secretVersion:SecretVersion", "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
              "gcp:servicenetworking/connection:Connection", "gcp:storage/bucketIAMMember:BucketIAMMember",
              "gcp:serviceaccount/iAMMember:IAMMember", "gcp:parametermanager/parameterVersion:ParameterVersion"}


@pytest.mark.parametrize("app", ["compyle", "copilot"])
def test_every_resource_names_the_stack_project(app):
    # prodkit:project alone must be enough: nothing may fall back to the provider's (or gcloud's) default project.
    _, inv, _ = planned(app, "prod", "gcp")
    for r in inv.resources:
        if r.type.startswith("gcp:") and r.type not in _BY_PARENT:
            assert r.inputs.get("project") == "acme-prodkit", f"{r.type} {r.name}"


def test_google_apis_resolve_privately_under_the_deny_all_egress(autopr):
    _, inv = autopr
    zone = one(inv, "gcp:dns/managedZone:ManagedZone", "network-googleapis-zone").inputs
    assert zone["dnsName"] == "googleapis.com." and zone["visibility"] == "private"
    records = {r.name: r.inputs for r in inv.of_type("gcp:dns/recordSet:RecordSet")}
    assert records["network-googleapis-cname"]["rrdatas"] == ["private.googleapis.com."]
    assert records["network-googleapis-private"]["rrdatas"] == ["199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11"]
    allow = one(inv, "gcp:compute/firewall:Firewall", "network-allow-egress-google").inputs
    assert allow["destinationRanges"] == ["199.36.153.8/30"] and allow["allows"] == [{"protocol": "tcp", "ports": ["443"]}]


def test_prod_secrets_use_the_stack_key_in_its_region_after_the_agent_grant():
    _, inv, _ = planned("autopr", "prod", "gcp")
    key = one(inv, "gcp:kms/cryptoKey:CryptoKey")
    ring = one(inv, "gcp:kms/keyRing:KeyRing")
    agent = inv.named("network-secrets-agent")
    assert agent.inputs["service"] == "secretmanager.googleapis.com"
    grant = inv.named("network-secrets-key-access")
    assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert grant.inputs["cryptoKeyId"] == mock_id(key.as_json())  # exactly the stack key
    assert agent.urn in grant.dependencies
    secrets = inv.of_type("gcp:secretmanager/secret:Secret")
    assert len(secrets) == 7  # engine's own, Postgres password + URL, Redis URL + AUTH + CA
    for s in secrets:
        replicas = s.inputs["replication"]["userManaged"]["replicas"]
        assert replicas and all(r["location"] == ring.inputs["location"] == "us-central1" for r in replicas), s.name
        assert all(r["customerManagedEncryption"]["kmsKeyName"] == grant.inputs["cryptoKeyId"] for r in replicas), s.name
        assert grant.urn in s.dependencies, s.name


def test_staging_secrets_use_google_managed_keys():
    _, inv, _ = planned("autopr", "staging", "gcp")
    assert not inv.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember") and not inv.of_type("gcp:projects/serviceIdentity:ServiceIdentity")
    for s in inv.of_type("gcp:secretmanager/secret:Secret"):
        assert s.inputs["replication"] == {"userManaged": {"replicas": [{"location": "us-central1"}]}}, s.name


def _bucket_names(app: str, project: str) -> set[str]:
    from stacks import cli

    from conftest import ROOT
    cfg = cli.load_stack(ROOT, "prod", [f"prodkit:app={app}", "prodkit:profile=prod", "prodkit:cloud=gcp", "prodkit:region=us-central1", f"prodkit:project={project}"])
    inventory, _ = cli.run_plan(cfg)
    return {b.inputs["name"] for b in inventory.of_type("gcp:storage/bucket:Bucket")}


def test_bucket_names_differ_between_projects_with_the_same_app_and_stack():
    # Cloud Storage names are global: a second project deploying compyle/prod must not collide with the first.
    first, second = _bucket_names("compyle", "acme-prodkit"), _bucket_names("compyle", "other-team-prodkit")
    assert len(first) == 3 and len(second) == 3
    assert not first & second
    for name in first | second:
        assert len(name) <= 63 and name.startswith("compyle-prod-") and re.fullmatch(r"[a-z0-9][a-z0-9-]*[a-z0-9]", name), name
    assert _bucket_names("compyle", "acme-prodkit") == first  # deterministic


def _args_fields(type_: str) -> set[str]:
    """Top-level Args fields of a pulumi-gcp resource type, read from the installed SDK."""
    import importlib
    import inspect

    module, cls = type_.split(":")[1:]
    args = getattr(importlib.import_module(f"pulumi_gcp.{module.split('/')[0]}"), f"{cls}Args")
    return set(inspect.signature(args.__init__).parameters)


def test_labels_table_covers_every_labelable_gcp_type_the_seeds_create():
    from policies.rules.operability import GCP_LABELLED

    types = {r.type for app in ("compyle", "autopr", "copilot", "chat", "arches") for r in planned(app, "prod", "gcp")[1].resources
             if r.type.startswith("gcp:")}
    for t in sorted(types):
        fields = _args_fields(t)
        if t == SQL:
            assert GCP_LABELLED[t] == ("settings", "userLabels")  # DatabaseInstanceSettings.user_labels
        elif "user_labels" in fields:
            assert GCP_LABELLED.get(t) == ("userLabels",), t
        elif "labels" in fields:
            assert GCP_LABELLED.get(t) == ("labels",), t
        else:
            assert t not in GCP_LABELLED, t


@pytest.mark.parametrize("app", ["compyle", "autopr", "copilot", "chat", "arches"])
def test_every_labelable_gcp_resource_carries_the_standard_labels(app):
    from policies.rules.operability import GCP_LABELLED

    for profile in ("staging", "prod"):
        _, inv, _ = planned(app, profile, "gcp")
        labelled = [r for r in inv.resources if r.type in GCP_LABELLED]
        assert len({r.type for r in labelled}) >= 10
        for r in labelled:
            labels = r.inputs
            for step in GCP_LABELLED[r.type]:
                labels = labels[step]
            assert {k: labels[k] for k in ("app", "stack", "managed-by")} == {"app": app, "stack": profile, "managed-by": "prodkit"}, (r.type, r.name)
            assert labels["component"], (r.type, r.name)
