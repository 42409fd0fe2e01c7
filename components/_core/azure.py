"""Azure resources without the weight of the typed azure-native SDK.

Importing the typed modules the Azure backends use (`pulumi_azure_native.network`, `.app`, `.cdn`, `.monitor`,
...) builds thousands of input classes: about 1.5-2 s per plan on an idle machine, more than the plan itself. The
backends therefore use these stand-ins, which keep the typed SDK's constructor surface
(`network.VirtualNetwork("n", resource_group_name=..., address_space=network.AddressSpaceArgs(...), opts=...)`),
its type tokens (`azure-native:network:VirtualNetwork`), its provider version pin and its snake_case ->
camelCase wire names (the few irregular ones are in :data:`_IRREGULAR`). Outputs are read with the SDK's
snake_case names (`vnet.name`, `server.fully_qualified_domain_name`); nested output objects arrive as plain
dicts (read them with :func:`field`).

``tests/test_azure_wire_names.py`` checks every input name of every planned Azure resource against the installed
typed SDK (`pulumi._types` metadata of its Args classes), so a misspelt or guessed name fails the tests; the
inventory goldens were produced with the typed SDK and still match.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pulumi

_PROVIDER_VERSION: str | None = None

#: snake_case names whose wire name is not the plain camelCase of their parts.
_IRREGULAR = {
    "storage_size_gb": "storageSizeGB",
    "resource_name_": "resourceName",
    "private_endpoint_v_net_policies": "privateEndpointVNetPolicies",
    "public_ip_address_version": "publicIPAddressVersion",
    "public_ip_allocation_method": "publicIPAllocationMethod",
    "resource_id": "resourceID",  # dataprotection Datasource, the only resource_id the backends set
    "primary_key_uri": "primaryKeyURI",  # dbforpostgresql DataEncryption
    "geo_backup_key_uri": "geoBackupKeyURI",
}
_SNAKE = re.compile(r"_([a-z0-9])")
_CAMEL = re.compile(r"(?<!^)([A-Z])")
#: Maps whose keys are data (tags, metadata, labels), never field names.
_FREE_FORM = {"tags", "metadata", "user_assigned_identities", "web_hook_properties", "extended_properties"}


def camel(name: str) -> str:
    if name in _IRREGULAR:
        return _IRREGULAR[name]
    return _SNAKE.sub(lambda m: m.group(1).upper(), name)


def snake(name: str) -> str:
    for k, v in _IRREGULAR.items():
        if v == name:
            return k.rstrip("_")
    return _CAMEL.sub(lambda m: "_" + m.group(1).lower(), name)


class Args(dict):
    """An input object (the typed SDK's `...Args`): snake_case keyword arguments, None values left out."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__({k: v for k, v in kwargs.items() if v is not None})


def wire(value: Any, free_form: bool = False) -> Any:
    """Translate field names of nested dicts to the wire form (keys of free-form maps untouched)."""
    if isinstance(value, dict):
        return {(k if free_form else camel(k)): wire(v, free_form=not free_form and k in _FREE_FORM) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [wire(v) for v in value]
    return value


def field(output: Any, *path: str) -> pulumi.Output[Any]:
    """A member of a nested output object, e.g. ``field(vault.properties, "vaultUri")``."""

    def pick(value: Any) -> Any:
        for step in path:
            # Nested output objects come back with snake_case keys (the SDK translates them like top-level names).
            value = (value.get(snake(step), value.get(step)) if isinstance(value, dict) else getattr(value, snake(step), None))
        return value

    return pulumi.Output.from_input(output).apply(pick)


def _defaults() -> pulumi.ResourceOptions:
    global _PROVIDER_VERSION
    if _PROVIDER_VERSION is None:
        from importlib.metadata import version

        _PROVIDER_VERSION = version("pulumi-azure-native")
    return pulumi.ResourceOptions(version=_PROVIDER_VERSION)


class AzureResource(pulumi.CustomResource):
    """An azure-native resource registered under the provider's type token."""

    _token: str = ""
    _outputs: tuple[str, ...] = ()

    def __init__(self, resource_name: str, opts: pulumi.ResourceOptions | None = None, **props: Any) -> None:
        opts = pulumi.ResourceOptions.merge(_defaults(), opts)
        # Top-level keys stay snake_case (the SDK's attribute names; translate_input_property gives the wire name),
        # nested objects are translated here.
        wired: dict[str, Any] = {k: wire(v, free_form=k in _FREE_FORM) for k, v in props.items() if v is not None}
        for out in ("name", "type", "azure_api_version", *self._outputs):
            wired.setdefault(out, None)
        super().__init__(self._token, resource_name, wired, opts)

    def translate_input_property(self, prop: str) -> str:
        return camel(prop)

    def translate_output_property(self, prop: str) -> str:
        return snake(prop)


def _module(module: str, resources: dict[str, tuple[str, ...]], invokes: dict[str, str] | None = None) -> SimpleNamespace:
    ns: dict[str, Any] = {
        kind: type(kind, (AzureResource,), {"_token": f"azure-native:{module}:{kind}", "_outputs": outputs})
        for kind, outputs in resources.items()
    }
    for fn, token in (invokes or {}).items():
        ns[fn] = _invoke(f"azure-native:{module}:{token}")

    def args_factory(name: str) -> Any:
        if name.endswith("Args"):
            return Args
        raise AttributeError(f"{module}.{name}")

    return _Namespace(ns, args_factory)


class _Namespace(SimpleNamespace):
    def __init__(self, ns: dict[str, Any], fallback: Any) -> None:
        super().__init__(**ns)
        self.__dict__["_fallback"] = fallback

    def __getattr__(self, name: str) -> Any:
        return self.__dict__["_fallback"](name)


def _invoke(token: str) -> Any:
    def call(opts: pulumi.InvokeOptions | None = None, **args: Any) -> pulumi.Output[Any]:
        opts = pulumi.InvokeOptions.merge(pulumi.InvokeOptions(version=_defaults().version), opts)
        result = pulumi.runtime.invoke_output(token, {camel(k): v for k, v in args.items() if v is not None}, opts)
        return result.apply(lambda r: SimpleNamespace(**{snake(k): v for k, v in (r or {}).items()}))

    return call


resources = _module("resources", {"ResourceGroup": ()})
network = _module("network", {
    "VirtualNetwork": (), "Subnet": (), "NetworkSecurityGroup": (), "PublicIPAddress": (), "NatGateway": (),
    "PrivateEndpoint": (), "PrivateDnsZoneGroup": (),
})
privatedns = _module("privatedns", {"PrivateZone": (), "VirtualNetworkLink": ()})
keyvault = _module("keyvault", {"Vault": ("properties",), "Secret": ("properties",), "Key": ("key_uri", "key_uri_with_version")})
operationalinsights = _module("operationalinsights", {"Workspace": ("customer_id",)})
app = _module("app", {
    "ManagedEnvironment": ("default_domain", "static_ip"), "ContainerApp": ("latest_revision_fqdn", "configuration"),
    "ManagedEnvironmentsStorage": (),
})
monitor = _module("monitor", {"DiagnosticSetting": (), "ActionGroup": (), "MetricAlert": ()})
authorization = _module("authorization", {"RoleAssignment": ("principal_id",), "ManagementLockByScope": ()},
                        invokes={"get_client_config_output": "getClientConfig"})
managedidentity = _module("managedidentity", {"UserAssignedIdentity": ("principal_id", "client_id", "tenant_id")})
dbforpostgresql = _module("dbforpostgresql", {"Server": ("fully_qualified_domain_name",), "Configuration": (), "Database": ()})
redisenterprise = _module("redisenterprise", {"RedisEnterprise": ("host_name",), "Database": ()},
                          invokes={"list_database_keys_output": "listDatabaseKeys"})
cdn = _module("cdn", {
    "Profile": (), "AFDEndpoint": ("host_name",), "AFDCustomDomain": ("validation_properties",), "RuleSet": (), "Rule": (),
    "AFDOriginGroup": (), "AFDOrigin": (), "Route": (), "SecurityPolicy": (),
})
frontdoor = _module("frontdoor", {"Policy": ()})
dataprotection = _module("dataprotection", {"BackupVault": ("identity",), "BackupPolicy": (), "BackupInstance": ()})
recoveryservices = _module("recoveryservices", {"Vault": (), "ProtectionPolicy": (), "ProtectionContainer": (), "ProtectedItem": ()})
storage = _module("storage", {"StorageAccount": (), "FileShare": ()}, invokes={"list_storage_account_keys_output": "listStorageAccountKeys"})
