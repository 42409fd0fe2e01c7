"""Entry point of the CrossGuard policy pack: `pulumi preview --policy-pack policies [--policy-pack-config
policies/config/prod.json]`.

The only place a PolicyPack is constructed. Every policy defaults to advisory; the per-profile config files make
them mandatory in prod (and disable the prod-only ones in staging).
"""

import os
import sys

# The CLI runs this file with the pack directory (policies/) on sys.path; the rules live in the `policies`
# package, so its parent (the repository root) must be importable too.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies.adapter import all_policies  # noqa: E402

PolicyPack(
    name="prodkit",
    policies=all_policies(),
    enforcement_level=EnforcementLevel.ADVISORY,
    description="prodkit: the seeds' security checklists (TLS, exposure, secrets, containers, network, abuse, data, operability, customer-managed keys)",
)
