"""The architecture diagram (Mermaid) of a composed stack, for pull-request comments."""

from __future__ import annotations

import re
from typing import Any

_SHAPES = {
    "Network": ("[/", "/]"),
    "WebService": ("[", "]"),
    "ManagedPostgres": ("[(", ")]"),
    "ManagedRedis": ("[(", ")]"),
    "TlsIngress": ("{{", "}}"),
    "Autoscaler": ("([", "])"),
    "BackupSchedule": ("[[", "]]"),
    "Monitoring": ("[[", "]]"),
    "ClusterAddons": ("[/", "/]"),
}

_IMPL = {
    "kubernetes": {
        "Network": "Namespace + NetworkPolicies", "WebService": "Deployment", "ManagedPostgres": "CloudNativePG",
        "ManagedRedis": "Redis StatefulSet", "TlsIngress": "Gateway API (Envoy) + cert-manager", "Autoscaler": "HPA / KEDA",
        "BackupSchedule": "ScheduledBackup + CronJob", "Monitoring": "ServiceMonitor + PrometheusRule",
        "ClusterAddons": "Helm releases",
    },
    "aws": {
        "Network": "VPC", "WebService": "ECS Fargate", "ManagedPostgres": "RDS PostgreSQL",
        "ManagedRedis": "ElastiCache", "TlsIngress": "ALB + ACM + WAF", "Autoscaler": "App Auto Scaling",
        "BackupSchedule": "AWS Backup", "Monitoring": "CloudWatch + SNS",
    },
}


def _node_id(name: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def mermaid(cfg: Any, composition: Any) -> str:
    lines = ["flowchart LR", "  internet((Internet))"]
    impl = _IMPL.get(cfg.cloud.value, {})
    for name, comp in composition.components.items():
        kind = type(comp).__name__ if not hasattr(comp, "kind") else comp.kind
        left, right = _SHAPES.get(kind, ("[", "]"))
        label = f"{name}<br/>{kind}" + (f"<br/><i>{impl[kind]}</i>" if kind in impl else "")
        lines.append(f'  {_node_id(name)}{left}"{label}"{right}')
    if "ingress" in composition.components:
        lines.append(f'  internet -->|"HTTPS {label_text(cfg.domain)}"| {_node_id("ingress")}')
    for src, dst, label in composition.edges:
        lines.append(f'  {_node_id(src)} -->|"{label_text(label)}"| {_node_id(dst)}')
    return "\n".join(lines)


def label_text(label: str, width: int = 48) -> str:
    """An edge label Mermaid renders as written: quotes and pipes escaped as entities, long labels cut at a
    word boundary (never mid-word), so `/api/agents` or `WORKFLOW_ENGINE_URL` read as they are."""
    from .summary import cut

    text = cut(" ".join(label.split()), width)
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("|", "#124;").replace("<", "#lt;").replace(">", "#gt;")


def markdown(cfg: Any, composition: Any) -> str:
    return (
        f"# {cfg.app.name} on {cfg.cloud.value} ({cfg.profile.name}, stack {cfg.stack})\n\n"
        f"```mermaid\n{mermaid(cfg, composition)}\n```\n"
    )
