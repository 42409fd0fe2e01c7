"""Compliant and non-compliant cases of the GCP rules (policies/rules/gcp.py), in test_policies.py's shapes."""

from __future__ import annotations

from typing import Any

from policy_cases import OPTS, PROTECTED, with_  # noqa: F401 (shared helpers)
from policies.rules import gcp as g





SQL = {"deletionProtection": True, "encryptionKeyName": "projects/p/locations/r/keyRings/k/cryptoKeys/c", "settings": {
    "availabilityType": "REGIONAL", "deletionProtectionEnabled": True,
    "ipConfiguration": {"ipv4Enabled": False, "privateNetwork": "projects/p/global/networks/vpc", "sslMode": "ENCRYPTED_ONLY"},
    "backupConfiguration": {"enabled": True, "pointInTimeRecoveryEnabled": True, "backupRetentionSettings": {"retainedBackups": 30, "retentionUnit": "COUNT"}},
}}
REDIS = {"authEnabled": True, "transitEncryptionMode": "SERVER_AUTHENTICATION", "connectMode": "PRIVATE_SERVICE_ACCESS",
         "tier": "STANDARD_HA", "deletionProtection": True, "customerManagedKey": "projects/p/locations/r/keyRings/k/cryptoKeys/c"}
RUN = {"ingress": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER", "invokerIamDisabled": True, "deletionProtection": True, "template": {
    "scaling": {"minInstanceCount": 2, "maxInstanceCount": 10},
    "containers": [{"name": "app", "image": "ghcr.io/acme/api:1.0.0",
                    "envs": [{"name": "LOG_LEVEL", "value": "info"},
                             {"name": "OPENAI_API_KEY", "valueSource": {"secretKeyRef": {"secret": "s", "version": "latest"}}}],
                    "startupProbe": {"httpGet": {"path": "/health"}}, "livenessProbe": {"httpGet": {"path": "/health"}},
                    "resources": {"limits": {"cpu": "2", "memory": "4096Mi"}}}]}}
ARMOR = {"rules": [{"priority": 100, "action": "deny(403)", "preview": False},
                   {"priority": 1000, "action": "rate_based_ban", "preview": False}]}
SSL = {"minTlsVersion": "TLS_1_2", "profile": "MODERN"}
BUCKET = {"publicAccessPrevention": "enforced", "uniformBucketLevelAccess": True}
KEY = {"rotationPeriod": "7776000s"}
LABELS = {"app": "demo", "stack": "prod", "component": "web-service", "managed-by": "prodkit"}
CMEK = "projects/p/locations/us-central1/keyRings/k/cryptoKeys/c"
SECRET = {"replication": {"userManaged": {"replicas": [{"location": "us-central1", "customerManagedEncryption": {"kmsKeyName": CMEK}}]}}}

CASES: list[tuple[str, str, dict, dict, str | None]] = [
    ("gcp-cloudsql-private", g.SQL_INSTANCE, SQL, OPTS, None),
    ("gcp-cloudsql-private", g.SQL_INSTANCE, with_(SQL, "settings.ipConfiguration.ipv4Enabled", True), OPTS, "gets a public IP"),
    ("gcp-cloudsql-private", g.SQL_INSTANCE, with_(SQL, "settings.ipConfiguration.authorizedNetworks", [{"value": "0.0.0.0/0"}]), OPTS, "authorizedNetworks"),
    ("gcp-cloudsql-tls", g.SQL_INSTANCE, SQL, OPTS, None),
    ("gcp-cloudsql-tls", g.SQL_INSTANCE, with_(SQL, "settings.ipConfiguration.sslMode", "ALLOW_UNENCRYPTED_AND_ENCRYPTED"), OPTS, "plaintext connections"),
    ("gcp-cloudsql-backups", g.SQL_INSTANCE, SQL, OPTS, None),
    ("gcp-cloudsql-backups", g.SQL_INSTANCE, with_(SQL, "settings.backupConfiguration.pointInTimeRecoveryEnabled", False), OPTS, "no point-in-time recovery"),
    ("gcp-cloudsql-backups", g.SQL_INSTANCE, with_(SQL, "settings.backupConfiguration.backupRetentionSettings.retainedBackups", 3), OPTS, "keep 7 to 35"),
    ("gcp-redis-auth-tls", g.REDIS_INSTANCE, REDIS, OPTS, None),
    ("gcp-redis-auth-tls", g.REDIS_INSTANCE, with_(REDIS, "authEnabled", False), OPTS, "authEnabled is not true"),
    ("gcp-redis-auth-tls", g.REDIS_INSTANCE, with_(REDIS, "transitEncryptionMode", "DISABLED"), OPTS, "plaintext"),
    ("gcp-redis-auth-tls", g.REDIS_INSTANCE, with_(REDIS, "connectMode", "DIRECT_PEERING"), OPTS, "PRIVATE_SERVICE_ACCESS"),
    ("gcp-cloudrun-ingress", g.RUN_SERVICE, RUN, OPTS, None),
    ("gcp-cloudrun-ingress", g.RUN_SERVICE, with_(RUN, "ingress", "INGRESS_TRAFFIC_ALL"), OPTS, "reachable from the internet"),
    ("gcp-cloudrun-ingress", g.RUN_SERVICE, with_(RUN, "ingress", None), OPTS, "INGRESS_TRAFFIC_ALL (default)"),
    ("gcp-cloudrun-no-public-invoker", g.RUN_SERVICE, RUN, OPTS, None),
    ("gcp-cloudrun-no-public-invoker", g.RUN_SERVICE, with_(RUN, "ingress", "INGRESS_TRAFFIC_ALL"), OPTS, "anyone on the internet"),
    ("gcp-cloudrun-no-public-invoker", g.RUN_IAM[0], {"role": "roles/run.invoker", "member": "serviceAccount:x@p.iam.gserviceaccount.com"}, OPTS, None),
    ("gcp-cloudrun-no-public-invoker", g.RUN_IAM[0], {"role": "roles/run.invoker", "member": "allUsers"}, OPTS, "callable by anyone"),
    ("gcp-cloudrun-no-public-invoker", g.RUN_IAM[1], {"role": "roles/run.invoker", "members": ["serviceAccount:x@p.iam.gserviceaccount.com"]}, OPTS, None),
    ("gcp-cloudrun-no-public-invoker", g.RUN_IAM[1], {"role": "roles/run.invoker", "members": ["allAuthenticatedUsers"]}, OPTS, "callable by anyone"),
    ("gcp-cloudrun-secret-refs", g.RUN_SERVICE, RUN, OPTS, None),
    ("gcp-cloudrun-secret-refs", g.RUN_SERVICE, with_(RUN, "template.containers.0.envs.1", {"name": "OPENAI_API_KEY", "value": "sk-123"}), OPTS, "OPENAI_API_KEY is a literal value"),
    ("gcp-cloudrun-probes", g.RUN_SERVICE, RUN, OPTS, None),
    ("gcp-cloudrun-probes", g.RUN_SERVICE, with_(RUN, "template.containers.0.startupProbe", None), OPTS, "no startupProbe"),
    ("gcp-cloudrun-probes", g.RUN_SERVICE, with_(RUN, "template.containers.0.livenessProbe", None), OPTS, "no livenessProbe"),
    ("gcp-cloudrun-probes", g.RUN_SERVICE, with_(RUN, "template.containers.0.resources.limits.memory", None), OPTS, "needs cpu and memory"),
    ("gcp-armor-enforced", g.ARMOR, ARMOR, OPTS, None),
    ("gcp-armor-enforced", g.ARMOR, with_(ARMOR, "rules.1.preview", True), OPTS, "rule 1000 (rate_based_ban) is in preview"),
    ("gcp-ssl-policy", g.SSL_POLICY, SSL, OPTS, None),
    ("gcp-ssl-policy", g.SSL_POLICY, with_(SSL, "minTlsVersion", "TLS_1_0"), OPTS, "require TLS_1_2"),
    ("gcp-ssl-policy", g.SSL_POLICY, with_(SSL, "profile", "COMPATIBLE"), OPTS, "use MODERN or RESTRICTED"),
    ("gcp-ssl-policy", g.HTTPS_PROXY, {"sslPolicy": "id-1", "urlMap": "id-2"}, OPTS, None),
    ("gcp-ssl-policy", g.HTTPS_PROXY, {"urlMap": "id-2"}, OPTS, "no sslPolicy"),
    ("gcp-bucket-not-public", g.BUCKET, BUCKET, OPTS, None),
    ("gcp-bucket-not-public", g.BUCKET, with_(BUCKET, "publicAccessPrevention", "inherited"), OPTS, "set 'enforced'"),
    ("gcp-bucket-not-public", g.BUCKET, with_(BUCKET, "uniformBucketLevelAccess", False), OPTS, "object ACLs"),
    ("gcp-bucket-not-public", g.BUCKET_IAM[0], {"bucket": "b", "role": "roles/storage.objectViewer", "member": "serviceAccount:x@p.iam.gserviceaccount.com"}, OPTS, None),
    ("gcp-bucket-not-public", g.BUCKET_IAM[0], {"bucket": "b", "role": "roles/storage.objectViewer", "member": "allUsers"}, OPTS, "objects are public"),
    ("gcp-bucket-not-public", g.BUCKET_IAM[1], {"bucket": "b", "role": "roles/storage.objectViewer", "members": ["user:a@example.com"]}, OPTS, None),
    ("gcp-bucket-not-public", g.BUCKET_IAM[1], {"bucket": "b", "role": "roles/storage.objectViewer", "members": ["allUsers"]}, OPTS, "objects are public"),
    ("gcp-flow-logs", g.SUBNET, {"logConfig": {"metadata": "INCLUDE_ALL_METADATA"}}, OPTS, None),
    ("gcp-flow-logs", g.SUBNET, {"ipCidrRange": "10.0.0.0/17"}, OPTS, "flow logs are off"),
    ("gcp-deletion-protection", g.SQL_INSTANCE, SQL, OPTS, None),
    ("gcp-deletion-protection", g.SQL_INSTANCE, with_(SQL, "settings.deletionProtectionEnabled", False), OPTS, "the API (console, gcloud) may delete"),
    ("gcp-deletion-protection", g.REDIS_INSTANCE, REDIS, OPTS, None),
    ("gcp-deletion-protection", g.REDIS_INSTANCE, with_(REDIS, "deletionProtection", False), OPTS, "deletionProtection is not true"),
    ("gcp-deletion-protection", g.RUN_SERVICE, RUN, OPTS, None),
    ("gcp-deletion-protection", g.RUN_SERVICE, with_(RUN, "deletionProtection", False), OPTS, "deletionProtection is not true"),
    *[(rid, t, p, PROTECTED, None) for rid, t, p in (("gcp-stateful-protected", g.SQL_INSTANCE, SQL), ("gcp-stateful-protected", g.REDIS_INSTANCE, REDIS),
                                                     ("gcp-stateful-protected", g.BUCKET, BUCKET), ("gcp-stateful-protected", g.KMS_KEY, KEY),
                                                     ("gcp-stateful-protected", g.KMS_RING, {"location": "us-central1"}))],
    *[(rid, t, p, OPTS, "not protected") for rid, t, p in (("gcp-stateful-protected", g.SQL_INSTANCE, SQL), ("gcp-stateful-protected", g.REDIS_INSTANCE, REDIS),
                                                           ("gcp-stateful-protected", g.BUCKET, BUCKET), ("gcp-stateful-protected", g.KMS_KEY, KEY),
                                                           ("gcp-stateful-protected", g.KMS_RING, {"location": "us-central1"}))],
    ("gcp-high-availability", g.SQL_INSTANCE, SQL, OPTS, None),
    ("gcp-high-availability", g.SQL_INSTANCE, with_(SQL, "settings.availabilityType", "ZONAL"), OPTS, "no standby"),
    ("gcp-high-availability", g.REDIS_INSTANCE, REDIS, OPTS, None),
    ("gcp-high-availability", g.REDIS_INSTANCE, with_(REDIS, "tier", "BASIC"), OPTS, "no replica"),
    ("gcp-high-availability", g.RUN_SERVICE, RUN, OPTS, None),
    ("gcp-high-availability", g.RUN_SERVICE, with_(RUN, "template.scaling.minInstanceCount", 1), OPTS, "single point of failure"),
    ("gcp-customer-managed-keys", g.SQL_INSTANCE, SQL, OPTS, None),
    ("gcp-customer-managed-keys", g.SQL_INSTANCE, with_(SQL, "encryptionKeyName", None), OPTS, "Google-managed key"),
    ("gcp-customer-managed-keys", g.REDIS_INSTANCE, REDIS, OPTS, None),
    ("gcp-customer-managed-keys", g.REDIS_INSTANCE, with_(REDIS, "customerManagedKey", None), OPTS, "Google-managed key"),
    ("gcp-customer-managed-keys", g.KMS_KEY, KEY, OPTS, None),
    ("gcp-customer-managed-keys", g.KMS_KEY, with_(KEY, "rotationPeriod", "31536000s"), OPTS, "at least every 90 days"),
    ("resource-labels", g.RUN_SERVICE, {**RUN, "labels": LABELS}, OPTS, None),
    ("resource-labels", g.RUN_SERVICE, RUN, OPTS, "labels lack app, stack, component, managed-by"),
    ("resource-labels", g.SECRET, {**SECRET, "labels": {**LABELS, "managed-by": ""}}, OPTS, "labels lack managed-by"),
    ("resource-labels", g.SQL_INSTANCE, with_(SQL, "settings.userLabels", LABELS), OPTS, None),
    ("resource-labels", g.SQL_INSTANCE, {**SQL, "labels": LABELS}, OPTS, "settings.userLabels lack app"),
    ("resource-labels", g.ALERT, {"userLabels": LABELS}, OPTS, None),
    ("resource-labels", g.ALERT, {"labels": LABELS}, OPTS, "userLabels lack app"),
    # A notification channel's `labels` are its configuration (the address), its labels are `userLabels`.
    ("resource-labels", "gcp:monitoring/notificationChannel:NotificationChannel", {"labels": {"email_address": "a@b.c"}}, OPTS, "userLabels lack app"),
    ("resource-labels", "gcp:monitoring/notificationChannel:NotificationChannel", {"labels": {"email_address": "a@b.c"}, "userLabels": LABELS}, OPTS, None),
    ("resource-labels", g.BUCKET, {**BUCKET, "labels": {**LABELS, "Owner": "Team A"}}, OPTS, "labels Owner=Team A not valid on GCP"),
    ("resource-labels", g.BUCKET, {**BUCKET, "labels": {**LABELS, "app": "x" * 64}}, OPTS, "not valid on GCP"),
    ("resource-labels", g.BUCKET, {**BUCKET, "labels": {**LABELS, "cost-centre": "r&d"}}, OPTS, "cost-centre=r&d not valid"),
    ("resource-labels", g.BUCKET, {**BUCKET, "labels": {**LABELS, "équipe": "données_01"}}, OPTS, None),  # international lowercase
    ("resource-labels", g.FIREWALL, {"direction": "INGRESS"}, OPTS, None),  # no labels in the API
    ("resource-labels", "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", {"role": "roles/x"}, OPTS, None),
    ("resource-labels", "gcp:filestore/instance:Instance", {"labels": {"app": "demo"}}, OPTS, "labels lack stack, component, managed-by"),
    ("gcp-customer-managed-keys", g.SECRET, SECRET, OPTS, None),
    ("gcp-customer-managed-keys", g.SECRET, {"replication": {"userManaged": {"replicas": [{"location": "us-central1"}]}}}, OPTS,
     "replicas in us-central1 have no customerManagedEncryption.kmsKeyName: Google-managed key"),
    ("gcp-customer-managed-keys", g.SECRET, {"replication": {"userManaged": {"replicas": [
        {"location": "us-central1", "customerManagedEncryption": {"kmsKeyName": CMEK}}, {"location": "us-east1"}]}}}, OPTS, "replicas in us-east1"),
    ("gcp-customer-managed-keys", g.SECRET, {"replication": {"auto": {}}}, OPTS, "replication.auto.customerManagedEncryption.kmsKeyName is not set"),
    ("gcp-customer-managed-keys", g.SECRET, {"replication": {"auto": {"customerManagedEncryption": {"kmsKeyName": CMEK}}}}, OPTS, None),
    ("gcp-customer-managed-keys", g.SECRET, {"replication": {"userManaged": {"replicas": []}}}, OPTS, "no location"),
    ("gcp-customer-managed-keys", g.BUCKET, {**BUCKET, "encryption": {"defaultKmsKeyName": CMEK}}, OPTS, None),
    ("gcp-customer-managed-keys", g.BUCKET, BUCKET, OPTS, "encryption.defaultKmsKeyName is not set: Google-managed key"),
]


def _r(type_: str, name: str, inputs: dict, parent: str = "urn:comp") -> dict:
    return {"urn": f"urn:pulumi:prod::prodkit::{type_}::{name}", "type": type_, "name": name, "parent": parent, "inputs": inputs}


def edge(**over: Any) -> list[dict]:
    armor = _r(g.ARMOR, "edge-armor", {"name": "app-armor", **ARMOR})
    backend = _r(g.BACKEND, "edge-api-backend", {"name": "app-api-backend", "securityPolicy": "projects/p/global/securityPolicies/app-armor"})
    redirect = _r(g.URL_MAP, "edge-redirect", {"name": "app-redirect", "defaultUrlRedirect": {"httpsRedirect": True}})
    proxy = _r(g.HTTP_PROXY, "edge-http-proxy", {"name": "app-http-proxy", "urlMap": "projects/p/global/urlMaps/app-redirect"})
    rs = [armor, backend, redirect, proxy]
    for name, fn in over.items():
        fn(next(r for r in rs if r["name"] == name.replace("_", "-")))
    return rs


def vpc(**over: Any) -> list[dict]:
    net = _r(g.VPC, "net-vpc", {"name": "app-vpc"})
    deny_in = _r(g.FIREWALL, "net-deny-ingress", {"name": "app-deny-ingress", "network": "projects/p/global/networks/app-vpc", "direction": "INGRESS",
                                                 "denies": [{"protocol": "all"}], "sourceRanges": ["0.0.0.0/0"]})
    deny_out = _r(g.FIREWALL, "net-deny-egress", {"name": "app-deny-egress", "network": "projects/p/global/networks/app-vpc", "direction": "EGRESS",
                                                 "denies": [{"protocol": "all"}], "destinationRanges": ["0.0.0.0/0"]})
    allow = _r(g.FIREWALL, "net-allow-ingress-subnet", {"name": "app-allow", "network": "projects/p/global/networks/app-vpc", "direction": "INGRESS",
                                                        "allows": [{"protocol": "tcp"}], "sourceRanges": ["10.0.0.0/17"]})
    rs = [net, deny_in, deny_out, allow]
    for name, fn in over.items():
        fn(next(r for r in rs if r["name"] == name.replace("_", "-")))
    return rs


def alerting(**over: Any) -> list[dict]:
    run = _r(g.RUN_SERVICE, "api-service", RUN)
    alert = _r(g.ALERT, "monitoring-api-5xx", {"notificationChannels": ["projects/p/notificationChannels/1"]})
    rs = [run, alert]
    for name, fn in over.items():
        fn(next(r for r in rs if r["name"] == name.replace("_", "-")))
    return rs


STACK_CASES: list[tuple[str, Any, list[tuple[str, str]]]] = [
    ("gcp-armor-attached", edge, []),
    ("gcp-armor-attached", lambda: edge(edge_api_backend=lambda r: r["inputs"].pop("securityPolicy")), [("edge-api-backend", "has no securityPolicy")]),
    ("gcp-armor-attached", lambda: edge(edge_armor=lambda r: r["inputs"].__setitem__("rules", ARMOR["rules"][:1])), [("edge-api-backend", "no rate_based_ban/throttle rule")]),
    ("gcp-http-redirect-only", edge, []),
    ("gcp-http-redirect-only", lambda: edge(edge_redirect=lambda r: r["inputs"].__setitem__("defaultService", "projects/p/global/backendServices/app-api-backend")),
     [("edge-http-proxy", "must only redirect to HTTPS")]),
    ("gcp-vpc-default-deny", vpc, []),
    ("gcp-vpc-default-deny", lambda: vpc(net_allow_ingress_subnet=lambda r: r["inputs"].__setitem__("sourceRanges", ["0.0.0.0/0"])),
     [("net-allow-ingress-subnet", "allows ingress from 0.0.0.0/0")]),
    ("gcp-vpc-default-deny", lambda: [r for r in vpc() if r["name"] != "net-deny-egress"], [("net-vpc", "no deny-all egress firewall rule")]),
    ("gcp-vpc-default-deny", lambda: [r for r in vpc() if r["name"] != "net-deny-ingress"], [("net-vpc", "no deny-all ingress firewall rule: the implied deny is not logged")]),
    ("gcp-alerts-exist", alerting, []),
    ("gcp-alerts-exist", lambda: alerting()[:1], [("api-service", "no Cloud Monitoring alert policy")]),
    ("gcp-alerts-exist", lambda: alerting(monitoring_api_5xx=lambda r: r["inputs"].__setitem__("notificationChannels", [])),
     [("monitoring-api-5xx", "notify no channel")]),
]

CASES += [
    ("gcp-cloudrun-probes", g.RUN_SERVICE, with_(with_(RUN, "template.containers.0.livenessProbe", None), "template.containers.0.startupProbe", {"tcpSocket": {"port": 8080}}), OPTS, None),
]
CASES += [
    ("gcp-log-retention", g.LOG_BUCKET, {"bucketId": "b", "location": "global", "retentionDays": 90}, OPTS, None),
    ("gcp-log-retention", g.LOG_BUCKET, {"bucketId": "b", "location": "global"}, OPTS, "set 1 to 3650 days"),
]
