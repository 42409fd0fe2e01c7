"""Kubernetes backend of ManagedPostgres: a CloudNativePG cluster (operator-managed, in-cluster).

Requires the CloudNativePG operator (namespace ``cnpg-system``) in the cluster; prodkit does not install operators.

| object | metadata.name | notes |
|---|---|---|
| random.RandomPassword | - | 32 alphanumeric characters (URL-safe, no escaping in DATABASE_URL) |
| Secret (kubernetes.io/basic-auth) | ``{name}-owner`` | initial credentials of the database owner; the operator reloads it on change |
| ObjectStore (barmancloud.cnpg.io/v1) | ``{name}-backups`` | when a backup bucket is set: the Barman Cloud plugin's destination (bucket, endpoint, credentials Secret, gzip, retention) |
| Cluster (postgresql.cnpg.io/v1) | ``{name}`` | 1 or 3 instances, TLS-only pg_hba, spread over nodes and zones, protected; the Barman Cloud plugin archives WAL |
| Pooler (postgresql.cnpg.io/v1) | ``{name}-pooler`` | PgBouncer in front of the primary, when `pooler` is set |
| Secret | ``{name}-url`` | key ``uri``: the DATABASE_URL linked services receive by ``secretKeyRef`` |
| NetworkPolicy | ``{name}-db-ingress``, ``{name}-db-egress``, ``{name}-pooler-ingress`` | 5432 from linked services only; the operator on 8000/5432; instances with each other; the object store |

The operator creates the ``{name}-rw`` / ``-ro`` / ``-r`` Services, the server certificates (TLS is always on) and,
with more than one instance, a PodDisruptionBudget (a budget on a single instance would block every node drain).

Backups: the in-tree ``spec.backup.barmanObjectStore`` is deprecated (removed in CloudNativePG 1.31) and the
``standard`` operand images ship no barman-cloud binaries, so WAL archiving goes through the Barman Cloud plugin
(``barman-cloud.cloudnative-pg.io``, installed next to the operator by ClusterAddons): the Cluster's
``spec.plugins`` names the ObjectStore ``{name}-backups`` as WAL archiver, and the plugin's sidecar in each instance
pod uploads WAL and base backups to ``<bucket>/postgres/<name>/``. Base backups on a schedule (ScheduledBackup,
``method: plugin``) are the BackupSchedule component's job.

Operand images are pinned to a PostgreSQL minor release of the ``standard`` bookworm images (pgvector, PGAudit,
failover slots; no barman binaries, which the plugin does not need). Bookworm is kept rather than trixie: a new
glibc changes collation order, which corrupts text indexes of an existing cluster until they are rebuilt.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import urlparse

import pulumi
from .._core import kube as k8s
import pulumi_random as random

from .._core import Cloud, Link, Platform, SecretRef, options_for, stateful_opts
from ..network._k8s import after_network, check_name, labels, meta, namespace_of
from . import KubernetesPostgresOptions, ManagedPostgresArgs

COMPONENT = "managed-postgres"
PORT = 5432
#: The instance manager's status endpoint, polled by the operator.
STATUS_PORT = 8000
#: Metrics exporters of instances and PgBouncer pods.
METRICS_PORT = 9187
POOLER_METRICS_PORT = 9127
OPERATOR_NAMESPACE = "cnpg-system"
#: Pod labels of the CloudNativePG operator (Helm chart and release manifests alike).
OPERATOR_POD_LABELS = {"app.kubernetes.io/name": "cloudnative-pg"}
API_VERSION = "postgresql.cnpg.io/v1"
#: The Barman Cloud plugin (CNPG-I), its ObjectStore API and the plugin name the Cluster and backups refer to.
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"
OBJECT_STORE_API_VERSION = "barmancloud.cnpg.io/v1"
#: Keys of the backup credentials Secret (the same Secret serves volume backups).
ACCESS_KEY_ID = "ACCESS_KEY_ID"
ACCESS_SECRET_KEY = "ACCESS_SECRET_KEY"
#: The Kubernetes API: not a pod (no selector names it), 443 on managed control planes and 6443 self-hosted.
API_SERVER_PORTS = (443, 6443)
#: Private and link-local ranges: the default object store (AWS S3) is reached at public addresses only.
PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"]

#: size -> (cpu request, memory request MiB). Limits: twice the CPU, the same memory (no overcommit: the OOM
#: killer must never pick PostgreSQL because a node overcommitted).
SIZES = {"small": ("500m", 1024), "medium": ("1", 4096), "large": ("2", 8192), "xlarge": ("4", 16384)}
_CPU_LIMIT = {"500m": "1", "1": "2", "2": "4", "4": "8"}

#: TLS only: every TCP connection must use SSL and SCRAM; plain TCP is rejected (these lines precede the
#: operator's catch-all `host all all all scram-sha-256`).
PG_HBA = ["hostssl all all all scram-sha-256", "hostnossl all all all reject"]


def resources(size: str) -> dict:
    cpu, mib = SIZES[size]
    mem = f"{mib // 1024}Gi"
    return {"requests": {"cpu": cpu, "memory": mem}, "limits": {"cpu": _CPU_LIMIT[cpu], "memory": mem}}


def default_parameters(size: str, extensions: Any) -> dict[str, str]:
    """Memory settings sized to the instance (PostgreSQL's defaults assume 128 MB); the user's parameters win."""
    mib = SIZES[size][1]
    params = {"shared_buffers": f"{mib // 4}MB", "effective_cache_size": f"{mib * 3 // 4}MB"}
    if "pg_stat_statements" in extensions:
        # Setting a pg_stat_statements.* parameter makes the operator preload the library the extension needs.
        params["pg_stat_statements.track"] = "top"
    return params


def image_of(template: str, major: str) -> str:
    """The operand image: ``{minor}`` becomes the pinned minor release of `major`, ``{version}`` the major."""
    from . import PG_MINOR

    return template.replace("{minor}", PG_MINOR[str(major)]).replace("{version}", str(major))


def object_store_name(cluster_name: str) -> str:
    return f"{cluster_name}-backups"


def object_store_spec(bucket: str, endpoint_url: str | None, credentials_secret: str, retention_days: int) -> dict[str, Any]:
    """The ObjectStore's spec: base backups and WAL to ``<bucket>/postgres/<cluster>/`` (the cluster name is the
    plugin's ``serverName``; the ObjectStore's own ``serverName`` must stay empty), gzip, and the recovery window
    (``retentionPolicy``: the plugin deletes base backups and WAL older than `retention_days`). On AWS S3 the
    objects are encrypted with SSE-S3; other object stores (`endpoint_url`) encrypt per their own settings."""
    conf: dict[str, Any] = {
        "destinationPath": f"{bucket.rstrip('/')}/postgres",
        "s3Credentials": {
            "accessKeyId": {"name": credentials_secret, "key": ACCESS_KEY_ID},
            "secretAccessKey": {"name": credentials_secret, "key": ACCESS_SECRET_KEY},
        },
        "wal": {"compression": "gzip"},
        "data": {"compression": "gzip"},
    }
    if endpoint_url:
        conf["endpointURL"] = endpoint_url
    else:
        conf["wal"]["encryption"] = "AES256"
        conf["data"]["encryption"] = "AES256"
    return {"configuration": conf, "retentionPolicy": f"{retention_days}d"}


def plugin_entry(cluster_name: str) -> dict[str, Any]:
    """The Cluster's ``spec.plugins`` item: the Barman Cloud plugin archives WAL to the cluster's ObjectStore."""
    return {
        "name": BARMAN_PLUGIN,
        "enabled": True,
        "isWALArchiver": True,
        "parameters": {"barmanObjectName": object_store_name(cluster_name), "serverName": cluster_name},
    }


def object_store_port(endpoint_url: str | None) -> int:
    """The TCP port of the object store: the endpoint's (explicit, or its scheme's default), else S3's 443."""
    if not endpoint_url:
        return 443
    url = urlparse(endpoint_url)
    return url.port or (80 if url.scheme == "http" else 443)


def _create_extension(ext: str) -> str:
    quoted = ext if ext.replace("_", "").isalnum() else f'"{ext}"'
    return f"CREATE EXTENSION IF NOT EXISTS {quoted}"


def build(name: str, args: ManagedPostgresArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict:
    """Create the CNPG cluster and its credentials; return host/port/url, the handle and the link."""
    check_name(name)
    opts = options_for(args, Cloud.KUBERNETES, KubernetesPostgresOptions)
    ns = namespace_of(args.network).namespace
    monitoring_ns = namespace_of(args.network).monitoring_namespace
    child = after_network(child, args.network)
    protect = args.deletion_protection
    lbls = labels(platform, COMPONENT, name)

    cluster_pods = {"cnpg.io/cluster": name}  # instances, bootstrap/join jobs and pooler pods
    instances = {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"}
    pooler_name = f"{name}-pooler"
    pooler_pods = {"cnpg.io/poolerName": pooler_name}
    client_label = (f"prodkit.io/client-{name}", "true")

    # --- credentials ------------------------------------------------------------------------------------------
    # Regenerating the password would lock the app out until the operator re-syncs it: protect it with the data.
    password = random.RandomPassword(f"{name}-password", length=32, special=False, opts=stateful_opts(child, protect))
    owner = k8s.core.v1.Secret(
        f"{name}-owner",
        metadata=meta(f"{name}-owner", ns, {**lbls, "cnpg.io/reload": "true"}),
        type="kubernetes.io/basic-auth",
        string_data={"username": args.username, "password": pulumi.Output.secret(password.result)},
        opts=stateful_opts(child, protect),
    )

    # --- the cluster --------------------------------------------------------------------------------------------
    parameters = {**default_parameters(args.size, args.extensions), **{k: str(v) for k, v in args.parameters.items()}}
    instance_count = 3 if args.high_availability else 1
    spec: dict[str, Any] = {
        "description": f"{platform.app} {platform.stack} {name}",
        "instances": instance_count,
        "imageName": image_of(opts.image, args.version),
        "imagePullPolicy": opts.image_pull_policy,
        # The app connects as the database owner; no superuser password exists to leak.
        "enableSuperuserAccess": False,
        # A budget of one instance allows no eviction at all: node drains would hang on the lone primary.
        "enablePDB": instance_count > 1,
        # Updates restart replicas first, then switch over to an updated replica instead of restarting the primary.
        "primaryUpdateStrategy": "unsupervised",
        "primaryUpdateMethod": "switchover",
        "storage": {"size": f"{args.storage_gib}Gi", "resizeInUseVolumes": True},
        "postgresql": {"parameters": parameters, "pg_hba": list(PG_HBA)},
        "bootstrap": {"initdb": {
            "database": args.database,
            "owner": args.username,
            "secret": {"name": f"{name}-owner"},
            "dataChecksums": True,
            "postInitApplicationSQL": [_create_extension(e) for e in args.extensions],
        }},
        "affinity": {
            "enablePodAntiAffinity": True,
            "topologyKey": "kubernetes.io/hostname",
            # preferred: a 3-instance cluster still schedules on a 2-node cluster; zones are spread below.
            "podAntiAffinityType": "preferred",
        },
        "topologySpreadConstraints": [{
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(instances)},
        }],
        "resources": resources(args.size),
        # Metrics are served on 9187 ("metrics"); the Monitoring component's PodMonitor scrapes them (the
        # operator's enablePodMonitor is deprecated and cannot carry the labels Prometheus selects).
        # Only labels that do not clash with the operator's own app.kubernetes.io/* labels on the pods.
        "inheritedMetadata": {"labels": {**platform.labels(COMPONENT), "prodkit.io/stack": platform.stack}},
    }
    if opts.storage_class:
        spec["storage"]["storageClass"] = opts.storage_class
    store = None
    if opts.backup_bucket:
        # Continuous WAL archiving + base backups (PITR over the retention window) through the Barman Cloud
        # plugin; BackupSchedule's ScheduledBackup (method: plugin) takes base backups into the same store.
        store = k8s.apiextensions.CustomResource(
            f"{name}-object-store",
            api_version=OBJECT_STORE_API_VERSION,
            kind="ObjectStore",
            metadata=meta(object_store_name(name), ns, lbls),
            spec=object_store_spec(opts.backup_bucket, opts.backup_endpoint_url, opts.backup_credentials_secret, args.backup_retention_days),
            # The recovery window's configuration: removing it stops archiving, so it is protected like the data.
            opts=stateful_opts(child, protect),
        )
        spec["plugins"] = [plugin_entry(name)]
    if args.high_availability:
        # One synchronous standby: a commit is acknowledged only once a second instance has it (RPO 0 on failover).
        spec["minSyncReplicas"] = 1
        spec["maxSyncReplicas"] = 1
    cluster = k8s.apiextensions.CustomResource(
        f"{name}-cluster",
        api_version=API_VERSION,
        kind="Cluster",
        metadata=meta(name, ns, lbls),
        spec=spec,
        opts=stateful_opts(child, protect, depends_on=[owner] + ([store] if store is not None else [])),
    )

    host = f"{name}-rw.{ns}.svc"
    if args.pooler is not None:
        p = args.pooler
        host = f"{pooler_name}.{ns}.svc"
        pooler_sc = {
            "runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
        }
        k8s.apiextensions.CustomResource(
            f"{name}-pooler",
            api_version=API_VERSION,
            kind="Pooler",
            metadata=meta(pooler_name, ns, lbls),
            spec={
                "cluster": {"name": name},
                "instances": p.instances,
                "type": "rw",
                "pgbouncer": {
                    # Clients must use TLS to PgBouncer too, as they must to Postgres itself.
                    "pg_hba": ["hostnossl all all all reject", "hostssl all all all scram-sha-256"],
                    "poolMode": p.mode,
                    "parameters": {
                        "default_pool_size": str(p.default_pool_size),
                        "max_client_conn": str(p.max_client_connections),
                    },
                },
                "template": {
                    "metadata": {"labels": {**platform.labels(COMPONENT), "prodkit.io/stack": platform.stack}},
                    "spec": {
                        # The operator merges this with its own pgbouncer container by name.
                        "containers": [{
                            "name": "pgbouncer",
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                          "limits": {"cpu": "500m", "memory": "256Mi"}},
                            "securityContext": pooler_sc,
                        }],
                        "topologySpreadConstraints": [
                            {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
                             "labelSelector": {"matchLabels": dict(pooler_pods)}}
                            for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[cluster])),
        )

    # --- DATABASE_URL for linked services -------------------------------------------------------------------------
    url = pulumi.Output.secret(
        pulumi.Output.all(password.result, args.username, args.database).apply(
            lambda v: f"postgresql://{v[1]}:{v[0]}@{host}:{PORT}/{v[2]}?sslmode=require"
        )
    )
    k8s.core.v1.Secret(
        f"{name}-url",
        metadata=meta(f"{name}-url", ns, lbls),
        type="Opaque",
        string_data={"uri": url},
        opts=child,
    )

    # --- network policies ---------------------------------------------------------------------------------------
    def from_ns(namespace: str) -> dict:
        return {"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": namespace}}}

    def tcp(*ports: int) -> list[dict]:
        return [{"protocol": "TCP", "port": port} for port in ports]

    operator = {**from_ns(OPERATOR_NAMESPACE), "pod_selector": {"match_labels": dict(OPERATOR_POD_LABELS)}}
    db_ingress = [
        # Replication, join/bootstrap jobs, the pooler (when any) and the instance manager between instances.
        {"from": [{"pod_selector": {"match_labels": cluster_pods}}], "ports": tcp(PORT, STATUS_PORT)},
        # The operator polls the instance manager (8000) and connects to PostgreSQL (5432) for its checks.
        {"from": [operator], "ports": tcp(STATUS_PORT, PORT)},
        {"from": [from_ns(monitoring_ns)], "ports": tcp(METRICS_PORT)},
    ]
    if args.pooler is None:  # with a pooler, clients reach PostgreSQL only through it
        db_ingress.append({"from": [{"pod_selector": {"match_labels": dict([client_label])}}], "ports": tcp(PORT)})
    k8s.networking.v1.NetworkPolicy(
        f"{name}-np-db-ingress",
        metadata=meta(f"{name}-db-ingress", ns, lbls),
        spec={"pod_selector": {"match_labels": instances}, "policy_types": ["Ingress"], "ingress": db_ingress},
        opts=child,
    )
    # The instance manager and PgBouncer's manager watch the Kubernetes API. Its address is not a pod and differs
    # per cluster, so its ports are open to `api_server_cidrs` (default: any address; set the control plane's
    # addresses to close 443 to the rest of the world).
    api_peers = [{"ip_block": {"cidr": c}} for c in opts.api_server_cidrs] if opts.api_server_cidrs else None
    api_rule: dict[str, Any] = {"ports": tcp(*API_SERVER_PORTS)}
    if api_peers:
        api_rule["to"] = api_peers
    db_egress: list[dict] = [
        {"to": [{"pod_selector": {"match_labels": instances}}], "ports": tcp(PORT, STATUS_PORT)},
        api_rule,
    ]
    k8s.networking.v1.NetworkPolicy(
        f"{name}-np-db-egress",
        metadata=meta(f"{name}-db-egress", ns, lbls),
        spec={"pod_selector": {"match_labels": cluster_pods}, "policy_types": ["Egress"], "egress": db_egress},
        opts=child,
    )
    if opts.backup_bucket:
        # The Barman Cloud sidecar of each instance uploads WAL and base backups: to the endpoint's port when the
        # object store is not AWS S3 (any address: a MinIO may run in the cluster), else HTTPS to public addresses.
        if opts.backup_endpoint_url:
            store_to = [{"ip_block": {"cidr": "0.0.0.0/0"}}]
        else:
            store_to = [{"ip_block": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}}]
        k8s.networking.v1.NetworkPolicy(
            f"{name}-np-db-backup-egress",
            metadata=meta(f"{name}-db-backup-egress", ns, lbls),
            spec={
                "pod_selector": {"match_labels": instances},
                "policy_types": ["Egress"],
                "egress": [{"to": store_to, "ports": tcp(object_store_port(opts.backup_endpoint_url))}],
            },
            opts=child,
        )
    if args.pooler is not None:
        k8s.networking.v1.NetworkPolicy(
            f"{name}-np-pooler-ingress",
            metadata=meta(f"{name}-pooler-ingress", ns, lbls),
            spec={
                "pod_selector": {"match_labels": pooler_pods},
                "policy_types": ["Ingress"],
                "ingress": [
                    {"from": [{"pod_selector": {"match_labels": dict([client_label])}}], "ports": tcp(PORT)},
                    {"from": [from_ns(monitoring_ns)], "ports": tcp(POOLER_METRICS_PORT)},
                ],
            },
            opts=child,
        )

    link = Link(
        kind="postgres", name=name, port=PORT,
        env={"DATABASE_URL": SecretRef(f"{name}-url", "uri")},
        peer=SimpleNamespace(selector=dict(pooler_pods if args.pooler else instances), client_label=client_label),
    )
    return {
        "host": host,
        "port": PORT,
        "url": url,
        "handle": SimpleNamespace(
            cluster_name=name, namespace=ns, object_store=object_store_name(name) if store is not None else None,
            instances=dict(instances),
        ),
        "link": link,
    }
