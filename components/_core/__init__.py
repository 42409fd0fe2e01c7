"""prodkit core: the target (Cloud, Platform), naming and labels, links between components, errors, units."""

from .component import Component, Link, SecretRef, check_cloud_options, load_backend, options_for, stateful_opts, supported_clouds
from .errors import BackendNotAvailable, InputError, did_you_mean, one_of
from .platform import Cloud, Platform, dns_label

__all__ = [
    "BackendNotAvailable",
    "Cloud",
    "Component",
    "InputError",
    "Link",
    "Platform",
    "SecretRef",
    "did_you_mean",
    "dns_label",
    "load_backend",
    "one_of",
    "check_cloud_options",
    "options_for",
    "stateful_opts",
    "supported_clouds",
]
