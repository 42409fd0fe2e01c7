"""Azure backend of WebService: a Container App in the Network's Container Apps environment.

What it creates, per service:

* a user-assigned managed identity; one Key Vault secret per ``secrets`` / ``secret_files`` entry (written through
  ARM into the stack's vault); a role assignment of **Key Vault Secrets User** to that identity on each of those
  secrets and on the linked stores' secrets (DATABASE_URL, REDIS_URL, the Redis password for queue scaling), scoped
  to the secret itself, never the vault;
* the Container App on the Consumption workload profile: single revision mode, the identity attached, every secret
  a Key Vault reference (``keyVaultUrl`` + identity, no value), env vars by ``secretRef``; ingress with
  ``allowInsecure`` false on the service port, ``external`` (visible at the environment's internal load balancer,
  where Front Door's private endpoint arrives) only when ``public``, otherwise reachable from the environment's
  apps only; liveness, readiness and startup probes (clamped to Container Apps' limits: initial delay <= 60 s,
  failure threshold <= 10); CPU/memory as one of the Consumption profile's pairs; secret files as a ``Secret``
  volume mounted read-only at the files' directory; a writable ``EmptyDir`` at /tmp;
* for shared volumes: a storage account (Azure Files, SMB 3 with encryption in transit, TLS 1.2, no public network
  access, no blob public access) per service, a share per volume with the volume's quota, a private endpoint, and
  the share registered in the environment (``ManagedEnvironmentsStorage``) with the account key (an ARM secret
  input; Container Apps mounts Azure Files only with a key); with the Network's customer-managed key (prod) the
  account encrypts with it (``keySource`` Microsoft.Keyvault, versionless so new key versions are picked up, the
  Network's encryption identity attached).

Scaling: the ``scale`` block (min/max replicas, rules) belongs to the Container App itself. When ``autoscaled`` the
app takes it from a deferred output that the Autoscaler resolves; :func:`scale_unscaled` (called by the stack
after composition) gives any app left without an Autoscaler ``min = max = replicas``.

Service-to-service calls: apps of one environment call each other by app name (``http://<app name>``) through the
environment's ingress; ``internal_url`` is that URL.

Sizes: Container Apps has no request/limit split; a replica gets the pair that holds the CPU and memory *limits*
(rounded up, never down). Larger than 4 vCPU / 8 GiB needs a Dedicated workload profile (not offered here): refused.

Timeouts: Container Apps' HTTP ingress ends requests after 240 s; services whose ``request_timeout_seconds`` is
longer must stream (bytes at least every 240 s) or answer 202 and let the client poll.
"""

from __future__ import annotations

import os
import re
from types import SimpleNamespace
from typing import Any

import pulumi
from .._core.azure import app, wire
from .._core.azure import authorization
from .._core.azure import keyvault
from .._core.azure import managedidentity

from .._core import Cloud, InputError, Platform, options_for, stateful_opts
from . import AzureWebServiceOptions

_COMPONENT = "web-service"
_CONTAINER = "app"
#: The Consumption workload profile's per-replica pairs: vCPU 0.25..4 in steps of 0.25, memory 2 GiB per vCPU.
CONSUMPTION_PAIRS: tuple[tuple[float, float], ...] = tuple((q / 4, q / 2) for q in range(1, 17))
MAX_REPLICAS = 1000
INGRESS_TIMEOUT_SECONDS = 240


def _fmt(value: float) -> str:
    return f"{value:g}"


def replica_size(args: Any) -> tuple[float, float]:
    """(vCPU, memory GiB) of each replica: explicit `azure.cpu`/`memory_gib` checked strictly; otherwise the
    smallest Consumption pair holding the CPU and memory limits."""
    opts = options_for(args, Cloud.AZURE, AzureWebServiceOptions)
    allowed = ", ".join(f"{_fmt(c)}/{_fmt(m)}Gi" for c, m in CONSUMPTION_PAIRS)
    if opts.cpu is not None or opts.memory_gib is not None:
        pair = (opts.cpu, opts.memory_gib)
        if pair not in CONSUMPTION_PAIRS:
            raise InputError(
                "azure.cpu/memory_gib", f"{opts.cpu}/{opts.memory_gib}Gi",
                f"Container Apps (Consumption profile) accepts these vCPU/memory pairs: {allowed}",
            )
        return pair  # type: ignore[return-value]
    need_cpu = args.cpu_limit / 1000
    need_gib = args.memory_limit / 1024
    for cpu, gib in CONSUMPTION_PAIRS:
        if cpu >= need_cpu and gib >= need_gib:
            return cpu, gib
    raise InputError(
        "cpu_limit/memory_limit", f"{args.cpu_limit}m/{args.memory_limit}Mi",
        "no Container Apps Consumption replica holds that: the largest is 4 vCPU / 8 GiB (pairs: " + allowed + ")",
    )


def validate(args: Any, platform: Platform) -> None:
    """Container Apps limits: cpu/memory pairs, replicas, secret files in a directory of their own."""
    replica_size(args)
    if not 0 <= args.replicas <= MAX_REPLICAS:
        raise InputError("replicas", args.replicas, f"allowed on Container Apps: 0 to {MAX_REPLICAS}")
    dirs = {os.path.dirname(str(p)) for p in args.secret_files}
    for path in args.secret_files:
        if os.path.dirname(str(path)) in ("", "/"):
            raise InputError("secret_files", path, "put secret files in a directory of their own, e.g. '/app/secrets/key.pem' (Container Apps mounts a secret volume over the whole directory)")
    if len(dirs) > 1:
        raise InputError("secret_files", sorted(dirs), "on Container Apps all secret files of a service share one directory (one secret volume)")
    mounts = {v.mount_path for v in args.volumes} | dirs
    if "/tmp" in mounts:
        raise InputError("volumes", "/tmp", "/tmp is the service's scratch volume on Container Apps")


def _role(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _probe(kind: str, probe: Any, port: int) -> app.ContainerAppProbeArgs:
    """A probe within Container Apps' limits (initial delay 1-60 s, failure threshold 1-10, period <= 240 s): a
    larger threshold is traded for a longer period so the probe allows the same time before failing."""
    threshold, period = probe.failure_threshold, probe.period_seconds
    if threshold > 10:
        period, threshold = -(-period * threshold // 10), 10
    return app.ContainerAppProbeArgs(
        type=kind, http_get=app.ContainerAppProbeHttpGetArgs(path=probe.path, port=port, scheme="HTTP"),
        initial_delay_seconds=min(max(probe.initial_delay_seconds, 1), 60),
        period_seconds=min(period, 240), timeout_seconds=min(probe.timeout_seconds, 240, period),
        failure_threshold=threshold,
    )


#: Deferred scale blocks of autoscaled apps not yet resolved in this program run: (replicas, resolve).
_PENDING: list[tuple[int, Any]] = []


def forget_pending() -> None:
    """Drop scale blocks left by an earlier program run that failed before resolving them."""
    _PENDING.clear()


def scale_unscaled() -> int:
    """Give every autoscaled app that no Autoscaler scaled a fixed scale (min = max = replicas); returns how many."""
    left = list(_PENDING)
    _PENDING.clear()
    for replicas, resolve in left:
        resolve(pulumi.Output.from_input(wire({"min_replicas": replicas, "max_replicas": replicas})))
    return len(left)


def _deferred_scale(replicas: int) -> tuple[pulumi.Output[Any], Any]:
    value, resolve = pulumi.deferred_output()
    entry = (replicas, resolve)
    _PENDING.append(entry)

    def set_scale(scale: dict[str, Any]) -> None:
        if entry not in _PENDING:
            raise RuntimeError("this Container App's scale was already set (one Autoscaler per service)")
        _PENDING.remove(entry)
        resolve(pulumi.Output.from_input(wire(scale)))

    return value, set_scale


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    from ..network._azure import FILES_ZONE, KEY_VAULT_SECRETS_USER, private_endpoint, role_definition  # noqa: F401

    net = args.network.handle
    tags = platform.labels(_COMPONENT)
    cpu, memory_gib = replica_size(args)
    app_name = platform.physical_name(name, limit=32)
    port = args.port
    for link in args.links:
        if getattr(link, "link", None) is None:
            raise InputError("links", type(link).__name__, "allowed: ManagedPostgres or ManagedRedis components created on Azure")

    identity = managedidentity.UserAssignedIdentity(
        f"{name}-identity", resource_group_name=net.resource_group_name, location=net.location,
        resource_name_=platform.physical_name(f"{name}-identity", limit=128), tags=tags, opts=child,
    )
    secrets_user = role_definition(net.subscription_id, KEY_VAULT_SECRETS_USER)
    readers: list[pulumi.Resource] = []

    def grant(role: str, secret_id: Any) -> None:
        readers.append(authorization.RoleAssignment(
            f"{name}-read-{role}", principal_id=identity.principal_id, principal_type="ServicePrincipal",
            role_definition_id=secrets_user, scope=secret_id,
            description=f"{name} reads this secret (Container Apps Key Vault reference)", opts=child,
        ))

    app_secrets: list[app.SecretArgs] = []
    env: list[app.EnvironmentVarArgs] = [app.EnvironmentVarArgs(name=k, value=v) for k, v in sorted(args.env.items())]

    def store(role: str, value: Any, description: str) -> pulumi.Output[str]:
        """A Key Vault secret holding `value`; returns its versionless URI."""
        secret_name = platform.physical_name(f"{name}-{role}", limit=127)
        secret = keyvault.Secret(
            f"{name}-{role}", resource_group_name=net.resource_group_name, vault_name=net.vault_name, secret_name=secret_name,
            properties=keyvault.SecretPropertiesArgs(value=pulumi.Output.secret(value), content_type=description),
            tags=tags, opts=child,
        )
        grant(role, secret.id)
        return pulumi.Output.concat(net.vault_uri, "secrets/", secret_name)

    def reference(secret_ref: str, uri: Any) -> None:
        app_secrets.append(app.SecretArgs(name=secret_ref, key_vault_url=uri, identity=identity.id))

    for env_name, value in sorted(args.secrets.items()):
        role = f"secret-{_role(env_name)}"
        reference(role, store(role, value, f"{env_name} of {name}"))
        env.append(app.EnvironmentVarArgs(name=env_name, secret_ref=role))
    for link in args.links:
        store_link = link.link
        for env_name, ref in sorted(store_link.env.items()):
            role = f"{store_link.name}-{_role(env_name)}"
            grant(role, store_link.peer.secret_ids[env_name])
            reference(role, ref.store_id)
            env.append(app.EnvironmentVarArgs(name=env_name, secret_ref=role))
        for role, (secret_id, uri) in sorted(getattr(store_link.peer, "extra_secrets", {}).items()):
            grant(role, secret_id)  # e.g. the Redis password the queue scale rule authenticates with
            reference(role, uri)

    volumes = [app.VolumeArgs(name="tmp", storage_type="EmptyDir")]
    mounts = [app.VolumeMountArgs(volume_name="tmp", mount_path="/tmp")]
    if args.secret_files:
        items = []
        for path, content in sorted(args.secret_files.items()):
            role = f"file-{_role(os.path.basename(path))}"
            reference(role, store(role, content, f"secret file {path} of {name}"))
            items.append(app.SecretVolumeItemArgs(secret_ref=role, path=os.path.basename(path)))
        volumes.append(app.VolumeArgs(name="secret-files", storage_type="Secret", secrets=items))
        mounts.append(app.VolumeMountArgs(volume_name="secret-files", mount_path=os.path.dirname(next(iter(sorted(args.secret_files))))))

    shares: dict[str, Any] = {}
    storages = _shared_volumes(name, args, platform, net, tags, child, volumes, mounts, shares)

    probes = [_probe("Liveness", args.probes.liveness, port), _probe("Readiness", args.probes.readiness, port)]
    if args.probes.startup is not None:
        probes.append(_probe("Startup", args.probes.startup, port))

    if args.autoscaled:
        scale, set_scale = _deferred_scale(args.replicas)
    else:
        scale, set_scale = app.ScaleArgs(min_replicas=args.replicas, max_replicas=args.replicas), None

    container_app = app.ContainerApp(
        f"{name}-app", resource_group_name=net.resource_group_name, location=net.location, container_app_name=app_name,
        environment_id=net.environment_id, workload_profile_name="Consumption",
        identity=app.ManagedServiceIdentityArgs(type="UserAssigned", user_assigned_identities=[identity.id]),
        configuration=app.ConfigurationArgs(
            active_revisions_mode="Single",
            ingress=app.IngressArgs(
                external=args.public, target_port=port, transport="http", allow_insecure=False,
                traffic=[app.TrafficWeightArgs(latest_revision=True, weight=100)],
            ),
            secrets=app_secrets,
        ),
        template=app.TemplateArgs(
            containers=[app.ContainerArgs(
                name=_CONTAINER, image=args.image, env=env, probes=probes, volume_mounts=mounts,
                resources=app.ContainerResourcesArgs(cpu=cpu, memory=f"{_fmt(memory_gib)}Gi"),
            )],
            volumes=volumes, scale=scale,
            termination_grace_period_seconds=min(args.request_timeout_seconds, 600),
        ),
        tags=tags,
        # Key Vault references resolve when the revision starts: the identity must already hold its grants.
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=readers + storages)),
    )
    if args.request_timeout_seconds > INGRESS_TIMEOUT_SECONDS:
        pulumi.log.warn(
            f"{name}: request_timeout_seconds {args.request_timeout_seconds} exceeds the 240 s Container Apps ingress "
            "and Front Door limit; the service must stream (a byte at least every 240 s) or answer 202 and be polled",
            resource=container_app,
        )

    fqdn = pulumi.Output.concat(app_name, "." if args.public else ".internal.", net.environment_domain)
    handle = {
        "name": name,
        "app_name": app_name,
        "app_id": container_app.id,
        "fqdn": fqdn,
        "identity_id": identity.id,
        "port": port,
        "probes": args.probes,
        "public": args.public,
        "set_scale": set_scale,
        "replicas": args.replicas,
        "network": net,
        "request_timeout_seconds": args.request_timeout_seconds,
        "linked": {link.link.name for link in args.links},
        "file_shares": shares,
    }
    return {"service_name": container_app.name, "internal_url": f"http://{app_name}", "handle": SimpleNamespace(**handle)}


def _shared_volumes(name: str, args: Any, platform: Platform, net: Any, tags: dict[str, str], child: pulumi.ResourceOptions,
                    volumes: list[Any], mounts: list[Any], shares: dict[str, Any]) -> list[pulumi.Resource]:
    """Azure Files shares for `args.volumes`, registered in the environment; returns the environment storages."""
    if not args.volumes:
        return []
    import hashlib

    from .._core.azure import storage

    from ..network._azure import FILES_ZONE, private_endpoint  # noqa: F401

    protect = stateful_opts(child, args.deletion_protection)
    digest = hashlib.sha1(f"{platform.app}/{platform.stack}/{name}".encode()).hexdigest()[:8]
    cmk = getattr(net, "cmk_key_uri", None) is not None
    account_name = re.sub(r"[^a-z0-9]", "", f"{platform.app}{platform.stack}{name}")[:16] + digest  # 3-24, globally unique
    account = storage.StorageAccount(
        f"{name}-files", resource_group_name=net.resource_group_name, location=net.location, account_name=account_name,
        kind="StorageV2", sku=storage.SkuArgs(name="ZRS" if net.zone_redundant else "LRS"),
        enable_https_traffic_only=True, minimum_tls_version="TLS1_2", allow_blob_public_access=False,
        allow_shared_key_access=True,  # Container Apps mounts Azure Files (SMB) with the account key only
        public_network_access="Disabled",
        network_rule_set=storage.NetworkRuleSetArgs(default_action="Deny", bypass="None"),
        encryption=storage.EncryptionArgs(
            key_source="Microsoft.Keyvault" if cmk else "Microsoft.Storage", require_infrastructure_encryption=True,
            services=storage.EncryptionServicesArgs(file=storage.EncryptionServiceArgs(enabled=True, key_type="Account")),
            key_vault_properties=storage.KeyVaultPropertiesArgs(key_name=net.cmk_key_name, key_vault_uri=net.vault_uri) if cmk else None,
            encryption_identity=storage.EncryptionIdentityArgs(encryption_user_assigned_identity=net.cmk_identity_id) if cmk else None,
        ),
        identity=storage.IdentityArgs(type="UserAssigned", user_assigned_identities=[net.cmk_identity_id]) if cmk else None,
        tags=tags, opts=protect,
    )
    private_endpoint(f"{name}-files", platform, net.resource_group_name, net.location, net.endpoints_subnet_id, account.id, "file",
                     net.files_dns_zone_id, tags, child)
    keys = storage.list_storage_account_keys_output(
        resource_group_name=net.resource_group_name, account_name=account.name, opts=pulumi.InvokeOptions(parent=child.parent),
    )
    key = pulumi.Output.secret(keys.apply(lambda r: r.keys[0]["value"]))
    out = []
    for volume in args.volumes:
        share = storage.FileShare(
            f"{name}-{volume.name}-share", resource_group_name=net.resource_group_name, account_name=account.name,
            share_name=volume.name, share_quota=volume.size_gib, enabled_protocols="SMB", access_tier="TransactionOptimized",
            opts=protect,
        )
        env_storage = app.ManagedEnvironmentsStorage(
            f"{name}-{volume.name}-storage", resource_group_name=net.resource_group_name, environment_name=net.environment_name,
            storage_name=f"{platform.physical_name(name, limit=20)}-{volume.name}"[:32],
            properties=app.ManagedEnvironmentStoragePropertiesArgs(azure_file=app.AzureFilePropertiesArgs(
                account_name=account.name, account_key=key, share_name=share.name, access_mode="ReadWrite",
            )),
            opts=child,
        )
        volumes.append(app.VolumeArgs(name=volume.name, storage_type="AzureFile", storage_name=env_storage.name,
                                      mount_options="dir_mode=0750,file_mode=0640,uid=10001,gid=10001"))
        mounts.append(app.VolumeMountArgs(volume_name=volume.name, mount_path=volume.mount_path))
        out.append(env_storage)
        shares[volume.name] = SimpleNamespace(account_id=account.id, account_name=account.name, share_name=share.name)
    return out
