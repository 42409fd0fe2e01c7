"""The shared machinery of every component: backend dispatch, links between components, stateful options."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import pulumi

from .errors import BackendNotAvailable, InputError
from .platform import Cloud, Platform

_SUFFIX = {Cloud.AWS: "_aws", Cloud.GCP: "_gcp", Cloud.AZURE: "_azure", Cloud.KUBERNETES: "_k8s"}


@dataclass(frozen=True)
class SecretRef:
    """A secret held in the cloud's secret store, referenced (never copied) by consumers.

    | cloud | store_id | key |
    |---|---|---|
    | kubernetes | Secret name | data key |
    | aws | Secrets Manager secret ARN | JSON key or None for the whole string |
    | gcp | Secret Manager secret id | version (default latest) |
    | azure | Key Vault secret URI | None |
    """

    store_id: pulumi.Input[str]
    """Where the secret lives (see table)."""
    key: str | None = None
    """Which entry of it. Default: the whole secret."""


@dataclass(frozen=True)
class Link:
    """What a data store offers to the services linked to it (`WebService(links=[db, cache])`)."""

    kind: str
    """'postgres' or 'redis'."""
    name: str
    """The data store component's logical name."""
    port: int
    """TCP port the store listens on."""
    env: Mapping[str, SecretRef]
    """Environment variable -> secret reference injected into linked services (DATABASE_URL, REDIS_URL)."""
    peer: Any = None
    """Backend-specific network handle used to open exactly this path (k8s: selector labels and the access label;
    aws: the store's security group id)."""


def stateful_opts(child: pulumi.ResourceOptions, protect: bool, **extra: Any) -> pulumi.ResourceOptions:
    """Options for a resource holding data: `protect` and `retain_on_delete` when deletion protection is on."""
    opts = pulumi.ResourceOptions(protect=protect, retain_on_delete=protect or None, **extra)
    return pulumi.ResourceOptions.merge(child, opts)


class Component(pulumi.ComponentResource):
    """Base of the prodkit components: validates the target, calls the cloud's backend, registers outputs.

    Subclasses declare ``ARGS`` (the Args dataclass), ``OUTPUTS`` (the output names, identical on every cloud)
    and ``SECRET_OUTPUTS``. A backend is a module ``_<cloud>.py`` beside the component with
    an optional pure ``validate(args, platform)`` raising InputError for limits of that cloud, and
    ``build(name, args, platform, child_opts) -> dict`` returning every name of ``OUTPUTS`` plus optional
    ``handle`` (backend-private data for other components of the same cloud) and ``link``.
    """

    ARGS: ClassVar[type]
    OUTPUTS: ClassVar[tuple[str, ...]]
    SECRET_OUTPUTS: ClassVar[frozenset[str]] = frozenset()

    handle: Any
    """Backend-private handle (e.g. the namespace name, the VPC and subnets) for components on the same cloud."""
    link: Link | None
    """What linked services receive; None for components that cannot be linked."""

    def __init__(
        self, name: str, args: Any, platform: Platform, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        backend = self.check(args, platform)  # fails before anything is registered
        super().__init__(f"prodkit:index:{type(self).__name__}", name, None, opts)
        self.platform = platform
        result = backend.build(name, args, platform, pulumi.ResourceOptions(parent=self))
        missing = [k for k in self.OUTPUTS if k not in result]
        if missing:
            raise RuntimeError(f"{backend.__name__}.build did not return outputs {missing}")
        outputs = {}
        for key in self.OUTPUTS:
            value = pulumi.Output.from_input(result[key])
            if key in self.SECRET_OUTPUTS:
                value = pulumi.Output.secret(value)
            setattr(self, key, value)
            outputs[key] = value
        self.handle = result.get("handle")
        self.link = result.get("link")
        self.register_outputs(outputs)


    @classmethod
    def check(cls, args: Any, platform: Platform):
        """Validate `args` for `platform` without registering anything: the Args type, cloud-only options, the
        backend's existence and its cloud-specific limits (e.g. Fargate sizes). Returns the backend module."""
        if not isinstance(args, cls.ARGS):
            raise TypeError(f"{cls.__name__} expects {cls.ARGS.__name__}, got {type(args).__name__}")
        check_cloud_options(args, platform)
        backend = load_backend(cls, platform.cloud)
        validate = getattr(backend, "validate", None)
        if validate is not None:
            validate(args, platform)
        return backend


def supported_clouds(component: type) -> frozenset[Cloud]:
    """The clouds whose backend module exists for this component (found without importing any SDK)."""
    package = component.__module__
    return frozenset(c for c, suffix in _SUFFIX.items() if importlib.util.find_spec(f"{package}.{suffix}") is not None)


def load_backend(component: type, cloud: Cloud):
    """Import the backend module of `component` for `cloud` (only that cloud's SDK is loaded)."""
    if cloud not in supported_clouds(component):
        raise BackendNotAvailable(component.__name__, cloud.value, [c.value for c in supported_clouds(component)])
    return importlib.import_module(f"{component.__module__}.{_SUFFIX[cloud]}")


def check_cloud_options(args: Any, platform: Platform) -> None:
    """Cloud-only option objects (`aws=`, `kubernetes=`, ...) are an error on another cloud: they would silently
    do nothing."""
    for cloud in Cloud:
        value = getattr(args, cloud.value, None)
        if value is not None and platform.cloud != cloud:
            raise InputError(
                f"{type(args).__name__}.{cloud.value}", type(value).__name__,
                f"these options apply to {cloud.value} only, but the target cloud is {platform.cloud.value}",
            )


def options_for(args: Any, cloud: Cloud, default_factory: type) -> Any:
    """The cloud-only options of `args` for `cloud`, or their defaults."""
    value = getattr(args, cloud.value, None)
    return value if value is not None else default_factory()

