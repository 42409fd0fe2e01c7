"""Kubernetes backend of WebService: a hardened Deployment behind a ClusterIP Service.

Objects (``{name}`` is the component's logical name; all in the Network's namespace):

| object | metadata.name | notes |
|---|---|---|
| ServiceAccount | ``{name}`` | no API token mounted unless asked |
| ConfigMap | ``{name}-env`` | `args.env`, loaded with ``envFrom`` (only when env is given) |
| Secret | ``{name}-secrets`` | `args.secrets`, each variable injected by ``secretKeyRef`` |
| Secret | ``{name}-files-<dir>`` | `args.secret_files`, one per directory, mounted read-only |
| PersistentVolumeClaim | ``{name}-{volume}`` | ReadWriteMany shared volumes, protected when `deletion_protection` |
| Deployment | ``{name}`` | restricted securityContext (uid 10001), probes, requests/limits, spread, rolling update 1/0, preStop sleep and a grace period covering `request_timeout_seconds` |
| Service | ``{name}`` | ClusterIP on the container port (+ metrics) |
| PodDisruptionBudget | ``{name}`` | when replicas >= 2 |
| NetworkPolicy | ``{name}-ingress``, ``{name}-callers``, ``{name}-egress`` | exactly the paths this service needs: the Gateway's Envoy proxies (public), Prometheus (metrics), linked stores |
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from types import SimpleNamespace
from typing import Any

import pulumi
from .._core import kube as k8s

from .._core import Cloud, InputError, Platform, options_for, stateful_opts
from .._core.units import format_mib, format_millicores, in_range
from ..network._k8s import after_network, check_name, gateway_peer, labels, meta, namespace_of
from . import KubernetesWebServiceOptions, Probe, WebServiceArgs

COMPONENT = "web-service"
#: The unprivileged user every prodkit app image is expected to run as (any non-root uid works; this one is fixed so
#: that fsGroup-owned volumes are writable and PSA `restricted` is satisfied).
APP_UID = 10001
#: Least time a pod gets between the start of its shutdown and SIGKILL; a service whose requests may last longer
#: (``request_timeout_seconds``: 600 s agent calls, SSE streams) gets that plus the preStop pause (see grace_seconds).
TERMINATION_GRACE_SECONDS = 60
#: Headroom after the longest request for the app to close connections and flush logs.
SHUTDOWN_HEADROOM_SECONDS = 5
#: Old ReplicaSets kept for `kubectl rollout undo`.
REVISION_HISTORY = 5
#: Private and link-local ranges never reachable through the "internet egress" rule (cluster, VPC, metadata API).
PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"]
#: Service port number of the "metrics" port when the app serves metrics on its http port (see build()).
SHARED_METRICS_SERVICE_PORT = 9090
_FILE_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


# ---------------------------------------------------------------------------------------------------------------
# Hardening shared with the other Kubernetes backends (redis imports these).
# ---------------------------------------------------------------------------------------------------------------

def pod_security_context(uid: int, gid: int | None = None) -> dict:
    """Pod-level securityContext satisfying Pod Security `restricted`."""
    gid = uid if gid is None else gid
    return {
        "run_as_non_root": True,
        "run_as_user": uid,
        "run_as_group": gid,
        "fs_group": gid,
        # Only chown volumes when their root does not already belong to fsGroup: large RWX volumes mount fast.
        "fs_group_change_policy": "OnRootMismatch",
        "seccomp_profile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict:
    """Container-level securityContext: non-root, read-only root filesystem, no privilege escalation, no caps."""
    return {
        "run_as_non_root": True,
        "read_only_root_filesystem": True,
        "allow_privilege_escalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccomp_profile": {"type": "RuntimeDefault"},
    }


def spread(selector: dict, per_revision: bool = False) -> list[dict]:
    """Spread replicas over nodes and zones without blocking scheduling on small clusters (ScheduleAnyway).

    `per_revision` (Deployments): matchLabelKeys pod-template-hash computes the spread per rollout revision, so
    the pods being replaced during a rolling update do not skew it."""
    constraints = []
    for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone"):
        c: dict[str, Any] = {
            "max_skew": 1,
            "topology_key": key,
            "when_unsatisfiable": "ScheduleAnyway",
            "label_selector": {"match_labels": dict(selector)},
        }
        if per_revision:
            c["match_label_keys"] = ["pod-template-hash"]
        constraints.append(c)
    return constraints


def selector_of(platform: Platform, name: str) -> dict[str, str]:
    """The stable pod selector: only labels that never change over the object's life (selectors are immutable)."""
    full = platform.k8s_labels(COMPONENT, name)
    return {k: full[k] for k in ("app.kubernetes.io/name", "app.kubernetes.io/instance")}


def tcp(port: int | str) -> dict:
    return {"protocol": "TCP", "port": port}


def grace_seconds(request_timeout_seconds: int, prestop_sleep_seconds: int) -> int:
    """terminationGracePeriodSeconds: the preStop pause (counted inside the grace period) plus the longest request
    the service must finish, plus headroom; at least TERMINATION_GRACE_SECONDS."""
    return max(TERMINATION_GRACE_SECONDS, prestop_sleep_seconds + request_timeout_seconds + SHUTDOWN_HEADROOM_SECONDS)


# ---------------------------------------------------------------------------------------------------------------

def validate(args: WebServiceArgs, platform: Platform) -> None:
    """Kubernetes-only limits: secret file names must be Secret keys, their directories mountable."""
    for path in args.secret_files:
        directory, filename = posixpath.split(posixpath.normpath(str(path)))
        if not filename or not _FILE_KEY.match(filename):
            raise InputError("secret_files", path, "the file name may use only letters, digits, '-', '_' and '.'")
        if directory in ("/", "/tmp"):
            raise InputError(
                "secret_files", path,
                "secret files are mounted as a read-only directory; put them in a dedicated directory such as '/app/secrets'",
            )
        if any(directory == str(v.mount_path).rstrip("/") for v in args.volumes):
            raise InputError("secret_files", path, "the directory is already a shared volume's mount_path; use another one")
    if args.metrics is not None:
        in_range("metrics.port", args.metrics.port, 1, 65535)


def _probe(p: Probe) -> dict:
    probe = {
        "http_get": {"path": p.path, "port": "http", "scheme": "HTTP"},
        "period_seconds": p.period_seconds,
        "timeout_seconds": p.timeout_seconds,
        "failure_threshold": p.failure_threshold,
        "success_threshold": 1,
    }
    # 0 is the API's default, and the provider drops a zero initialDelaySeconds from what it applies (the field is
    # omitempty): leave it out so the planned manifest is the applied one (tests/engine compares them).
    if p.initial_delay_seconds:
        probe["initial_delay_seconds"] = p.initial_delay_seconds
    return probe


def _slug(text: str, limit: int = 30) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "root"
    if len(slug) > limit:
        slug = f"{slug[: limit - 7].rstrip('-')}-{hashlib.sha1(text.encode()).hexdigest()[:6]}"
    return slug


def _file_groups(secret_files: dict) -> dict[str, dict[str, Any]]:
    """Directory -> {file name: content}, sorted for stable output."""
    groups: dict[str, dict[str, Any]] = {}
    for path in sorted(secret_files):
        directory, filename = posixpath.split(posixpath.normpath(str(path)))
        groups.setdefault(directory, {})[filename] = secret_files[path]
    return groups


def _links(args: WebServiceArgs) -> list[Any]:
    out = []
    for component in args.links:
        link = getattr(component, "link", None)
        if link is None or getattr(link, "peer", None) is None:
            raise InputError("links", type(component).__name__, "allowed: ManagedPostgres or ManagedRedis components of this stack")
        out.append(link)
    return out


def build(name: str, args: WebServiceArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict:
    """Create the service's objects; return the outputs and the WebService handle."""
    check_name(name)
    opts = options_for(args, Cloud.KUBERNETES, KubernetesWebServiceOptions)
    net = namespace_of(args.network)
    ns = net.namespace
    child = after_network(child, args.network)
    lbls = labels(platform, COMPONENT, name)
    selector = selector_of(platform, name)
    links = _links(args)

    # --- configuration and secrets --------------------------------------------------------------------------
    env_from: list[dict] = []
    annotations: dict[str, Any] = {}
    if args.env:
        k8s.core.v1.ConfigMap(f"{name}-env", metadata=meta(f"{name}-env", ns, lbls), data=dict(args.env), opts=child)
        env_from.append({"config_map_ref": {"name": f"{name}-env"}})
        # A ConfigMap change does not restart pods by itself: hash it into the pod template so it rolls out.
        annotations["checksum/env"] = pulumi.Output.all(**dict(args.env)).apply(
            lambda d: hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()
        )

    env: list[dict] = []
    if args.secrets:
        k8s.core.v1.Secret(
            f"{name}-secrets",
            metadata=meta(f"{name}-secrets", ns, lbls),
            type="Opaque",
            # Values are marked secret so they stay encrypted in the Pulumi state and redacted in previews.
            string_data={k: pulumi.Output.secret(v) for k, v in args.secrets.items()},
            opts=child,
        )
        env += [
            {"name": var, "value_from": {"secret_key_ref": {"name": f"{name}-secrets", "key": var}}}
            for var in sorted(args.secrets)
        ]
    seen = set(args.secrets) | set(args.env)
    for link in links:
        for var, ref in sorted(link.env.items()):
            if var in seen:
                raise InputError(f"links.{link.name}", var, f"{var} is already set in env/secrets; remove it there, the link provides it")
            seen.add(var)
            if ref.key is None:
                raise InputError(f"links.{link.name}", var, "a Kubernetes secret reference needs a key")
            env.append({"name": var, "value_from": {"secret_key_ref": {"name": ref.store_id, "key": ref.key}}})

    volumes: list[dict] = [{"name": "tmp", "empty_dir": {"size_limit": "1Gi"}}]
    mounts: list[dict] = [{"name": "tmp", "mount_path": "/tmp"}]
    for directory, files in _file_groups(dict(args.secret_files)).items():
        role = f"files-{_slug(directory)}"
        secret_name = f"{name}-{role}"
        k8s.core.v1.Secret(
            f"{name}-{role}",
            metadata=meta(secret_name, ns, lbls, {"prodkit.io/mount-path": directory}),
            type="Opaque",
            string_data={fname: pulumi.Output.secret(content) for fname, content in files.items()},
            opts=child,
        )
        volumes.append({
            "name": role,
            # 0440: readable by the owner and the pod's fsGroup only, never world-readable.
            "secret": {"secret_name": secret_name, "default_mode": 0o440,
                       "items": [{"key": f, "path": f} for f in sorted(files)]},
        })
        mounts.append({"name": role, "mount_path": directory, "read_only": True})

    # Files a linked store hands its clients (Redis: the CA certificate of its TLS), each projected alone from
    # the store's Secret, its path in an environment variable.
    for link in links:
        for f in getattr(link.peer, "files", None) or ():
            role = f"link-{link.name}-{_slug(f['key'], 20)}"
            volumes.append({"name": role, "secret": {"secret_name": f["secret"], "default_mode": 0o440,
                                                      "items": [{"key": f["key"], "path": f["key"]}]}})
            mounts.append({"name": role, "mount_path": f["dir"], "read_only": True})
            if f.get("env"):
                if f["env"] in seen:
                    raise InputError(f"links.{link.name}", f["env"], f"{f['env']} is already set in env/secrets; remove it there, the link provides it")
                seen.add(f["env"])
                env.append({"name": f["env"], "value": f"{f['dir']}/{f['key']}"})

    # --- shared volumes ---------------------------------------------------------------------------------------
    pvcs: dict[str, str] = {}
    for vol in args.volumes:
        pvc_name = f"{name}-{vol.name}"
        spec: dict[str, Any] = {
            "access_modes": ["ReadWriteMany"],
            "resources": {"requests": {"storage": f"{vol.size_gib}Gi"}},
        }
        if vol.storage_class:
            spec["storage_class_name"] = vol.storage_class
        k8s.core.v1.PersistentVolumeClaim(
            f"{name}-{vol.name}",
            metadata=meta(pvc_name, ns, lbls),
            spec=spec,
            opts=stateful_opts(child, args.deletion_protection),
        )
        pvcs[vol.name] = pvc_name
        volumes.append({"name": f"vol-{vol.name}", "persistent_volume_claim": {"claim_name": pvc_name}})
        mounts.append({"name": f"vol-{vol.name}", "mount_path": vol.mount_path})

    if pvcs:
        # Velero's file-system backup (BackupSchedule) copies every pod volume it is not told to skip: only the
        # shared volumes hold data; scratch space and mounted secrets stay out of the backup bucket.
        annotations["backup.velero.io/backup-volumes-excludes"] = ",".join(
            v["name"] for v in volumes if "persistent_volume_claim" not in v
        )

    # --- service account --------------------------------------------------------------------------------------
    k8s.core.v1.ServiceAccount(
        f"{name}-sa",
        metadata=meta(name, ns, lbls),
        automount_service_account_token=opts.automount_service_account_token,
        opts=child,
    )

    # --- deployment -------------------------------------------------------------------------------------------
    metrics_port = None
    ports = [{"name": "http", "container_port": args.port, "protocol": "TCP"}]
    if args.metrics is not None:
        metrics_port = args.metrics.port
        if metrics_port != args.port:  # many apps serve /metrics on the app port: then there is no second port
            ports.append({"name": "metrics", "container_port": metrics_port, "protocol": "TCP"})

    container: dict[str, Any] = {
        "name": name,
        "image": args.image,
        "image_pull_policy": opts.image_pull_policy,
        "ports": ports,
        "env": env,
        "env_from": env_from,
        "resources": {
            "requests": {"cpu": format_millicores(args.cpu_millicores), "memory": format_mib(args.memory_mib)},
            "limits": {"cpu": format_millicores(args.cpu_limit), "memory": format_mib(args.memory_limit)},
        },
        "liveness_probe": _probe(args.probes.liveness),
        "readiness_probe": _probe(args.probes.readiness),
        "security_context": container_security_context(),
        "volume_mounts": mounts,
    }
    if args.probes.startup is not None:
        container["startup_probe"] = _probe(args.probes.startup)
    if opts.prestop_sleep_seconds:
        # Endpoint removal propagates to kube-proxy and the Gateway asynchronously: keep serving (and accepting)
        # for a moment after the pod is marked terminating, then SIGTERM starts the app's graceful shutdown. The
        # native sleep action (GA in Kubernetes 1.34) needs no `sleep` binary in the image.
        container["lifecycle"] = {"pre_stop": {"sleep": {"seconds": opts.prestop_sleep_seconds}}}

    pod_labels = {**lbls, **{link.peer.client_label[0]: link.peer.client_label[1] for link in links}}
    pod_spec: dict[str, Any] = {
        "service_account_name": name,
        "automount_service_account_token": opts.automount_service_account_token,
        # Service env vars (FOO_SERVICE_HOST...) leak the namespace's topology into the app and can clash with its
        # own variables; DNS is the way to find services.
        "enable_service_links": False,
        "security_context": pod_security_context(APP_UID),
        "termination_grace_period_seconds": grace_seconds(args.request_timeout_seconds, opts.prestop_sleep_seconds),
        "topology_spread_constraints": spread(selector, per_revision=True),
        "containers": [container],
        "volumes": volumes,
    }
    if opts.image_pull_secret:
        pod_spec["image_pull_secrets"] = [{"name": opts.image_pull_secret}]

    dep_opts = child
    if args.autoscaled:
        # The HPA/KEDA owns the replica count; re-applying the program must not reset it.
        dep_opts = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["spec.replicas"]))
    k8s.apps.v1.Deployment(
        f"{name}-deployment",
        metadata=meta(name, ns, lbls),
        spec={
            "replicas": args.replicas,
            "revision_history_limit": REVISION_HISTORY,
            "selector": {"match_labels": selector},
            # Surge one new pod before removing an old one: capacity never drops during a rollout.
            "strategy": {"type": "RollingUpdate", "rolling_update": {"max_surge": 1, "max_unavailable": 0}},
            "template": {"metadata": {"labels": pod_labels, "annotations": annotations}, "spec": pod_spec},
        },
        opts=dep_opts,
    )

    service_ports = [{"name": "http", "port": args.port, "target_port": "http", "protocol": "TCP"}]
    if metrics_port is not None:
        # Monitoring's ServiceMonitor scrapes the Service port named "metrics". When the app serves /metrics on its
        # own port, a Service cannot list that port twice, so the "metrics" Service port gets another number and
        # targets the "http" container port (Prometheus scrapes the pod endpoint, never the Service port).
        same = metrics_port == args.port
        service_ports.append({
            "name": "metrics",
            "port": (SHARED_METRICS_SERVICE_PORT if args.port != SHARED_METRICS_SERVICE_PORT else SHARED_METRICS_SERVICE_PORT + 1)
            if same else metrics_port,
            "target_port": "http" if same else "metrics",
            "protocol": "TCP",
        })
    k8s.core.v1.Service(
        f"{name}-service",
        metadata=meta(name, ns, lbls),
        spec={"type": "ClusterIP", "selector": selector, "ports": service_ports},
        opts=child,
    )

    if args.replicas >= 2:
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=meta(name, ns, lbls),
            spec={
                "max_unavailable": 1,
                "selector": {"match_labels": selector},
                # Crash-looping pods may always be evicted, so a broken rollout never blocks a node drain.
                "unhealthy_pod_eviction_policy": "AlwaysAllow",
            },
            opts=child,
        )

    # --- network policies (the namespace denies everything by default) -----------------------------------------
    ingress: list[dict] = [
        # Other workloads of the namespace may call the service (internal_url).
        {"from": [{"pod_selector": {}}], "ports": [tcp(args.port)]},
    ]
    if args.public:
        # The Gateway's data-plane (Envoy) pods only, not every pod of the controller's namespace.
        ingress.append({"from": [gateway_peer(net.ingress_namespace)], "ports": [tcp(args.port)]})
    if metrics_port is not None:
        ingress.append({
            "from": [{"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": net.monitoring_namespace}}}],
            "ports": [tcp(metrics_port)],
        })
    k8s.networking.v1.NetworkPolicy(
        f"{name}-np-ingress",
        metadata=meta(f"{name}-ingress", ns, lbls),
        spec={"pod_selector": {"match_labels": selector}, "policy_types": ["Ingress"], "ingress": ingress},
        opts=child,
    )
    # The caller side of the same path: other web services of the stack may open connections to this one.
    k8s.networking.v1.NetworkPolicy(
        f"{name}-np-callers",
        metadata=meta(f"{name}-callers", ns, lbls),
        spec={
            "pod_selector": {"match_labels": {
                "app.kubernetes.io/component": COMPONENT,
                "app.kubernetes.io/instance": selector["app.kubernetes.io/instance"],
            }},
            "policy_types": ["Egress"],
            "egress": [{"to": [{"pod_selector": {"match_labels": selector}}], "ports": [tcp(args.port)]}],
        },
        opts=child,
    )
    egress = [{"to": [{"pod_selector": {"match_labels": dict(link.peer.selector)}}], "ports": [tcp(link.port)]} for link in links]
    if args.internet_egress:
        # HTTPS to public addresses only (LLM APIs); the cluster, the VPC and the cloud metadata endpoint stay closed.
        egress.append({"to": [{"ip_block": {"cidr": "0.0.0.0/0", "except": PRIVATE_RANGES}}], "ports": [tcp(443)]})
    if egress:
        k8s.networking.v1.NetworkPolicy(
            f"{name}-np-egress",
            metadata=meta(f"{name}-egress", ns, lbls),
            spec={"pod_selector": {"match_labels": selector}, "policy_types": ["Egress"], "egress": egress},
            opts=child,
        )

    handle = SimpleNamespace(
        namespace=ns, name=name, service_name=name, port=args.port, selector=dict(selector),
        pvcs=pvcs, metrics=args.metrics, public=args.public,
    )
    return {
        "service_name": name,
        "internal_url": f"http://{name}.{ns}.svc.cluster.local:{args.port}",
        "handle": handle,
    }

