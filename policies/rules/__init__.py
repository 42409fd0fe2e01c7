"""Every prodkit rule, by theme. Importing this package registers them all in :data:`RULES`.

| module | theme |
|---|---|
| tls | HTTPS-only, TLS 1.2+, certificates, HSTS/security headers, TLS to Postgres/Redis, sslmode=require |
| exposure | no public data store or task, security groups, default security group |
| secrets | secrets only by reference, redacted, encrypted |
| containers | pod/task hardening, resources, probes, pinned images |
| network | NetworkPolicy default deny and coverage, CORS |
| abuse | rate limiting (ingress-nginx, WAF) |
| data | encryption at rest, backups, PITR, prod deletion protection / protect / HA |
| operability | tags/labels, log retention, alarms, flow logs, insights, access logs, IAM |
| kms | customer-managed KMS keys on secrets, log groups, EFS, SNS topics (AWS) |

GCP and Azure rules slot in by adding their type tokens to a rule's `types` (or new rules) in the same modules.
"""

from . import tls, exposure, secrets, containers, network, abuse, data, operability, kms  # noqa: F401,I001 (registration order = README order)
from .registry import RULES, Rule, matches

__all__ = ["RULES", "Rule", "matches"]
