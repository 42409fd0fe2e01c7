"""Every prodkit rule, by theme. Importing this package registers them all in :data:`RULES`.

| module | theme |
|---|---|
| tls | HTTPS-only, HTTP only as a 301 redirect, TLS 1.2+, certificates, HSTS/security headers, route timeouts, TLS to Postgres/Redis, sslmode=require |
| exposure | no public data store or task, security groups, default security group |
| secrets | secrets only by reference, redacted, encrypted |
| containers | pod/task hardening, resources, probes, pinned images |
| network | NetworkPolicy default deny and coverage, CORS |
| abuse | rate limiting (Envoy Gateway per-client-IP limits, WAF) |
| data | encryption at rest, backups, PITR, prod deletion protection / protect / HA |
| operability | tags/labels, log retention, alarms, flow logs, insights, access logs, IAM |
| gcp | every GCP resource type: Cloud SQL, Memorystore, Cloud Run ingress/invokers/secrets, Cloud Armor, SSL policy, buckets, firewall, alerts; prod deletion protection/protect/HA/CMEK |
| azure | the checklist on azure-native types (Container Apps, Flexible Server, Managed Redis, Key Vault, Front Door + WAF, Storage, NSGs, Backup, Monitor) |
| kms | customer-managed KMS keys on secrets, log groups, EFS, SNS topics (AWS) |

GCP and Azure rules slot in by adding their type tokens to a rule's `types` (or new rules) in the same modules.
"""

from . import tls, exposure, secrets, containers, network, abuse, data, operability, kms  # noqa: F401,I001 (registration order = README order)
from . import gcp  # noqa: F401,E402  (GCP resource types: Cloud SQL, Memorystore, Cloud Run, ALB + Cloud Armor)
from . import azure  # noqa: F401,E402  (Azure rules: azure-native types)
from .registry import RULES, Rule, matches

__all__ = ["RULES", "Rule", "matches"]
