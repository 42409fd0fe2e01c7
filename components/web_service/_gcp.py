"""GCP backend of WebService: a Cloud Run v2 service with its own service account and Direct VPC egress.

What it creates, per service:

* ``{name}-sa``: a service account used by nothing else; it gets ``roles/secretmanager.secretAccessor`` on exactly
  the service's secrets and its linked stores' URL secrets, and ``roles/cloudsql.client`` when linked to a
  ManagedPostgres (IAM-checked Cloud SQL connections; the app itself connects over the private IP with TLS);
* one Secret Manager secret (regional replica) + version per ``secrets`` entry and per ``secret_files`` entry;
  with the Network's Cloud KMS key (profiles with customer-managed keys) the replica is encrypted with it, after
  the Network's grant to the Secret Manager service agent (the same helper makes the Postgres and Redis secrets).
  The revision references them: env vars by ``value_source.secret_key_ref`` (version ``latest``), files as a
  secret volume mounted read-only at the file's directory. No secret value is ever a literal of the service;
* ``{name}-service``: Cloud Run v2, second-generation execution environment, CPU/memory from the limits rounded
  up to a combination Cloud Run accepts (explicit ``gcp.cpu``/``gcp.memory_mib`` are checked strictly),
  ``gcp.concurrency`` requests per instance, the request timeout (``request_timeout_seconds``, Cloud Run allows
  up to 3600 s), startup probe (the spec's startup probe, else its readiness probe allowed the liveness probe's initial delay
  to pass) and liveness probe on the health path, Direct VPC egress on the Network's subnet with **all** traffic through the VPC (so the firewall's
  default deny applies and internal calls stay internal; tag ``internet-egress`` when ``internet_egress``), and
  ``deletion_protection`` from the Args;
* ingress: ``INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER`` for ``public`` services (reached only through TlsIngress's
  load balancer) and ``INGRESS_TRAFFIC_INTERNAL_ONLY`` for the rest (only from the stack's VPC);
* invoker: ``invoker_iam_disabled`` on every service and **no** ``allUsers`` binding. Why: a global external
  Application Load Balancer forwards the browser's request to the serverless NEG without a Google identity
  token, so with the IAM invoker check on, every request through the load balancer would be refused (403). The
  documented choices are an ``allUsers`` ``roles/run.invoker`` binding or disabling the invoker check; both
  let unauthenticated requests through, and the ingress setting is what keeps the ``run.app`` URL closed to the
  internet. Disabling the check is chosen because an ``allUsers`` binding is refused by the common
  domain-restricted-sharing organisation policy and would be readable as "public" by every scanner. Internal
  services are disabled too: the seed apps send no ID tokens between services; internal-only ingress admits
  only requests from the VPC (the caller's Direct VPC egress), which is the boundary AWS draws with security
  groups;
* shared volumes: a Cloud Storage FUSE mount of a bucket per volume, named
  ``{app}-{stack}-{service}-{volume}-{8 hex digits of sha256(project id)}`` (bucket names are global) (uniform access, public access prevented,
  versioned, 7-day soft delete, CMEK when the Network has a key). Why not Filestore: Filestore's smallest instance
  is 1 TiB (BASIC_HDD) billed whether used or not, and it has no scheduled backups; a bucket costs what is
  stored and BackupSchedule copies it on a schedule. Caveat for the seeds' workspaces (git checkouts): Cloud
  Storage FUSE has no file locking and renames are not atomic, so concurrent writers to the same repository are
  unsafe; the agents write per-task directories;
* service-to-service URLs (``${services.NAME.url}``) resolve to the callee's ``uri`` (https, internal ingress);
* ``{name}-logs`` + ``{name}-log-sink``: a log bucket keeping the service's logs ``log_retention_days`` and the
  sink routing its revisions' entries there (the project's ``_Default`` bucket keeps 30 days regardless).

Cost: vCPU-seconds + GiB-seconds while instances exist (min instances always billed with always-allocated CPU),
requests; Secret Manager $0.06/version-month + access; buckets per GB.
"""

from __future__ import annotations

import hashlib
import os
import re
from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi_gcp as gcp

from .._core import Cloud, InputError, Platform, options_for, stateful_opts
from . import GcpWebServiceOptions

_COMPONENT = "web-service"
_CONTAINER = "app"
#: Cloud Run CPU sizes (millicores) -> (minimum, maximum) memory in MiB (second generation: at least 512 MiB).
CPU_SIZES: dict[int, tuple[int, int]] = {
    1000: (512, 4096), 2000: (512, 8192), 4000: (2048, 16384), 6000: (4096, 24576), 8000: (4096, 32768),
}
MIN_MEMORY_MIB = 512
MAX_TIMEOUT_SECONDS = 3600
URL_MARKER = "{{prodkit-service-url:%s}}"
_MARKER = re.compile(r"\{\{prodkit-service-url:([a-z0-9-]+)\}\}")


def _cpu_text(millicores: int) -> str:
    return str(millicores // 1000)


def cloud_run_size(args: Any) -> tuple[str, int]:
    """(cpu, memory MiB) of the container.

    Explicit ``gcp.cpu``/``gcp.memory_mib`` must be a pair Cloud Run accepts. Otherwise the limits are rounded up
    (never down) to the smallest CPU size that also holds the memory, and the memory up to that size's minimum:
    fractional CPU is not offered because below 1 CPU Cloud Run requires concurrency 1 and request-based billing.
    """
    opts = options_for(args, Cloud.GCP, GcpWebServiceOptions)
    if opts.cpu is not None or opts.memory_mib is not None:
        cpu_text = str(opts.cpu) if opts.cpu is not None else _cpu_text(next(c for c in CPU_SIZES if c >= args.cpu_limit) if args.cpu_limit <= 8000 else 8000)
        allowed = {str(c // 1000): c for c in CPU_SIZES}
        if cpu_text not in allowed:
            raise InputError("gcp.cpu", opts.cpu, "Cloud Run CPU must be one of " + ", ".join(allowed) + " (prodkit runs always-allocated instances; fractional CPU needs concurrency 1)")
        lo, hi = CPU_SIZES[allowed[cpu_text]]
        memory = opts.memory_mib if opts.memory_mib is not None else max(args.memory_limit, lo)
        if isinstance(memory, bool) or not isinstance(memory, int) or not lo <= memory <= hi:
            raise InputError("gcp.memory_mib", memory, f"with {cpu_text} CPU Cloud Run allows {lo} to {hi} MiB of memory")
        return cpu_text, memory
    if args.cpu_limit > 8000:
        raise InputError("cpu_limit_millicores", args.cpu_limit, "Cloud Run offers at most 8 CPU per instance")
    if args.memory_limit > 32768:
        raise InputError("memory_limit_mib", args.memory_limit, "Cloud Run offers at most 32 GiB (32768 MiB) per instance")
    for cpu, (lo, hi) in CPU_SIZES.items():
        if cpu >= args.cpu_limit and hi >= args.memory_limit:
            return _cpu_text(cpu), max(args.memory_limit, lo, MIN_MEMORY_MIB)
    raise InputError("memory_limit_mib", args.memory_limit, "no Cloud Run size holds this CPU and memory (largest: 8 CPU / 32 GiB)")


def validate(args: Any, platform: Platform) -> None:
    """Cloud Run limits, checked before anything is registered."""
    opts = options_for(args, Cloud.GCP, GcpWebServiceOptions)
    c = opts.concurrency
    if isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= 1000:
        raise InputError("gcp.concurrency", c, "Cloud Run allows 1 to 1000 concurrent requests per instance")
    cloud_run_size(args)
    if args.request_timeout_seconds > MAX_TIMEOUT_SECONDS:
        raise InputError("request_timeout_seconds", args.request_timeout_seconds, "Cloud Run allows request timeouts up to 3600 s")
    dirs: dict[str, str] = {}
    for path in args.secret_files:
        directory = os.path.dirname(str(path))
        if directory in ("", "/"):
            raise InputError("secret_files", path, "put secret files in a directory of their own, e.g. '/app/secrets/key.pem'")
        if directory in dirs:
            raise InputError("secret_files", path, f"Cloud Run mounts one secret per directory; {dirs[directory]} is already in {directory}")
        dirs[directory] = str(path)
    if not platform.region:
        raise InputError("prodkit:region", "", "Cloud Run needs a region, e.g. 'us-central1'")


# --- deferred values: scaling set by the Autoscaler, URLs of services built later -------------------------------

_SCALING: list[tuple[Any, Any]] = []  # (resolve, default scaling dict) not yet set by an Autoscaler
_URLS: dict[str, list[Any]] = {}  # service name -> [output, resolve, resolved]


def forget_pending() -> None:
    """Start a program run with nothing pending from an earlier one."""
    _SCALING.clear()
    _URLS.clear()


def _url(service: str) -> pulumi.Output[str]:
    entry = _URLS.get(service)
    if entry is None:
        out, resolve = pulumi.deferred_output()
        entry = _URLS[service] = [out, resolve, False]
    return entry[0]


def _publish_url(service: str, uri: pulumi.Output[str]) -> None:
    _url(service)
    entry = _URLS[service]
    if not entry[2]:
        entry[2] = True
        entry[1](uri)


def finish() -> None:
    """Resolve what no Autoscaler set (the fixed replica count) and fail on URLs of services never built."""
    left = list(_SCALING)
    _SCALING.clear()
    for resolve, default in left:
        resolve(pulumi.Output.from_input(default))
    missing = sorted(name for name, entry in _URLS.items() if not entry[2])
    _URLS.clear()
    if missing:
        raise InputError("env", "${services.%s.url}" % missing[0], "no WebService of that name was created in this program")


def _render(value: Any) -> pulumi.Input[str]:
    if not isinstance(value, str) or not _MARKER.search(value):
        return value
    parts: list[Any] = []
    pos = 0
    for m in _MARKER.finditer(value):
        parts.append(value[pos:m.start()])
        parts.append(_url(m.group(1)))
        pos = m.end()
    parts.append(value[pos:])
    return pulumi.Output.concat(*parts)


def _role(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _project(opts: Any, child: pulumi.ResourceOptions) -> pulumi.Input[str]:
    if opts.project:
        return opts.project
    return gcp.organizations.get_client_config_output(opts=pulumi.InvokeOptions(parent=child.parent)).project


def _probe(probe: Any, port: int, startup: bool) -> dict[str, Any]:
    cap = 240 if startup else 3600  # Cloud Run's limits for startup / liveness probes
    period = min(max(probe.period_seconds, 1), cap)
    return {
        "http_get": {"path": probe.path, "port": port},
        "initial_delay_seconds": min(probe.initial_delay_seconds, cap),
        "period_seconds": period,
        "timeout_seconds": min(probe.timeout_seconds, period),
        "failure_threshold": probe.failure_threshold,
    }


def _startup_probe(probes: Any, port: int) -> dict[str, Any]:
    """The spec's startup probe; without one, the readiness probe given as long as the liveness probe's initial delay
    to first succeed (Cloud Run starts liveness checks only after the startup probe passed, so the startup window
    must cover the boot time the liveness delay stands for). Cloud Run caps the window at 240 s."""
    if probes.startup is not None:
        return _probe(probes.startup, port, startup=True)
    ready = _probe(probes.readiness, port, startup=True)
    boot = probes.liveness.initial_delay_seconds
    ready["failure_threshold"] = min(max(probes.readiness.failure_threshold, -(-boot // ready["period_seconds"]) + probes.readiness.failure_threshold),
                                     max(1, (240 - ready["initial_delay_seconds"]) // ready["period_seconds"]))
    return ready


def bucket_name(platform: Platform, project: pulumi.Input[str], name: str) -> pulumi.Input[str]:
    """`{app}-{stack}-{name}-{hash of the project id}`: bucket names are global across all of Cloud Storage, so two
    projects deploying the same app and stack names would otherwise claim the same name (the second fails with 409).
    An 8-hex-digit digest keeps the project id itself out of the name; 63 characters at most."""
    def named(project_id: str) -> str:
        return platform.physical_name(f"{name}-{hashlib.sha256(project_id.encode()).hexdigest()[:8]}", limit=63)

    return named(project) if isinstance(project, str) else pulumi.Output.from_input(project).apply(named)


def secret(name: str, role: str, platform: Platform, value: pulumi.Input[str], labels: dict[str, str],
           child: pulumi.ResourceOptions, project: str | None = None, net: Any = None) -> gcp.secretmanager.Secret:
    """A Secret Manager secret (replicated in the stack's region) holding `value`. With the network's Cloud KMS key
    (profiles with customer-managed keys) the replica is encrypted with it; the key ring lives in the same region,
    as Secret Manager requires, and the secret waits for the Secret Manager agent's grant on the key."""
    key_id = getattr(net, "kms_key_id", None)
    replica: dict[str, Any] = {"location": platform.region}
    opts = child
    if key_id is not None:
        replica["customer_managed_encryption"] = {"kms_key_name": key_id}
        grant = getattr(net, "secrets_key_access", None)
        opts = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[grant] if grant is not None else []))
    s = gcp.secretmanager.Secret(
        f"{name}-{role}", project=project, secret_id=platform.physical_name(f"{name}-{role}", limit=255),
        replication={"user_managed": {"replicas": [replica]}}, labels=labels, opts=opts,
    )
    gcp.secretmanager.SecretVersion(f"{name}-{role}-version", secret=s.id, secret_data=pulumi.Output.secret(value), opts=child)
    return s


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    opts = options_for(args, Cloud.GCP, GcpWebServiceOptions)
    net = args.network.handle
    labels = platform.labels(_COMPONENT)
    cpu, memory = cloud_run_size(args)
    port = args.port
    for link in args.links:
        if getattr(link, "link", None) is None:
            raise InputError("links", type(link).__name__, "allowed: ManagedPostgres or ManagedRedis components created on GCP")

    sa = gcp.serviceaccount.Account(
        f"{name}-sa", project=opts.project, account_id=platform.physical_name(name, limit=30), display_name=f"Cloud Run {platform.app}/{platform.stack} {name}",
        description=f"Identity of the {name} Cloud Run service only", opts=child,
    )
    member = pulumi.Output.concat("serviceAccount:", sa.email)

    def may_read(role: str, secret_id: pulumi.Input[str]) -> None:
        gcp.secretmanager.SecretIamMember(f"{name}-{role}-access", project=opts.project, secret_id=secret_id, role="roles/secretmanager.secretAccessor",
                                          member=member, opts=child)

    envs: list[dict[str, Any]] = [{"name": k, "value": _render(v)} for k, v in sorted(args.env.items())]
    for env_name, value in sorted(args.secrets.items()):
        role = f"secret-{_role(env_name)}"
        s = secret(name, role, platform, value, labels, child, opts.project, net)
        may_read(role, s.id)
        envs.append({"name": env_name, "value_source": {"secret_key_ref": {"secret": s.secret_id, "version": "latest"}}})
    postgres_linked = False
    for link in args.links:
        store = link.link
        postgres_linked = postgres_linked or store.kind == "postgres"
        for env_name, ref in sorted(store.env.items()):
            may_read(f"{store.name}-{_role(env_name)}", ref.store_id)
            envs.append({"name": env_name, "value_source": {"secret_key_ref": {"secret": ref.store_id, "version": ref.key or "latest"}}})
    if postgres_linked:
        gcp.projects.IAMMember(f"{name}-cloudsql-client", project=_project(opts, child), role="roles/cloudsql.client", member=member, opts=child)

    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for path, content in sorted(args.secret_files.items()):
        role = f"file-{_role(os.path.basename(path))}"
        s = secret(name, role, platform, content, labels, child, opts.project, net)
        may_read(role, s.id)
        volumes.append({"name": role, "secret": {"secret": s.secret_id, "default_mode": 0o444,
                                                 "items": [{"path": os.path.basename(path), "version": "latest"}]}})
        mounts.append({"name": role, "mount_path": os.path.dirname(path)})

    buckets: dict[str, Any] = {}
    for volume in args.volumes:
        bucket = gcp.storage.Bucket(
            f"{name}-{volume.name}-bucket", project=opts.project, name=bucket_name(platform, _project(opts, child), f"{name}-{volume.name}"), location=platform.region.upper(),
            uniform_bucket_level_access=True, public_access_prevention="enforced", versioning={"enabled": True},
            soft_delete_policy={"retention_duration_seconds": 7 * 86400},
            lifecycle_rules=[{"action": {"type": "Delete"}, "condition": {"days_since_noncurrent_time": 30, "with_state": "ARCHIVED"}}],
            encryption={"default_kms_key_name": net.kms_key_id} if getattr(net, "kms_key_id", None) is not None else None,
            force_destroy=not args.deletion_protection, labels=labels,
            opts=stateful_opts(child, args.deletion_protection),
        )
        gcp.storage.BucketIAMMember(f"{name}-{volume.name}-bucket-access", bucket=bucket.name, role="roles/storage.objectUser", member=member, opts=child)
        volumes.append({"name": volume.name, "gcs": {"bucket": bucket.name, "read_only": False,
                                                     "mount_options": ["implicit-dirs", "file-mode=0660", "dir-mode=0770"]}})
        mounts.append({"name": volume.name, "mount_path": volume.mount_path})
        buckets[volume.name] = bucket

    fixed = {"min_instance_count": args.replicas, "max_instance_count": args.replicas}
    set_scaling = None
    if args.autoscaled:
        # The Autoscaler, created after this service, sets min/max and the CPU target; until then the revision's
        # scaling waits. A program that creates an autoscaled WebService without an Autoscaler must call
        # `finish()` (stacks.app's GCP target does), or the fixed replica count never resolves.
        scaling, resolve = pulumi.deferred_output()
        _SCALING.append((resolve, fixed))
        entry = _SCALING[-1]

        def set_scaling(value: dict[str, Any]) -> None:
            """Called once by the Autoscaler with {min_instance_count, max_instance_count, cpu_utilization?}."""
            if entry in _SCALING:
                _SCALING.remove(entry)
                resolve(pulumi.Output.from_input(value))
    else:
        scaling = pulumi.Output.from_input(fixed)

    tags = ["prodkit-service"] + (["internet-egress"] if args.internet_egress else [])
    probes = args.probes
    container: dict[str, Any] = {
        "name": _CONTAINER,
        "image": args.image,
        "ports": {"name": "http1", "container_port": port},
        "resources": {"limits": {"cpu": cpu, "memory": f"{memory}Mi"}, "cpu_idle": not opts.cpu_always_allocated, "startup_cpu_boost": True},
        "envs": envs,
        "startup_probe": _startup_probe(probes, port),
        "liveness_probe": _probe(probes.liveness, port, startup=False),
        "volume_mounts": mounts or None,
    }
    service = gcp.cloudrunv2.Service(
        f"{name}-service", project=opts.project, name=platform.physical_name(name, limit=49), location=platform.region,
        description=f"{platform.app}/{platform.stack} {name}",
        ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" if args.public else "INGRESS_TRAFFIC_INTERNAL_ONLY",
        invoker_iam_disabled=True,
        deletion_protection=args.deletion_protection,
        template={
            "service_account": sa.email,
            "execution_environment": "EXECUTION_ENVIRONMENT_GEN2",
            "timeout": f"{args.request_timeout_seconds}s",
            "max_instance_request_concurrency": opts.concurrency,
            "scaling": scaling,
            "vpc_access": {"egress": "ALL_TRAFFIC", "network_interfaces": [{"network": net.network_id, "subnetwork": net.subnet_id, "tags": tags}]},
            "containers": [container],
            "volumes": volumes or None,
            "labels": labels,
        },
        labels=labels,
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
            # CREMA (queue-depth scaling) sets the instance count through the Admin API on the service level.
            ignore_changes=["scaling"] if args.autoscaled else None,
        )),
    )
    _publish_url(name, service.uri)

    # Cloud Run writes to the project's _Default log bucket (30 days whatever a stack asks); the service's logs are
    # also routed to a bucket of its own that keeps them `log_retention_days`.
    logs = gcp.logging.ProjectBucketConfig(
        f"{name}-logs", project=_project(opts, child), location=platform.region,
        bucket_id=platform.physical_name(f"{name}-logs", limit=100), retention_days=args.log_retention_days,
        description=f"Logs of the Cloud Run service {name}", opts=child,
    )
    gcp.logging.ProjectSink(
        f"{name}-log-sink", name=platform.physical_name(f"{name}-logs", limit=100), project=opts.project,
        destination=pulumi.Output.concat("logging.googleapis.com/", logs.id),
        filter=pulumi.Output.concat('resource.type="cloud_run_revision" AND resource.labels.service_name="', service.name, '"'),
        unique_writer_identity=True, opts=child,
    )

    handle = SimpleNamespace(
        name=name, service_name=service.name, service_id=service.id, uri=service.uri, region=platform.region,
        service_account_email=sa.email, port=port, probes=args.probes, public=args.public, set_scaling=set_scaling,
        buckets=buckets, replicas=args.replicas, project=opts.project, scaling=scaling, deletion_protection=args.deletion_protection,
        network_id=net.network_id, subnet_id=net.subnet_id, kms_key_id=getattr(net, "kms_key_id", None),
    )
    return {"service_name": service.name, "internal_url": service.uri, "handle": handle}
