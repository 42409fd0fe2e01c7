"""Containers: non-root, read-only root filesystem, no privilege escalation, drop ALL capabilities, seccomp
RuntimeDefault, requests and limits, liveness and readiness probes, pinned images (and pinned Helm charts)."""

from __future__ import annotations

from typing import Any, Mapping

from ._util import (
    ECS_SERVICE, ECS_TASK, HELM_RELEASE, LB_TARGET_GROUP, POD_WORKLOADS, SERVING_WORKLOADS, as_int, container_definitions, containers,
    get, image_problem, items, of_type, pod_spec, refers_to, same_component, unknown,
)
from .registry import rule

_RESTRICTED = "Pod Security 'restricted' (architecture)"


def _effective(c: Mapping[str, Any], pod: Mapping[str, Any], key: str) -> Any:
    """A securityContext field: the container's value wins over the pod's."""
    value = get(c, "securityContext", key)
    return value if value is not None else get(pod, "securityContext", key)


def _essential(c: Mapping[str, Any]) -> bool:
    return c.get("essential", True) is not False


def _ecs_drops_all(c: Mapping[str, Any]) -> bool:
    return "ALL" in [str(x).upper() for x in items(get(c, "linuxParameters", "capabilities", "drop"))]


@rule(
    "container-non-root",
    description="Run every container as a non-root user (runAsNonRoot / non-zero runAsUser; ECS `user`; EFS access points).",
    severity="high",
    checklist="Docker containers run as non-root user",
    seeds=("000", "002"),
    types=(*POD_WORKLOADS, ECS_TASK, "aws:efs/accessPoint:AccessPoint"),
)
def container_non_root(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    if resource_type == ECS_TASK:
        for c in container_definitions(props):
            user = str(c.get("user") or "").split(":")[0]
            if user in ("0", "root"):
                # A short-lived, non-essential helper may need uid 0 to write into Fargate's root-owned task
                # volumes; it is accepted only without any capability and with a read-only root filesystem.
                if not _essential(c) and _ecs_drops_all(c) and c.get("readonlyRootFilesystem") is True:
                    continue
                out.append(f"container {c.get('name')} runs as root (user {c.get('user')!r})")
            elif not user:
                out.append(f"container {c.get('name')} sets no `user`: it runs as the image's user, root for most images")
        return out
    if resource_type == "aws:efs/accessPoint:AccessPoint":
        uid = get(props, "posixUser", "uid")
        if uid is None:
            return ["no posixUser: clients act as whatever uid they run as, root included"]
        if as_int(uid) == 0:
            return ["posixUser uid is 0 (root)"]
        return []
    pod = pod_spec(resource_type, props)
    for label, c in containers(pod):
        non_root = _effective(c, pod, "runAsNonRoot")
        uid = _effective(c, pod, "runAsUser")
        if as_int(uid) == 0:
            out.append(f"{label}: runAsUser is 0 (root)")
        elif non_root is not True and not unknown(non_root):
            out.append(f"{label}: runAsNonRoot is not true (pod or container securityContext)")
    return out


@rule(
    "container-read-only-root",
    description="Mount every container's root filesystem read-only (writable paths are explicit volumes).",
    severity="medium",
    checklist=f"Docker containers run as non-root user; readOnlyRootFilesystem (seed 002 pod security, {_RESTRICTED})",
    seeds=("002",),
    types=(*POD_WORKLOADS, ECS_TASK),
)
def container_read_only_root(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == ECS_TASK:
        return [f"container {c.get('name')}: readonlyRootFilesystem is not true" for c in container_definitions(props)
                if c.get("readonlyRootFilesystem") is not True]
    return [f"{label}: securityContext.readOnlyRootFilesystem is not true"
            for label, c in containers(pod_spec(resource_type, props))
            if get(c, "securityContext", "readOnlyRootFilesystem") is not True]


@rule(
    "container-no-privilege-escalation",
    description="Set allowPrivilegeEscalation false and never run privileged containers.",
    severity="high",
    checklist=f"allowPrivilegeEscalation: false (seed 002 pod security, {_RESTRICTED})",
    seeds=("002",),
    types=(*POD_WORKLOADS, ECS_TASK),
)
def container_no_privilege_escalation(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == ECS_TASK:
        return [f"container {c.get('name')} is privileged" for c in container_definitions(props) if c.get("privileged") is True]
    out = []
    for label, c in containers(pod_spec(resource_type, props)):
        if get(c, "securityContext", "privileged") is True:
            out.append(f"{label} is privileged")
        if get(c, "securityContext", "allowPrivilegeEscalation") is not False:
            out.append(f"{label}: securityContext.allowPrivilegeEscalation is not false")
    return out


@rule(
    "container-drop-all-capabilities",
    description="Drop ALL Linux capabilities (adding back at most NET_BIND_SERVICE).",
    severity="medium",
    checklist=f"capabilities drop ALL (seed 002 pod security, {_RESTRICTED})",
    seeds=("002",),
    types=POD_WORKLOADS,
)
def container_drop_all_capabilities(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    out = []
    for label, c in containers(pod_spec(resource_type, props)):
        caps = get(c, "securityContext", "capabilities", default={})
        if "ALL" not in [str(x).upper() for x in items(get(caps, "drop"))]:
            out.append(f"{label}: securityContext.capabilities.drop does not contain ALL")
        added = [str(x) for x in items(get(caps, "add")) if str(x).upper() not in ("NET_BIND_SERVICE",)]
        if added:
            out.append(f"{label}: adds capabilities {', '.join(added)}")
    return out


@rule(
    "container-seccomp",
    description="Run every container under the RuntimeDefault (or a Localhost) seccomp profile.",
    severity="medium",
    checklist=f"Pod security hardening ({_RESTRICTED}: seccompProfile RuntimeDefault)",
    seeds=("002",),
    types=POD_WORKLOADS,
)
def container_seccomp(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    pod = pod_spec(resource_type, props)
    out = []
    for label, c in containers(pod):
        kind = get(c, "securityContext", "seccompProfile", "type") or get(pod, "securityContext", "seccompProfile", "type")
        if kind not in ("RuntimeDefault", "Localhost") and not unknown(kind):
            out.append(f"{label}: seccompProfile is {kind or 'unset'} (Unconfined); set RuntimeDefault on the pod or container")
    return out


@rule(
    "container-resources",
    description="Give every container CPU and memory requests and limits (Fargate: task cpu and memory).",
    severity="medium",
    checklist="Resource requests and limits (seeds' resources blocks; architecture)",
    seeds=("000", "001", "002"),
    types=(*POD_WORKLOADS, ECS_TASK),
)
def container_resources(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == ECS_TASK:
        missing = [k for k in ("cpu", "memory") if not props.get(k)]
        return [f"task definition has no {', '.join(missing)}"] if missing else []
    out = []
    for label, c in containers(pod_spec(resource_type, props)):
        missing = [f"{kind}.{res}" for kind in ("requests", "limits") for res in ("cpu", "memory")
                   if get(c, "resources", kind, res) in (None, "", "0")]
        if missing:
            out.append(f"{label}: no resources {', '.join(missing)}")
    return out


@rule(
    "container-probes",
    description="Give every serving container liveness and readiness probes (target groups: an HTTP health check; ECS services: see ecs-service-health-checked).",
    severity="medium",
    checklist="Health checks responding",
    seeds=("000", "001", "002"),
    types=(*SERVING_WORKLOADS, LB_TARGET_GROUP),
)
def container_probes(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == LB_TARGET_GROUP:
        hc = get(props, "healthCheck")
        if hc is None or get(hc, "enabled") is False:
            return ["target group has no enabled health check"]
        if str(get(hc, "protocol", default="HTTP")).upper().startswith("HTTP") and not get(hc, "path"):
            return ["target group health check has no path (it probes '/' instead of the app's health endpoint)"]
        return []
    out = []
    for label, c in containers(pod_spec(resource_type, props), init=False):
        for probe in ("livenessProbe", "readinessProbe"):
            if not c.get(probe):
                out.append(f"{label}: no {probe}")
    return out


@rule(
    "ecs-service-health-checked",
    description="Health-check every ECS service: through its load balancer's target group, or with a container health check (the service's `health.command`) when it has no load balancer.",
    severity="medium",
    checklist="Health checks responding",
    seeds=("000", "001", "002"),
    types=(ECS_SERVICE, ECS_TASK),
    scope="stack",
)
def ecs_service_health_checked(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """A routed service is replaced when its target group's HTTP check fails (container-probes checks that one);
    a service without a load balancer has only the container health check, or nothing notices a hung task."""
    out = []
    tasks = of_type(resources, ECS_TASK)
    for svc in of_type(resources, ECS_SERVICE):
        if items(get(svc, "inputs", "loadBalancers")):
            continue
        ref = get(svc, "inputs", "taskDefinition")
        linked = [t for t in tasks if refers_to(ref, t) or (refers_to(ref, t) is None and same_component(svc, t))]
        for task in linked:
            for c in container_definitions(task.get("inputs") or {}):
                if _essential(c) and not items(get(c, "healthCheck", "command")):
                    out.append((svc["urn"], f"service has no load balancer and its container {c.get('name')} has no healthCheck: "
                                            "give the service a health command (spec `health.command`)"))
    return out


@rule(
    "image-pinned",
    description="Pin every container image to a tag other than latest (or a digest), and every Helm chart to a version.",
    severity="medium",
    checklist="Regular security updates applied to base images (reproducible, pinned images)",
    seeds=("000", "001"),
    types=(*POD_WORKLOADS, ECS_TASK, HELM_RELEASE, "kubernetes:postgresql.cnpg.io/v1:Cluster"),
)
def image_pinned(resource_type: str, props: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    if resource_type == HELM_RELEASE:
        version = props.get("version")
        return [] if version or unknown(version) else [f"Helm chart {props.get('chart')!r} has no version: every install may get a different chart"]
    if resource_type == ECS_TASK:
        images = [(f"container {c.get('name')}", c.get("image")) for c in container_definitions(props)]
    elif resource_type == "kubernetes:postgresql.cnpg.io/v1:Cluster":
        images = [("cluster", get(props, "spec", "imageName"))]
    else:
        pod = pod_spec(resource_type, props)
        images = [(label, c.get("image")) for label, c in containers(pod)]
    out = []
    for label, image in images:
        problem = image_problem(image)
        if problem:
            out.append(f"{label}: {problem}")
        if image is None and resource_type != "kubernetes:postgresql.cnpg.io/v1:Cluster":
            out.append(f"{label}: no image")
    return out
