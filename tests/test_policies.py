"""The policy pack's pure rules: each rule, each resource type it covers, a compliant and a non-compliant case
(the message asserted); evaluate() levels and profiles; the config files; a real planned inventory."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest

import policies
from policies.rules import RULES
from policies.rules._util import UNKNOWN

ROOT = Path(__file__).resolve().parent.parent
RULE = {r.id: r for r in RULES}
OPTS = {"protect": False, "retainOnDelete": False, "ignoreChanges": []}
PROTECTED = {"protect": True, "retainOnDelete": True, "ignoreChanges": []}
LABELS = {"app": "demo", "stack": "prod", "component": "web-service", "managed-by": "prodkit"}
K8S_LABELS = {"app.kubernetes.io/part-of": "demo", "prodkit.io/stack": "prod", "app.kubernetes.io/component": "web-service",
              "app.kubernetes.io/managed-by": "prodkit", "app.kubernetes.io/name": "api"}

# ---------------------------------------------------------------------------------------------------------------
# Compliant building blocks (what the backends produce), mutated per case.

def container(**over: Any) -> dict:
    c = {
        "name": "api", "image": "ghcr.io/acme/api:1.4.2",
        "env": [{"name": "LOG_LEVEL", "value": "info"},
                {"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": "api-secrets", "key": "OPENAI_API_KEY"}}}],
        "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                            "privileged": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}},
        "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}},
    }
    c.update(over)
    return c


def pod(*containers: dict, **spec: Any) -> dict:
    return {"metadata": {"labels": dict(K8S_LABELS)},
            "spec": {"securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
                     "containers": list(containers or [container()]), **spec}}


def deployment(*containers: dict, replicas: int = 2) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "demo-prod", "labels": {**LABELS, **K8S_LABELS}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app.kubernetes.io/name": "api"}}, "template": pod(*containers)}}


def statefulset(*containers: dict) -> dict:
    d = deployment(*containers)
    d["kind"] = "StatefulSet"
    return d


def cronjob(*containers: dict) -> dict:
    cs = containers or (container(livenessProbe=None, readinessProbe=None),)
    return {"metadata": {"name": "backup", "namespace": "demo-prod", "labels": dict(LABELS)},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": pod(*cs)}}}}


def task(*defs: dict, **over: Any) -> dict:
    d = defs or ({"name": "app", "image": "123.dkr.ecr.us-east-1.amazonaws.com/api:1.0.0", "essential": True, "user": "10001",
                  "readonlyRootFilesystem": True,
                  "environment": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "CORS_ORIGINS", "value": "https://app.example.com"}],
                  "secrets": [{"name": "OPENAI_API_KEY", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:x"}],
                  "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"]},
                  "linuxParameters": {"capabilities": {"drop": ["ALL"]}}},)
    return {"family": "api", "cpu": "1024", "memory": "2048", "containerDefinitions": json.dumps(list(d)), "tags": dict(LABELS), **over}


def ecs_container(**over: Any) -> dict:
    c = json.loads(task()["containerDefinitions"])[0]
    c.update(over)
    return c


GW = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
BTP = "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy"
CTP = "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy"
SECPOL = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"
HEADERS = [{"name": "Strict-Transport-Security", "value": "max-age=31536000; includeSubDomains"},
           {"name": "X-Content-Type-Options", "value": "nosniff"}, {"name": "X-Frame-Options", "value": "SAMEORIGIN"}]


def gateway(**annotations: Any) -> dict:
    """What TlsIngress's Kubernetes backend renders: HTTPS (cert-manager-issued secret) + HTTP listeners."""
    ann = {"cert-manager.io/cluster-issuer": "letsencrypt-prod", **annotations}
    ann = {k: v for k, v in ann.items() if v is not None}
    return {"metadata": {"name": "edge", "namespace": "demo-prod", "labels": dict(LABELS), "annotations": ann},
            "spec": {"gatewayClassName": "eg", "listeners": [
                {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": "app.example.com",
                 "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "edge-tls"}]}},
                {"name": "http", "protocol": "HTTP", "port": 80, "hostname": "app.example.com"}]}}


def http_route(name: str = "edge-root", path: str = "/", section: str | None = "https", **rule: Any) -> dict:
    parent = {"kind": "Gateway", "name": "edge", **({"sectionName": section} if section else {})}
    r = {"matches": [{"path": {"type": "PathPrefix", "value": path}}],
         "filters": [{"type": "ResponseHeaderModifier", "responseHeaderModifier": {"set": copy.deepcopy(HEADERS)}}],
         "backendRefs": [{"name": "web", "port": 3000}], "timeouts": {"request": "60s", "backendRequest": "60s"}}
    r.update(rule)
    r = {k: v for k, v in r.items() if v is not None}
    return {"metadata": {"name": name, "namespace": "demo-prod", "labels": dict(LABELS)},
            "spec": {"parentRefs": [parent], "hostnames": ["app.example.com"], "rules": [r]}}


def redirect_route(status: int = 301) -> dict:
    return {"metadata": {"name": "edge-redirect", "namespace": "demo-prod", "labels": dict(LABELS)},
            "spec": {"parentRefs": [{"kind": "Gateway", "name": "edge", "sectionName": "http"}], "hostnames": ["app.example.com"],
                     "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": status}}]}]}}


def traffic_policy(route: str = "edge-root", requests: int = 100, per_ip: bool = True) -> dict:
    selectors = [{"sourceCIDR": {"type": "Distinct" if per_ip else "Exact", "value": "0.0.0.0/0"}}]
    return {"metadata": {"name": route, "namespace": "demo-prod", "labels": dict(LABELS)},
            "spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": route}],
                     "rateLimit": {"type": "Local", "local": {"rules": [{"clientSelectors": selectors, "limit": {"requests": requests, "unit": "Minute"}}]}}}}


def cors_policy(*origins: str) -> dict:
    return {"metadata": {"name": "edge-cors", "namespace": "demo-prod", "labels": dict(LABELS)},
            "spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "edge-root"}],
                     "cors": {"allowOrigins": list(origins), "allowMethods": ["GET"]}}}


def client_policy(version: str | None = "1.2") -> dict:
    spec: dict = {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge"}]}
    if version is not None:
        spec["tls"] = {"minVersion": version}
    return {"metadata": {"name": "edge-client", "namespace": "demo-prod", "labels": dict(LABELS)}, "spec": spec}


def res(type_: str, name: str, inputs: dict, *, parent: str = "urn:comp", protect: bool = False, ignore: list | None = None) -> dict:
    return {"urn": f"urn:pulumi:prod::prodkit::{type_}::{name}", "type": type_, "name": name, "parent": parent,
            "protect": protect, "retainOnDelete": protect, "ignoreChanges": ignore or [], "inputs": inputs}


def with_(d: dict, path: str, value: Any) -> dict:
    """Deep copy of d with the dotted path set (value None deletes)."""
    out = copy.deepcopy(d)
    node = out
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if p.isdigit() else node[p]
    last = parts[-1]
    if value is None:
        if last.isdigit():
            del node[int(last)]
        else:
            node.pop(last, None)
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return out


DEP = "kubernetes:apps/v1:Deployment"
STS = "kubernetes:apps/v1:StatefulSet"
CRON = "kubernetes:batch/v1:CronJob"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
CM = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
SVC = "kubernetes:core/v1:Service"
RDS = "aws:rds/instance:Instance"
PG_PARAMS = "aws:rds/parameterGroup:ParameterGroup"
PROXY = "aws:rds/proxy:Proxy"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
CNPG = "kubernetes:postgresql.cnpg.io/v1:Cluster"
POOLER = "kubernetes:postgresql.cnpg.io/v1:Pooler"
LISTENER = "aws:lb/listener:Listener"
ALB_LISTENER = "aws:alb/listener:Listener"
ALB = "aws:lb/loadBalancer:LoadBalancer"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_IN = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SM_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"

RDS_OK = {"engine": "postgres", "identifier": "demo-prod-postgres", "storageEncrypted": True, "publiclyAccessible": False,
          "dbSubnetGroupName": "demo-prod-db", "multiAz": True, "deletionProtection": True, "skipFinalSnapshot": False,
          "backupRetentionPeriod": 30, "parameterGroupName": "demo-prod-pg16", "tags": dict(LABELS)}
REDIS_OK = {"replicationGroupId": "demo-prod-redis", "transitEncryptionEnabled": True, "transitEncryptionMode": "required",
            "atRestEncryptionEnabled": True, "authToken": "[secret]", "subnetGroupName": "demo-prod-cache",
            "securityGroupIds": ["sg-1"], "automaticFailoverEnabled": True, "multiAzEnabled": True, "numCacheClusters": 2,
            "tags": dict(LABELS)}
CNPG_OK = {"metadata": {"name": "postgres", "namespace": "demo-prod", "labels": dict(LABELS)},
           "spec": {"instances": 3, "imageName": "ghcr.io/cloudnative-pg/postgresql:16.4",
                    "postgresql": {"pg_hba": ["hostssl all all all scram-sha-256", "hostnossl all all all reject"]},
                    "plugins": [{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": True,
                                 "parameters": {"barmanObjectName": "postgres-backups"}}]}}
OBJECT_STORE = "kubernetes:barmancloud.cnpg.io/v1:ObjectStore"
OBJECT_STORE_OK = {"metadata": {"name": "postgres-backups", "namespace": "demo-prod", "labels": dict(LABELS)},
                   "spec": {"configuration": {"destinationPath": "s3://b/postgres"}, "retentionPolicy": "30d"}}
LISTENER_HTTPS = {"protocol": "HTTPS", "port": 443, "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06", "certificateArn": "arn:aws:acm:x",
                  "defaultActions": [{"type": "forward"}], "routingHttpResponseStrictTransportSecurityHeaderValue": "max-age=31536000; includeSubDomains",
                  "routingHttpResponseXContentTypeOptionsHeaderValue": "nosniff", "routingHttpResponseXFrameOptionsHeaderValue": "SAMEORIGIN",
                  "tags": dict(LABELS)}
LISTENER_HTTP = {"protocol": "HTTP", "port": 80, "tags": dict(LABELS),
                 "defaultActions": [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]}
ALB_OK = {"internal": False, "loadBalancerType": "application", "enableDeletionProtection": True,
          "accessLogs": {"bucket": "logs", "enabled": True}, "tags": dict(LABELS)}


# ---------------------------------------------------------------------------------------------------------------
# Resource rules: (rule, type, props, options, expected message fragment or None for compliant).

CMK = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

CASES: list[tuple[str, str, dict, dict, str | None]] = [
    # --- TLS -------------------------------------------------------------------------------------------------
    ("ingress-https-only", GW, gateway(), OPTS, None),
    ("ingress-https-only", GW, with_(gateway(), "spec.listeners", [gateway()["spec"]["listeners"][1]]), OPTS, "has no HTTPS listener"),
    ("ingress-https-only", GW, with_(gateway(), "spec.listeners.0.tls.certificateRefs", []), OPTS, "terminates no TLS with a certificate"),
    ("ingress-https-only", GW, with_(gateway(), "spec.listeners.0.hostname", None), OPTS, "has no hostname"),
    ("gateway-tls-policy", CTP, client_policy(), OPTS, None),
    ("gateway-tls-policy", CTP, client_policy(None), OPTS, None),
    ("gateway-tls-policy", CTP, client_policy("1.1"), OPTS, "tls.minVersion is '1.1'"),
    ("gateway-tls-policy", CTP, client_policy("1.0"), OPTS, "below 1.2"),
    ("route-timeouts", ROUTE, http_route(), OPTS, None),
    ("route-timeouts", ROUTE, http_route(timeouts={"request": "0s"}), OPTS, None),
    ("route-timeouts", ROUTE, redirect_route(), OPTS, None),
    ("route-timeouts", ROUTE, http_route(timeouts=None), OPTS, "Envoy applies its 15 s route default"),
    ("lb-http-redirect-only", LISTENER, LISTENER_HTTP, OPTS, None),
    ("lb-http-redirect-only", LISTENER, with_(LISTENER_HTTP, "defaultActions", [{"type": "forward"}]), OPTS, "its only action must be a redirect to HTTPS"),
    ("lb-tls-policy", LISTENER, LISTENER_HTTPS, OPTS, None),
    ("lb-tls-policy", LISTENER, with_(LISTENER_HTTPS, "sslPolicy", "ELBSecurityPolicy-2016-08"), OPTS, "accepts TLS versions below 1.2"),
    ("lb-tls-policy", LISTENER, with_(LISTENER_HTTPS, "sslPolicy", None), OPTS, "has no sslPolicy"),
    ("lb-tls-policy", LISTENER, with_(LISTENER_HTTPS, "certificateArn", None), OPTS, "no certificateArn"),
    ("lb-tls-policy", ALB_LISTENER, LISTENER_HTTPS, OPTS, None),
    ("lb-tls-policy", ALB_LISTENER, with_(LISTENER_HTTPS, "sslPolicy", "ELBSecurityPolicy-TLS13-1-0-2021-06"), OPTS, "accepts TLS versions below 1.2"),
    ("lb-http-redirect-only", ALB_LISTENER, LISTENER_HTTP, OPTS, None),
    ("lb-http-redirect-only", ALB_LISTENER, with_(LISTENER_HTTP, "defaultActions", [{"type": "forward"}]), OPTS, "its only action must be a redirect to HTTPS"),
    ("postgres-require-tls", PG_PARAMS, {"family": "postgres16", "parameters": [{"name": "rds.force_ssl", "value": "1"}]}, OPTS, None),
    ("postgres-require-tls", PG_PARAMS, {"family": "postgres16", "parameters": [{"name": "rds.force_ssl", "value": "0"}]}, OPTS, "rds.force_ssl is '0'"),
    ("postgres-require-tls", PG_PARAMS, {"family": "postgres16", "parameters": []}, OPTS, "does not set rds.force_ssl=1"),
    ("postgres-require-tls", PROXY, {"requireTls": True}, OPTS, None),
    ("postgres-require-tls", PROXY, {"requireTls": False}, OPTS, "requireTls is not true"),
    ("postgres-require-tls", CNPG, CNPG_OK, OPTS, None),
    ("postgres-require-tls", CNPG, with_(CNPG_OK, "spec.postgresql.pg_hba", ["host all all all scram-sha-256"]), OPTS, "no 'hostnossl all all all reject'"),
    ("postgres-require-tls", POOLER, {"spec": {"pgbouncer": {"pg_hba": ["hostnossl all all all reject"]}}}, OPTS, None),
    ("postgres-require-tls", POOLER, {"spec": {"pgbouncer": {"parameters": {"client_tls_sslmode": "require"}}}}, OPTS, None),
    ("postgres-require-tls", POOLER, {"spec": {"pgbouncer": {"poolMode": "transaction"}}}, OPTS, "PgBouncer accepts non-TLS clients"),
    ("redis-require-tls", REDIS, REDIS_OK, OPTS, None),
    ("redis-require-tls", REDIS, with_(REDIS_OK, "transitEncryptionEnabled", False), OPTS, "transitEncryptionEnabled is not true"),
    ("redis-require-tls", REDIS, with_(REDIS_OK, "transitEncryptionMode", "preferred"), OPTS, "transitEncryptionMode is 'preferred'"),
    ("redis-require-tls", REDIS, with_(REDIS_OK, "authToken", None), OPTS, "no authToken"),
    ("database-url-sslmode", SECRET, {"stringData": {"uri": "postgresql://app:pw@db:5432/app?sslmode=require"}}, OPTS, None),
    ("database-url-sslmode", SECRET, {"stringData": {"uri": "[secret]"}}, OPTS, None),
    ("database-url-sslmode", SECRET, {"stringData": {"uri": "postgresql://app:pw@db:5432/app"}}, OPTS, "sslmode=(unset)"),
    ("database-url-sslmode", SECRET, {"data": {"uri": "cG9zdGdyZXNxbDovL2FwcDpwd0BkYjo1NDMyL2FwcD9zc2xtb2RlPWRpc2FibGU="}}, OPTS, "sslmode=disable"),
    ("database-url-sslmode", CM, {"data": {"URL": "postgres://db/app?sslmode=verify-full"}}, OPTS, None),
    ("database-url-sslmode", CM, {"data": {"URL": "postgres://db/app?sslmode=prefer"}}, OPTS, "sslmode=prefer"),
    ("database-url-sslmode", SM_VERSION, {"secretString": "postgresql://a:b@db.rds:5432/app?sslmode=require"}, OPTS, None),
    ("database-url-sslmode", SM_VERSION, {"secretString": json.dumps({"url": "postgresql://a:b@db.rds:5432/app"})}, OPTS, "to db.rds has sslmode=(unset)"),
    ("database-url-sslmode", TASK, task(), OPTS, None),
    ("database-url-sslmode", TASK, task(ecs_container(environment=[{"name": "DB", "value": "postgres://db/x"}])), OPTS, "sslmode=(unset)"),
    ("database-url-sslmode", DEP, deployment(), OPTS, None),
    ("database-url-sslmode", DEP, deployment(container(env=[{"name": "DB", "value": "postgres://db/x"}])), OPTS, "sslmode=(unset)"),
    ("database-url-sslmode", STS, statefulset(container(env=[{"name": "DB", "value": "postgres://db/x"}])), OPTS, "sslmode=(unset)"),
    ("database-url-sslmode", CRON, cronjob(container(env=[{"name": "DB", "value": "postgres://db/x"}])), OPTS, "sslmode=(unset)"),
    # --- exposure ----------------------------------------------------------------------------------------------
    ("no-public-datastore", RDS, RDS_OK, OPTS, None),
    ("no-public-datastore", RDS, with_(RDS_OK, "publiclyAccessible", True), OPTS, "publiclyAccessible is true"),
    ("no-public-datastore", RDS, with_(RDS_OK, "dbSubnetGroupName", None), OPTS, "no dbSubnetGroupName"),
    ("no-public-datastore", REDIS, REDIS_OK, OPTS, None),
    ("no-public-datastore", REDIS, with_(REDIS_OK, "subnetGroupName", None), OPTS, "no subnetGroupName"),
    ("no-public-datastore", SVC, {"spec": {"type": "ClusterIP", "ports": [{"port": 5432}]}}, OPTS, None),
    ("no-public-datastore", SVC, {"spec": {"type": "LoadBalancer", "ports": [{"port": 443}]}}, OPTS, None),
    ("no-public-datastore", SVC, {"spec": {"type": "LoadBalancer", "ports": [{"port": 6379}]}}, OPTS, "Service type LoadBalancer exposes a data store (Redis)"),
    ("no-public-datastore", SVC, {"metadata": {"labels": {"app.kubernetes.io/component": "managed-postgres"}}, "spec": {"type": "NodePort", "ports": [{"port": 15432}]}}, OPTS, "type NodePort exposes a data store (managed-postgres)"),
    ("no-public-task", "aws:ecs/service:Service", {"networkConfiguration": {"assignPublicIp": False}}, OPTS, None),
    ("no-public-task", "aws:ecs/service:Service", {"networkConfiguration": {"assignPublicIp": True}}, OPTS, "assignPublicIp is true"),
    ("no-public-task", "aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": False}, OPTS, None),
    ("no-public-task", "aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": True}, OPTS, "mapPublicIpOnLaunch is true"),
    ("sg-no-datastore-from-internet", SG_IN, {"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "referencedSecurityGroupId": "sg-app"}, OPTS, None),
    ("sg-no-datastore-from-internet", SG_IN, {"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrIpv4": "0.0.0.0/0"}, OPTS, "admits port 5432 (Postgres)"),
    ("sg-no-datastore-from-internet", SG, {"ingress": [{"protocol": "tcp", "fromPort": 6379, "toPort": 6379, "cidrBlocks": ["10.0.0.0/16"]}]}, OPTS, None),
    ("sg-no-datastore-from-internet", SG, {"ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "ipv6CidrBlocks": ["::/0"]}]}, OPTS, "admits port 6379 (Redis)"),
    ("sg-no-datastore-from-internet", SG_RULE, {"type": "ingress", "protocol": "tcp", "fromPort": 2000, "toPort": 3000, "cidrBlocks": ["0.0.0.0/0"]}, OPTS, "admits port 2049 (NFS/EFS)"),
    ("sg-no-datastore-from-internet", SG_RULE, {"type": "egress", "protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}, OPTS, None),
    ("sg-internet-only-web", SG_IN, {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv6": "::/0"}, OPTS, None),
    ("sg-internet-only-web", SG_IN, {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "0.0.0.0/0"}, OPTS, "admits ports 22-22/tcp; only tcp/80 and tcp/443"),
    ("sg-internet-only-web", SG, {"ingress": [{"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidrBlocks": ["0.0.0.0/0"]}]}, OPTS, None),
    ("sg-internet-only-web", SG, {"ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]}, OPTS, "admits all ports"),
    ("sg-internet-only-web", SG_RULE, {"type": "ingress", "protocol": "tcp", "fromPort": 8080, "toPort": 8080, "cidrBlocks": ["0.0.0.0/0"]}, OPTS, "ports 8080-8080/tcp"),
    ("default-security-group-closed", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", {"ingress": [], "egress": []}, OPTS, None),
    ("default-security-group-closed", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", {"egress": []}, OPTS, "keeps ingress rules (the AWS defaults)"),
    # --- secrets ------------------------------------------------------------------------------------------------
    ("no-literal-secret-env", DEP, deployment(), OPTS, None),
    ("no-literal-secret-env", DEP, deployment(container(env=[{"name": "OPENAI_API_KEY", "value": "sk-live"}])), OPTS, "container api: OPENAI_API_KEY has a literal value"),
    ("no-literal-secret-env", STS, statefulset(container(env=[{"name": "REDIS_PASSWORD", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}])), OPTS, "REDIS_PASSWORD does not come from a Secret"),
    ("no-literal-secret-env", CRON, cronjob(container(env=[{"name": "DATABASE_URL", "value": "postgres://x"}], livenessProbe=None)), OPTS, "DATABASE_URL has a literal value"),
    ("no-literal-secret-env", CRON, cronjob(container(env=[{"name": "GITHUB_APP_PRIVATE_KEY_PATH", "value": "/app/secrets/key.pem"}, {"name": "GITHUB_APP_ID", "value": "1"}])), OPTS, None),
    ("no-literal-secret-env", TASK, task(), OPTS, None),
    ("no-literal-secret-env", TASK, task(ecs_container(environment=[{"name": "JWT_SECRET", "value": "x"}])), OPTS, "JWT_SECRET is a plain `environment` value"),
    ("no-literal-secret-env", CM, {"data": {"LOG_LEVEL": "info"}}, OPTS, None),
    ("no-literal-secret-env", CM, {"data": {"SENTRY_DSN": "https://k@sentry"}}, OPTS, "ConfigMap key SENTRY_DSN looks like a secret"),
    ("no-secret-in-workload-spec", DEP, deployment(), OPTS, None),
    ("no-secret-in-workload-spec", DEP, deployment(container(env=[{"name": "X", "value": "[secret]"}])), OPTS, "a secret value is inlined"),
    ("no-secret-in-workload-spec", TASK, task(containerDefinitions="[secret]"), OPTS, "a secret value is inlined"),
    ("no-secret-in-workload-spec", CM, {"data": {"conf": "[secret]"}}, OPTS, "a secret value is inlined"),
    ("secret-values-marked-secret", SECRET, {"stringData": "[secret]"}, OPTS, None),
    ("secret-values-marked-secret", SECRET, {"stringData": {"password": "[secret]"}}, OPTS, None),
    ("secret-values-marked-secret", SECRET, {"stringData": {"password": "hunter2"}}, OPTS, "Secret keys password are in clear text"),
    ("secret-values-marked-secret", SM_VERSION, {"secretId": "x", "secretString": "[secret]"}, OPTS, None),
    ("secret-values-marked-secret", SM_VERSION, {"secretId": "x", "secretString": "hunter2"}, OPTS, "secretString is stored in clear text"),
    ("secret-store-encrypted", "aws:secretsmanager/secret:Secret", {"name": "x"}, OPTS, None),
    ("secret-store-encrypted", "aws:secretsmanager/secret:Secret", {"kmsKeyId": "arn:aws:kms:us-east-1:1:key/abc"}, OPTS, None),
    ("secret-store-encrypted", "aws:secretsmanager/secret:Secret", {"kmsKeyId": "my-key"}, OPTS, "is not a KMS key ARN, alias or id"),
    ("no-secret-in-workload-spec", STS, statefulset(container(args=["--requirepass", "[secret]"])), OPTS, "a secret value is inlined"),
    ("no-secret-in-workload-spec", CRON, cronjob(container(command=["[secret]"])), OPTS, "a secret value is inlined"),
    ("sg-internet-only-web", SG_RULE, {"type": "ingress", "protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}, OPTS, None),
    *[(rule_id, t, factory(), OPTS, None)
      for rule_id in ("database-url-sslmode", "no-literal-secret-env", "no-secret-in-workload-spec", "cors-not-wildcard")
      for t, factory in ((DEP, deployment), (STS, statefulset), (CRON, cronjob), (TASK, task), (CM, lambda: {"data": {"LOG_LEVEL": "info"}}))],
    # --- containers ----------------------------------------------------------------------------------------------
    *[(rule_id, t, factory(), OPTS, None) for rule_id in ("container-non-root", "container-read-only-root", "container-no-privilege-escalation",
      "container-drop-all-capabilities", "container-seccomp", "container-resources", "image-pinned")
      for t, factory in ((DEP, deployment), (STS, statefulset), (CRON, cronjob))],
    ("container-non-root", DEP, deployment(container(securityContext={**container()["securityContext"], "runAsUser": 0})), OPTS, "container api: runAsUser is 0 (root)"),
    ("container-non-root", STS, with_(statefulset(container(securityContext={"readOnlyRootFilesystem": True})), "spec.template.spec.securityContext", {}), OPTS, "runAsNonRoot is not true"),
    ("container-non-root", CRON, with_(cronjob(), "spec.jobTemplate.spec.template.spec.initContainers", [container(name="init", securityContext={"runAsNonRoot": False})]), OPTS, "init container init: runAsNonRoot is not true"),
    ("container-non-root", TASK, task(), OPTS, None),
    ("container-non-root", TASK, task(ecs_container(user="0")), OPTS, "container app runs as root"),
    ("container-non-root", TASK, task(ecs_container(user=None)), OPTS, "container app sets no `user`"),
    ("container-non-root", TASK, task(ecs_container(), ecs_container(name="init", essential=False, user="0")), OPTS, None),
    ("container-non-root", TASK, task(ecs_container(), ecs_container(name="init", essential=False, user="0", linuxParameters={})), OPTS, "container init runs as root"),
    ("container-non-root", "aws:efs/accessPoint:AccessPoint", {"posixUser": {"uid": 10001, "gid": 10001}}, OPTS, None),
    ("container-non-root", "aws:efs/accessPoint:AccessPoint", {"posixUser": {"uid": 0, "gid": 0}}, OPTS, "posixUser uid is 0"),
    ("container-read-only-root", DEP, deployment(container(securityContext={"runAsNonRoot": True})), OPTS, "readOnlyRootFilesystem is not true"),
    ("container-read-only-root", STS, statefulset(container(securityContext={"readOnlyRootFilesystem": False})), OPTS, "readOnlyRootFilesystem is not true"),
    ("container-read-only-root", CRON, cronjob(container(securityContext={})), OPTS, "readOnlyRootFilesystem is not true"),
    ("container-read-only-root", TASK, task(), OPTS, None),
    ("container-read-only-root", TASK, task(ecs_container(readonlyRootFilesystem=False)), OPTS, "container app: readonlyRootFilesystem is not true"),
    ("container-no-privilege-escalation", DEP, deployment(container(securityContext={"allowPrivilegeEscalation": True})), OPTS, "allowPrivilegeEscalation is not false"),
    ("container-no-privilege-escalation", STS, statefulset(container(securityContext={"privileged": True, "allowPrivilegeEscalation": False})), OPTS, "container api is privileged"),
    ("container-no-privilege-escalation", CRON, cronjob(container(securityContext={})), OPTS, "allowPrivilegeEscalation is not false"),
    ("container-no-privilege-escalation", TASK, task(), OPTS, None),
    ("container-no-privilege-escalation", TASK, task(ecs_container(privileged=True)), OPTS, "container app is privileged"),
    ("container-drop-all-capabilities", DEP, deployment(container(securityContext={"capabilities": {"drop": ["NET_RAW"]}})), OPTS, "capabilities.drop does not contain ALL"),
    ("container-drop-all-capabilities", STS, statefulset(container(securityContext={"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}})), OPTS, "adds capabilities SYS_ADMIN"),
    ("container-drop-all-capabilities", CRON, cronjob(container(securityContext={})), OPTS, "capabilities.drop does not contain ALL"),
    ("container-seccomp", DEP, with_(deployment(container(securityContext={})), "spec.template.spec.securityContext", {}), OPTS, "seccompProfile is unset"),
    ("container-seccomp", STS, statefulset(container(securityContext={"seccompProfile": {"type": "Unconfined"}})), OPTS, "seccompProfile is Unconfined"),
    ("container-seccomp", CRON, with_(cronjob(container(securityContext={})), "spec.jobTemplate.spec.template.spec.securityContext", {}), OPTS, "seccompProfile is unset"),
    ("container-resources", DEP, deployment(container(resources={"requests": {"cpu": "1", "memory": "1Gi"}})), OPTS, "no resources limits.cpu, limits.memory"),
    ("container-resources", STS, statefulset(container(resources={})), OPTS, "no resources requests.cpu"),
    ("container-resources", CRON, cronjob(container(resources={"limits": {"cpu": "1", "memory": "1Gi"}})), OPTS, "no resources requests.cpu, requests.memory"),
    ("container-resources", TASK, task(), OPTS, None),
    ("container-resources", TASK, with_(task(), "memory", None), OPTS, "task definition has no memory"),
    ("container-probes", DEP, deployment(), OPTS, None),
    ("container-probes", DEP, deployment(container(livenessProbe=None)), OPTS, "container api: no livenessProbe"),
    ("container-probes", STS, statefulset(), OPTS, None),
    ("container-probes", STS, statefulset(container(readinessProbe=None)), OPTS, "container api: no readinessProbe"),
    ("container-probes", "aws:lb/targetGroup:TargetGroup", {"healthCheck": {"enabled": True, "path": "/health", "protocol": "HTTP"}}, OPTS, None),
    ("container-probes", "aws:lb/targetGroup:TargetGroup", {"healthCheck": {"enabled": True, "protocol": "HTTP"}}, OPTS, "health check has no path"),
    ("image-pinned", DEP, deployment(container(image="ghcr.io/acme/api:latest")), OPTS, "uses the 'latest' tag"),
    ("image-pinned", DEP, deployment(container(image="ghcr.io/acme/api@sha256:" + "a" * 64)), OPTS, None),
    ("image-pinned", STS, statefulset(container(image="redis")), OPTS, "image 'redis' has no tag"),
    ("image-pinned", CRON, cronjob(container(image="localhost:5000/backup")), OPTS, "has no tag"),
    ("image-pinned", TASK, task(), OPTS, None),
    ("image-pinned", TASK, task(ecs_container(image="123.dkr.ecr.us-east-1.amazonaws.com/api:latest")), OPTS, "container app: image"),
    ("image-pinned", "kubernetes:helm.sh/v3:Release", {"chart": "ingress-nginx", "version": "4.11.3"}, OPTS, None),
    ("image-pinned", "kubernetes:helm.sh/v3:Release", {"chart": "ingress-nginx"}, OPTS, "Helm chart 'ingress-nginx' has no version"),
    ("image-pinned", CNPG, CNPG_OK, OPTS, None),
    ("image-pinned", CNPG, with_(CNPG_OK, "spec.imageName", "ghcr.io/cloudnative-pg/postgresql:latest"), OPTS, "cluster: image"),
    # --- CORS ------------------------------------------------------------------------------------------------------
    ("cors-not-wildcard", SECPOL, cors_policy("https://app.example.com", "https://www.example.com"), OPTS, None),
    ("cors-not-wildcard", SECPOL, cors_policy("*"), OPTS, "cors.allowOrigins has '*'"),
    ("cors-not-wildcard", SECPOL, cors_policy("https://*.example.com"), OPTS, "list the exact production origins"),
    ("cors-not-wildcard", SECPOL, cors_policy("https://app.example.com, https://www.example.com"), OPTS, "joins several origins in one string"),
    ("cors-not-wildcard", LISTENER, LISTENER_HTTPS, OPTS, None),
    ("cors-not-wildcard", LISTENER, with_(LISTENER_HTTPS, "routingHttpResponseAccessControlAllowOriginHeaderValue", "*"), OPTS, "Access-Control-Allow-Origin header value is '*'"),
    ("cors-not-wildcard", CM, {"data": {"CORS_ORIGINS": "https://a.example.com,https://b.example.com"}}, OPTS, None),
    ("cors-not-wildcard", CM, {"data": {"CORS_ORIGINS": "https://a.example.com, *"}}, OPTS, "CORS_ORIGINS='https://a.example.com, *' allows every origin"),
    ("cors-not-wildcard", TASK, task(), OPTS, None),
    ("cors-not-wildcard", TASK, task(ecs_container(environment=[{"name": "CORS_ORIGINS", "value": "*"}])), OPTS, "CORS_ORIGINS='*'"),
    ("cors-not-wildcard", DEP, deployment(container(env=[{"name": "CORS_ALLOWED_ORIGINS", "value": "*"}])), OPTS, "CORS_ALLOWED_ORIGINS='*'"),
    ("cors-not-wildcard", STS, statefulset(container(env=[{"name": "CORS_ORIGIN", "value": "*"}])), OPTS, "CORS_ORIGIN='*'"),
    ("cors-not-wildcard", CRON, cronjob(container(env=[{"name": "CORS_ORIGIN", "value": "*"}])), OPTS, "CORS_ORIGIN='*'"),
    # --- abuse ------------------------------------------------------------------------------------------------------
    ("waf-rate-rule-blocks", "aws:wafv2/webAcl:WebAcl", {"rules": [{"name": "rate-root", "action": {"block": {}}, "statement": {"rateBasedStatement": {"limit": 600}}}]}, OPTS, None),
    ("waf-rate-rule-blocks", "aws:wafv2/webAcl:WebAcl", {"rules": [{"name": "rate-root", "action": {"count": {}}, "statement": {"rateBasedStatement": {"limit": 600}}}]}, OPTS, "rate-based rule 'rate-root' only counts (count)"),
    ("waf-rate-rule-blocks", "aws:wafv2/webAcl:WebAcl", {"ruleJson": json.dumps([{"Name": "r", "Action": {"Count": {}}, "Statement": {"RateBasedStatement": {"Limit": 100}}}])}, OPTS, "only counts"),
    # --- data -----------------------------------------------------------------------------------------------------------
    ("encryption-at-rest", RDS, RDS_OK, OPTS, None),
    ("encryption-at-rest", RDS, with_(RDS_OK, "storageEncrypted", None), OPTS, "storageEncrypted is not true"),
    ("encryption-at-rest", REDIS, REDIS_OK, OPTS, None),
    ("encryption-at-rest", REDIS, with_(REDIS_OK, "atRestEncryptionEnabled", False), OPTS, "atRestEncryptionEnabled is not true"),
    ("encryption-at-rest", "aws:efs/fileSystem:FileSystem", {"encrypted": True}, OPTS, None),
    ("encryption-at-rest", "aws:efs/fileSystem:FileSystem", {}, OPTS, "encrypted is not true"),
    ("encryption-at-rest", "aws:backup/vault:Vault", {"kmsKeyArn": "arn:aws:kms:x"}, OPTS, None),
    ("encryption-at-rest", "aws:backup/vault:Vault", {"name": "v"}, OPTS, "backup vault has no kmsKeyArn"),
    ("encryption-at-rest", "aws:kms/key:Key", {"enableKeyRotation": True}, OPTS, None),
    ("encryption-at-rest", "aws:kms/key:Key", {"enableKeyRotation": False}, OPTS, "enableKeyRotation is not true"),
    ("encryption-at-rest", RDS, with_(RDS_OK, "storageEncrypted", UNKNOWN), OPTS, None),
    ("backup-retention", RDS, RDS_OK, OPTS, None),
    ("backup-retention", RDS, with_(RDS_OK, "backupRetentionPeriod", 3), OPTS, "backupRetentionPeriod is 3 days; keep backups 7-35 days"),
    ("backup-retention", RDS, with_(RDS_OK, "backupRetentionPeriod", None), OPTS, "backupRetentionPeriod is not set"),
    ("backup-retention", CNPG, CNPG_OK, OPTS, None),
    ("backup-retention", CNPG, with_(CNPG_OK, "spec.backup", {"barmanObjectStore": {}, "retentionPolicy": "8w"}), OPTS, "retentionPolicy is 56 days"),
    ("backup-retention", CNPG, with_(CNPG_OK, "spec.backup", {"barmanObjectStore": {}}), OPTS, "retentionPolicy is not set"),
    ("backup-retention", OBJECT_STORE, OBJECT_STORE_OK, OPTS, None),
    ("backup-retention", OBJECT_STORE, with_(OBJECT_STORE_OK, "spec.retentionPolicy", "3d"), OPTS, "spec.retentionPolicy is 3 days"),
    ("backup-retention", OBJECT_STORE, with_(OBJECT_STORE_OK, "spec.retentionPolicy", None), OPTS, "spec.retentionPolicy is not set"),
    ("backup-retention", "aws:backup/plan:Plan", {"rules": [{"ruleName": "db", "lifecycle": {"deleteAfter": 30}}]}, OPTS, None),
    ("backup-retention", "aws:backup/plan:Plan", {"rules": [{"ruleName": "db", "lifecycle": {"deleteAfter": 3}}]}, OPTS, "rule db: recovery points are deleted after 3 days"),
    ("point-in-time-recovery", RDS, RDS_OK, OPTS, None),
    ("point-in-time-recovery", RDS, with_(RDS_OK, "backupRetentionPeriod", 0), OPTS, "backupRetentionPeriod is 0"),
    ("point-in-time-recovery", CNPG, CNPG_OK, OPTS, None),
    ("point-in-time-recovery", CNPG, with_(CNPG_OK, "spec.plugins", None), OPTS, "no WAL archiver"),
    ("deletion-protection", RDS, RDS_OK, OPTS, None),
    ("deletion-protection", RDS, with_(RDS_OK, "deletionProtection", False), OPTS, "deletionProtection is not true"),
    ("deletion-protection", RDS, with_(RDS_OK, "skipFinalSnapshot", True), OPTS, "skipFinalSnapshot is true"),
    ("deletion-protection", ALB, ALB_OK, OPTS, None),
    ("deletion-protection", ALB, with_(ALB_OK, "enableDeletionProtection", False), OPTS, "enableDeletionProtection is not true"),
    *[("stateful-protected", t, {}, PROTECTED, None) for t in policies.rules.data.STATEFUL_TYPES],
    *[("stateful-protected", t, {}, OPTS, "without protect=True") for t in policies.rules.data.STATEFUL_TYPES],
    ("high-availability", RDS, RDS_OK, OPTS, None),
    ("high-availability", RDS, with_(RDS_OK, "multiAz", False), OPTS, "multiAz is not true"),
    ("high-availability", REDIS, REDIS_OK, OPTS, None),
    ("high-availability", REDIS, with_(with_(REDIS_OK, "automaticFailoverEnabled", False), "numCacheClusters", 1), OPTS, "numCacheClusters is 1"),
    ("high-availability", REDIS, with_(REDIS_OK, "multiAzEnabled", False), OPTS, "multiAzEnabled is not true"),
    ("high-availability", CNPG, CNPG_OK, OPTS, None),
    ("high-availability", CNPG, with_(CNPG_OK, "spec.instances", 1), OPTS, "spec.instances is 1"),
    ("high-availability", DEP, deployment(replicas=3), OPTS, None),
    ("high-availability", DEP, deployment(replicas=1), OPTS, "spec.replicas is 1"),
    ("high-availability", DEP, deployment(replicas=1), {**OPTS, "ignoreChanges": ["spec.replicas"]}, None),
    ("high-availability", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", {"spec": {"minReplicas": 2, "maxReplicas": 5}}, OPTS, None),
    ("high-availability", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", {"spec": {"minReplicas": 1, "maxReplicas": 5}}, OPTS, "minReplicas is 1"),
    ("high-availability", "kubernetes:keda.sh/v1alpha1:ScaledObject", {"spec": {"minReplicaCount": 2}}, OPTS, None),
    ("high-availability", "kubernetes:keda.sh/v1alpha1:ScaledObject", {"spec": {}}, OPTS, "minReplicaCount is 0"),
    ("high-availability", "aws:ecs/service:Service", {"desiredCount": 2}, OPTS, None),
    ("high-availability", "aws:ecs/service:Service", {"desiredCount": 1}, OPTS, "desiredCount is 1"),
    ("high-availability", "aws:ecs/service:Service", {"desiredCount": 1}, {**OPTS, "ignoreChanges": ["desiredCount"]}, None),
    ("high-availability", "aws:appautoscaling/target:Target", {"serviceNamespace": "ecs", "minCapacity": 2}, OPTS, None),
    ("high-availability", "aws:appautoscaling/target:Target", {"serviceNamespace": "ecs", "minCapacity": 1}, OPTS, "minCapacity is 1"),
    # --- operability -----------------------------------------------------------------------------------------------------
    ("resource-labels", RDS, RDS_OK, OPTS, None),
    ("resource-labels", RDS, with_(RDS_OK, "tags", {"app": "demo"}), OPTS, "tags lack stack, component, managed-by"),
    ("resource-labels", "aws:iam/rolePolicy:RolePolicy", {"policy": "{}"}, OPTS, None),
    ("resource-labels", "aws:sns/topic:Topic", {"name": "t"}, OPTS, "tags lack app, stack, component, managed-by"),
    ("resource-labels", DEP, deployment(), OPTS, None),
    ("resource-labels", "kubernetes:core/v1:Namespace", {"metadata": {"labels": dict(K8S_LABELS)}}, OPTS, None),
    ("resource-labels", "kubernetes:core/v1:Namespace", {"metadata": {"labels": {"app": "demo", "managed-by": "prodkit"}}}, OPTS, "metadata.labels lack stack (or prodkit.io/stack), component (or app.kubernetes.io/component)"),
    ("resource-labels", CNPG, CNPG_OK, OPTS, None),
    ("resource-labels", CNPG, with_(CNPG_OK, "metadata.labels", None), OPTS, "metadata.labels lack app"),
    ("resource-labels", "kubernetes:helm.sh/v3:Release", {"chart": "x", "version": "1"}, OPTS, None),
    ("log-retention", "aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 90}, OPTS, None),
    ("log-retention", "aws:cloudwatch/logGroup:LogGroup", {"name": "/ecs/api"}, OPTS, "retentionInDays is not set"),
    ("log-retention", "aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 0}, OPTS, "logs are kept forever"),
    ("ecs-container-insights", "aws:ecs/cluster:Cluster", {"settings": [{"name": "containerInsights", "value": "enabled"}]}, OPTS, None),
    ("ecs-container-insights", "aws:ecs/cluster:Cluster", {"settings": [{"name": "containerInsights", "value": "disabled"}]}, OPTS, "containerInsights is not enabled"),
    ("lb-access-logs", ALB, ALB_OK, OPTS, None),
    ("lb-access-logs", ALB, with_(ALB_OK, "accessLogs.enabled", False), OPTS, "accessLogs are not enabled"),
    ("iam-least-privilege", "aws:iam/role:Role", {"assumeRolePolicy": json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})}, OPTS, None),
    ("iam-least-privilege", "aws:iam/role:Role", {"assumeRolePolicy": json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})}, OPTS, "lets any AWS principal ('*') assume the role"),
    ("iam-least-privilege", "aws:iam/rolePolicy:RolePolicy", {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": ["arn:aws:secretsmanager:x"]}]})}, OPTS, None),
    ("iam-least-privilege", "aws:iam/rolePolicy:RolePolicy", {"policy": json.dumps({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}})}, OPTS, "allows s3:* on every resource"),
    # --- customer-managed keys -----------------------------------------------------------------------------------------
    ("secret-customer-managed-key", "aws:secretsmanager/secret:Secret", {"name": "x", "kmsKeyId": CMK}, OPTS, None),
    ("secret-customer-managed-key", "aws:secretsmanager/secret:Secret", {"name": "x", "kmsKeyId": UNKNOWN}, OPTS, None),
    ("secret-customer-managed-key", "aws:secretsmanager/secret:Secret", {"name": "x"}, OPTS, "no key: the AWS-managed default key is used"),
    ("secret-customer-managed-key", "aws:secretsmanager/secret:Secret", {"name": "x", "kmsKeyId": "alias/aws/secretsmanager"}, OPTS, "the AWS-managed key 'alias/aws/secretsmanager'"),
    ("log-group-customer-managed-key", "aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 90, "kmsKeyId": CMK}, OPTS, None),
    ("log-group-customer-managed-key", "aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 90}, OPTS, "log group is not encrypted with a customer-managed key"),
    ("efs-customer-managed-key", "aws:efs/fileSystem:FileSystem", {"encrypted": True, "kmsKeyId": CMK}, OPTS, None),
    ("efs-customer-managed-key", "aws:efs/fileSystem:FileSystem", {"encrypted": True}, OPTS, "file system is not encrypted with a customer-managed key"),
    ("efs-customer-managed-key", "aws:efs/fileSystem:FileSystem", {"encrypted": False, "kmsKeyId": CMK}, OPTS, "not encrypted at rest"),
    ("sns-topic-customer-managed-key", "aws:sns/topic:Topic", {"kmsMasterKeyId": CMK}, OPTS, None),
    ("sns-topic-customer-managed-key", "aws:sns/topic:Topic", {"kmsMasterKeyId": "alias/aws/sns"}, OPTS, "the AWS-managed key 'alias/aws/sns'"),
    ("sns-topic-customer-managed-key", "aws:sns/topic:Topic", {}, OPTS, "topic is not encrypted with a customer-managed key"),
]

from azure_cases import CASES as _AZURE_CASES, STACK_CASES as _AZURE_STACK_CASES  # noqa: E402 (Azure rules' cases)

CASES += _AZURE_CASES


def _case_id(case: tuple) -> str:
    rule_id, type_, _, _, expected = case
    return f"{rule_id}|{type_.split(':')[-1]}|{'ok' if expected is None else expected[:40]}"


import gcp_policy_cases  # noqa: E402 (GCP rules: policies/rules/gcp.py)

CASES += gcp_policy_cases.CASES


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_resource_rule(case: tuple) -> None:
    rule_id, type_, props, options, expected = case
    rule = RULE[rule_id]
    assert rule.scope == "resource" and rule.applies_to(type_)
    messages = rule.check(type_, props, options)
    if expected is None:
        assert messages == []
    else:
        assert any(expected in m for m in messages), messages


# ---------------------------------------------------------------------------------------------------------------
# Stack rules: (rule, resources, expected [(resource name, fragment)] - [] means compliant).

def k8s_stack(**mutate: Callable[[list[dict]], None]) -> list[dict]:
    rs = [
        res("kubernetes:core/v1:Namespace", "net-namespace", {"metadata": {"name": "demo-prod", "labels": dict(LABELS)}}),
        res("kubernetes:networking.k8s.io/v1:NetworkPolicy", "net-default-deny", {"metadata": {"name": "default-deny", "namespace": "demo-prod"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}),
        res("kubernetes:networking.k8s.io/v1:NetworkPolicy", "api-np-ingress", {"metadata": {"name": "api-ingress", "namespace": "demo-prod"},
            "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "api"}}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}}),
        res(DEP, "api-deployment", deployment()),
        res(GW, "edge-gateway", gateway()),
        res(ROUTE, "edge-redirect", redirect_route()),
        res(ROUTE, "edge-root", http_route()),
        res(ROUTE, "edge-api", http_route("edge-api", "/api")),
        res(BTP, "edge-root-traffic", traffic_policy()),
        res(BTP, "edge-api-traffic", traffic_policy("edge-api", 60)),
        res(CNPG, "postgres-cluster", CNPG_OK),
        res("kubernetes:postgresql.cnpg.io/v1:ScheduledBackup", "backups-database", {"metadata": {"name": "backups-database", "namespace": "demo-prod"},
            "spec": {"cluster": {"name": "postgres"}, "method": "barmanObjectStore"}}),
        res("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "monitoring-alerts", {"metadata": {"name": "alerts", "namespace": "demo-prod"},
            "spec": {"groups": [{"name": "demo.rules", "rules": [{"alert": "HighErrorRate", "expr": "x > 1"}]}]}}),
    ]
    for fn in mutate.values():
        fn(rs)
    return rs


def aws_stack(**mutate: Callable[[list[dict]], None]) -> list[dict]:
    rule_json = [{"name": "rate-root", "action": {"block": {}}, "statement": {"rateBasedStatement": {"limit": 600, "aggregateKeyType": "IP"}}}]
    rs = [
        res("aws:ec2/vpc:Vpc", "net-vpc", {"cidrBlock": "10.0.0.0/16"}, parent="urn:net"),
        res("aws:ec2/flowLog:FlowLog", "net-flow-log", {"vpcId": "id-" + "0" * 12, "trafficType": "ALL"}, parent="urn:net"),
        res(ALB, "edge-alb", ALB_OK, parent="urn:edge"),
        res(LISTENER, "edge-https", LISTENER_HTTPS, parent="urn:edge"),
        res("aws:wafv2/webAcl:WebAcl", "edge-waf", {"rules": rule_json}, parent="urn:edge"),
        res("aws:wafv2/webAclAssociation:WebAclAssociation", "edge-waf-association",
            {"resourceArn": "arn:aws:lb:us-east-1:123456789012:edge-alb", "webAclArn": "arn:aws:wafv2:us-east-1:123456789012:edge-waf"}, parent="urn:edge"),
        res("aws:acm/certificate:Certificate", "edge-cert", {"domainName": "app.example.com", "validationMethod": "DNS"}, parent="urn:edge"),
        res("aws:s3/bucket:Bucket", "edge-logs", {"bucket": "demo-prod-edge-logs"}, parent="urn:edge"),
        res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "edge-logs-sse",
            {"bucket": "demo-prod-edge-logs", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}, parent="urn:edge"),
        res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "edge-logs-pab",
            {"bucket": "demo-prod-edge-logs", "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True}, parent="urn:edge"),
        res(RDS, "postgres-instance", RDS_OK, parent="urn:db"),
        res(PG_PARAMS, "postgres-params", {"name": "demo-prod-pg16", "family": "postgres16", "parameters": [{"name": "rds.force_ssl", "value": "1"}]}, parent="urn:db"),
        res(REDIS, "redis-group", REDIS_OK, parent="urn:cache"),
        res("aws:ecs/service:Service", "api-service", {"name": "demo-prod-api", "desiredCount": 2}, parent="urn:api"),
        res("aws:efs/fileSystem:FileSystem", "api-work-fs", {"encrypted": True}, parent="urn:api"),
        res("aws:backup/selection:Selection", "backups-selection", {"resources": ["arn:aws:efs:us-east-1:123456789012:api-work-fs"]}, parent="urn:backups"),
        *[res("aws:cloudwatch/metricAlarm:MetricAlarm", f"monitoring-{n}", {"dimensions": d}, parent="urn:monitoring") for n, d in (
            ("api-cpu", {"ClusterName": "demo-prod-api", "ServiceName": "demo-prod-api"}),
            ("db-cpu", {"DBInstanceIdentifier": "demo-prod-postgres"}),
            ("cache-memory", {"CacheClusterId": "demo-prod-redis-001"}))],
    ]
    rs[1]["inputs"]["vpcId"] = policies.rules._util.mock_id(rs[0])
    for fn in mutate.values():
        fn(rs)
    return rs


def drop(name: str) -> Callable[[list[dict]], None]:
    return lambda rs: rs.remove(next(r for r in rs if r["name"] == name))


def setp(name: str, path: str, value: Any) -> Callable[[list[dict]], None]:
    def fn(rs: list[dict]) -> None:
        r = next(r for r in rs if r["name"] == name)
        r["inputs"] = with_(r["inputs"], path, value)
    return fn


def ecs_task_of_api(**container_over: Any) -> Callable[[list[dict]], None]:
    """Add api's task definition (the ECS service references it by ARN)."""
    def fn(rs: list[dict]) -> None:
        rs.append(res(TASK, "api-task", task(ecs_container(**container_over)), parent="urn:api"))
        next(r for r in rs if r["name"] == "api-service")["inputs"]["taskDefinition"] = "arn:aws:ecs:us-east-1:123456789012:api-task"
    return fn


STACK_CASES: list[tuple[str, Callable[[], list[dict]], list[tuple[str, str]]]] = [
    ("ecs-service-health-checked", lambda: aws_stack(a=ecs_task_of_api()), []),
    ("ecs-service-health-checked", lambda: aws_stack(a=ecs_task_of_api(healthCheck=None)), [("api-service", "container app has no healthCheck")]),
    ("ecs-service-health-checked", lambda: aws_stack(a=ecs_task_of_api(healthCheck=None),
                                                     b=setp("api-service", "loadBalancers", [{"targetGroupArn": "arn:tg", "containerName": "app", "containerPort": 8080}])), []),
    ("tls-certificate", k8s_stack, []),
    ("tls-certificate", lambda: k8s_stack(a=setp("edge-gateway", "metadata.annotations", {})),
     [("edge-gateway", "serves Secret 'edge-tls', which nothing renews (no cert-manager.io/cluster-issuer annotation")]),
    ("tls-certificate", lambda: k8s_stack(a=setp("edge-gateway", "spec.listeners.0.hostname", None)), [("edge-gateway", "gateway-shim skips it")]),
    ("tls-certificate", lambda: k8s_stack(a=setp("edge-gateway", "metadata.annotations", {}), b=lambda rs: rs.append(res(
        "kubernetes:cert-manager.io/v1:Certificate", "edge-cert", {"metadata": {"name": "edge", "namespace": "demo-prod"}, "spec": {"secretName": "edge-tls"}}))), []),
    ("gateway-http-redirect-only", k8s_stack, []),
    ("gateway-http-redirect-only", lambda: k8s_stack(a=setp("edge-root", "spec.parentRefs.0.sectionName", "http")),
     [("edge-root", "serves backends on plain-HTTP listener 'http'")]),
    ("gateway-http-redirect-only", lambda: k8s_stack(a=setp("edge-root", "spec.parentRefs.0.sectionName", None)),
     [("edge-root", "every listener (no sectionName), plain HTTP included")]),
    ("gateway-http-redirect-only", lambda: k8s_stack(a=drop("edge-redirect")), [("edge-gateway", "plain-HTTP listener 'http' has no route redirecting to https")]),
    ("gateway-http-redirect-only", lambda: k8s_stack(a=setp("edge-redirect", "spec.rules.0.filters.0.requestRedirect.statusCode", 302)),
     [("edge-redirect", "use 301")]),
    ("gateway-http-redirect-only", lambda: k8s_stack(a=setp("edge-redirect", "spec.rules.0.backendRefs", [{"name": "web", "port": 3000}])),
     [("edge-redirect", "serves backends on plain-HTTP listener 'http'"), ("edge-gateway", "has no route redirecting")]),
    ("hsts-and-security-headers", k8s_stack, []),
    ("hsts-and-security-headers", lambda: k8s_stack(a=setp("edge-root", "spec.rules.0.filters.0.responseHeaderModifier.set.0.value", "max-age=300")),
     [("edge-root", "max-age below 15552000")]),
    ("hsts-and-security-headers", lambda: k8s_stack(a=setp("edge-api", "spec.rules.0.filters.0.responseHeaderModifier.set", HEADERS[:1] + HEADERS[2:])),
     [("edge-api", "no X-Content-Type-Options")]),
    ("hsts-and-security-headers", lambda: k8s_stack(a=setp("edge-api", "spec.rules.0.filters", [])),
     [("edge-api", "no Strict-Transport-Security header"), ("edge-api", "no X-Content-Type-Options"), ("edge-api", "no X-Frame-Options")]),
    ("ingress-rate-limit", k8s_stack, []),
    ("ingress-rate-limit", lambda: k8s_stack(a=drop("edge-api-traffic")), [("edge-api", "HTTPRoute 'edge-api' is not rate-limited")]),
    ("ingress-rate-limit", lambda: k8s_stack(a=setp("edge-api-traffic", "spec", traffic_policy("edge-api", 60, per_ip=False)["spec"])),
     [("edge-api", "limits all clients together")]),
    ("ingress-rate-limit", lambda: k8s_stack(a=setp("edge-root-traffic", "spec.rateLimit.local.rules.0.limit.requests", 0)),
     [("edge-root", "no rate-limit rule with a positive limit")]),
    ("ingress-rate-limit", lambda: k8s_stack(a=setp("edge-root-traffic", "spec.targetRefs.0", {"kind": "Gateway", "name": "edge"})), []),
    ("hsts-and-security-headers", aws_stack, []),
    ("hsts-and-security-headers", lambda: aws_stack(a=setp("edge-https", "routingHttpResponseStrictTransportSecurityHeaderValue", None)), [("edge-https", "no Strict-Transport-Security header")]),
    ("rds-tls-parameter-group", aws_stack, []),
    ("rds-tls-parameter-group", lambda: aws_stack(a=setp("postgres-params", "parameters", [])), [("postgres-instance", "does not set rds.force_ssl=1")]),
    ("rds-tls-parameter-group", lambda: aws_stack(a=setp("postgres-instance", "parameterGroupName", None)), [("postgres-instance", "no parameterGroupName")]),
    ("rds-tls-parameter-group", lambda: aws_stack(a=drop("postgres-params")), [("postgres-instance", "is not part of the stack")]),
    ("networkpolicy-default-deny", k8s_stack, []),
    ("networkpolicy-default-deny", lambda: k8s_stack(a=drop("net-default-deny")), [("net-namespace", "namespace demo-prod has no default-deny")]),
    ("networkpolicy-default-deny", lambda: k8s_stack(a=setp("net-default-deny", "spec.policyTypes", ["Ingress"])), [("net-namespace", "no default-deny")]),
    ("networkpolicy-default-deny", lambda: k8s_stack(a=drop("net-default-deny"), b=drop("net-namespace")), [("api-deployment", "namespace demo-prod (of api) has no default-deny")]),
    ("networkpolicy-coverage", k8s_stack, []),
    ("networkpolicy-coverage", lambda: k8s_stack(a=drop("api-np-ingress")), [("api-deployment", "pods of api (demo-prod) are selected by no NetworkPolicy of their own")]),
    ("networkpolicy-coverage", lambda: k8s_stack(a=setp("api-np-ingress", "spec.podSelector.matchLabels", {"app.kubernetes.io/name": "web"})), [("api-deployment", "selected by no NetworkPolicy")]),
    ("networkpolicy-coverage", lambda: k8s_stack(a=lambda rs: rs.append(res(STS, "redis-statefulset", statefulset()))), []),
    ("alb-waf-rate-limit", aws_stack, []),
    ("alb-waf-rate-limit", lambda: aws_stack(a=drop("edge-waf-association")), [("edge-alb", "has no WAFv2 web ACL association")]),
    ("alb-waf-rate-limit", lambda: aws_stack(a=setp("edge-waf", "rules", [{"name": "managed", "statement": {"managedRuleGroupStatement": {}}}])), [("edge-alb", "has no rate-based rule")]),
    ("alb-waf-rate-limit", lambda: aws_stack(a=setp("edge-alb", "internal", True), b=drop("edge-waf-association")), []),
    ("s3-bucket-encrypted", aws_stack, []),
    ("s3-bucket-encrypted", lambda: aws_stack(a=drop("edge-logs-sse")), [("edge-logs", "no server-side encryption configuration")]),
    ("s3-public-access-blocked", aws_stack, []),
    ("s3-public-access-blocked", lambda: aws_stack(a=drop("edge-logs-pab")), [("edge-logs", "has no BucketPublicAccessBlock")]),
    ("s3-public-access-blocked", lambda: aws_stack(a=setp("edge-logs-pab", "restrictPublicBuckets", False)), [("edge-logs", "leaves restrictPublicBuckets off")]),
    ("backup-scheduled", k8s_stack, []),
    ("backup-scheduled", lambda: k8s_stack(a=drop("backups-database")), [("postgres-cluster", "no ScheduledBackup targets cluster postgres")]),
    ("backup-scheduled", aws_stack, []),
    ("backup-scheduled", lambda: aws_stack(a=drop("backups-selection")), [("api-work-fs", "no AWS Backup selection")]),
    ("alarms-exist", k8s_stack, []),
    ("alarms-exist", lambda: k8s_stack(a=drop("monitoring-alerts")), [("api-deployment", "no PrometheusRule")]),
    ("alarms-exist", aws_stack, []),
    ("alarms-exist", lambda: aws_stack(a=drop("monitoring-api-cpu")), [("api-service", "ServiceName=demo-prod-api")]),
    ("alarms-exist", lambda: aws_stack(a=drop("monitoring-db-cpu")), [("postgres-instance", "DBInstanceIdentifier=demo-prod-postgres")]),
    ("alarms-exist", lambda: aws_stack(a=drop("monitoring-cache-memory")), [("redis-group", "ReplicationGroupId/CacheClusterId of demo-prod-redis")]),
    ("vpc-flow-logs", aws_stack, []),
    ("vpc-flow-logs", lambda: aws_stack(a=drop("net-flow-log")), [("net-vpc", "no FlowLog")]),
]

STACK_CASES += _AZURE_STACK_CASES


STACK_CASES += gcp_policy_cases.STACK_CASES


@pytest.mark.parametrize("case", STACK_CASES, ids=[f"{c[0]}|{i}" for i, c in enumerate(STACK_CASES)])
def test_stack_rule(case: tuple) -> None:
    rule_id, build, expected = case
    rule = RULE[rule_id]
    assert rule.scope == "stack"
    found = [(urn.rsplit("::", 1)[-1], msg) for urn, msg in rule.check(build())]
    if not expected:
        assert found == []
    for name, fragment in expected:
        assert any(n == name and fragment in m for n, m in found), found


def test_every_rule_has_cases_for_each_exact_type() -> None:
    """Each rule: a compliant and a non-compliant case for every resource type it names (prefix types excepted)."""
    covered: dict[tuple[str, str], set[bool]] = {}
    for rule_id, type_, _, _, expected in CASES:
        covered.setdefault((rule_id, type_), set()).add(expected is None)
    missing = []
    for rule in RULES:
        if rule.scope == "stack":
            kinds = {bool(c[2]) for c in STACK_CASES if c[0] == rule.id}
            if kinds != {True, False}:
                missing.append((rule.id, "stack"))
            continue
        for t in rule.resource_types:
            if t.endswith("*") or t in ("kubernetes:apps/v1:DaemonSet", "kubernetes:batch/v1:Job", "kubernetes:core/v1:Pod"):
                continue  # pod-template kinds prodkit does not create share the Deployment code path
            if covered.get((rule.id, t)) != {True, False}:
                missing.append((rule.id, t))
    assert not missing, missing


def test_unknown_values_never_fire() -> None:
    """Values unknown during a preview are "cannot tell", not violations."""
    assert RULE["redis-require-tls"].check(REDIS, with_(REDIS_OK, "transitEncryptionEnabled", UNKNOWN), OPTS) == []
    assert RULE["no-literal-secret-env"].check(TASK, {"containerDefinitions": UNKNOWN}, OPTS) == []
    assert RULE["alb-waf-rate-limit"].check(aws_stack(a=setp("edge-waf-association", "resourceArn", UNKNOWN))) == []


# ---------------------------------------------------------------------------------------------------------------
# Registry, evaluate(), config files.

def test_rule_metadata() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for r in RULES:
        assert r.description[0].isupper() and r.description.endswith(".")
        assert r.seeds and all(s in ("000", "001", "002", "003", "004") for s in r.seeds)
        assert r.checklist


def test_looks_secret_matches_the_component_contract() -> None:
    from components.web_service import looks_secret as component_looks_secret
    from policies.rules._util import looks_secret
    names = ["OPENAI_API_KEY", "JWT_SECRET", "GITHUB_TOKEN", "REDIS_PASSWORD", "DATABASE_URL", "REDIS_URL", "SENTRY_DSN",
             "GITHUB_APP_PRIVATE_KEY_PATH", "GITHUB_APP_ID", "LOG_LEVEL", "NEXTAUTH_URL", "POSTGRES_PASSWORD_FILE", "KEY"]
    assert [looks_secret(n) for n in names] == [component_looks_secret(n) for n in names]


def test_evaluate_levels_and_prod_only() -> None:
    rs = [res(RDS, "db", with_(with_(RDS_OK, "storageEncrypted", False), "multiAz", False))]
    prod = policies.evaluate(rs, profile="prod")
    staging = policies.evaluate(rs, profile="staging")
    assert {"encryption-at-rest", "high-availability", "stateful-protected"} <= {v["policy"] for v in prod}
    assert {v["level"] for v in prod} == {"mandatory"}
    assert "encryption-at-rest" in {v["policy"] for v in staging} and {v["level"] for v in staging} == {"advisory"}
    prod_only = {r.id for r in RULES if r.prod_only}
    assert not prod_only & {v["policy"] for v in staging}
    assert {v["level"] for v in policies.evaluate(rs, profile="staging", enforcement="mandatory")} == {"mandatory"}
    assert prod[0]["urn"] == rs[0]["urn"] and set(prod[0]) == {"policy", "level", "urn", "message"}


def test_evaluate_ignores_components_and_refuses_bad_enforcement() -> None:
    assert policies.evaluate([res("prodkit:index:WebService", "api", {})], profile="prod") == []
    with pytest.raises(ValueError, match="enforcement"):
        policies.evaluate([], profile="prod", enforcement="blocking")


@pytest.mark.parametrize("profile", ["staging", "prod"])
def test_config_files_match_pack_config(profile: str) -> None:
    on_disk = json.loads((ROOT / "policies" / "config" / f"{profile}.json").read_text())
    assert on_disk == policies.pack_config(profile)


def test_prod_config_is_mandatory_and_staging_advisory_without_prod_only_rules() -> None:
    assert policies.pack_config("prod") == {"all": "mandatory"}
    staging = policies.pack_config("staging")
    assert staging["all"] == "advisory"
    assert {k for k, v in staging.items() if v == "disabled"} == {r.id for r in RULES if r.prod_only}


def test_readme_lists_every_rule() -> None:
    readme = (ROOT / "policies" / "README.md").read_text()
    for r in RULES:
        assert f"`{r.id}`" in readme, r.id


# ---------------------------------------------------------------------------------------------------------------
# A real planned inventory (mock engine) is clean, and breaking one property fires the right rule.

@pytest.fixture(scope="module")
def aws_prod_arches() -> list[dict]:
    from stacks import cli
    cfg = cli.load_stack(ROOT, "aws-prod", ["prodkit:app=arches"])
    inventory, _ = cli.run_plan(cfg)
    return [r.as_json() for r in inventory.resources]


def test_planned_aws_prod_inventory_is_clean(aws_prod_arches: list[dict]) -> None:
    assert policies.evaluate(aws_prod_arches, profile="prod") == []


@pytest.mark.parametrize("type_,path,value,policy", [
    (RDS, "publiclyAccessible", True, "no-public-datastore"),
    (REDIS, "transitEncryptionEnabled", False, "redis-require-tls"),
    (LISTENER, "defaultActions", [{"type": "forward", "targetGroupArn": "arn:tg"}], "lb-http-redirect-only"),
    ("aws:cloudwatch/logGroup:LogGroup", "retentionInDays", 0, "log-retention"),
    (RDS, "backupRetentionPeriod", 0, "point-in-time-recovery"),
])
def test_mutated_planned_inventory_fires(aws_prod_arches: list[dict], type_: str, path: str, value: Any, policy: str) -> None:
    inv = copy.deepcopy(aws_prod_arches)
    target = next(r for r in inv if r["type"] == type_ and (type_ != LISTENER or r["inputs"].get("protocol") == "HTTP"))
    target["inputs"] = with_(target["inputs"], path, value)
    fired = [v for v in policies.evaluate(inv, profile="prod") if v["urn"] == target["urn"]]
    assert policy in {v["policy"] for v in fired}
    assert all(v["level"] == "mandatory" for v in fired)
