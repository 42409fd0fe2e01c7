"""The one Pulumi program every stack runs (`main: stacks/` in Pulumi.yaml).

Reads the `prodkit:` config of the selected stack, validates all of it (and every component's arguments)
before registering anything, then creates the app's components and exports the same keys on every stack.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pulumi  # noqa: E402

from components._core import InputError  # noqa: E402
from stacks import app, config  # noqa: E402


def main() -> None:
    from pulumi.runtime import config as runtime_config

    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    plain = {k: v for k, v in everything.items() if k not in secret_keys}
    cfg_ns = pulumi.Config(config.NAMESPACE)
    secrets = {
        k.partition(":")[2]: cfg_ns.require_secret(k.partition(":")[2])
        for k in secret_keys if k.startswith(config.NAMESPACE + ":")
    }
    cfg = config.resolve(pulumi.get_stack(), plain, secrets)
    app.compose(cfg, app.Checker())  # validate everything first: nothing registered on bad input
    result = app.compose(cfg, app.Builder())
    for key, value in result.exports.items():
        pulumi.export(key, value)


try:
    main()
except InputError as exc:
    # Pulumi prints a RunError as its message alone: the user sees the field, the value and what is allowed,
    # not a traceback.
    raise pulumi.RunError(str(exc)) from None
