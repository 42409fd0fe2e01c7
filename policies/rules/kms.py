"""Customer-managed keys (AWS): secrets, log groups, file systems and alert topics are encrypted with a KMS key the
stack owns (rotated, with a key policy naming exactly the services that use it), not with the AWS-managed default
keys (`aws/secretsmanager`, the CloudWatch Logs service key, `aws/elasticfilesystem`, `aws/sns`), whose policies
nobody can narrow or audit per stack. S3 buckets are out of scope here (the ALB access-log bucket must stay
SSE-S3: log delivery does not support SSE-KMS); `s3-bucket-encrypted` covers them.

A key reference that is unknown at preview time (the key is created in the same update) counts as set.
"""

from __future__ import annotations

from typing import Any, Mapping

from ._util import get, unknown
from .registry import rule

SECRET = "aws:secretsmanager/secret:Secret"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
EFS = "aws:efs/fileSystem:FileSystem"
SNS_TOPIC = "aws:sns/topic:Topic"

_CHECKLIST = "Encryption at rest with customer-managed keys (checkov CKV_AWS_149/158/184/26)"
#: AWS-managed key aliases: encrypted, but not with a key the stack controls.
_AWS_MANAGED = ("alias/aws/",)


def _missing_cmk(value: Any) -> str | None:
    """Why `value` is not a customer-managed key reference (None when it is one or is unknown)."""
    if unknown(value):
        return None
    if value in (None, ""):
        return "no key: the AWS-managed default key is used"
    text = str(value)
    if any(marker in text for marker in _AWS_MANAGED):
        return f"the AWS-managed key {text!r}"
    return None


@rule(
    "secret-customer-managed-key",
    description="Encrypt every Secrets Manager secret with a customer-managed KMS key (kmsKeyId).",
    severity="medium",
    checklist=_CHECKLIST,
    seeds=("001", "003"),
    types=(SECRET,),
)
def secret_customer_managed_key(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    why = _missing_cmk(get(props, "kmsKeyId"))
    return [f"secret is not encrypted with a customer-managed key ({why}); set kmsKeyId to the stack key"] if why else []


@rule(
    "log-group-customer-managed-key",
    description="Encrypt every CloudWatch log group with a customer-managed KMS key (kmsKeyId).",
    severity="medium",
    checklist=_CHECKLIST,
    seeds=("000", "004"),
    types=(LOG_GROUP,),
)
def log_group_customer_managed_key(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    why = _missing_cmk(get(props, "kmsKeyId"))
    return [f"log group is not encrypted with a customer-managed key ({why}); set kmsKeyId to the stack key"] if why else []


@rule(
    "efs-customer-managed-key",
    description="Encrypt every EFS file system with a customer-managed KMS key (encrypted + kmsKeyId).",
    severity="medium",
    checklist=_CHECKLIST,
    seeds=("000",),
    types=(EFS,),
)
def efs_customer_managed_key(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if get(props, "encrypted") is False:
        return ["file system is not encrypted at rest"]
    why = _missing_cmk(get(props, "kmsKeyId"))
    return [f"file system is not encrypted with a customer-managed key ({why}); set kmsKeyId to the stack key"] if why else []


@rule(
    "sns-topic-customer-managed-key",
    description="Encrypt every SNS topic with a customer-managed KMS key (kmsMasterKeyId), one CloudWatch alarms may use.",
    severity="medium",
    checklist=_CHECKLIST,
    seeds=("003", "004"),
    types=(SNS_TOPIC,),
)
def sns_topic_customer_managed_key(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    why = _missing_cmk(get(props, "kmsMasterKeyId"))
    return [f"topic is not encrypted with a customer-managed key ({why}); set kmsMasterKeyId to the stack key"] if why else []
