"""The offline engine: runs a Pulumi program under Pulumi's mock monitor and records every resource.

One engine for `prodkit plan` and for the tests. It records what a real preview would send to the engine:
type, logical name, parent, inputs, and the resource options the mocks cannot see (`protect`,
`retain_on_delete`, `ignore_changes`, `aliases`), which it reads from the RegisterResource request itself.

Provider-computed fields (ids, ARNs, auto-names, endpoints) are absent under mocks; :class:`Recorder` fills
them deterministically so that programs can use them as inputs of other resources.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import pulumi
from pulumi.runtime.mocks import MockMonitor

#: Marker the Pulumi wire format uses for a secret value.
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"
REDACTED = "[secret]"


@dataclass
class Resource:
    """One registered resource, as a preview would show it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    """Inputs with numbers normalised (3.0 -> 3) and secret values replaced by ``[secret]``."""
    raw_inputs: dict[str, Any] = field(repr=False, default_factory=dict)
    """Inputs with secrets unwrapped (for manifest writing only; never printed)."""
    secret_paths: list[str] = field(default_factory=list)
    """Top-level input keys that carried a secret value."""
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    """URNs this resource waits for (explicit depends_on and the resources behind its input Outputs)."""

    def get(self, dotted: str, default: Any = None) -> Any:
        """Look up a nested input by 'a.b.0.c'."""
        node: Any = self.inputs
        for part in dotted.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return default
        return node

    def as_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "ignoreChanges": self.ignore_changes,
            "inputs": self.inputs,
        }


def split_secrets(value: Any) -> tuple[Any, Any, bool]:
    """One walk giving (redacted form, raw form, whether a secret was inside), numbers normalised in both."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == SECRET_VALUE:
            _, raw, _ = split_secrets(value.get("value"))
            return REDACTED, raw, True
        redacted, raw, secret = {}, {}, False
        for k, v in value.items():
            redacted[k], raw[k], inner = split_secrets(v)
            secret = secret or inner
        return redacted, raw, secret
    if isinstance(value, list):
        parts = [split_secrets(v) for v in value]
        return [p[0] for p in parts], [p[1] for p in parts], any(p[2] for p in parts)
    if isinstance(value, float) and value.is_integer():
        return int(value), int(value), False
    if isinstance(value, (pulumi.Asset, pulumi.Archive)):
        form = asset_form(value)
        return form, form, False
    return value, value, False


def asset_form(value: Any) -> Any:
    """A JSON form of an asset or archive (e.g. a Lambda function's code) that names its content, not where it
    lies on this machine: an archive lists its entries, a file asset its file name."""
    if isinstance(value, pulumi.AssetArchive):
        return {"assetArchive": sorted(value.assets)}
    if isinstance(value, (pulumi.FileAsset, pulumi.FileArchive)):
        return {type(value).__name__: str(value.path).rsplit("/", 1)[-1]}
    if isinstance(value, pulumi.StringAsset):
        return {"StringAsset": hashlib.sha256(value.text.encode()).hexdigest()}
    return {type(value).__name__: None}


def _fake(kind: str, seed: str) -> str:
    return f"{kind}-{hashlib.sha1(seed.encode()).hexdigest()[:12]}"


class Recorder(pulumi.runtime.Mocks):
    """Mocks that echo inputs as state and fill the provider-computed fields programs read."""

    def __init__(self, region: str = "us-east-1", account: str = "123456789012") -> None:
        self.region = region
        self.account = account

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        # Already deserialized by the mock monitor; the engine reuses them. Registrations run on executor threads,
        # so the hand-over is per thread.
        _CALL.inputs = args.inputs
        # Only the provider-computed fields go back: the SDK takes every other output from the inputs, and
        # echoing all inputs would serialise each resource twice more.
        inputs = args.inputs
        computed: dict[str, Any] = {}
        typ, name = args.typ, args.name
        rid = _fake("id", f"{typ}::{name}")
        if typ.startswith("aws:"):
            service = typ.split(":")[1].split("/")[0]
            computed["arn"] = inputs.get("arn") or f"arn:aws:{service}:{self.region}:{self.account}:{name}"
            computed["name"] = inputs.get("name") or f"{name}-{rid[3:10]}"
            for key, value in _AWS_COMPUTED.items():
                if typ.endswith(key):
                    for k, v in value(name, self).items():
                        if k not in inputs:
                            computed[k] = v
        elif typ.startswith("kubernetes:"):
            meta = dict(inputs.get("metadata") or {})
            if "name" not in meta:
                meta["name"] = f"{name}-{rid[3:11]}"
                computed["metadata"] = meta
        elif typ.startswith("gcp:"):
            project = inputs.get("project") or "mock-project"
            for key, value in _GCP_COMPUTED.items():
                if typ.endswith(key):
                    for k, v in value(name, inputs, project, self).items():
                        if k not in inputs:
                            computed[k] = v
        elif typ.startswith("random:"):
            computed["result"] = inputs.get("result") or _fake("random", name)
        elif typ.startswith("azure-native:"):
            computed["name"] = inputs.get("name") or _azure_name(typ, inputs, name)
            identity = inputs.get("identity")
            if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
                # The SDK takes a list of identity ids; the provider answers a map id -> {principalId, clientId}.
                computed["identity"] = {**identity, "userAssignedIdentities": {i: {} for i in identity["userAssignedIdentities"] if isinstance(i, str)}}
            fill = _AZURE_COMPUTED.get(typ)
            if fill is not None:
                computed.update(fill(name, inputs, self))
        return rid, computed

    def call(self, args: pulumi.runtime.MockCallArgs):
        token = args.token
        if token == "gcp:organizations/getClientConfig:getClientConfig":
            return {"project": "mock-project", "region": self.region, "zone": f"{self.region}-a", "accessToken": "", "id": "mock-project"}
        if token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
            return {"emailAddress": "service-123456789@gs-project-accounts.iam.gserviceaccount.com", "member": "serviceAccount:service-123456789@gs-project-accounts.iam.gserviceaccount.com", "id": "gcs"}
        if token == "gcp:storage/getTransferProjectServiceAccount:getTransferProjectServiceAccount":
            return {"email": "project-123456789@storage-transfer-service.iam.gserviceaccount.com", "member": "serviceAccount:project-123456789@storage-transfer-service.iam.gserviceaccount.com", "id": "sts"}
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            zones = [f"{self.region}{z}" for z in "abc"]
            return {"names": zones, "zoneIds": [f"use1-az{i}" for i in range(1, 4)], "id": self.region}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": self.account, "arn": f"arn:aws:iam::{self.account}:root", "userId": "mock", "id": self.account}
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if token.startswith("aws:elb/getServiceAccount") or token.startswith("aws:elb/getServiceAccount"):
            return {"arn": "arn:aws:iam::127311923021:root", "id": "127311923021"}
        if token.startswith("azure-native:"):
            fill = _AZURE_CALLS.get(token)
            return fill(args.args) if fill is not None else {}
        return {}


_AWS_COMPUTED: dict[str, Callable[[str, Recorder], dict[str, Any]]] = {
    "rds/instance:Instance": lambda n, r: {
        "address": f"{n}.cluster.{r.region}.rds.amazonaws.com",
        "endpoint": f"{n}.cluster.{r.region}.rds.amazonaws.com:5432",
        "masterUserSecrets": [{"secretArn": f"arn:aws:secretsmanager:{r.region}:{r.account}:secret:rds!{n}", "kmsKeyId": "k", "secretStatus": "active"}],
        "resourceId": _fake("db", n),
    },
    "elasticache/replicationGroup:ReplicationGroup": lambda n, r: {
        "primaryEndpointAddress": f"master.{n}.cache.amazonaws.com",
        "configurationEndpointAddress": f"config.{n}.cache.amazonaws.com",
    },
    "lb/loadBalancer:LoadBalancer": lambda n, r: {"dnsName": f"{n}.{r.region}.elb.amazonaws.com", "zoneId": "Z35SXDOTRQ7X7K", "arnSuffix": f"app/{n}/abc"},
    "lb/targetGroup:TargetGroup": lambda n, r: {"arnSuffix": f"targetgroup/{n}/abc"},
    "acm/certificate:Certificate": lambda n, r: {
        "domainValidationOptions": [{"domainName": "example.com", "resourceRecordName": f"_x.{n}.", "resourceRecordType": "CNAME", "resourceRecordValue": "_y.acm-validations.aws."}],
    },
    "efs/fileSystem:FileSystem": lambda n, r: {"dnsName": f"{n}.efs.{r.region}.amazonaws.com"},
    "ecs/cluster:Cluster": lambda n, r: {},
    "kms/key:Key": lambda n, r: {"keyId": _fake("key", n)},
    "rds/proxy:Proxy": lambda n, r: {"endpoint": f"{n}.proxy-abc.{r.region}.rds.amazonaws.com"},
    "ec2/vpcEndpoint:VpcEndpoint": lambda n, r: {"prefixListId": "pl-63a5400a"},
    "route53/record:Record": lambda n, r: {"fqdn": f"{n}.zone.example."},
}


def _gcp_name(inputs: dict[str, Any], name: str) -> str:
    return str(inputs.get("name") or name)


#: GCP provider-computed fields the programs read (pulumi-gcp 10.x output names, camelCase on the wire).
_GCP_COMPUTED: dict[str, Callable[[str, dict[str, Any], str, Recorder], dict[str, Any]]] = {
    "cloudrunv2/service:Service": lambda n, i, p, r: {
        "uri": f"https://{_gcp_name(i, n)}-{_fake('h', n)[2:12]}-uc.a.run.app",
        "uid": _fake("uid", n),
    },
    "sql/databaseInstance:DatabaseInstance": lambda n, i, p, r: {
        "privateIpAddress": "10.0.128.3",
        "connectionName": f"{p}:{i.get('region') or r.region}:{_gcp_name(i, n)}",
        "serviceAccountEmailAddress": f"p123456789-{_fake('sa', n)[3:9]}@gcp-sa-cloud-sql.iam.gserviceaccount.com",
        "selfLink": f"https://sqladmin.googleapis.com/sql/v1beta4/projects/{p}/instances/{_gcp_name(i, n)}",
    },
    "redis/instance:Instance": lambda n, i, p, r: {
        "host": "10.0.128.12",
        "port": 6378 if i.get("transitEncryptionMode") == "SERVER_AUTHENTICATION" else 6379,
        "authString": _fake("auth", n),
        "serverCaCerts": [{"cert": "-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----\n", "serialNumber": "0"}],
    },
    "compute/globalAddress:GlobalAddress": lambda n, i, p, r: {
        "address": i.get("address") or "203.0.113.10",
        "selfLink": f"https://www.googleapis.com/compute/v1/projects/{p}/global/addresses/{_gcp_name(i, n)}",
    },
    "serviceaccount/account:Account": lambda n, i, p, r: {
        "email": f"{i.get('accountId') or n}@{p}.iam.gserviceaccount.com",
        "member": f"serviceAccount:{i.get('accountId') or n}@{p}.iam.gserviceaccount.com",
    },
    "projects/serviceIdentity:ServiceIdentity": lambda n, i, p, r: {
        "email": f"service-123456789@gcp-sa-{str(i.get('service', 'x')).split('.')[0]}.iam.gserviceaccount.com",
    },
    "secretmanager/secret:Secret": lambda n, i, p, r: {"name": f"projects/{p}/secrets/{i.get('secretId') or n}"},
    "kms/keyRing:KeyRing": lambda n, i, p, r: {},
    "compute/network:Network": lambda n, i, p, r: {"selfLink": f"https://www.googleapis.com/compute/v1/projects/{p}/global/networks/{_gcp_name(i, n)}"},
    "compute/subnetwork:Subnetwork": lambda n, i, p, r: {"selfLink": f"https://www.googleapis.com/compute/v1/projects/{p}/regions/{r.region}/subnetworks/{_gcp_name(i, n)}"},
    "monitoring/notificationChannel:NotificationChannel": lambda n, i, p, r: {"name": f"projects/{p}/notificationChannels/{_fake('c', n)[2:12]}"},
    "parametermanager/parameterVersion:ParameterVersion": lambda n, i, p, r: {"name": f"projects/{p}/locations/global/parameters/x/versions/{i.get('parameterVersionId') or 'v1'}"},
}


_AZURE_NAME_KEYS = {
    "RedisEnterprise": "clusterName", "UserAssignedIdentity": "resourceName", "MetricAlert": "ruleName",
    "ManagementLockByScope": "lockName", "StorageAccount": "accountName", "FileShare": "shareName",
    "BackupVault": "vaultName",
}


def _azure_name(typ: str, inputs: dict[str, Any], name: str) -> str:
    """The ARM name of an azure-native resource: its explicit `<kind>Name` input (prodkit always names its
    resources), else an auto-name as the provider would make one."""
    kind = typ.rsplit(":", 1)[-1]
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z]*", kind.removeprefix("AFD") or kind)
    candidates = [_AZURE_NAME_KEYS.get(kind, ""), "".join(words) + "Name", words[-1] + "Name" if words else ""]
    lowered = {k.lower(): v for k, v in inputs.items() if isinstance(v, str)}
    for key in candidates:
        if key and key.lower() in lowered:
            return lowered[key.lower()]
    if isinstance(inputs.get("name"), str):
        return inputs["name"]
    return f"{name}{_fake('', name)[1:9]}"


def _with(inputs: dict[str, Any], key: str, **extra: Any) -> dict[str, Any]:
    """A nested output object: its inputs plus provider-computed members (the SDK takes the whole object back)."""
    return {key: {**(inputs.get(key) or {}), **extra}}


#: Provider-computed fields the Azure backends read (endpoints, URIs, principal ids, domains).
_AZURE_COMPUTED: dict[str, Callable[[str, dict[str, Any], Recorder], dict[str, Any]]] = {
    "azure-native:keyvault:Vault": lambda n, i, r: _with(i, "properties", vaultUri=f"https://{i.get('vaultName', n)}.vault.azure.net/"),
    "azure-native:keyvault:Key": lambda n, i, r: {
        "keyUri": f"https://{i.get('vaultName', n)}.vault.azure.net/keys/{i.get('keyName', n)}",
        "keyUriWithVersion": f"https://{i.get('vaultName', n)}.vault.azure.net/keys/{i.get('keyName', n)}/{hashlib.sha1(n.encode()).hexdigest()}",
    },
    "azure-native:dbforpostgresql:Server": lambda n, i, r: {"fullyQualifiedDomainName": f"{i.get('serverName', n)}.postgres.database.azure.com"},
    "azure-native:redisenterprise:RedisEnterprise": lambda n, i, r: {"hostName": f"{i.get('clusterName', n)}.{r.region}.redis.azure.net"},
    "azure-native:app:ManagedEnvironment": lambda n, i, r: {"defaultDomain": f"{_fake('env', n)[4:14]}.{r.region}.azurecontainerapps.io", "staticIp": "10.0.0.62"},
    "azure-native:app:ContainerApp": lambda n, i, r: {"latestRevisionFqdn": f"{i.get('containerAppName', n)}--rev1.internal.azurecontainerapps.io"},
    "azure-native:managedidentity:UserAssignedIdentity": lambda n, i, r: {"principalId": _uuid(f"principal:{n}"), "clientId": _uuid(f"client:{n}")},
    "azure-native:cdn:AFDEndpoint": lambda n, i, r: {"hostName": f"{i.get('endpointName', n)}-{_fake('h', n)[2:12]}.z01.azurefd.net"},
    "azure-native:cdn:AFDCustomDomain": lambda n, i, r: {"validationProperties": {"validationToken": _fake("token", n), "expirationDate": "2027-01-01T00:00:00Z"}},
    "azure-native:dataprotection:BackupVault": lambda n, i, r: {"identity": {**(i.get("identity") or {}), "principalId": _uuid(f"vault:{n}")}},
}


def _uuid(seed: str) -> str:
    h = hashlib.sha1(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


_AZURE_CALLS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "azure-native:authorization:getClientConfig": lambda a: {
        "clientId": _uuid("client"), "objectId": _uuid("object"), "subscriptionId": "00000000-0000-0000-0000-000000000000",
        "tenantId": "11111111-1111-1111-1111-111111111111",
    },
    "azure-native:redisenterprise:listDatabaseKeys": lambda a: {"primaryKey": _fake("key", str(a.get("clusterName"))), "secondaryKey": _fake("key2", str(a.get("clusterName")))},
    "azure-native:storage:listStorageAccountKeys": lambda a: {"keys": [{"keyName": "key1", "value": _fake("key", str(a.get("accountName"))), "permissions": "FULL"}]},
}


_CALL = threading.local()


class _RecordingMonitor(MockMonitor):
    """The mock monitor, also keeping the options each RegisterResource request carried."""

    def __init__(self, mocks: Recorder) -> None:
        super().__init__(mocks)
        self.requests: list[tuple[str, Any]] = []

    def RegisterResource(self, request):  # noqa: N802 (gRPC name)
        _CALL.inputs = {}
        response = super().RegisterResource(request)
        self.requests.append((response.urn, request, _CALL.inputs))
        return response


def _opt(request: Any, name: str) -> Any:
    try:
        return getattr(request, name) if request.HasField(name) else None
    except ValueError:  # not an optional field in this SDK version
        return getattr(request, name, None)


@dataclass
class Inventory:
    """Every resource a program registered, in registration order."""

    resources: list[Resource]
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, suffix: str) -> list[Resource]:
        return [r for r in self.resources if r.type == suffix or r.type.endswith(suffix)]

    def named(self, name: str) -> Resource:
        for r in self.resources:
            if r.name == name:
                return r
        raise KeyError(f"no resource named {name!r}; have {[r.name for r in self.resources]}")

    def children(self, parent_urn: str) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent_urn]

    def custom(self) -> list[Resource]:
        return [r for r in self.resources if r.custom]

    def ordered(self, components: Sequence[str] = ()) -> "Inventory":
        """The same resources in a stable order: top-level components in the order of `components` (names;
        unnamed ones and stack-level resources after them, by URN), each component first and its descendants
        sorted by URN. Registration order depends on thread scheduling; this order depends on the inputs only."""
        return Inventory(sorted(self.resources, key=_order_key(self.resources, components)), dict(self.outputs))


def run(
    program: Callable[[], Any],
    *,
    stack: str = "test",
    project: str = "prodkit",
    config: dict[str, Any] | None = None,
    secret_keys: Iterable[str] = (),
    region: str = "us-east-1",
) -> Inventory:
    """Run `program` under mocks and return what it registered. Raises what the program raises."""
    import json

    from pulumi.runtime import settings as _settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    mocks = Recorder(region=region)
    monitor = _RecordingMonitor(mocks)
    # A fresh root stack per run: the SDK keeps one in a global.
    _settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (config or {}).items()}
    pulumi.runtime.set_all_config(flat, list(secret_keys))
    _settings.SETTINGS.rpc_manager.clear()

    errors: list[BaseException] = []

    def body() -> None:
        try:
            program()
        except BaseException as exc:  # surfaced after the loop drains
            errors.append(exc)

    # Source positions (a stack trace per resource, ~20 % of the run) mean nothing to the mock engine.
    from pulumi.runtime import resource as _resource_runtime

    real_trace = _resource_runtime._get_stack_trace
    _resource_runtime._get_stack_trace = _no_stack_trace
    try:
        _sync_await(run_pulumi_func(body))
    finally:
        _resource_runtime._get_stack_trace = real_trace
    if errors:
        raise errors[0]

    resources = []
    for urn, request, wire_inputs in monitor.requests:
        if request.type == "pulumi:pulumi:Stack":
            continue
        redacted, raw, secret_paths = {}, {}, []
        for key, value in wire_inputs.items():
            redacted[key], raw[key], secret = split_secrets(value)
            if secret:
                secret_paths.append(key)
        resources.append(
            Resource(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=bool(request.custom),
                inputs=redacted,
                raw_inputs=raw,
                secret_paths=sorted(secret_paths),
                protect=bool(_opt(request, "protect")),
                retain_on_delete=bool(_opt(request, "retainOnDelete")),
                ignore_changes=list(request.ignoreChanges),
                aliases=[a.urn or a.spec.name for a in getattr(request, "aliases", [])],
                dependencies=sorted(set(request.dependencies)),
            )
        )
    return Inventory(resources).ordered()


def _order_key(resources: Sequence[Resource], components: Sequence[str]) -> Callable[[Resource], tuple[Any, ...]]:
    by_urn = {r.urn: r for r in resources}
    rank = {name: i for i, name in enumerate(components)}

    def root(r: Resource) -> Resource:
        seen = set()
        while r.parent in by_urn and r.urn not in seen:
            seen.add(r.urn)
            r = by_urn[r.parent]
        return r

    def key(r: Resource) -> tuple[Any, ...]:
        top = root(r)
        is_component = top.type.startswith("prodkit:")
        group = rank.get(top.name, len(rank)) if is_component else len(rank) + 1
        return (group, top.urn, r is not top, r.urn)

    return key


def _no_stack_trace() -> Any:
    from pulumi.runtime.proto import source_pb2

    return source_pb2.StackTrace()
