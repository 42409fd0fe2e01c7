"""Kubernetes backend of ManagedRedis: a hardened StatefulSet on the official Redis image.

Single node (``high_availability=False``): one Redis pod with AOF on a PersistentVolume; the client Service
``{name}`` points at it.

High availability: three pods, each running Redis and a Sentinel sidecar (the layout of the widely used redis-ha
chart): quorum 2 of 3, so one pod (or zone) can fail. An init container renders the pod's runtime config: it asks
the Sentinels which node is the primary (falling back to ordinal 0 on first start) and writes ``replicaof`` for every
other node, so a restarted former primary comes back as a replica instead of a second primary with stale data.
When no Sentinel answers (the whole set restarting), it asks the reachable nodes themselves: a node that reports
``role:master`` stays primary, otherwise the replica with the highest replication offset (the least data lost) is
chosen, and only with no node reachable does ordinal 0 start as primary.
Apps get a plain ``rediss://`` URL, not a Sentinel-aware one, so the client Service ``{name}`` points at a small
HAProxy Deployment that health-checks ``role:master`` on the three nodes over TLS and routes to the current
primary only (closing client sessions to a demoted primary, so clients reconnect to the new one); its client and
server timeouts are an hour, with TCP keepalives both ways, so idle pools and blocking ``BRPOP`` workers are not
cut. Sentinel-aware clients may also reach the Sentinels directly on 26379 (TLS) through ``{name}-headless``.

TLS everywhere: cert-manager issues the server certificate from a namespaced CA (a self-signed Issuer signs the CA
Certificate ``{name}-ca``, whose Issuer ``{name}-ca`` signs ``{name}-tls`` for the Service and pod DNS names;
an ACME ClusterIssuer cannot issue for cluster-internal names). Redis listens on ``tls-port 6379`` with
``port 0`` (no plaintext), replicates over TLS (``tls-replication yes``), and authenticates clients by password,
not certificate (``tls-auth-clients no``); Sentinel and HAProxy speak TLS too. Linked services get the CA
certificate (only ``ca.crt`` of the ``{name}-tls`` Secret, never a key) mounted at ``/etc/prodkit/{name}-ca/``
and its path in ``REDIS_CA_CERT`` (e.g. redis-py ``ssl_ca_certs``, ioredis ``tls.ca``). Redis reads the
certificate at start: it lasts a year and is renewed 90 days before expiry, so any rollout in between picks it up.

| object | metadata.name | notes |
|---|---|---|
| random.RandomPassword | - | 32 alphanumeric characters (URL-safe in REDIS_URL) |
| Secret | ``{name}-auth`` | key ``password``; injected as env, never written in a manifest |
| ConfigMap | ``{name}-config`` | redis.conf (AOF everysec, maxmemory, policy) and, with HA, the init script |
| ServiceAccount | ``{name}`` | no API token |
| StatefulSet | ``{name}`` | PVC per pod, restricted securityContext, probes with AUTH, protected |
| Service | ``{name}-headless`` (+ ``{name}``) | stable pod DNS names; the client endpoint |
| Deployment, ConfigMap, PDB | ``{name}-haproxy`` | HA only: routes to the current primary |
| PodDisruptionBudget | ``{name}`` | HA only |
| Secret | ``{name}-url`` | key ``url``: the REDIS_URL (``rediss://``) linked services receive by ``secretKeyRef`` |
| Issuer, Certificate (cert-manager.io/v1) | ``{name}-selfsigned``, ``{name}-ca``, ``{name}-tls`` | the namespaced CA and the server certificate |
| NetworkPolicy | ``{name}-ingress``, ``{name}-egress``, ``{name}-haproxy`` | 6379/26379 from linked services and between the nodes |

Every container (Redis, Sentinel, the config init container, HAProxy) runs as uid/gid 10999 (>= 10000: never a
uid of the node's users), fsGroup set, read-only root filesystem, no capabilities, RuntimeDefault seccomp.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

import pulumi
from .._core import kube as k8s
import pulumi_random as random

from .._core import Cloud, Link, Platform, SecretRef, options_for, stateful_opts
from .._core.units import format_mib
from ..network._k8s import after_network, check_name, labels, meta, namespace_of
from ..web_service._k8s import container_security_context, pod_security_context, spread
from . import KubernetesRedisOptions, ManagedRedisArgs

COMPONENT = "managed-redis"
PORT = 6379
SENTINEL_PORT = 26379
HEALTH_PORT = 8888
MASTER_SET = "primary"
QUORUM = 2
#: uid/gid every Redis, Sentinel and HAProxy container runs as: >= 10000, so it is no uid of the node's own
#: users (the images' `redis` 999 and `haproxy` 99 are); volumes are writable through fsGroup.
REDIS_UID = 10999
#: Official HAProxy image, current LTS branch (3.2) patch release.
HAPROXY_IMAGE = "haproxy:3.2.16-alpine"
HAPROXY_UID = REDIS_UID
#: Idle timeout of client and server sides in HAProxy: pools hold idle connections and workers block in BRPOP.
PROXY_IDLE_TIMEOUT = "1h"
#: Where the TLS Secret is mounted in the Redis pods and the CA certificate in linked services.
TLS_DIR = "/tls"
CA_KEY = "ca.crt"
#: Server certificate lifetime and renewal (Redis loads it at start: a rollout within 90 days picks up the new one).
CERT_DURATION = "8760h"
CERT_RENEW_BEFORE = "2160h"

_SMALL = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}


def redis_conf(args: ManagedRedisArgs) -> str:
    """The static redis.conf (no secrets: the password arrives as `--requirepass` from the Secret)."""
    lines = [
        "# Generated by prodkit. The password is passed on the command line from a Secret, never stored here.",
        "bind * -::*",
        # TLS only: the plaintext port is off; clients authenticate with the password, not a certificate.
        "port 0",
        f"tls-port {PORT}",
        f"tls-cert-file {TLS_DIR}/tls.crt",
        f"tls-key-file {TLS_DIR}/tls.key",
        f"tls-ca-cert-file {TLS_DIR}/{CA_KEY}",
        "tls-auth-clients no",
        'tls-protocols "TLSv1.2 TLSv1.3"',
        "protected-mode yes",
        "tcp-keepalive 300",
        "timeout 0",
        "dir /data",
        f"maxmemory {args.memory_mib}mb",
        f"maxmemory-policy {args.maxmemory_policy}",
    ]
    if args.persistence:
        lines += [
            # AOF with an fsync every second: at most one second of writes lost on a crash.
            "appendonly yes",
            "appendfsync everysec",
            "aof-use-rdb-preamble yes",
            "auto-aof-rewrite-percentage 100",
            "auto-aof-rewrite-min-size 64mb",
            # RDB snapshots are redundant with AOF and double the disk writes.
            'save ""',
        ]
    else:
        lines += ["appendonly no", 'save ""']
    if args.high_availability:
        lines += [
            # Replicas connect to the primary over TLS too.
            "tls-replication yes",
            "replica-read-only yes",
            # A primary cut off from all replicas stops accepting writes after 10 s, bounding the writes lost
            # when Sentinel promotes a replica on the other side of a partition.
            "min-replicas-to-write 1",
            "min-replicas-max-lag 10",
        ]
    return "\n".join(lines) + "\n"


#: Renders /run/redis/{redis,sentinel}.conf for this pod (HA only). Secrets come from the environment and are
#: written only to a memory-backed emptyDir readable by the redis user.
INIT_SCRIPT = r"""#!/bin/sh
set -eu
umask 077
HEADLESS="${SERVICE}.${NAMESPACE}.svc.cluster.local"
SELF="${POD_NAME}.${HEADLESS}"
CLI="redis-cli --no-auth-warning --tls --cacert /tls/ca.crt"
export REDISCLI_AUTH="$REDIS_PASSWORD"
MASTER=""
i=0
while [ "$i" -lt "$REPLICAS" ]; do
  host="${STATEFULSET}-${i}.${HEADLESS}"
  if [ "$host" != "$SELF" ]; then
    reply=$(timeout 3 $CLI -h "$host" -p 26379 sentinel get-master-addr-by-name "$MASTER_SET" 2>/dev/null | head -n 1 || true)
    case "$reply" in
      *" "*|"") ;;
      *) MASTER="$reply"; break ;;
    esac
  fi
  i=$((i + 1))
done
if [ -z "$MASTER" ]; then
  # No Sentinel answered: ask the nodes. A running primary stays primary; otherwise the replica with the highest
  # replication offset (the least data lost) becomes the primary.
  best=""
  best_offset=-1
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    host="${STATEFULSET}-${i}.${HEADLESS}"
    if [ "$host" != "$SELF" ]; then
      info=$(timeout 3 $CLI -h "$host" -p 6379 info replication 2>/dev/null | tr -d '\r' || true)
      case "$info" in
        *role:master*) MASTER="$host"; break ;;
      esac
      offset=$(printf '%s\n' "$info" | sed -n 's/^slave_repl_offset://p' | head -n 1)
      case "$offset" in
        ""|*[!0-9]*) ;;
        *) if [ "$offset" -gt "$best_offset" ]; then best="$host"; best_offset="$offset"; fi ;;
      esac
    fi
    i=$((i + 1))
  done
  [ -n "$MASTER" ] || MASTER="$best"
fi
# No node reachable either: first start of the set, ordinal 0 is the primary.
[ -n "$MASTER" ] || MASTER="${STATEFULSET}-0.${HEADLESS}"
{
  echo "include /etc/redis/redis.conf"
  echo "replica-announce-ip ${SELF}"
  if [ "$MASTER" != "$SELF" ]; then echo "replicaof ${MASTER} 6379"; fi
} > /run/redis/redis.conf
cat > /run/redis/sentinel.conf <<EOF
port 0
tls-port 26379
tls-cert-file /tls/tls.crt
tls-key-file /tls/tls.key
tls-ca-cert-file /tls/ca.crt
tls-auth-clients no
tls-replication yes
dir /tmp
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip ${SELF}
sentinel monitor ${MASTER_SET} ${MASTER} 6379 ${QUORUM}
sentinel auth-pass ${MASTER_SET} ${REDIS_PASSWORD}
sentinel down-after-milliseconds ${MASTER_SET} 5000
sentinel failover-timeout ${MASTER_SET} 60000
sentinel parallel-syncs ${MASTER_SET} 1
requirepass ${REDIS_PASSWORD}
sentinel sentinel-pass ${REDIS_PASSWORD}
EOF
echo "primary: ${MASTER}"
"""


def haproxy_cfg(servers: list[str]) -> str:
    """HAProxy routing to whichever node answers `role:master`, TLS on both sides (the password is expanded from
    the environment; the certificate and key are joined into /run/haproxy/redis.pem at start)."""
    lines = [
        "global",
        "  maxconn 4096",
        "  ssl-default-bind-options ssl-min-ver TLSv1.2",
        "  ssl-default-server-options ssl-min-ver TLSv1.2",
        "defaults",
        "  mode tcp",
        "  timeout connect 4s",
        # Connection pools sit idle and workers block in BRPOP for long stretches: an hour of silence is allowed
        # both ways, and TCP keepalives keep conntrack and cloud NAT entries of idle connections alive.
        f"  timeout client {PROXY_IDLE_TIMEOUT}",
        f"  timeout server {PROXY_IDLE_TIMEOUT}",
        "  timeout check 2s",
        "  option clitcpka",
        "  option srvtcpka",
        "resolvers k8s",
        "  parse-resolv-conf",
        "  hold valid 10s",
        "frontend health",
        "  mode http",
        f"  bind :{HEALTH_PORT}",
        "  monitor-uri /healthz",
        "  monitor fail if { nbsrv(redis_primary) lt 1 }",
        "frontend redis",
        f"  bind :{PORT} ssl crt /run/haproxy/redis.pem",
        "  default_backend redis_primary",
        "backend redis_primary",
        "  option tcp-check",
        "  tcp-check connect ssl",
        '  tcp-check send "AUTH ${REDIS_PASSWORD}\\r\\n"',
        "  tcp-check expect string +OK",
        "  tcp-check send PING\\r\\n",
        "  tcp-check expect string +PONG",
        "  tcp-check send info\\ replication\\r\\n",
        "  tcp-check expect string role:master",
        "  tcp-check send QUIT\\r\\n",
        "  tcp-check expect string +OK",
        # Pod DNS names may not resolve yet at start (init-addr none); a demoted primary's sessions are cut.
        # Servers are verified against the namespace CA and their own DNS name.
        "  default-server check inter 1s fall 1 rise 1 resolvers k8s init-addr none on-marked-down shutdown-sessions"
        f" ssl verify required ca-file {TLS_DIR}/{CA_KEY}",
    ]
    lines += [f"  server r{i} {host}:{PORT} verifyhost {host}" for i, host in enumerate(servers)]
    return "\n".join(lines) + "\n"


def _exec_probe(command: str, period: int, failures: int, timeout: int = 5) -> dict:
    return {
        "exec": {"command": ["sh", "-c", command]},
        "period_seconds": period,
        "timeout_seconds": timeout,
        "failure_threshold": failures,
        "success_threshold": 1,
    }


def _env_secret(var: str, secret: str, key: str) -> dict:
    return {"name": var, "value_from": {"secret_key_ref": {"name": secret, "key": key}}}


def build(name: str, args: ManagedRedisArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict:
    """Create the Redis StatefulSet (and Sentinel/HAProxy when HA); return host/port/url, handle and link."""
    check_name(name)
    opts = options_for(args, Cloud.KUBERNETES, KubernetesRedisOptions)
    net = namespace_of(args.network)
    ns = net.namespace
    child = after_network(child, args.network)
    protect = args.deletion_protection
    ha = args.high_availability
    replicas = 3 if ha else 1
    lbls = labels(platform, COMPONENT, name)
    full = platform.k8s_labels(COMPONENT, name)
    selector = {k: full[k] for k in ("app.kubernetes.io/name", "app.kubernetes.io/instance")}
    proxy_lbls = labels(platform, COMPONENT, f"{name}-haproxy")
    proxy_selector = {**selector, "app.kubernetes.io/name": f"{name}-haproxy"}
    client_label = (f"prodkit.io/client-{name}", "true")
    headless = f"{name}-headless"
    auth_secret, auth_key = f"{name}-auth", "password"

    # --- credentials ------------------------------------------------------------------------------------------
    password = random.RandomPassword(f"{name}-password", length=32, special=False, opts=stateful_opts(child, protect))
    k8s.core.v1.Secret(
        f"{name}-auth",
        metadata=meta(auth_secret, ns, lbls),
        type="Opaque",
        string_data={auth_key: pulumi.Output.secret(password.result)},
        opts=stateful_opts(child, protect),
    )

    # --- TLS: a namespaced CA and the server certificate -----------------------------------------------------------
    tls_secret = f"{name}-tls"
    cm = "cert-manager.io/v1"
    selfsigned = k8s.apiextensions.CustomResource(
        f"{name}-selfsigned-issuer", api_version=cm, kind="Issuer",
        metadata=meta(f"{name}-selfsigned", ns, lbls), spec={"selfSigned": {}}, opts=child,
    )
    ca_cert = k8s.apiextensions.CustomResource(
        f"{name}-ca-certificate", api_version=cm, kind="Certificate",
        metadata=meta(f"{name}-ca", ns, lbls),
        spec={
            "isCA": True,
            "commonName": f"{name}.{ns} CA",
            "secretName": f"{name}-ca",
            "duration": "87600h",
            "privateKey": {"algorithm": "ECDSA", "size": 256},
            "issuerRef": {"name": f"{name}-selfsigned", "kind": "Issuer", "group": "cert-manager.io"},
        },
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[selfsigned])),
    )
    ca_issuer = k8s.apiextensions.CustomResource(
        f"{name}-ca-issuer", api_version=cm, kind="Issuer",
        metadata=meta(f"{name}-ca", ns, lbls), spec={"ca": {"secretName": f"{name}-ca"}},
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[ca_cert])),
    )
    dns_names = [name, f"{name}.{ns}", f"{name}.{ns}.svc", f"{name}.{ns}.svc.cluster.local",
                 f"{headless}.{ns}.svc.cluster.local", f"*.{headless}.{ns}.svc.cluster.local"]
    server_cert = k8s.apiextensions.CustomResource(
        f"{name}-tls-certificate", api_version=cm, kind="Certificate",
        metadata=meta(tls_secret, ns, lbls),
        spec={
            "secretName": tls_secret,
            "commonName": f"{name}.{ns}.svc",
            "dnsNames": dns_names,
            # The probes and the config script talk to the local server.
            "ipAddresses": ["127.0.0.1", "::1"],
            "duration": CERT_DURATION,
            "renewBefore": CERT_RENEW_BEFORE,
            # Replicas and Sentinels are TLS clients of each other: both usages.
            "usages": ["server auth", "client auth", "digital signature", "key encipherment"],
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            "issuerRef": {"name": f"{name}-ca", "kind": "Issuer", "group": "cert-manager.io"},
        },
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[ca_issuer])),
    )
    tls_volume = {"name": "tls", "secret": {"secret_name": tls_secret, "default_mode": 0o440}}
    tls_mount = {"name": "tls", "mount_path": TLS_DIR, "read_only": True}

    # --- configuration ------------------------------------------------------------------------------------------
    conf = {"redis.conf": redis_conf(args)}
    if ha:
        conf["init.sh"] = INIT_SCRIPT
    k8s.core.v1.ConfigMap(f"{name}-config", metadata=meta(f"{name}-config", ns, lbls), data=conf, opts=child)
    checksum = hashlib.sha256("".join(conf[k] for k in sorted(conf)).encode()).hexdigest()

    k8s.core.v1.ServiceAccount(
        f"{name}-sa", metadata=meta(name, ns, lbls), automount_service_account_token=False, opts=child
    )

    # --- the Redis pods ----------------------------------------------------------------------------------------
    password_env = _env_secret("REDIS_PASSWORD", auth_secret, auth_key)
    cli_auth_env = _env_secret("REDISCLI_AUTH", auth_secret, auth_key)  # redis-cli reads it: no password in argv
    conf_path = "/run/redis/redis.conf" if ha else "/etc/redis/redis.conf"
    command = ["redis-server", conf_path, "--requirepass", "$(REDIS_PASSWORD)"]
    if ha:
        command += ["--masterauth", "$(REDIS_PASSWORD)"]  # replicas authenticate to the primary
    cli = f"redis-cli --no-auth-warning --tls --cacert {TLS_DIR}/{CA_KEY} -h 127.0.0.1"
    ping = f"{cli} -p {PORT} ping"
    mem_request = round(args.memory_mib * 1.25)  # dataset + buffers, client output, fragmentation
    mem_limit = round(args.memory_mib * 1.5)  # AOF rewrite forks: copy-on-write pages need headroom
    mounts = [
        {"name": "data", "mount_path": "/data"},
        {"name": "config", "mount_path": "/etc/redis", "read_only": True},
        {"name": "tmp", "mount_path": "/tmp"},
        tls_mount,
    ]
    if ha:
        mounts.append({"name": "runtime", "mount_path": "/run/redis"})
    redis_container: dict[str, Any] = {
        "name": "redis",
        "image": opts.image,
        "image_pull_policy": opts.image_pull_policy,
        "command": command,
        "env": [password_env, cli_auth_env],
        "ports": [{"name": "redis", "container_port": PORT, "protocol": "TCP"}],
        "resources": {
            "requests": {"cpu": "250m", "memory": format_mib(mem_request)},
            "limits": {"cpu": "1", "memory": format_mib(mem_limit)},
        },
        # Loading a large AOF can take minutes: the startup probe allows 5, liveness tolerates LOADING.
        "startup_probe": _exec_probe(f"{ping} | grep -Eq 'PONG|LOADING'", 10, 30),
        "liveness_probe": _exec_probe(f"{ping} | grep -Eq 'PONG|LOADING|MASTERDOWN'", 10, 3),
        "readiness_probe": _exec_probe(f'test "$({ping})" = PONG', 5, 3),
        "security_context": container_security_context(),
        "volume_mounts": mounts,
    }
    containers = [redis_container]
    init_containers: list[dict] = []
    volumes: list[dict] = [
        {"name": "config", "config_map": {"name": f"{name}-config", "default_mode": 0o444}},
        {"name": "tmp", "empty_dir": {"size_limit": "256Mi"}},
        tls_volume,
    ]
    if ha:
        volumes.append({"name": "runtime", "empty_dir": {"medium": "Memory", "size_limit": "16Mi"}})
        init_containers.append({
            "name": "config",
            "image": opts.image,
            "image_pull_policy": opts.image_pull_policy,
            "command": ["sh", "/etc/redis/init.sh"],
            "env": [
                password_env,
                {"name": "POD_NAME", "value_from": {"field_ref": {"field_path": "metadata.name"}}},
                {"name": "NAMESPACE", "value": ns},
                {"name": "SERVICE", "value": headless},
                {"name": "STATEFULSET", "value": name},
                {"name": "REPLICAS", "value": str(replicas)},
                {"name": "MASTER_SET", "value": MASTER_SET},
                {"name": "QUORUM", "value": str(QUORUM)},
            ],
            "resources": _SMALL,
            "security_context": container_security_context(),
            "volume_mounts": [
                {"name": "config", "mount_path": "/etc/redis", "read_only": True},
                {"name": "runtime", "mount_path": "/run/redis"},
                tls_mount,
            ],
        })
        sentinel_ping = f"{cli} -p {SENTINEL_PORT} ping"
        containers.append({
            "name": "sentinel",
            "image": opts.image,
            "image_pull_policy": opts.image_pull_policy,
            # Sentinel rewrites its config on failover, hence the writable runtime volume.
            "command": ["redis-sentinel", "/run/redis/sentinel.conf"],
            "env": [cli_auth_env],
            "ports": [{"name": "sentinel", "container_port": SENTINEL_PORT, "protocol": "TCP"}],
            "resources": _SMALL,
            "startup_probe": _exec_probe(f'test "$({sentinel_ping})" = PONG', 5, 24),
            "liveness_probe": _exec_probe(f'test "$({sentinel_ping})" = PONG', 10, 3),
            "readiness_probe": _exec_probe(f'test "$({sentinel_ping})" = PONG', 5, 3),
            "security_context": container_security_context(),
            "volume_mounts": [
                {"name": "runtime", "mount_path": "/run/redis"},
                {"name": "tmp", "mount_path": "/tmp"},
                tls_mount,
            ],
        })

    pod_spec: dict[str, Any] = {
        "service_account_name": name,
        "automount_service_account_token": False,
        "enable_service_links": False,
        "security_context": pod_security_context(REDIS_UID),
        "termination_grace_period_seconds": 30,
        "topology_spread_constraints": spread(selector),
        "containers": containers,
        "volumes": volumes,
    }
    if init_containers:
        pod_spec["init_containers"] = init_containers

    sts_spec: dict[str, Any] = {
        "replicas": replicas,
        "service_name": headless,
        "selector": {"match_labels": selector},
        # Ordered start: on first creation ordinal 0 becomes the primary before the replicas look for it.
        "pod_management_policy": "OrderedReady",
        "update_strategy": {"type": "RollingUpdate"},
        "revision_history_limit": 5,
        "template": {
            "metadata": {"labels": lbls, "annotations": {"checksum/config": checksum}},
            "spec": pod_spec,
        },
    }
    if args.persistence:
        pvc_spec: dict[str, Any] = {
            "access_modes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{args.storage_gib}Gi"}},
        }
        if opts.storage_class:
            pvc_spec["storage_class_name"] = opts.storage_class
        sts_spec["volume_claim_templates"] = [{"metadata": {"name": "data", "labels": lbls}, "spec": pvc_spec}]
        # Deleting the StatefulSet keeps the volumes when deletion protection is on (the data outlives a destroy).
        sts_spec["persistent_volume_claim_retention_policy"] = {
            "when_deleted": "Retain" if protect else "Delete",
            "when_scaled": "Retain",
        }
    else:
        volumes.append({"name": "data", "empty_dir": {"size_limit": f"{args.storage_gib}Gi"}})

    headless_ports = [{"name": "redis", "port": PORT, "target_port": "redis", "protocol": "TCP"}]
    if ha:
        headless_ports.append({"name": "sentinel", "port": SENTINEL_PORT, "target_port": "sentinel", "protocol": "TCP"})
    headless_svc = k8s.core.v1.Service(
        f"{name}-headless",
        metadata=meta(headless, ns, lbls),
        spec={
            "cluster_ip": "None",
            # Pod DNS names must resolve before readiness: replicas find the primary (and Sentinels each other).
            "publish_not_ready_addresses": True,
            "selector": selector,
            "ports": headless_ports,
        },
        opts=child,
    )
    k8s.apps.v1.StatefulSet(
        f"{name}-statefulset",
        metadata=meta(name, ns, lbls),
        spec=sts_spec,
        opts=stateful_opts(child, protect, depends_on=[headless_svc, server_cert]),
    )

    # --- HA: primary-routing proxy and disruption budgets -------------------------------------------------------
    if ha:
        servers = [f"{name}-{i}.{headless}.{ns}.svc.cluster.local" for i in range(replicas)]
        cfg = haproxy_cfg(servers)
        k8s.core.v1.ConfigMap(
            f"{name}-haproxy-config", metadata=meta(f"{name}-haproxy", ns, proxy_lbls), data={"haproxy.cfg": cfg}, opts=child
        )
        k8s.apps.v1.Deployment(
            f"{name}-haproxy",
            metadata=meta(f"{name}-haproxy", ns, proxy_lbls),
            spec={
                "replicas": 2,
                "revision_history_limit": 5,
                "selector": {"match_labels": proxy_selector},
                "strategy": {"type": "RollingUpdate", "rolling_update": {"max_surge": 1, "max_unavailable": 0}},
                "template": {
                    "metadata": {
                        "labels": proxy_lbls,
                        "annotations": {"checksum/config": hashlib.sha256(cfg.encode()).hexdigest()},
                    },
                    "spec": {
                        "service_account_name": name,
                        "automount_service_account_token": False,
                        "enable_service_links": False,
                        "security_context": pod_security_context(HAPROXY_UID),
                        "termination_grace_period_seconds": 30,
                        "topology_spread_constraints": spread(proxy_selector, per_revision=True),
                        "containers": [{
                            "name": "haproxy",
                            "image": HAPROXY_IMAGE,
                            "image_pull_policy": opts.image_pull_policy,
                            # HAProxy wants certificate and key in one PEM: joined into a memory-backed volume.
                            "command": ["/bin/sh", "-c", (
                                f"umask 077 && cat {TLS_DIR}/tls.crt {TLS_DIR}/tls.key > /run/haproxy/redis.pem && "
                                "exec haproxy -W -db -f /usr/local/etc/haproxy/haproxy.cfg"
                            )],
                            "env": [password_env],
                            "ports": [
                                {"name": "redis", "container_port": PORT, "protocol": "TCP"},
                                {"name": "health", "container_port": HEALTH_PORT, "protocol": "TCP"},
                            ],
                            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                                          "limits": {"cpu": "500m", "memory": "128Mi"}},
                            "liveness_probe": {"tcp_socket": {"port": "redis"}, "period_seconds": 10,
                                               "timeout_seconds": 3, "failure_threshold": 3},
                            # Ready only while a primary is known: no traffic goes to a proxy with nowhere to send it.
                            "readiness_probe": {"http_get": {"path": "/healthz", "port": "health"}, "period_seconds": 5,
                                                "timeout_seconds": 3, "failure_threshold": 3},
                            "security_context": container_security_context(),
                            "volume_mounts": [
                                {"name": "config", "mount_path": "/usr/local/etc/haproxy", "read_only": True},
                                {"name": "tmp", "mount_path": "/tmp"},
                                {"name": "run", "mount_path": "/run/haproxy"},
                                tls_mount,
                            ],
                        }],
                        "volumes": [
                            {"name": "config", "config_map": {"name": f"{name}-haproxy", "default_mode": 0o444}},
                            {"name": "tmp", "empty_dir": {"size_limit": "64Mi"}},
                            {"name": "run", "empty_dir": {"medium": "Memory", "size_limit": "1Mi"}},
                            tls_volume,
                        ],
                    },
                },
            },
            opts=child,
        )
        for role, pdb_name, sel in (("pdb", name, selector), ("haproxy-pdb", f"{name}-haproxy", proxy_selector)):
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-{role}",
                metadata=meta(pdb_name, ns, proxy_lbls if sel is proxy_selector else lbls),
                spec={"max_unavailable": 1, "selector": {"match_labels": sel}, "unhealthy_pod_eviction_policy": "AlwaysAllow"},
                opts=child,
            )

    # The client endpoint: the proxy when HA, else the single node.
    k8s.core.v1.Service(
        f"{name}-service",
        metadata=meta(name, ns, lbls),
        spec={
            "type": "ClusterIP",
            "selector": proxy_selector if ha else selector,
            "ports": [{"name": "redis", "port": PORT, "target_port": "redis", "protocol": "TCP"}],
        },
        opts=child,
    )

    # --- REDIS_URL for linked services -------------------------------------------------------------------------
    host = f"{name}.{ns}.svc.cluster.local"
    url = pulumi.Output.secret(password.result.apply(lambda pw: f"rediss://:{pw}@{host}:{PORT}/0"))
    k8s.core.v1.Secret(
        f"{name}-url",
        metadata=meta(f"{name}-url", ns, lbls),
        type="Opaque",
        string_data={"url": url},
        opts=child,
    )

    # --- network policies ---------------------------------------------------------------------------------------
    def tcp(*ports: int) -> list[dict]:
        return [{"protocol": "TCP", "port": p} for p in ports]

    node_ports = tcp(PORT, SENTINEL_PORT) if ha else tcp(PORT)
    clients = {"pod_selector": {"match_labels": dict([client_label])}}
    ingress = [{"from": [clients], "ports": node_ports}]
    if ha:
        ingress += [
            {"from": [{"pod_selector": {"match_labels": selector}}], "ports": node_ports},
            {"from": [{"pod_selector": {"match_labels": proxy_selector}}], "ports": tcp(PORT)},
        ]
    k8s.networking.v1.NetworkPolicy(
        f"{name}-np-ingress",
        metadata=meta(f"{name}-ingress", ns, lbls),
        spec={"pod_selector": {"match_labels": selector}, "policy_types": ["Ingress"], "ingress": ingress},
        opts=child,
    )
    if ha:
        # Replication and Sentinel gossip between the nodes.
        k8s.networking.v1.NetworkPolicy(
            f"{name}-np-egress",
            metadata=meta(f"{name}-egress", ns, lbls),
            spec={
                "pod_selector": {"match_labels": selector},
                "policy_types": ["Egress"],
                "egress": [{"to": [{"pod_selector": {"match_labels": selector}}], "ports": node_ports}],
            },
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-np-haproxy",
            metadata=meta(f"{name}-haproxy", ns, proxy_lbls),
            spec={
                "pod_selector": {"match_labels": proxy_selector},
                "policy_types": ["Ingress", "Egress"],
                "ingress": [{"from": [clients], "ports": tcp(PORT)}],
                "egress": [{"to": [{"pod_selector": {"match_labels": selector}}], "ports": tcp(PORT)}],
            },
            opts=child,
        )

    link = Link(
        kind="redis", name=name, port=PORT,
        env={"REDIS_URL": SecretRef(f"{name}-url", "url")},
        peer=SimpleNamespace(
            selector=dict(proxy_selector if ha else selector), client_label=client_label,
            # The CA certificate that signs the server's: only that key of the TLS Secret is projected.
            files=[{"secret": tls_secret, "key": CA_KEY, "dir": f"/etc/prodkit/{name}-ca", "env": "REDIS_CA_CERT"}],
        ),
    )
    return {
        "host": host,
        "port": PORT,
        "url": url,
        "handle": SimpleNamespace(
            service_name=name, namespace=ns, password_secret=auth_secret, password_key=auth_key,
            tls_secret=tls_secret, ca_key=CA_KEY, selector=dict(selector), proxy_selector=dict(proxy_selector) if ha else None,
        ),
        "link": link,
    }
