"""Azure: the location and subscription from config, zone redundancy and geo-redundant backups from the profile,
the Container App names services call each other by, and the hooks that hand each autoscaled Container App its
scale block (see `components.web_service._azure`).

Config keys (validated here, before anything is registered):

| key | meaning | allowed |
|---|---|---|
| `prodkit:location` | Azure location of every regional resource (falls back to `prodkit:region`) | a public Azure location name, lowercase, no spaces (`eastus2`, `westeurope`) |
| `prodkit:subscription` | subscription the stack deploys to (scopes the role definitions granted on Key Vault secrets) | a GUID; default: the provider's subscription |
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from components._core import Cloud, InputError, Platform, did_you_mean

from . import Target

#: Public Azure locations (`az account list-locations --query "[].name"`, physical regions only).
LOCATIONS = frozenset({
    "eastus", "eastus2", "westus", "westus2", "westus3", "centralus", "northcentralus", "southcentralus",
    "westcentralus", "canadacentral", "canadaeast", "brazilsouth", "brazilsoutheast", "mexicocentral", "chilecentral",
    "northeurope", "westeurope", "uksouth", "ukwest", "francecentral", "francesouth", "germanywestcentral",
    "germanynorth", "switzerlandnorth", "switzerlandwest", "norwayeast", "norwaywest", "swedencentral",
    "swedensouth", "polandcentral", "italynorth", "spaincentral", "austriaeast", "belgiumcentral", "denmarkeast",
    "eastasia", "southeastasia", "japaneast", "japanwest", "koreacentral", "koreasouth", "centralindia",
    "southindia", "westindia", "jioindiawest", "jioindiacentral", "australiaeast", "australiasoutheast",
    "australiacentral", "australiacentral2", "newzealandnorth", "indonesiacentral", "malaysiawest", "uaenorth",
    "uaecentral", "qatarcentral", "israelcentral", "southafricanorth", "southafricawest",
})
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def check_location(field: str, value: Any) -> str:
    if not isinstance(value, str) or value not in LOCATIONS:
        hint = ""
        if isinstance(value, str):
            squashed = value.replace(" ", "").lower()
            hint = f" Did you mean {squashed!r}?" if squashed in LOCATIONS and squashed != value else did_you_mean(value, LOCATIONS)
        raise InputError(field, value, "allowed: an Azure location name in lowercase without spaces, e.g. 'eastus2', 'westeurope', 'swedencentral'." + hint)
    return value


def check_config(values: Mapping[str, Any], cloud: Cloud, stack: str) -> tuple[str, str]:
    """(location, subscription) of a stack's `prodkit:` config; required and validated on Azure."""
    if cloud is not Cloud.AZURE:
        key = "location" if values.get("location") else "subscription"
        raise InputError(f"prodkit:{key}", values[key], f"an Azure setting, but the target cloud is {cloud.value}; remove it or set prodkit:cloud to azure")
    if values.get("location"):
        location = check_location("prodkit:location", values["location"])
    elif values.get("region"):
        location = check_location("prodkit:region", values["region"])
    else:
        raise InputError(
            "prodkit:location", None,
            "required on Azure (the location of every regional resource)",
            f"Set it with `pulumi config set prodkit:location eastus2 --stack {stack}`.",
        )
    subscription = values.get("subscription") or ""
    if subscription and (not isinstance(subscription, str) or not _GUID.match(subscription)):
        raise InputError("prodkit:subscription", subscription, "allowed: a subscription id (GUID), e.g. '00000000-0000-0000-0000-000000000000'; see `az account show --query id`")
    return location, str(subscription).lower()


def app_name(platform: Platform, name: str) -> str:
    """The Container App name of service `name` (at most 32 characters; apps in one environment call each other by it)."""
    return platform.physical_name(name, limit=32)


class AzureTarget(Target):
    def __init__(self) -> None:
        self._comp: Any = None

    def before(self, cfg: Any, comp: Any, make: Any, building: bool) -> None:
        self._comp = comp
        if building:
            from components.web_service._azure import forget_pending

            forget_pending()

    def network(self, cfg: Any) -> dict[str, Any]:
        from components.network import AzureNetworkOptions

        cmk = cfg.profile.customer_managed_keys
        return {"azure": AzureNetworkOptions(
            subscription_id=cfg.subscription or None, zone_redundant=cfg.profile.high_availability, customer_managed_keys=cmk,
            # Geo-redundant backups (high_availability) encrypted with a customer-managed key need the paired-region key.
            geo_backup_key=cmk and cfg.profile.high_availability,
        )}

    def postgres(self, cfg: Any) -> dict[str, Any]:
        from components.postgres import AzurePostgresOptions

        return {"azure": AzurePostgresOptions(geo_redundant_backup=cfg.profile.high_availability)}

    def backups(self, cfg: Any) -> dict[str, Any]:
        from components.backup_schedule import AzureBackupOptions

        return {"azure": AzureBackupOptions(vault_redundancy="GeoRedundant" if cfg.profile.high_availability else "LocallyRedundant")}

    def monitoring(self, cfg: Any) -> dict[str, Any]:
        from components.monitoring import AzureMonitoringOptions

        ingress = self._comp.components.get("ingress") if self._comp is not None else None
        return {"azure": AzureMonitoringOptions(ingress=ingress)}

    def service_url(self, cfg: Any, name: str, port: int) -> str:
        # Container Apps of one environment reach each other by app name through the environment's ingress
        # (port 80 -> the target port), so the URL has no port.
        from stacks.app import platform_of

        return f"http://{app_name(platform_of(cfg), name)}"

    def after(self, cfg: Any, comp: Any, building: bool) -> None:
        self._comp = None
        if building:
            from components.web_service._azure import scale_unscaled

            scale_unscaled()


TARGET = AzureTarget()
