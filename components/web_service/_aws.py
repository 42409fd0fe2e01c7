"""AWS backend of WebService: an ECS Fargate service in the Network's private subnets.

What it creates, per service:

* a CloudWatch log group (retention ``log_retention_days``, one of CloudWatch's allowed values; encrypted with the
  stack's KMS key) and an ECS cluster with Container Insights, using the FARGATE / FARGATE_SPOT capacity providers
  with the weights of :class:`AwsWebServiceOptions`;
* one Secrets Manager secret (+ version) per ``secrets`` entry and per ``secret_files`` entry, encrypted with the
  stack key; the task definition references them by ARN (``secrets[].valueFrom``), never by value;
* an execution role that may read exactly those secrets (and the linked stores' secrets), decrypt with the stack
  key through Secrets Manager only, and, for images through the pull-through cache, ``ecr:BatchImportUpstreamImage``
  and ``ecr:CreateRepository`` on the cache's repository prefixes (the first pull of an image creates its
  repository); a task role with no permissions unless ECS Exec or EFS volumes need them;
* a security group: egress HTTPS to the internet only with ``internet_egress`` (otherwise to the VPC, where the
  Network's interface endpoints for ECR, Secrets Manager and Logs live, and to S3 through the gateway endpoint),
  DNS, the linked stores' ports; ingress from the load balancer's security group when ``public``;
* for ``public``: an IP target group TlsIngress attaches to its listener, deregistration delay =
  ``request_timeout_seconds`` (0-3600 s): the load balancer drains a task that long before ECS stops it;
* the ECS service: private subnets, no public IP, deployment circuit breaker with rollback, 100/200 % deployment,
  ECS Service Connect (other services call ``http://<name>:<port>``) with per-request timeout =
  ``request_timeout_seconds`` (AWS's default is 15 s) and idle timeout = max(that, 300 s); it depends on its IAM
  policies (first tasks need them to read secrets, pull and mount EFS) and on the ECS services of ``calls`` (a
  Service Connect client started before its server cannot resolve it); ``wait_for_steady_state`` from the options;
* EFS for shared volumes: file system encrypted with the stack key (elastic throughput), TLS-only policy, mount
  targets in every private subnet admitting NFS from this service only, an access point owned by uid/gid 10001.

Images: a task without ``internet_egress`` pulls only through the Network's ECR endpoints, so its image must be in
ECR of the stack's region, or come from an upstream registry the Network caches (``AwsNetworkOptions.
ecr_pull_through_cache``), in which case it is rewritten to ``<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/
<path>:<tag>``; anything else is an InputError naming the fixes (ECR, internet egress, the cache). With internet
egress, cached registries still go through the cache (no Docker Hub rate limits, no upstream outage at deploy).

Health checks: the container health check is the service's own ``probes.command`` (Docker form), timed by the
liveness probe; without one there is none, and a routed service is checked by its target group's HTTP check
(nothing assumes curl in the image). A service without a route should give a command (policy
``ecs-service-health-checked``).

Stopping: ``stopTimeout`` (SIGTERM to SIGKILL) = ``request_timeout_seconds`` capped at Fargate's 120 s. Above 120 s,
requests through the load balancer still finish (the deregistration delay drains them before SIGTERM), but calls
arriving through Service Connect get at most 120 s after SIGTERM on scale-in and deploys.

ECS Exec (``enable_exec``): the task role gets the four ``ssmmessages`` channel actions, and the app container
mounts task volumes at the SSM agent's paths ``/var/lib/amazon/ssm`` and ``/var/log/amazon/ssm`` so the root
filesystem stays read-only; without internet egress the Network must have the ``ssmmessages`` endpoint.

Secret files: Fargate cannot mount a secret as a file. An init container (``secret-files``, busybox from ECR
Public, through the pull-through cache when the service has no internet egress; read-only root, all capabilities
dropped, no network use) receives each file's content from Secrets Manager as an environment variable, writes it
with mode 0444 into a task-local volume mounted at the file's directory, and exits; the app container starts only
after it succeeded (``dependsOn`` SUCCESS) and mounts that volume read-only. The volume lives and dies with the
task. The init container runs as root because Fargate creates task volumes owned by root; it needs no capability
to write there. (Writing the files with the app image itself would assume a shell in it; busybox is 2 MB and
pinned.)
"""

from __future__ import annotations

import os
import re
import shlex
from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi_aws as aws

from .._core import Cloud, InputError, Platform, options_for, stateful_opts
from ..network import PULL_THROUGH_UPSTREAMS, AwsNetworkOptions, image_source
from ..network._aws import check_log_retention
from . import AwsWebServiceOptions

_COMPONENT = "web-service"
_CONTAINER = "app"
_USER = "10001"
_INIT_IMAGE = "public.ecr.aws/docker/library/busybox:1.37.0"
#: Fargate's ceiling on a container's stopTimeout (SIGTERM -> SIGKILL), and the target group's on deregistration.
MAX_STOP_TIMEOUT = 120
MAX_DEREGISTRATION_DELAY = 3600
#: Where the SSM agent of ECS Exec keeps its state and logs: writable task volumes under a read-only root.
SSM_AGENT_PATHS = {"ssm-state": "/var/lib/amazon/ssm", "ssm-logs": "/var/log/amazon/ssm"}
_ECR_HOST = re.compile(r"^\d{12}\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")

#: Fargate task sizes: CPU units -> allowed memory (MiB).
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}


def fargate_cpu_units(millicores: int) -> int:
    """Millicores -> ECS CPU units (1 vCPU = 1024 units): 500 -> 512, 2000 -> 2048."""
    return millicores * 1024 // 1000


def _mib_list(values: tuple[int, ...]) -> str:
    return ", ".join(f"{v // 1024}Gi" if v % 1024 == 0 else f"{v}Mi" for v in values)


def fargate_size(args: Any) -> tuple[int, int]:
    """(cpu units, memory MiB) of the task.

    Explicit `aws.task_cpu_units`/`task_memory_mib` must be a pair Fargate accepts (checked strictly, the user
    asked for exactly that). Otherwise the size is derived from the container limits, rounded up (never down) to
    the smallest pair Fargate offers that holds both: a 1 vCPU / 1 GiB limit runs in a 1 vCPU / 2 GiB task.
    """
    opts = options_for(args, Cloud.AWS, AwsWebServiceOptions)
    if opts.task_cpu_units is not None or opts.task_memory_mib is not None:
        cpu, memory = opts.task_cpu_units, opts.task_memory_mib
        if cpu not in FARGATE_SIZES:
            raise InputError(
                "aws.task_cpu_units", cpu,
                "Fargate task CPU must be one of " + ", ".join(str(c) for c in FARGATE_SIZES) + " units (1024 = 1 vCPU)",
            )
        if memory not in FARGATE_SIZES[cpu]:
            raise InputError(
                "aws.task_memory_mib", memory,
                f"with {cpu} CPU units Fargate allows memory of {_mib_list(FARGATE_SIZES[cpu])}",
            )
        return cpu, memory
    need_cpu = fargate_cpu_units(args.cpu_limit)
    for cpu, memories in FARGATE_SIZES.items():
        if cpu < need_cpu:
            continue
        for memory in memories:
            if memory >= args.memory_limit:
                return cpu, memory
    raise InputError(
        "memory_limit_mib", args.memory_limit,
        f"no Fargate task holds {args.cpu_limit}m CPU and {args.memory_limit} MiB (largest: 16 vCPU / 120 GiB)",
    )


def network_features(network: Any) -> SimpleNamespace:
    """What the Network offers this service: pull-through cache hosts, the ssmmessages and monitoring endpoints.
    Read from the built Network's handle, or (during the stack's check pass) from the placeholder's Args."""
    handle = getattr(network, "handle", None)
    if handle is not None:
        return SimpleNamespace(
            cache_hosts=frozenset(getattr(handle, "image_cache", None) or {}),
            ssm_messages=bool(getattr(handle, "ssm_messages_endpoint", False)),
            monitoring=bool(getattr(handle, "monitoring_endpoint", False)),
        )
    opts = getattr(getattr(network, "args", None), "aws", None) or AwsNetworkOptions()
    return SimpleNamespace(cache_hosts=frozenset(opts.ecr_pull_through_cache or {}), ssm_messages=opts.ssm_messages_endpoint,
                           monitoring=opts.monitoring_endpoint)


def image_route(field_name: str, image: Any, internet_egress: bool, cache_hosts: frozenset[str], region: str) -> str:
    """How a task pulls `image`: "ecr" (ECR of the stack's region, through the VPC endpoints), "cache" (rewritten
    to the ECR pull-through cache), "internet" (direct, needs internet egress) or "unknown" (not a plain string).
    A service without internet egress that could not pull the image is an InputError naming the fixes."""
    if not isinstance(image, str):
        return "unknown"
    host, _, _ = image_source(image)
    ecr = _ECR_HOST.match(host)
    if ecr and (not region or ecr.group(2) == region):
        return "ecr"
    if host in cache_hosts:
        return "cache"
    if internet_egress:
        return "internet"
    where = f"ECR of {ecr.group(2)}, not of the stack's region {region}" if ecr else f"{host}, not ECR"
    fixes = ["push it to ECR in the stack's region", "give the service internet_egress"]
    if host in PULL_THROUGH_UPSTREAMS:
        fixes.append("enable the ECR pull-through cache (`pulumi config set prodkit:ecrPullThroughCache true`, or "
                     f"AwsNetworkOptions(ecr_pull_through_cache={{{host!r}: ...}}) in your own program)")
    else:
        fixes.append(f"(ECR's pull-through cache cannot cache {host}; it supports " + ", ".join(PULL_THROUGH_UPSTREAMS) + ")")
    raise InputError(
        field_name, image,
        f"a task without internet egress pulls images only through the VPC's ECR endpoints, and this image is in {where}.",
        "Fix: " + "; or ".join(fixes) + ".",
    )


def stop_timeout(args: Any) -> int:
    """Seconds between SIGTERM and SIGKILL: the longest request, capped at Fargate's 120 s."""
    return min(max(args.request_timeout_seconds, 2), MAX_STOP_TIMEOUT)


def deregistration_delay(args: Any) -> int:
    """Seconds the target group drains a task before ECS stops it: the longest request (0-3600)."""
    return min(max(args.request_timeout_seconds, 0), MAX_DEREGISTRATION_DELAY)


def validate(args: Any, platform: Platform) -> None:
    """Fargate's task sizes and capacity-provider weights, images a task can pull, CloudWatch's retention values,
    ECS Exec's endpoint: checked before anything is registered."""
    fargate_size(args)
    opts = options_for(args, Cloud.AWS, AwsWebServiceOptions)
    for field_name in ("fargate_weight", "fargate_spot_weight"):
        value = getattr(opts, field_name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
            raise InputError(f"aws.{field_name}", value, "allowed: a whole number from 0 to 1000")
    if opts.fargate_weight == 0 and opts.fargate_spot_weight == 0:
        raise InputError("aws.fargate_weight", 0, "at least one of fargate_weight and fargate_spot_weight must be above 0")
    if not 0 <= opts.health_check_grace_seconds <= 2_147_483_647:
        raise InputError("aws.health_check_grace_seconds", opts.health_check_grace_seconds, "allowed: 0 or more seconds")
    for path in args.secret_files:
        if os.path.dirname(str(path)) in ("", "/"):
            raise InputError("secret_files", path, "put secret files in a directory of their own, e.g. '/app/secrets/key.pem'")
    check_log_retention("log_retention_days", args.log_retention_days)
    features = network_features(args.network)
    region = platform.region or ""
    image_route("image", args.image, args.internet_egress, features.cache_hosts, region)
    if args.secret_files:
        try:
            image_route("secret_files", _INIT_IMAGE, args.internet_egress, features.cache_hosts, region)
        except InputError as exc:
            raise InputError(
                "secret_files", sorted(args.secret_files),
                f"secret files are written by an init container ({_INIT_IMAGE}) this service cannot pull without internet egress.",
                "Fix: enable the ECR pull-through cache (covers public.ecr.aws), or give the service internet_egress.",
            ) from exc
    if opts.enable_exec and not args.internet_egress and not features.ssm_messages:
        raise InputError(
            "aws.enable_exec", True,
            "ECS Exec in a task without internet egress needs the Network's ssmmessages endpoint.",
            "Create the Network with AwsNetworkOptions(ssm_messages_endpoint=True).",
        )


def capacity_strategy(opts: AwsWebServiceOptions) -> list[dict[str, Any]]:
    """The capacity-provider strategy: weight-0 providers left out; one on-demand task (base 1) when spot is mixed in."""
    strategy = []
    if opts.fargate_weight > 0:
        entry = {"capacity_provider": "FARGATE", "weight": opts.fargate_weight}
        if opts.fargate_spot_weight > 0:
            entry["base"] = 1  # a spot interruption never takes the last task down
        strategy.append(entry)
    if opts.fargate_spot_weight > 0:
        strategy.append({"capacity_provider": "FARGATE_SPOT", "weight": opts.fargate_spot_weight})
    return strategy


def _env_suffix(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")


def _role(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _policy(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})


def _trust(service: str) -> pulumi.Output[str]:
    return _policy([{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}])


def _health_check(args: Any) -> dict[str, Any] | None:
    """ECS container health check: the service's own `probes.command` (nothing assumes curl in the image), timed
    by the liveness probe and clamped to ECS's limits (interval 5-300 s, timeout 2-60 s, retries 1-10, start
    period 0-300 s). None without a command: a routed service is then checked by its target group."""
    if args.probes.command is None:
        return None
    live = args.probes.liveness
    start = live.initial_delay_seconds
    if args.probes.startup is not None:
        s = args.probes.startup
        start = max(start, s.initial_delay_seconds + s.period_seconds * s.failure_threshold)
    return {
        "command": list(args.probes.command),
        "interval": min(max(live.period_seconds, 5), 300),
        "timeout": min(max(live.timeout_seconds, 2), 60),
        "retries": min(max(live.failure_threshold, 1), 10),
        "startPeriod": min(max(start, 0), 300),
    }


def _secret(name: str, role: str, platform: Platform, value: pulumi.Input[str], description: str,
            tags: dict[str, str], child: pulumi.ResourceOptions, kms_key_arn: Any) -> aws.secretsmanager.Secret:
    """A Secrets Manager secret holding `value`, encrypted with the stack's customer-managed key (the execution
    role decrypts it through Secrets Manager only)."""
    secret = aws.secretsmanager.Secret(
        f"{name}-{role}", name=platform.physical_name(f"{name}/{role}", limit=256), description=description,
        kms_key_id=kms_key_arn, recovery_window_in_days=7, tags=tags, opts=child,
    )
    aws.secretsmanager.SecretVersion(
        f"{name}-{role}-version", secret_id=secret.id, secret_string=pulumi.Output.secret(value), opts=child,
    )
    return secret


#: Target groups of public services not yet attached by a TlsIngress in this program run: (target group, resolve).
_UNATTACHED: list[tuple[Any, Any]] = []


def _deferred_target_group(target_group: Any) -> tuple[pulumi.Output[str], Any]:
    value, resolve = pulumi.deferred_output()
    entry = (target_group, resolve)
    _UNATTACHED.append(entry)

    def attach(ready: pulumi.Output[str]) -> None:
        if entry in _UNATTACHED:
            _UNATTACHED.remove(entry)
            resolve(ready)

    return value, attach


def forget_pending() -> None:
    """Drop target groups left by an earlier program run that failed before attaching them."""
    _UNATTACHED.clear()


def attach_unrouted() -> int:
    """Resolve the target groups no TlsIngress attached (a public service without a route): the ECS service then
    registers with the bare target group, as before deferral. Call it once at the end of a program that creates
    public WebServices outside `stacks.app.compose` (which calls it); returns how many were left."""
    left = list(_UNATTACHED)
    _UNATTACHED.clear()
    for target_group, resolve in left:
        resolve(target_group.arn)
    return len(left)


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    """Create the ECS service and its dependencies; return service_name, internal_url and the AWS handle."""
    opts = options_for(args, Cloud.AWS, AwsWebServiceOptions)
    task_cpu, task_memory = fargate_size(args)
    net = args.network.handle
    tags = platform.labels(_COMPONENT)
    physical = platform.physical_name(name)
    region = getattr(net, "region", None) or platform.region or aws.get_region_output(
        opts=pulumi.InvokeOptions(parent=child.parent)).region
    partition = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=child.parent)).partition
    port = args.port
    kms_key_arn = getattr(net, "kms_key_arn", None)
    for called in args.calls:
        if getattr(getattr(called, "handle", None), "service", None) is None:
            raise InputError("calls", type(called).__name__, "allowed: WebService components created on AWS before this one")
    for link in args.links:  # checked here, not in validate(): the check pass hands validate() placeholders
        if getattr(link, "link", None) is None:
            raise InputError("links", type(link).__name__, "allowed: ManagedPostgres or ManagedRedis components created on AWS")

    log_group = aws.cloudwatch.LogGroup(
        f"{name}-logs", name=f"/ecs/{platform.physical_name(name, limit=200)}", retention_in_days=args.log_retention_days,
        kms_key_id=kms_key_arn, tags=tags, opts=child,
    )
    cluster = aws.ecs.Cluster(
        f"{name}-cluster", name=physical, settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
        tags=tags, opts=child,
    )
    strategy = capacity_strategy(opts)
    providers = aws.ecs.ClusterCapacityProviders(
        f"{name}-capacity", cluster_name=cluster.name, capacity_providers=["FARGATE", "FARGATE_SPOT"],
        default_capacity_provider_strategies=[aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(**s) for s in strategy],
        opts=child,
    )

    # --- secrets: every value goes to Secrets Manager; the task definition only holds ARNs -----------------------
    secret_refs: list[dict[str, Any]] = []  # the app container's `secrets`
    readable: list[pulumi.Input[str]] = []  # secret ARNs the execution role may read
    for env_name, value in sorted(args.secrets.items()):
        secret = _secret(name, f"secret-{_role(env_name)}", platform, value, f"{env_name} of {name}", tags, child, kms_key_arn)
        secret_refs.append({"name": env_name, "valueFrom": secret.arn})
        readable.append(secret.arn)
    for link in args.links:
        for env_name, ref in sorted(link.link.env.items()):
            value_from = ref.store_id if ref.key is None else pulumi.Output.concat(ref.store_id, ":", ref.key, "::")
            secret_refs.append({"name": env_name, "valueFrom": value_from})
            readable.append(ref.store_id)

    file_secrets: list[dict[str, Any]] = []  # the init container's `secrets`
    file_dirs: dict[str, str] = {}  # directory -> task volume name
    writes: list[str] = []
    for i, (path, content) in enumerate(sorted(args.secret_files.items())):
        base = _env_suffix(os.path.basename(path))
        secret = _secret(name, f"file-{_role(os.path.basename(path))}", platform, content, f"secret file {path} of {name}", tags, child, kms_key_arn)
        var = f"{base}_CONTENT"
        file_secrets.append({"name": var, "valueFrom": secret.arn})
        readable.append(secret.arn)
        file_dirs.setdefault(os.path.dirname(path), f"secret-files-{len(file_dirs)}")
        writes.append(f'printf "%s" "${var}" > {shlex.quote(str(path))}')

    # --- images: ECR, the pull-through cache (rewritten) or the internet ----------------------------------------
    cache = getattr(net, "image_cache", None) or {}
    cache_prefixes = getattr(net, "image_cache_prefixes", None) or {}
    region_name = platform.region or ""
    used_prefixes: list[str] = []

    def pull(image: Any, field_name: str) -> Any:
        if image_route(field_name, image, args.internet_egress, frozenset(cache), region_name) != "cache":
            return image
        host, path, suffix = image_source(image)
        if cache_prefixes.get(host) and cache_prefixes[host] not in used_prefixes:
            used_prefixes.append(cache_prefixes[host])
        return pulumi.Output.concat(cache[host], "/", path, suffix)

    image = pull(args.image, "image")
    init_image = pull(_INIT_IMAGE, "secret_files") if file_secrets else None

    # --- IAM: execution role reads exactly the referenced secrets; task role empty unless exec/EFS need it -------
    exec_role = aws.iam.Role(
        f"{name}-exec-role", name=platform.physical_name(f"{name}-exec", limit=64), description=f"ECS execution role of {name}",
        assume_role_policy=_trust("ecs-tasks.amazonaws.com"), tags=tags, opts=child,
    )
    role_policies: list[pulumi.Resource] = []  # the ECS service waits for them: first tasks need every permission
    role_policies.append(aws.iam.RolePolicyAttachment(
        f"{name}-exec-managed", role=exec_role.name,
        policy_arn=pulumi.Output.concat("arn:", partition, ":iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"),
        opts=child,
    ))
    exec_statements: list[dict[str, Any]] = []
    if readable:
        exec_statements.append({"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": readable})
        if kms_key_arn is not None:
            # The secrets are encrypted with the stack key: decrypt through Secrets Manager only.
            exec_statements.append({
                "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat("secretsmanager.", region, ".amazonaws.com")}},
            })
    if readable:
        role_policies.append(aws.iam.RolePolicy(f"{name}-exec-secrets", role=exec_role.id, policy=_policy(exec_statements), opts=child))
    if used_prefixes:
        # The first pull of an image through the cache creates its repository and imports it from upstream.
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=child.parent)).account_id
        role_policies.append(aws.iam.RolePolicy(
            f"{name}-exec-pull-through", role=exec_role.id,
            policy=_policy([{
                "Effect": "Allow", "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
                "Resource": [pulumi.Output.concat("arn:", partition, ":ecr:", region, ":", account, ":repository/", prefix, "/*")
                             for prefix in used_prefixes],
            }]),
            opts=child,
        ))
    task_role = aws.iam.Role(
        f"{name}-task-role", name=platform.physical_name(f"{name}-task", limit=64), description=f"ECS task role of {name}",
        assume_role_policy=_trust("ecs-tasks.amazonaws.com"), tags=tags, opts=child,
    )
    task_statements: list[dict[str, Any]] = []
    if opts.enable_exec:
        # What the SSM agent of ECS Exec calls (the ssmmessages API has no resource-level permissions).
        task_statements.append({
            "Effect": "Allow", "Resource": "*",
            "Action": ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                       "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
        })

    # --- security group --------------------------------------------------------------------------------------
    sg = aws.ec2.SecurityGroup(
        f"{name}-sg", vpc_id=net.vpc_id, name=platform.physical_name(f"{name}-svc", limit=255),
        description=f"ECS service {name}", revoke_rules_on_delete=True, tags=tags, opts=child,
    )

    def egress(role: str, description: str, **rule: Any) -> None:
        aws.vpc.SecurityGroupEgressRule(f"{name}-egress-{role}", security_group_id=sg.id, description=description, tags=tags, opts=child, **rule)

    if args.internet_egress:
        egress("https", "HTTPS to the internet (APIs, registries)", ip_protocol="tcp", from_port=443, to_port=443, cidr_ipv4="0.0.0.0/0")
    else:
        egress("https", "HTTPS to VPC endpoints (ECR, Secrets Manager, Logs)", ip_protocol="tcp", from_port=443, to_port=443, cidr_ipv4=net.cidr)
        if getattr(net, "s3_prefix_list_id", None) is not None:
            egress("s3", "HTTPS to S3 through the gateway endpoint (ECR image layers)", ip_protocol="tcp", from_port=443, to_port=443,
                   prefix_list_id=net.s3_prefix_list_id)
    egress("dns-udp", "DNS", ip_protocol="udp", from_port=53, to_port=53, cidr_ipv4=net.cidr)
    egress("dns-tcp", "DNS over TCP", ip_protocol="tcp", from_port=53, to_port=53, cidr_ipv4=net.cidr)
    # Calls between the stack's services (e.g. the web front end calling the API): admitted from, and sent to,
    # the stack's service membership group only.
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-ingress-services", security_group_id=sg.id, referenced_security_group_id=net.services_security_group_id,
        ip_protocol="tcp", from_port=port, to_port=port, description="From the stack's other services", tags=tags, opts=child,
    )
    egress("services", "To the stack's other services", ip_protocol="tcp", from_port=1, to_port=65535,
           referenced_security_group_id=net.services_security_group_id)
    if args.public:
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-ingress-lb", security_group_id=sg.id, referenced_security_group_id=net.lb_security_group_id,
            ip_protocol="tcp", from_port=port, to_port=port, description="From the load balancer", tags=tags, opts=child,
        )
    for link in args.links:
        store = link.link
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-to-{store.name}-ingress", security_group_id=store.peer, referenced_security_group_id=sg.id,
            ip_protocol="tcp", from_port=store.port, to_port=store.port, description=f"{store.kind} from {name}", tags=tags, opts=child,
        )
        egress(f"to-{store.name}", f"{store.kind} {store.name}", ip_protocol="tcp", from_port=store.port, to_port=store.port,
               referenced_security_group_id=store.peer)

    # --- EFS shared volumes ----------------------------------------------------------------------------------
    file_systems: dict[str, SimpleNamespace] = {}
    all_mount_targets: list[pulumi.Resource] = []
    efs_volumes: list[aws.ecs.TaskDefinitionVolumeArgs] = []
    mount_points: list[dict[str, Any]] = [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]
    if args.volumes:
        efs_sg = aws.ec2.SecurityGroup(
            f"{name}-efs-sg", vpc_id=net.vpc_id, name=platform.physical_name(f"{name}-efs", limit=255),
            description=f"EFS of {name}: NFS from the service only", revoke_rules_on_delete=True, tags=tags, opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-efs-ingress", security_group_id=efs_sg.id, referenced_security_group_id=sg.id,
            ip_protocol="tcp", from_port=2049, to_port=2049, description=f"NFS from {name}", tags=tags, opts=child,
        )
        egress("efs", "NFS to the service's EFS", ip_protocol="tcp", from_port=2049, to_port=2049, referenced_security_group_id=efs_sg.id)
    for volume in args.volumes:
        vname = volume.name
        fs = aws.efs.FileSystem(
            f"{name}-{vname}-fs", creation_token=platform.physical_name(f"{name}-{vname}", limit=64),
            encrypted=True, kms_key_id=kms_key_arn,  # the stack's customer-managed key
            performance_mode="generalPurpose", throughput_mode="elastic",
            lifecycle_policies=[
                aws.efs.FileSystemLifecyclePolicyArgs(transition_to_ia="AFTER_30_DAYS"),
                aws.efs.FileSystemLifecyclePolicyArgs(transition_to_primary_storage_class="AFTER_1_ACCESS"),
            ],
            tags={**tags, "Name": platform.physical_name(f"{name}-{vname}", limit=255)},
            opts=stateful_opts(child, args.deletion_protection),
        )
        aws.efs.FileSystemPolicy(
            f"{name}-{vname}-fs-policy", file_system_id=fs.id,
            policy=_policy([{
                "Sid": "DenyWithoutTls", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*", "Resource": fs.arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }]),
            opts=child,
        )
        mount_targets = [
            aws.efs.MountTarget(f"{name}-{vname}-mount-{z}", file_system_id=fs.id, subnet_id=subnet, security_groups=[efs_sg.id], opts=child)
            for z, subnet in enumerate(net.private_subnet_ids)
        ]
        all_mount_targets += mount_targets
        ap = aws.efs.AccessPoint(
            f"{name}-{vname}-ap", file_system_id=fs.id,
            posix_user=aws.efs.AccessPointPosixUserArgs(uid=int(_USER), gid=int(_USER)),
            root_directory=aws.efs.AccessPointRootDirectoryArgs(
                path=f"/{vname}",
                creation_info=aws.efs.AccessPointRootDirectoryCreationInfoArgs(owner_uid=int(_USER), owner_gid=int(_USER), permissions="0750"),
            ),
            tags={**tags, "Name": platform.physical_name(f"{name}-{vname}", limit=255)}, opts=child,
        )
        task_statements.append({
            "Effect": "Allow", "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"], "Resource": fs.arn,
            "Condition": {"StringEquals": {"elasticfilesystem:AccessPointArn": ap.arn}},
        })
        efs_volumes.append(aws.ecs.TaskDefinitionVolumeArgs(
            name=vname,
            efs_volume_configuration=aws.ecs.TaskDefinitionVolumeEfsVolumeConfigurationArgs(
                file_system_id=fs.id, transit_encryption="ENABLED",
                authorization_config=aws.ecs.TaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfigArgs(access_point_id=ap.id, iam="ENABLED"),
            ),
        ))
        mount_points.append({"sourceVolume": vname, "containerPath": volume.mount_path, "readOnly": False})
        file_systems[vname] = SimpleNamespace(id=fs.id, arn=fs.arn, mount_targets=mount_targets)
    if task_statements:
        role_policies.append(aws.iam.RolePolicy(f"{name}-task-policy", role=task_role.id, policy=_policy(task_statements), opts=child))

    # --- task definition ----------------------------------------------------------------------------------------
    log_options = {
        "awslogs-group": log_group.name, "awslogs-region": region, "awslogs-stream-prefix": name,
        # Never block the app on a CloudWatch hiccup; buffer instead.
        "mode": "non-blocking", "max-buffer-size": "25m",
    }
    port_mappings: list[dict[str, Any]] = [{"name": "http", "containerPort": port, "protocol": "tcp", "appProtocol": "http"}]
    if args.metrics is not None and args.metrics.port != port:
        port_mappings.append({"name": "metrics", "containerPort": args.metrics.port, "protocol": "tcp"})
    for directory, volume_name in file_dirs.items():
        mount_points.append({"sourceVolume": volume_name, "containerPath": directory, "readOnly": True})
    ssm_volumes = SSM_AGENT_PATHS if opts.enable_exec else {}
    for volume_name, directory in ssm_volumes.items():
        # ECS Exec's SSM agent writes here; the root filesystem stays read-only.
        mount_points.append({"sourceVolume": volume_name, "containerPath": directory, "readOnly": False})
    app: dict[str, Any] = {
        "name": _CONTAINER,
        "image": image,
        "essential": True,
        "user": _USER,
        "readonlyRootFilesystem": True,
        "portMappings": port_mappings,
        "environment": [{"name": k, "value": v} for k, v in sorted(args.env.items())],
        "secrets": secret_refs,
        "mountPoints": mount_points,
        "logConfiguration": {"logDriver": "awslogs", "options": log_options},
        "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
        "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
        # SIGTERM -> SIGKILL: the longest request, at most Fargate's 120 s. The load balancer drains the task
        # for the full request timeout before ECS sends SIGTERM (deregistration delay below).
        "stopTimeout": stop_timeout(args),
    }
    health_check = _health_check(args)
    if health_check is not None:
        app["healthCheck"] = health_check
    containers = [app]
    if file_secrets:
        app["dependsOn"] = [{"containerName": "secret-files", "condition": "SUCCESS"}]
        containers.insert(0, {
            "name": "secret-files",
            "image": init_image,
            "essential": False,
            "user": "0",  # task volumes are root-owned on Fargate; no capability is needed to write there
            "readonlyRootFilesystem": True,
            "command": ["sh", "-c", "umask 0222 && " + " && ".join(writes)],
            "secrets": file_secrets,
            "mountPoints": [{"sourceVolume": v, "containerPath": d, "readOnly": False} for d, v in file_dirs.items()],
            "logConfiguration": {"logDriver": "awslogs", "options": {**log_options, "awslogs-stream-prefix": f"{name}-init"}},
            "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
        })
    volumes = [aws.ecs.TaskDefinitionVolumeArgs(name="tmp")]
    volumes += [aws.ecs.TaskDefinitionVolumeArgs(name=v) for v in file_dirs.values()]
    volumes += [aws.ecs.TaskDefinitionVolumeArgs(name=v) for v in ssm_volumes]
    volumes += efs_volumes
    task = aws.ecs.TaskDefinition(
        f"{name}-task", family=physical, requires_compatibilities=["FARGATE"], network_mode="awsvpc",
        cpu=str(task_cpu), memory=str(task_memory),
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(operating_system_family="LINUX", cpu_architecture="X86_64"),
        execution_role_arn=exec_role.arn, task_role_arn=task_role.arn,
        container_definitions=pulumi.Output.json_dumps(containers),
        volumes=volumes, tags=tags, opts=child,
    )

    # --- load balancer target (TlsIngress attaches it to its listener) ---------------------------------------
    target_group = None
    if args.public:
        ready = args.probes.readiness
        target_group = aws.lb.TargetGroup(
            f"{name}-tg", name=platform.physical_name(name, limit=32), target_type="ip", protocol="HTTP", port=port,
            vpc_id=net.vpc_id, deregistration_delay=deregistration_delay(args),
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True, path=ready.path, protocol="HTTP", port="traffic-port", interval=30, timeout=5,
                healthy_threshold=2, unhealthy_threshold=3, matcher="200-399",
            ),
            tags=tags, opts=child,
        )

    # --- the service ------------------------------------------------------------------------------------------
    service_opts = pulumi.ResourceOptions(
        # The capacity providers must be on the cluster before the strategy uses them; tasks mounting EFS fail
        # until the mount targets exist, and read secrets, pull images and mount EFS with the role policies; a
        # Service Connect client started before the services it calls cannot resolve them.
        depends_on=[providers, *all_mount_targets, *role_policies, *(c.handle.service for c in args.calls)],
        ignore_changes=["desiredCount"] if args.autoscaled else None,  # Application Auto Scaling owns the count
    )
    # ECS refuses a target group that no listener forwards to yet ("does not have an associated load balancer"),
    # and the TlsIngress that adds the listener rules is created after this service. So the service takes its
    # target group ARN from a deferred output that TlsIngress resolves once its listener/rules exist: the
    # dependency then runs ingress rules -> ECS service, without a cycle in the component order.
    lb_target_group_arn, attach_load_balancer = (_deferred_target_group(target_group) if target_group is not None else (None, None))
    service = aws.ecs.Service(
        f"{name}-service", name=physical, cluster=cluster.arn, task_definition=task.arn, desired_count=args.replicas,
        capacity_provider_strategies=[aws.ecs.ServiceCapacityProviderStrategyArgs(**s) for s in strategy],
        network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
            subnets=net.private_subnet_ids, security_groups=[sg.id, net.services_security_group_id], assign_public_ip=False,
        ),
        deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
        deployment_minimum_healthy_percent=100, deployment_maximum_percent=200,
        health_check_grace_period_seconds=opts.health_check_grace_seconds if args.public else None,
        load_balancers=[aws.ecs.ServiceLoadBalancerArgs(target_group_arn=lb_target_group_arn, container_name=_CONTAINER, container_port=port)]
        if target_group is not None else None,
        service_connect_configuration=aws.ecs.ServiceServiceConnectConfigurationArgs(
            enabled=True, namespace=net.service_namespace_arn,
            services=[aws.ecs.ServiceServiceConnectConfigurationServiceArgs(
                port_name="http", discovery_name=name,
                client_alias=[aws.ecs.ServiceServiceConnectConfigurationServiceClientAliasArgs(port=port, dns_name=name)],
                # Calls into this service may take as long as its longest request (Service Connect's default
                # per-request timeout is 15 s); idle connections live at least the default 300 s.
                timeout=aws.ecs.ServiceServiceConnectConfigurationServiceTimeoutArgs(
                    per_request_timeout_seconds=args.request_timeout_seconds,
                    idle_timeout_seconds=max(args.request_timeout_seconds, 300),
                ),
            )],
            log_configuration=aws.ecs.ServiceServiceConnectConfigurationLogConfigurationArgs(
                log_driver="awslogs", options={**log_options, "awslogs-stream-prefix": f"{name}-connect"},
            ),
        ),
        enable_execute_command=opts.enable_exec, propagate_tags="SERVICE", enable_ecs_managed_tags=True,
        wait_for_steady_state=opts.wait_for_steady_state, tags=tags,
        opts=pulumi.ResourceOptions.merge(child, service_opts),
    )

    handle = SimpleNamespace(
        name=name,
        cluster_name=cluster.name,
        service_name=service.name,
        security_group_id=sg.id,
        target_group_arn=target_group.arn if target_group is not None else None,
        target_group_arn_suffix=target_group.arn_suffix if target_group is not None else None,
        # TlsIngress calls this once with Output(target group ARN) depending on the listener rules forwarding to it.
        # A public service must be routed by a TlsIngress of the same program, or its ECS service never registers.
        attach_load_balancer=attach_load_balancer,
        port=port,
        log_group_name=log_group.name,
        service=service,
        task_role_id=task_role.id,
        task_role_name=task_role.name,
        internet_egress=args.internet_egress,
        monitoring_endpoint=bool(getattr(net, "monitoring_endpoint", False)),
        kms_key_arn=kms_key_arn,
        file_systems=file_systems,
        probes=args.probes,
        public=args.public,
    )
    return {"service_name": service.name, "internal_url": f"http://{name}:{port}", "handle": handle}
