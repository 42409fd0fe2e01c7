"""GCP: the checklist items for every GCP resource type prodkit creates (Cloud SQL, Memorystore, Cloud Run, the
external Application Load Balancer with Cloud Armor, SSL policies, buckets, VPC firewall and flow logs, alerting),
plus prod-only deletion protection, `protect`, high availability and customer-managed keys.

Same contract as the other theme modules: pure functions over the engine's property shape (camelCase inputs),
tolerant of missing and unknown values (a rule never reports what it cannot see).
"""

from __future__ import annotations

from typing import Any, Mapping

from ._util import as_int, get, items, looks_secret, mapping, mock_id, of_type, same_component, unknown, violated_true
from .registry import rule

SQL_INSTANCE = "gcp:sql/databaseInstance:DatabaseInstance"
REDIS_INSTANCE = "gcp:redis/instance:Instance"
RUN_SERVICE = "gcp:cloudrunv2/service:Service"
RUN_IAM = ("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding")
ARMOR = "gcp:compute/securityPolicy:SecurityPolicy"
BACKEND = "gcp:compute/backendService:BackendService"
SSL_POLICY = "gcp:compute/sSLPolicy:SSLPolicy"
HTTPS_PROXY = "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
HTTP_PROXY = "gcp:compute/targetHttpProxy:TargetHttpProxy"
URL_MAP = "gcp:compute/uRLMap:URLMap"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_IAM = ("gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding")
SUBNET = "gcp:compute/subnetwork:Subnetwork"
FIREWALL = "gcp:compute/firewall:Firewall"
VPC = "gcp:compute/network:Network"
ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
SECRET = "gcp:secretmanager/secret:Secret"
KMS_KEY = "gcp:kms/cryptoKey:CryptoKey"
KMS_RING = "gcp:kms/keyRing:KeyRing"
ADDRESS = "gcp:compute/globalAddress:GlobalAddress"
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


def _gcp_refers(value: Any, resource: Mapping[str, Any]) -> bool | None:
    """Whether a reference (id, self link, name) points at `resource`; None when unknown."""
    if not isinstance(value, str) or unknown(value) or not value:
        return None
    name = get(resource, "inputs", "name")
    return value == mock_id(resource) or (isinstance(name, str) and (value == name or value.endswith("/" + name)))


def _members(props: Mapping[str, Any]) -> list[str]:
    return [m for m in [props.get("member"), *items(props.get("members"))] if isinstance(m, str)]


# --- data stores ----------------------------------------------------------------------------------------------

@rule(
    "gcp-cloudsql-private",
    description="Give Cloud SQL no public IP and no authorized networks (private services access only).",
    severity="high",
    checklist="Database not publicly accessible (seed 001 private networking; architecture)",
    seeds=("000", "001", "002", "003", "004"),
    types=(SQL_INSTANCE,),
)
def cloudsql_private(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    ip = mapping(get(props, "settings", "ipConfiguration"))
    out = []
    if ip.get("ipv4Enabled") is not False and not unknown(ip.get("ipv4Enabled")):
        out.append("settings.ipConfiguration.ipv4Enabled is not false: the instance gets a public IP")
    if items(ip.get("authorizedNetworks")):
        out.append("settings.ipConfiguration.authorizedNetworks is set: networks outside the VPC may connect")
    if not ip.get("privateNetwork"):
        out.append("settings.ipConfiguration.privateNetwork is missing: the instance is not on the VPC")
    return out


@rule(
    "gcp-cloudsql-tls",
    description="Require TLS on Cloud SQL (ssl_mode ENCRYPTED_ONLY or TRUSTED_CLIENT_CERTIFICATE_REQUIRED).",
    severity="high",
    checklist="TLS to the database; DATABASE_URL with sslmode=require",
    seeds=("000", "001", "004"),
    types=(SQL_INSTANCE,),
)
def cloudsql_tls(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    mode = get(props, "settings", "ipConfiguration", "sslMode")
    if unknown(mode) or mode in ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"):
        return []
    return [f"settings.ipConfiguration.sslMode is {mode!r}: plaintext connections are accepted"]


@rule(
    "gcp-cloudsql-backups",
    description="Run Cloud SQL automated backups with point-in-time recovery, keeping 7 to 35 backups.",
    severity="high",
    checklist="Database backups running and tested; Automated backup strategy implemented",
    seeds=("000", "001", "002", "003", "004"),
    types=(SQL_INSTANCE,),
)
def cloudsql_backups(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    b = mapping(get(props, "settings", "backupConfiguration"))
    out = []
    if violated_true(b.get("enabled")):
        out.append("settings.backupConfiguration.enabled is not true: no automated backups")
    if violated_true(b.get("pointInTimeRecoveryEnabled")):
        out.append("settings.backupConfiguration.pointInTimeRecoveryEnabled is not true: no point-in-time recovery")
    kept = as_int(get(b, "backupRetentionSettings", "retainedBackups"))
    if kept is not None and not 7 <= kept <= 35:
        out.append(f"retainedBackups is {kept}: keep 7 to 35 daily backups")
    return out


@rule(
    "gcp-redis-auth-tls",
    description="Memorystore: AUTH on, transit encryption SERVER_AUTHENTICATION, private services access.",
    severity="high",
    checklist="Redis AUTH and TLS in transit; no public cache (seed 001 transit-encryption-enabled)",
    seeds=("001", "002", "004"),
    types=(REDIS_INSTANCE,),
)
def redis_auth_tls(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    if violated_true(props.get("authEnabled")):
        out.append("authEnabled is not true: any client on the network may run commands")
    mode = props.get("transitEncryptionMode")
    if not unknown(mode) and mode != "SERVER_AUTHENTICATION":
        out.append(f"transitEncryptionMode is {mode!r}: traffic to Redis is plaintext")
    connect = props.get("connectMode")
    if not unknown(connect) and connect != "PRIVATE_SERVICE_ACCESS":
        out.append(f"connectMode is {connect!r}: use PRIVATE_SERVICE_ACCESS in the stack's reserved range")
    return out


# --- Cloud Run ------------------------------------------------------------------------------------------------

@rule(
    "gcp-cloudrun-ingress",
    description="Admit Cloud Run traffic only from the load balancer or the VPC (never INGRESS_TRAFFIC_ALL).",
    severity="high",
    checklist="Services private; ingress only through the TLS load balancer (architecture)",
    seeds=("000", "001", "002", "003", "004"),
    types=(RUN_SERVICE,),
)
def cloudrun_ingress(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    ingress = props.get("ingress")
    if unknown(ingress) or ingress in ("INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"):
        return []
    return [f"ingress is {ingress or 'INGRESS_TRAFFIC_ALL (default)'}: the run.app URL is reachable from the internet, bypassing Cloud Armor"]


@rule(
    "gcp-cloudrun-no-public-invoker",
    description="Grant roles/run.invoker to no allUsers/allAuthenticatedUsers; an open invoker needs restricted ingress.",
    severity="high",
    checklist="Authentication on every endpoint; no public services beside the load balancer",
    seeds=("000", "001", "002", "003", "004"),
    types=(RUN_SERVICE, *RUN_IAM),
)
def cloudrun_no_public_invoker(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == RUN_SERVICE:
        ingress = props.get("ingress")
        if props.get("invokerIamDisabled") is True and not unknown(ingress) and ingress not in (
                "INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"):
            return ["invokerIamDisabled with ingress from anywhere: anyone on the internet can call the service"]
        return []
    public = [m for m in _members(props) if m in PUBLIC_MEMBERS]
    if public and props.get("role") in ("roles/run.invoker", "roles/run.admin", "roles/run.developer"):
        return [f"{props.get('role')} granted to {public[0]}: the service is callable by anyone"]
    return []


@rule(
    "gcp-cloudrun-secret-refs",
    description="Pass secret-looking Cloud Run env vars only by Secret Manager reference (value_source.secret_key_ref).",
    severity="high",
    checklist="All secrets stored in environment variables or secrets manager; Secrets management system in place",
    seeds=("000", "001", "002", "004"),
    types=(RUN_SERVICE,),
)
def cloudrun_secret_refs(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    for c in items(get(props, "template", "containers")):
        for env in items(get(c, "envs")):
            name = get(env, "name")
            if looks_secret(name) and get(env, "valueSource", "secretKeyRef") is None:
                out.append(f"container {get(c, 'name', default='?')}: {name} is a literal value; use valueSource.secretKeyRef (Secret Manager)")
    return out


@rule(
    "gcp-cloudrun-probes",
    description="Give every Cloud Run container a startup and a liveness probe, and CPU/memory limits.",
    severity="medium",
    checklist="Health checks configured; resource limits set",
    seeds=("000", "001", "002", "003", "004"),
    types=(RUN_SERVICE,),
)
def cloudrun_probes(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    for c in items(get(props, "template", "containers")):
        label = f"container {get(c, 'name', default='?')}"
        if get(c, "startupProbe") is None:
            out.append(f"{label}: no startupProbe (traffic arrives before the app is ready)")
        http = get(c, "startupProbe", "httpGet") is not None
        if get(c, "livenessProbe") is None and (http or get(c, "startupProbe") is None):
            # A container with only a TCP startup probe has no HTTP health path to probe (Cloud Run's liveness
            # probes are HTTP/gRPC); one with an HTTP health path must use it for liveness too.
            out.append(f"{label}: no livenessProbe (a hung instance is never restarted)")
        limits = mapping(get(c, "resources", "limits"))
        if not limits.get("cpu") or not limits.get("memory"):
            out.append(f"{label}: resources.limits needs cpu and memory")
    return out


# --- edge -----------------------------------------------------------------------------------------------------

@rule(
    "gcp-armor-attached",
    description="Attach a Cloud Armor policy with a rate-based rule to every load-balancer backend service.",
    severity="high",
    checklist="Rate limiting on API endpoints; WAF in front of the app",
    seeds=("000", "001", "003", "004"),
    types=(BACKEND, ARMOR),
    scope="stack",
)
def armor_attached(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    policies = of_type(resources, ARMOR)
    for backend in of_type(resources, BACKEND):
        ref = get(backend, "inputs", "securityPolicy")
        if not ref:
            out.append((backend["urn"], "backend service has no securityPolicy: no WAF and no rate limit in front of it"))
            continue
        matched = [p for p in policies if _gcp_refers(ref, p) or (_gcp_refers(ref, p) is None and same_component(p, backend))]
        if not matched:
            continue  # a policy outside the inventory: cannot tell
        if not any(get(r, "action") in ("rate_based_ban", "throttle") for p in matched for r in items(get(p, "inputs", "rules"))):
            out.append((backend["urn"], "the attached Cloud Armor policy has no rate_based_ban/throttle rule"))
    return out


@rule(
    "gcp-armor-enforced",
    description="Enforce Cloud Armor rules in prod (no rule left in preview).",
    severity="high",
    checklist="WAF blocking in production (architecture: WAF counting in staging, blocking in prod)",
    seeds=("001",),
    types=(ARMOR,),
    prod_only=True,
)
def armor_enforced(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    return [f"rule {get(r, 'priority')} ({get(r, 'action')}) is in preview: it only logs" for r in items(props.get("rules")) if get(r, "preview") is True]


@rule(
    "gcp-ssl-policy",
    description="Serve HTTPS with an SSL policy of TLS 1.2 or newer (MODERN or RESTRICTED profile).",
    severity="high",
    checklist="TLS 1.2+ everywhere; HTTPS only",
    seeds=("000", "001", "003", "004"),
    types=(SSL_POLICY, HTTPS_PROXY),
)
def ssl_policy(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == HTTPS_PROXY:
        return [] if props.get("sslPolicy") else ["HTTPS proxy has no sslPolicy: Google's default admits TLS 1.0"]
    out = []
    tls = props.get("minTlsVersion")
    if not unknown(tls) and tls not in ("TLS_1_2", "TLS_1_3"):
        out.append(f"minTlsVersion is {tls or 'TLS_1_0 (default)'}: require TLS_1_2 or newer")
    profile = props.get("profile")
    if not unknown(profile) and profile not in ("MODERN", "RESTRICTED", "CUSTOM"):
        out.append(f"profile is {profile or 'COMPATIBLE (default)'}: use MODERN or RESTRICTED")
    return out


@rule(
    "gcp-http-redirect-only",
    description="Let the load balancer's HTTP proxy only redirect to HTTPS (its URL map serves nothing).",
    severity="high",
    checklist="HTTPS only; HTTP redirects to HTTPS",
    seeds=("000", "001", "003", "004"),
    types=(HTTP_PROXY, URL_MAP),
    scope="stack",
)
def http_redirect_only(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    maps = of_type(resources, URL_MAP)
    for proxy in of_type(resources, HTTP_PROXY):
        ref = get(proxy, "inputs", "urlMap")
        for m in maps:
            hit = _gcp_refers(ref, m)
            if not hit:
                continue
            inputs = mapping(m.get("inputs"))
            if get(inputs, "defaultUrlRedirect", "httpsRedirect") is not True or inputs.get("defaultService") or items(inputs.get("pathMatchers")):
                out.append((proxy["urn"], "the HTTP proxy's URL map serves content: it must only redirect to HTTPS (defaultUrlRedirect.httpsRedirect)"))
    return out


# --- storage --------------------------------------------------------------------------------------------------

@rule(
    "gcp-bucket-not-public",
    description="Cloud Storage buckets: uniform bucket-level access, public access prevention enforced, no allUsers grant.",
    severity="high",
    checklist="Backups and volumes never public; encryption at rest",
    seeds=("000", "004"),
    types=(BUCKET, *BUCKET_IAM),
)
def bucket_not_public(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type != BUCKET:
        public = [m for m in _members(props) if m in PUBLIC_MEMBERS]
        return [f"{props.get('role')} granted to {public[0]}: the bucket's objects are public"] if public else []
    out = []
    if props.get("publicAccessPrevention") != "enforced" and not unknown(props.get("publicAccessPrevention")):
        out.append(f"publicAccessPrevention is {props.get('publicAccessPrevention') or 'inherited'}: set 'enforced'")
    if violated_true(props.get("uniformBucketLevelAccess")):
        out.append("uniformBucketLevelAccess is not true: object ACLs can make single objects public")
    return out


# --- network and operations -----------------------------------------------------------------------------------

@rule(
    "gcp-vpc-default-deny",
    description="Give every VPC deny-all ingress and egress firewall rules, and allow no ingress from 0.0.0.0/0.",
    severity="high",
    checklist="Network segmentation; only the load balancer is public",
    seeds=("002", "004"),
    types=(VPC, FIREWALL),
    scope="stack",
)
def vpc_default_deny(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    rules = of_type(resources, FIREWALL)
    for fw in rules:
        i = mapping(fw.get("inputs"))
        if i.get("direction", "INGRESS") == "INGRESS" and items(i.get("allows")) and "0.0.0.0/0" in items(i.get("sourceRanges")):
            out.append((fw["urn"], "firewall allows ingress from 0.0.0.0/0"))
    for vpc in of_type(resources, VPC):
        mine = [f for f in rules if _gcp_refers(get(f, "inputs", "network"), vpc) is not False]
        for direction, key in (("INGRESS", "sourceRanges"), ("EGRESS", "destinationRanges")):
            if not any(get(f, "inputs", "direction", default="INGRESS") == direction and items(get(f, "inputs", "denies"))
                       and "0.0.0.0/0" in items(get(f, "inputs", key)) for f in mine):
                why = ("the VPC's implied rule allows all egress" if direction == "EGRESS"
                       else "the implied deny is not logged, so probes from outside leave no trace")
                out.append((vpc["urn"], f"no deny-all {direction.lower()} firewall rule: {why}"))
    return out


@rule(
    "gcp-flow-logs",
    description="Enable VPC flow logs on every subnet.",
    severity="low",
    checklist="Logging and monitoring; network audit trail",
    seeds=("004",),
    types=(SUBNET,),
)
def flow_logs(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    return [] if props.get("logConfig") else ["subnet has no logConfig: VPC flow logs are off"]


@rule(
    "gcp-alerts-exist",
    description="Alert on every Cloud Run service and data store (Cloud Monitoring alert policies with a channel).",
    severity="medium",
    checklist="Monitoring and alerting configured; alerts HighErrorRate / HighLatency / HighMemoryUsage",
    seeds=("001", "003", "004"),
    types=(RUN_SERVICE, SQL_INSTANCE, REDIS_INSTANCE, ALERT),
    scope="stack",
)
def alerts_exist(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    alerts = of_type(resources, ALERT)
    watched = of_type(resources, RUN_SERVICE, SQL_INSTANCE, REDIS_INSTANCE)
    if not watched:
        return []
    if not alerts:
        return [(watched[0]["urn"], "no Cloud Monitoring alert policy in the stack: failures page nobody")]
    if not any(items(get(a, "inputs", "notificationChannels")) for a in alerts):
        return [(alerts[0]["urn"], "alert policies notify no channel")]
    return []


# --- prod only ------------------------------------------------------------------------------------------------

@rule(
    "gcp-deletion-protection",
    description="In prod: deletion protection on Cloud SQL (provider and API), Memorystore and Cloud Run services.",
    severity="high",
    checklist="Nothing lost: deletion protection on stateful resources in production",
    seeds=("001",),
    types=(SQL_INSTANCE, REDIS_INSTANCE, RUN_SERVICE),
    prod_only=True,
)
def deletion_protection(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    if violated_true(props.get("deletionProtection")):
        out.append("deletionProtection is not true")
    if resource_type == SQL_INSTANCE and violated_true(get(props, "settings", "deletionProtectionEnabled")):
        out.append("settings.deletionProtectionEnabled is not true: the API (console, gcloud) may delete the instance")
    return out


@rule(
    "gcp-stateful-protected",
    description="In prod: `protect` and retain-on-delete on Cloud SQL, Memorystore, buckets and KMS keys.",
    severity="high",
    checklist="Nothing lost: protect=True on every stateful resource in production",
    seeds=("001",),
    types=(SQL_INSTANCE, REDIS_INSTANCE, BUCKET, KMS_KEY, KMS_RING),
    prod_only=True,
)
def stateful_protected(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if options.get("protect"):
        return []
    return ["not protected: `pulumi destroy` or a replacement would delete its data (set protect=True)"]


@rule(
    "gcp-high-availability",
    description="In prod: Cloud SQL REGIONAL, Memorystore STANDARD_HA, Cloud Run at least 2 minimum instances.",
    severity="high",
    checklist="High availability in production (seed 001 Multi-AZ / REGIONAL, 2 cache nodes with failover)",
    seeds=("001", "004"),
    types=(SQL_INSTANCE, REDIS_INSTANCE, RUN_SERVICE),
    prod_only=True,
)
def high_availability(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == SQL_INSTANCE:
        a = get(props, "settings", "availabilityType")
        return [] if unknown(a) or a == "REGIONAL" else [f"availabilityType is {a or 'ZONAL'}: no standby in another zone"]
    if resource_type == REDIS_INSTANCE:
        t = props.get("tier")
        return [] if unknown(t) or t == "STANDARD_HA" else [f"tier is {t}: no replica to fail over to"]
    low = as_int(get(props, "template", "scaling", "minInstanceCount"))
    return [f"template.scaling.minInstanceCount is {low}: a single instance is a single point of failure"] if low is not None and low < 2 else []


@rule(
    "gcp-customer-managed-keys",
    description="In prod: Cloud SQL, Memorystore, Secret Manager secrets and buckets encrypted with the stack's Cloud KMS key, rotated at most every 90 days.",
    severity="medium",
    checklist="Encryption at rest with customer-managed keys in production (as on AWS)",
    seeds=("001",),
    types=(SQL_INSTANCE, REDIS_INSTANCE, SECRET, BUCKET, KMS_KEY),
    prod_only=True,
)
def customer_managed_keys(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == SQL_INSTANCE:
        return [] if props.get("encryptionKeyName") else ["encryptionKeyName is not set: Google-managed key"]
    if resource_type == REDIS_INSTANCE:
        return [] if props.get("customerManagedKey") else ["customerManagedKey is not set: Google-managed key"]
    if resource_type == SECRET:
        replication = props.get("replication")
        if unknown(replication):
            return []
        replication = mapping(replication)
        if "auto" in replication:
            auto = mapping(replication.get("auto"))
            return [] if unknown(auto) or get(auto, "customerManagedEncryption", "kmsKeyName") else [
                "replication.auto.customerManagedEncryption.kmsKeyName is not set: Google-managed key"]
        replicas = get(replication, "userManaged", "replicas")
        if unknown(replicas):
            return []
        plain = [str(mapping(r).get("location")) for r in items(replicas) if not get(r, "customerManagedEncryption", "kmsKeyName")]
        if plain or not items(replicas):
            return [f"replicas in {', '.join(plain) or 'no location'} have no customerManagedEncryption.kmsKeyName: Google-managed key"]
        return []
    if resource_type == BUCKET:
        return [] if get(props, "encryption", "defaultKmsKeyName") else ["encryption.defaultKmsKeyName is not set: Google-managed key"]
    period = props.get("rotationPeriod")
    seconds = int(period[:-1]) if isinstance(period, str) and period.endswith("s") and period[:-1].isdigit() else None
    if period is None or (seconds is not None and seconds > 90 * 86400):
        return [f"rotationPeriod is {period or 'unset'}: rotate the key at least every 90 days"]
    return []


LOG_BUCKET = "gcp:logging/projectBucketConfig:ProjectBucketConfig"


@rule(
    "gcp-log-retention",
    description="Give every Cloud Logging bucket of the stack an explicit retention (flow logs, service logs).",
    severity="low",
    checklist="Configure log aggregation (bounded retention)",
    seeds=("003", "004"),
    types=(LOG_BUCKET,),
)
def log_retention(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    days = props.get("retentionDays")
    if unknown(days):
        return []
    n = as_int(days)
    if not n or not 1 <= n <= 3650:
        return [f"retentionDays is {days}: set 1 to 3650 days (the bucket default is 30, whatever the profile asks)"]
    return []
