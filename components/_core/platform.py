"""Where a component is deployed: the cloud, the app and stack names, the region, and naming/labelling helpers.

A component never knows "staging" or "prod": it receives a Platform (identity + target) and explicit Args.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping

from .errors import InputError, one_of


class Cloud(str, Enum):
    """The four targets. The value is the name used in `prodkit:cloud`."""

    AWS = "aws"
    GCP = "gcp"
    AZURE = "azure"
    KUBERNETES = "kubernetes"

    @classmethod
    def parse(cls, value: str, field_name: str = "prodkit:cloud") -> "Cloud":
        try:
            return cls(value)
        except ValueError:
            raise one_of(field_name, value, [c.value for c in cls]) from None


#: Physical-name length limits per cloud (the strictest common resource of that cloud).
_NAME_LIMITS = {Cloud.AWS: 32, Cloud.GCP: 63, Cloud.AZURE: 63, Cloud.KUBERNETES: 63}
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def dns_label(field_name: str, value: str) -> str:
    """Validate an RFC 1123 label (lowercase letters, digits, '-', starting with a letter, <= 40 chars)."""
    if not isinstance(value, str) or not _DNS_LABEL.match(value) or len(value) > 40:
        raise InputError(
            field_name, value, "allowed: lowercase letters, digits and '-', starting with a letter, at most 40 characters"
        )
    return value


@dataclass(frozen=True)
class Platform:
    """The deployment target and identity shared by every component of one stack.

    Example: ``Platform(cloud=Cloud.KUBERNETES, app="compyle", stack="prod", region="eu-west-1")``
    """

    cloud: Cloud
    """Which backend every component uses."""
    app: str
    """App name (from the spec); first part of every physical name."""
    stack: str
    """Pulumi stack name; second part of every physical name."""
    region: str = ""
    """Cloud region (AWS/GCP/Azure). Default: the provider's configured region."""
    namespace: str = ""
    """Kubernetes namespace for every object. Default: `{app}-{stack}`."""
    extra_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags/labels added to every taggable resource. Default: none beyond the four standard ones."""

    def __post_init__(self) -> None:
        dns_label("app name", self.app)
        dns_label("stack name", self.stack)

    @property
    def k8s_namespace(self) -> str:
        return self.namespace or f"{self.app}-{self.stack}"

    def physical_name(self, name: str, limit: int | None = None) -> str:
        """Deterministic `{app}-{stack}-{name}`, truncated to the cloud's limit with a stable hash suffix."""
        full = f"{self.app}-{self.stack}-{name}".lower()
        limit = limit or _NAME_LIMITS[self.cloud]
        if len(full) <= limit:
            return full
        digest = hashlib.sha1(full.encode()).hexdigest()[:6]
        return f"{full[: limit - 7].rstrip('-')}-{digest}"

    def labels(self, component: str) -> dict[str, str]:
        """The four standard labels (lowercase keys so they are valid on GCP too) plus extra tags."""
        base = {"app": self.app, "stack": self.stack, "component": component, "managed-by": "prodkit"}
        return {**self.extra_tags, **base}

    def k8s_labels(self, component: str, name: str) -> dict[str, str]:
        """Kubernetes recommended labels (app.kubernetes.io/*) carrying the same four facts."""
        return {
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/instance": f"{self.app}-{self.stack}",
            "app.kubernetes.io/part-of": self.app,
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/managed-by": "prodkit",
            "prodkit.io/stack": self.stack,
        }
