"""Azure backend of Network: the resource group, the VNet and everything every other component of the stack lives on.

Layout (deterministic): the VNet's address space is cut into 16 equal blocks (`/16` -> `/20`); block 0 is the
Container Apps subnet, 1 the PostgreSQL subnet, 2 the private-endpoint subnet; the rest stay free.

| subnet | delegated to | holds | NSG (deny by default) |
|---|---|---|---|
| apps | `Microsoft.App/environments` | the Container Apps environment (internal load balancer) | in: HTTP(S) from the VNet, the Azure load balancer's probes; out: 443 to the internet (image pulls, APIs, Entra, Monitor), the VNet |
| postgres | `Microsoft.DBforPostgreSQL/flexibleServers` | Flexible Servers (VNet injection) | in: 5432 from the apps subnet, HA replication inside the subnet; everything else from the VNet denied |
| endpoints | - | private endpoints: Key Vault (443), Managed Redis (10000), Azure Files (445) | in: those ports from the apps subnet only |

Every subnet has default outbound access off; the apps subnet leaves through a NAT gateway (Standard SKU, static
public IP). Container Apps run in one subnet, so egress cannot be narrowed per app: `internet_egress` is enforced
on AWS and Kubernetes, and on Azure only as "443 to the internet" for the whole environment.

Private DNS zones linked to the VNet: `<name>.private.postgres.database.azure.com` (Flexible Server VNet
injection), `privatelink.redis.azure.net`, `privatelink.vaultcore.azure.net`, `privatelink.file.core.windows.net`.

The stack's Key Vault lives here (like the stack KMS key on AWS): RBAC authorization (no access policies), soft
delete 90 days, purge protection, public network access disabled, network ACL default Deny with no bypass, reached
through a private endpoint. Pulumi writes secrets through ARM (management plane), which the vault's firewall does
not block; apps read them over the private endpoint.

The Log Analytics workspace (retention `flow_log_retention_days`, at least 30: the PerGB2018 minimum) and the
Container Apps environment are here too: a delegated subnet holds exactly one environment, and the services of a
stack must share it to call each other by name. The environment runs the Consumption workload profile, is
VNet-integrated with an internal load balancer, public network access disabled (Front Door reaches it through a
private endpoint), peer traffic encrypted, zone-redundant with `azure.zone_redundant`; its logs go to the workspace
through a diagnostic setting (no shared key in state).

Customer-managed keys (``azure.customer_managed_keys``, on in prod): the Key Vault key ``{name}-key`` (RSA 3072,
wrapKey/unwrapKey, rotation policy: a new version 90 days before the one-year expiry, a notification 30 days
before), ``protect`` and retained on delete (losing the key loses the data); a user-assigned identity
``{name}-cmk-identity`` holding **Key Vault Crypto Service Encryption User** on exactly that key (scope: the key,
never the vault), which Flexible Server, Managed Redis and the Azure Files accounts attach to unwrap their data
keys. The vault's firewall then lets trusted Azure services through (``bypass`` AzureServices; public network
access stays Disabled, which still admits private-endpoint and trusted-service traffic): Flexible Server and
Storage reach the key as trusted services. With ``azure.geo_backup_key`` (prod: geo-redundant backups *and*
customer-managed keys) a second vault ``{name}-geo-vault`` in the location's Azure paired region holds
``{name}-geo-key`` (same policy) with its own identity ``{name}-geo-identity`` in that region: Azure requires the
geo-backup key and identity in the region the backups are copied to. A location without a paired region
(e.g. italynorth, polandcentral) is refused for that combination.

Cost: NAT gateway ~$33/month + data; private endpoints ~$7.30/month each; Log Analytics per GB ingested; private
DNS zones $0.50/month each.
"""

from __future__ import annotations

import hashlib
import ipaddress
from types import SimpleNamespace
from typing import Any

import pulumi
from .._core.azure import app, field
from .._core.azure import authorization
from .._core.azure import keyvault
from .._core.azure import monitor
from .._core.azure import network
from .._core.azure import operationalinsights
from .._core.azure import privatedns
from .._core.azure import resources

from .._core import Cloud, InputError, Platform, options_for
from . import AzureNetworkOptions

_COMPONENT = "network"
_SPLIT_BITS = 4
_TIERS = ("apps", "postgres", "endpoints")
_SMALLEST_APPS_SUBNET = 27  # Container Apps workload-profiles environments need /27 or larger
#: Ports the private endpoints serve: Key Vault (HTTPS), Managed Redis (TLS, port 10000), Azure Files (SMB).
ENDPOINT_PORTS = {"keyvault": 443, "redis": 10000, "files": 445}
REDIS_ZONE = "privatelink.redis.azure.net"
VAULT_ZONE = "privatelink.vaultcore.azure.net"
FILES_ZONE = "privatelink.file.core.windows.net"
MIN_WORKSPACE_RETENTION_DAYS = 30


def subnet_plan(cidr: str) -> dict[str, str]:
    """The CIDR of each subnet: blocks 0-2 of 16 equal blocks of the VNet."""
    blocks = list(ipaddress.ip_network(cidr, strict=True).subnets(prefixlen_diff=_SPLIT_BITS))
    return {tier: str(blocks[i]) for i, tier in enumerate(_TIERS)}


#: Azure paired regions (the region Flexible Server copies geo-redundant backups to). Locations missing here have
#: no pair.
PAIRED_REGIONS = {
    "eastus": "westus", "westus": "eastus", "eastus2": "centralus", "centralus": "eastus2", "westus2": "westcentralus",
    "westcentralus": "westus2", "westus3": "eastus", "northcentralus": "southcentralus", "southcentralus": "northcentralus",
    "canadacentral": "canadaeast", "canadaeast": "canadacentral", "brazilsouth": "southcentralus", "brazilsoutheast": "brazilsouth",
    "northeurope": "westeurope", "westeurope": "northeurope", "uksouth": "ukwest", "ukwest": "uksouth",
    "francecentral": "francesouth", "francesouth": "francecentral", "germanywestcentral": "germanynorth",
    "germanynorth": "germanywestcentral", "switzerlandnorth": "switzerlandwest", "switzerlandwest": "switzerlandnorth",
    "norwayeast": "norwaywest", "norwaywest": "norwayeast", "swedencentral": "swedensouth", "swedensouth": "swedencentral",
    "eastasia": "southeastasia", "southeastasia": "eastasia", "japaneast": "japanwest", "japanwest": "japaneast",
    "koreacentral": "koreasouth", "koreasouth": "koreacentral", "centralindia": "southindia", "southindia": "centralindia",
    "westindia": "southindia", "jioindiawest": "jioindiacentral", "jioindiacentral": "jioindiawest",
    "australiaeast": "australiasoutheast", "australiasoutheast": "australiaeast", "australiacentral": "australiacentral2",
    "australiacentral2": "australiacentral", "uaenorth": "uaecentral", "uaecentral": "uaenorth",
    "southafricanorth": "southafricawest", "southafricawest": "southafricanorth",
}
#: Built-in role "Key Vault Crypto Service Encryption User" (get, wrapKey, unwrapKey on a key).
CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
KEY_SIZE = 3072
KEY_EXPIRY = "P1Y"
KEY_ROTATE_BEFORE_EXPIRY = "P90D"


def validate(args: Any, platform: Platform) -> None:
    """The apps subnet must be large enough for a workload-profiles environment; a location is required."""
    net = ipaddress.ip_network(args.cidr, strict=True)
    if net.prefixlen + _SPLIT_BITS > _SMALLEST_APPS_SUBNET:
        raise InputError("network.cidr", args.cidr, f"too small for Azure: the Container Apps subnet (1/16 of the VNet) must be /{_SMALLEST_APPS_SUBNET} or larger; use /{_SMALLEST_APPS_SUBNET - _SPLIT_BITS} or larger")
    if not platform.region:
        raise InputError("prodkit:location", None, "required on Azure: the location of every regional resource, e.g. 'eastus2'")
    opts = options_for(args, Cloud.AZURE, AzureNetworkOptions)
    if opts.geo_backup_key and not opts.customer_managed_keys:
        raise InputError("azure.geo_backup_key", True, "a geo-backup key only makes sense with azure.customer_managed_keys on")
    if opts.geo_backup_key and platform.region not in PAIRED_REGIONS:
        raise InputError(
            "prodkit:location", platform.region,
            "has no Azure paired region, and Flexible Server needs the geo-backup key of customer-managed-key encryption in "
            "a vault in the paired region: pick a paired location (e.g. " + ", ".join(sorted(PAIRED_REGIONS)[:6]) + ", ...)",
        )


def vault_name(platform: Platform, region: str | None = None) -> str:
    """Key Vault names are global, 3-24 characters: `{app}-{stack}` cut to 17 plus a stable 6-character hash."""
    base = f"{platform.app}-{platform.stack}"[:17].rstrip("-")
    digest = hashlib.sha1(f"{platform.app}/{platform.stack}/{region or platform.region}".encode()).hexdigest()[:6]
    return f"{base}-{digest}"


def _rule(name: str, priority: int, direction: str, access: str, protocol: str, source: str, destination: str,
          ports: list[str] | str, description: str) -> network.SecurityRuleArgs:
    multi = isinstance(ports, list)
    return network.SecurityRuleArgs(
        name=name, priority=priority, direction=direction, access=access, protocol=protocol,
        source_address_prefix=source, source_port_range="*", destination_address_prefix=destination,
        destination_port_ranges=ports if multi else None, destination_port_range=None if multi else ports,
        description=description,
    )


def _deny_rest(priority: int = 4000) -> list[network.SecurityRuleArgs]:
    # Azure's default rules allow all VNet-internal traffic; these explicit denies make the subnet deny by default.
    return [
        _rule("deny-vnet-inbound", priority, "Inbound", "Deny", "*", "VirtualNetwork", "*", "*", "Nothing else from the VNet"),
        _rule("deny-internet-inbound", priority + 1, "Inbound", "Deny", "*", "Internet", "*", "*", "Nothing from the internet"),
    ]


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    opts = options_for(args, Cloud.AZURE, AzureNetworkOptions)
    tags = platform.labels(_COMPONENT)
    location = platform.region
    plan = subnet_plan(args.cidr)
    client = authorization.get_client_config_output(opts=pulumi.InvokeOptions(parent=child.parent))
    subscription_id = opts.subscription_id or client.subscription_id

    rg = resources.ResourceGroup(
        f"{name}-rg", resource_group_name=platform.physical_name("rg", limit=90), location=location, tags=tags, opts=child,
    )
    vnet = network.VirtualNetwork(
        f"{name}-vnet", resource_group_name=rg.name, location=location,
        virtual_network_name=platform.physical_name(f"{name}-vnet", limit=64),
        address_space=network.AddressSpaceArgs(address_prefixes=[args.cidr]), enable_ddos_protection=False, enable_vm_protection=False,
        tags=tags, opts=child,
    )

    # --- NSGs: deny by default, allow exactly what the links need -----------------------------------------------
    apps_cidr, pg_cidr, ep_cidr = plan["apps"], plan["postgres"], plan["endpoints"]
    apps_nsg = network.NetworkSecurityGroup(
        f"{name}-apps-nsg", resource_group_name=rg.name, location=location,
        network_security_group_name=platform.physical_name(f"{name}-apps-nsg", limit=80),
        security_rules=[
            _rule("allow-https-from-vnet", 100, "Inbound", "Allow", "Tcp", "VirtualNetwork", apps_cidr, ["80", "443"], "Front Door private endpoint and service-to-service calls reach the environment's internal load balancer"),
            _rule("allow-lb-probes", 110, "Inbound", "Allow", "*", "AzureLoadBalancer", apps_cidr, "*", "Azure load balancer health probes"),
            *_deny_rest(),
            _rule("allow-https-out", 100, "Outbound", "Allow", "Tcp", apps_cidr, "Internet", "443", "Image pulls, Entra ID, Azure Monitor, LLM APIs (through the NAT gateway)"),
            _rule("allow-vnet-out", 110, "Outbound", "Allow", "*", apps_cidr, "VirtualNetwork", "*", "Data stores and private endpoints"),
            _rule("deny-internet-out", 4000, "Outbound", "Deny", "*", apps_cidr, "Internet", "*", "No other egress"),
        ],
        tags=tags, opts=child,
    )
    pg_nsg = network.NetworkSecurityGroup(
        f"{name}-postgres-nsg", resource_group_name=rg.name, location=location,
        network_security_group_name=platform.physical_name(f"{name}-postgres-nsg", limit=80),
        security_rules=[
            _rule("allow-postgres-from-apps", 100, "Inbound", "Allow", "Tcp", apps_cidr, pg_cidr, "5432", "PostgreSQL from the Container Apps subnet"),
            _rule("allow-ha-replication", 110, "Inbound", "Allow", "Tcp", pg_cidr, pg_cidr, "5432", "High-availability replication between primary and standby"),
            *_deny_rest(),
        ],
        tags=tags, opts=child,
    )
    ep_nsg = network.NetworkSecurityGroup(
        f"{name}-endpoints-nsg", resource_group_name=rg.name, location=location,
        network_security_group_name=platform.physical_name(f"{name}-endpoints-nsg", limit=80),
        security_rules=[
            _rule("allow-endpoints-from-apps", 100, "Inbound", "Allow", "Tcp", apps_cidr, ep_cidr,
                  [str(p) for p in ENDPOINT_PORTS.values()], "Key Vault, Managed Redis and Azure Files from the Container Apps subnet"),
            *_deny_rest(),
        ],
        tags=tags, opts=child,
    )

    # --- NAT gateway for the apps subnet ----------------------------------------------------------------------
    nat_ip = network.PublicIPAddress(
        f"{name}-nat-ip", resource_group_name=rg.name, location=location,
        public_ip_address_name=platform.physical_name(f"{name}-nat-ip", limit=80),
        sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"), public_ip_allocation_method="Static",
        public_ip_address_version="IPv4", tags=tags, opts=child,
    )
    nat = network.NatGateway(
        f"{name}-nat", resource_group_name=rg.name, location=location,
        nat_gateway_name=platform.physical_name(f"{name}-nat", limit=80), sku=network.NatGatewaySkuArgs(name="Standard"),
        public_ip_addresses=[network.SubResourceArgs(id=nat_ip.id)], idle_timeout_in_minutes=10, tags=tags, opts=child,
    )

    # --- subnets (created one after another: ARM refuses concurrent writes to one VNet) ---------------------------
    def subnet(role: str, cidr: str, nsg: Any, previous: Any, **extra: Any) -> network.Subnet:
        return network.Subnet(
            f"{name}-{role}-subnet", resource_group_name=rg.name, virtual_network_name=vnet.name,
            subnet_name=role, address_prefix=cidr, network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
            default_outbound_access=False, private_link_service_network_policies="Enabled",
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[previous] if previous else None)),
            **extra,
        )

    apps_subnet = subnet(
        "apps", apps_cidr, apps_nsg, None, private_endpoint_network_policies="Disabled", nat_gateway=network.SubResourceArgs(id=nat.id),
        delegations=[network.DelegationArgs(name="container-apps", service_name="Microsoft.App/environments")],
    )
    pg_subnet = subnet(
        "postgres", pg_cidr, pg_nsg, apps_subnet, private_endpoint_network_policies="Disabled",
        delegations=[network.DelegationArgs(name="postgres", service_name="Microsoft.DBforPostgreSQL/flexibleServers")],
    )
    ep_subnet = subnet("endpoints", ep_cidr, ep_nsg, pg_subnet, private_endpoint_network_policies="Enabled")

    # --- private DNS zones linked to the VNet -------------------------------------------------------------------
    def zone(role: str, zone_name: str) -> privatedns.PrivateZone:
        z = privatedns.PrivateZone(
            f"{name}-{role}-dns", resource_group_name=rg.name, private_zone_name=zone_name, location="global", tags=tags, opts=child,
        )
        privatedns.VirtualNetworkLink(
            f"{name}-{role}-dns-link", resource_group_name=rg.name, private_zone_name=z.name, location="global",
            virtual_network_link_name=f"{role}-vnet", virtual_network=privatedns.SubResourceArgs(id=vnet.id),
            registration_enabled=False, tags=tags, opts=child,
        )
        return z

    pg_zone = zone("postgres", f"{platform.physical_name(name, limit=40)}.private.postgres.database.azure.com")
    redis_zone = zone("redis", REDIS_ZONE)
    vault_zone = zone("vault", VAULT_ZONE)
    files_zone = zone("files", FILES_ZONE)

    # --- the stack's Key Vault --------------------------------------------------------------------------------
    def stack_vault(role: str, region: str) -> keyvault.Vault:
        return keyvault.Vault(
            f"{name}-{role}", resource_group_name=rg.name, location=region, vault_name=vault_name(platform, None if region == location else region),
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=client.tenant_id, sku=keyvault.SkuArgs(family="A", name=opts.key_vault_sku),
                enable_rbac_authorization=True, enable_soft_delete=True, soft_delete_retention_in_days=90,
                enable_purge_protection=True, public_network_access="Disabled",
                # Customer-managed keys: Flexible Server and Storage reach the key as trusted Azure services.
                network_acls=keyvault.NetworkRuleSetArgs(default_action="Deny", bypass="AzureServices" if opts.customer_managed_keys else "None"),
                enabled_for_deployment=False, enabled_for_disk_encryption=False, enabled_for_template_deployment=False,
            ),
            tags=tags, opts=child,
        )

    vault = stack_vault("vault", location)
    private_endpoint(f"{name}-vault", platform, rg.name, location, ep_subnet.id, vault.id, "vault", vault_zone.id, tags, child)
    cmk = _customer_managed_keys(name, platform, opts, rg, vault, location, subscription_id, tags, child, stack_vault)

    # --- logs and the Container Apps environment ------------------------------------------------------------------
    workspace = operationalinsights.Workspace(
        f"{name}-logs", resource_group_name=rg.name, location=location,
        workspace_name=platform.physical_name(f"{name}-logs", limit=63),
        sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
        retention_in_days=max(args.flow_log_retention_days, MIN_WORKSPACE_RETENTION_DAYS),
        features=operationalinsights.WorkspaceFeaturesArgs(disable_local_auth=True),
        tags=tags, opts=child,
    )
    environment = app.ManagedEnvironment(
        f"{name}-environment", resource_group_name=rg.name, location=location,
        environment_name=platform.physical_name(f"{name}-env", limit=60),
        vnet_configuration=app.VnetConfigurationArgs(infrastructure_subnet_id=apps_subnet.id, internal=True),
        workload_profiles=[app.WorkloadProfileArgs(name="Consumption", workload_profile_type="Consumption", enable_fips=False)],
        zone_redundant=opts.zone_redundant, public_network_access="Disabled",
        app_logs_configuration=app.AppLogsConfigurationArgs(destination="azure-monitor"),
        peer_traffic_configuration=app.ManagedEnvironmentPeerTrafficConfigurationArgs(
            encryption=app.ManagedEnvironmentEncryptionArgs(enabled=True),
        ),
        tags=tags, opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[ep_subnet])),
    )
    monitor.DiagnosticSetting(
        f"{name}-environment-logs", name="logs-to-workspace", resource_uri=environment.id, workspace_id=workspace.id,
        logs=[monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)],
        metrics=[monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)],
        opts=child,
    )

    handle = SimpleNamespace(
        resource_group_name=rg.name,
        location=location,
        subscription_id=subscription_id,
        vnet_id=vnet.id,
        cidr=args.cidr,
        apps_subnet_cidr=apps_cidr,
        apps_subnet_id=apps_subnet.id,
        postgres_subnet_id=pg_subnet.id,
        endpoints_subnet_id=ep_subnet.id,
        postgres_dns_zone_id=pg_zone.id,
        redis_dns_zone_id=redis_zone.id,
        files_dns_zone_id=files_zone.id,
        vault_id=vault.id,
        vault_name=vault.name,
        vault_uri=field(vault.properties, "vaultUri"),
        workspace_id=workspace.id,
        environment_id=environment.id,
        environment_name=environment.name,
        environment_domain=environment.default_domain,
        zone_redundant=opts.zone_redundant,
        **cmk,
    )
    return {"network_id": vnet.id, "handle": handle}


def _customer_managed_keys(name: str, platform: Platform, opts: AzureNetworkOptions, rg: Any, vault: Any, location: str,
                           subscription_id: Any, tags: dict[str, str], child: pulumi.ResourceOptions, stack_vault: Any) -> dict[str, Any]:
    """The stack key (+ the paired-region geo-backup key) and the identities allowed to use exactly that key."""
    from .._core import stateful_opts
    from .._core.azure import managedidentity

    none = {"cmk_key_id": None, "cmk_key_uri": None, "cmk_key_uri_with_version": None, "cmk_key_name": None,
            "cmk_identity_id": None, "geo_key_uri": None, "geo_identity_id": None, "geo_location": None}
    if not opts.customer_managed_keys:
        return none
    # Only prod asks for customer-managed keys, and losing the key loses the data: always protected.
    protect = stateful_opts(child, True)
    encryption_user = role_definition(subscription_id, CRYPTO_SERVICE_ENCRYPTION_USER)

    def key_with_identity(role: str, in_vault: Any, region: str) -> tuple[Any, Any, str]:
        key_name = platform.physical_name(role, limit=127)
        key = keyvault.Key(
            f"{name}-{role}", resource_group_name=rg.name, vault_name=in_vault.name, key_name=key_name,
            properties=keyvault.KeyPropertiesArgs(
                kty="RSA", key_size=KEY_SIZE, key_ops=["wrapKey", "unwrapKey"],
                attributes=keyvault.KeyAttributesArgs(enabled=True, exportable=False),
                rotation_policy=keyvault.RotationPolicyArgs(
                    attributes=keyvault.KeyRotationPolicyAttributesArgs(expiry_time=KEY_EXPIRY),
                    lifetime_actions=[
                        keyvault.LifetimeActionArgs(action=keyvault.ActionArgs(type="rotate"),
                                                    trigger=keyvault.TriggerArgs(time_before_expiry=KEY_ROTATE_BEFORE_EXPIRY)),
                        keyvault.LifetimeActionArgs(action=keyvault.ActionArgs(type="notify"),
                                                    trigger=keyvault.TriggerArgs(time_before_expiry="P30D")),
                    ],
                ),
            ),
            tags=tags, opts=protect,
        )
        identity_role = role.replace("key", "identity") if role != "key" else "cmk-identity"
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-{identity_role}", resource_group_name=rg.name, location=region,
            resource_name_=platform.physical_name(f"{name}-{identity_role}", limit=128), tags=tags, opts=child,
        )
        grant = authorization.RoleAssignment(
            f"{name}-{role}-encryption-user", principal_id=identity.principal_id, principal_type="ServicePrincipal",
            role_definition_id=encryption_user, scope=key.id,
            description=f"wrap/unwrap data keys with {key_name} (customer-managed key encryption)", opts=child,
        )
        # Consumers read the identity id through the grant, so they are created after the grant exists.
        identity_id = pulumi.Output.all(identity.id, grant.id).apply(lambda v: v[0])
        return key, identity_id, key_name

    key, identity_id, key_name = key_with_identity("key", vault, location)
    out = {**none, "cmk_key_id": key.id, "cmk_key_uri": key.key_uri, "cmk_key_uri_with_version": key.key_uri_with_version,
           "cmk_key_name": key_name, "cmk_identity_id": identity_id}
    if opts.geo_backup_key:
        paired = PAIRED_REGIONS[location]
        geo_vault = stack_vault("geo-vault", paired)
        geo_key, geo_identity_id, _ = key_with_identity("geo-key", geo_vault, paired)
        out.update(geo_key_uri=geo_key.key_uri, geo_identity_id=geo_identity_id, geo_location=paired)
    return out


def private_endpoint(prefix: str, platform: Platform, resource_group: Any, location: str, subnet_id: Any, target_id: Any,
                     group_id: str, zone_id: Any, tags: dict[str, str], child: pulumi.ResourceOptions) -> network.PrivateEndpoint:
    """A private endpoint for `target_id` in the endpoints subnet, registered in its private DNS zone."""
    pe = network.PrivateEndpoint(
        f"{prefix}-pe", resource_group_name=resource_group, location=location,
        private_endpoint_name=platform.physical_name(f"{prefix}-pe", limit=64),
        # A reference by id; the two policy fields are the typed SDK's defaults, kept so the request is the same.
        subnet=network.SubnetArgs(id=subnet_id, private_endpoint_network_policies="Disabled", private_link_service_network_policies="Enabled"),
        private_link_service_connections=[network.PrivateLinkServiceConnectionArgs(
            name=group_id, private_link_service_id=target_id, group_ids=[group_id],
        )],
        tags=tags, opts=child,
    )
    network.PrivateDnsZoneGroup(
        f"{prefix}-pe-dns", resource_group_name=resource_group, private_endpoint_name=pe.name,
        private_dns_zone_group_name="default",
        private_dns_zone_configs=[network.PrivateDnsZoneConfigArgs(name=group_id, private_dns_zone_id=zone_id)],
        opts=child,
    )
    return pe


#: Built-in role "Key Vault Secrets User" (read secret contents).
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"


def role_definition(subscription_id: Any, role_id: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("/subscriptions/", subscription_id, "/providers/Microsoft.Authorization/roleDefinitions/", role_id)
