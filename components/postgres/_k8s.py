"""Kubernetes backend of ManagedPostgres: a CloudNativePG cluster (operator-managed, in-cluster).

Requires the CloudNativePG operator (namespace ``cnpg-system``) in the cluster; prodkit does not install operators.

| object | metadata.name | notes |
|---|---|---|
| random.RandomPassword | - | 32 alphanumeric characters (URL-safe, no escaping in DATABASE_URL) |
| Secret (kubernetes.io/basic-auth) | ``{name}-owner`` | initial credentials of the database owner; the operator reloads it on change |
| Cluster (postgresql.cnpg.io/v1) | ``{name}`` | 1 or 3 instances, TLS-only pg_hba, spread over nodes and zones, protected |
| Pooler (postgresql.cnpg.io/v1) | ``{name}-pooler`` | PgBouncer in front of the primary, when `pooler` is set |
| Secret | ``{name}-url`` | key ``uri``: the DATABASE_URL linked services receive by ``secretKeyRef`` |
| NetworkPolicy | ``{name}-db-ingress``, ``{name}-db-egress``, ``{name}-pooler-ingress`` | 5432 from linked services only |

The operator creates the ``{name}-rw`` / ``-ro`` / ``-r`` Services, the server certificates (TLS is always on) and
a PodDisruptionBudget. Backups (ScheduledBackup) are the BackupSchedule component's job.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

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
API_VERSION = "postgresql.cnpg.io/v1"

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
    spec: dict[str, Any] = {
        "description": f"{platform.app} {platform.stack} {name}",
        "instances": 3 if args.high_availability else 1,
        "imageName": opts.image.replace("{version}", str(args.version)),
        "imagePullPolicy": "IfNotPresent",
        # The app connects as the database owner; no superuser password exists to leak.
        "enableSuperuserAccess": False,
        "enablePDB": True,
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
        "monitoring": {"enablePodMonitor": True},
        # Only labels that do not clash with the operator's own app.kubernetes.io/* labels on the pods.
        "inheritedMetadata": {"labels": {**platform.labels(COMPONENT), "prodkit.io/stack": platform.stack}},
    }
    if opts.storage_class:
        spec["storage"]["storageClass"] = opts.storage_class
    if opts.backup_bucket:
        # Continuous WAL archiving + base backups (PITR over the retention window); BackupSchedule's
        # ScheduledBackup takes base backups into the same store.
        from ..backup_schedule._k8s import barman_object_store

        spec["backup"] = barman_object_store(
            opts.backup_bucket, opts.backup_endpoint_url, opts.backup_credentials_secret, args.backup_retention_days, name,
        )
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
        opts=stateful_opts(child, protect, depends_on=[owner]),
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

    db_ingress = [
        # Replication, join/bootstrap jobs, the pooler (when any) and the instance manager between instances.
        {"from": [{"pod_selector": {"match_labels": cluster_pods}}], "ports": tcp(PORT, STATUS_PORT)},
        {"from": [from_ns(OPERATOR_NAMESPACE)], "ports": tcp(STATUS_PORT)},
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
    k8s.networking.v1.NetworkPolicy(
        f"{name}-np-db-egress",
        metadata=meta(f"{name}-db-egress", ns, lbls),
        spec={
            "pod_selector": {"match_labels": cluster_pods},
            "policy_types": ["Egress"],
            "egress": [
                {"to": [{"pod_selector": {"match_labels": instances}}], "ports": tcp(PORT, STATUS_PORT)},
                # The instance manager and PgBouncer's manager watch the Kubernetes API. Its address is not a pod
                # (no selector can name it) and differs per cluster (443 on managed control planes, 6443
                # self-hosted), so these two ports are open to any address; nothing else is.
                {"ports": tcp(443, 6443)},
            ],
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
        "handle": SimpleNamespace(cluster_name=name, namespace=ns),
        "link": link,
    }
