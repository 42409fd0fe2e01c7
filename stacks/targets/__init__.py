"""What one cloud needs from the stack layer, one module per cloud.

`stacks.app.compose` is cloud-neutral: it names no cloud and no backend. Whatever a cloud adds (its option
objects derived from config and profile, and the hooks before and after composition) lives in
`stacks/targets/<cloud>.py` as a :class:`Target` named ``TARGET``. A cloud without a module gets the neutral
base, and its components refuse it with their own "no <cloud> backend yet" message.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from components._core import Cloud

if TYPE_CHECKING:
    from stacks.config import StackConfig
    from stacks.spec import AutoscalingSpec, ServiceSpec


class Target:
    """The neutral target: no cloud-only options, no hooks. Each method returns the keyword arguments it adds
    to one component's Args (e.g. ``{"aws": AwsIngressOptions(...)}``)."""

    def before(self, cfg: StackConfig, comp: Any, make: Any, building: bool) -> None:
        """Runs before the first component is made (validation pass and build pass alike)."""

    def network(self, cfg: StackConfig) -> dict[str, Any]:
        return {}

    def postgres(self, cfg: StackConfig) -> dict[str, Any]:
        return {}

    def redis(self, cfg: StackConfig) -> dict[str, Any]:
        return {}

    def service(self, cfg: StackConfig, name: str, svc: ServiceSpec) -> dict[str, Any]:
        return {}

    def ingress(self, cfg: StackConfig) -> dict[str, Any]:
        return {}

    def autoscaler(self, cfg: StackConfig, spec: AutoscalingSpec) -> dict[str, Any]:
        return {}

    def backups(self, cfg: StackConfig) -> dict[str, Any]:
        return {}

    def monitoring(self, cfg: StackConfig) -> dict[str, Any]:
        return {}

    def required_secrets(self, cfg: StackConfig) -> list[str]:
        """Stack secrets (`stacks.config.STACK_SECRETS`) this stack needs, e.g. registry credentials."""
        return []

    def service_url(self, cfg: StackConfig, name: str, port: int) -> str:
        """The URL another service of the app reaches service `name` at (`${services.NAME.url}`)."""
        return f"http://{name}:{port}"

    def after(self, cfg: StackConfig, comp: Any, building: bool) -> None:
        """Runs after every component is made."""

    def exports(self, cfg: StackConfig, comp: Any) -> dict[str, Any]:
        """Stack outputs this cloud adds to the common ones (build pass only), e.g. DNS records to create."""
        return {}


def target_of(cloud: Cloud) -> Target:
    """The chosen cloud's target; only that cloud's module (and so its SDK) is imported."""
    try:
        module = importlib.import_module(f"{__name__}.{cloud.value}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{cloud.value}":
            raise
        return Target()
    return module.TARGET
