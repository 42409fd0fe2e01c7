"""ClusterAddons on Kubernetes: one Helm release per add-on, each in its own namespace, the Envoy Gateway
GatewayClass and the ACME ClusterIssuer.

Releases (logical name ``{name}-{addon}``, Helm release name = the add-on name):

| add-on | chart | namespace | values that matter |
|---|---|---|---|
| gateway-crds | oci://docker.io/envoyproxy/gateway-crds-helm | envoy-gateway-system | Gateway API CRDs (standard channel, v1.6.1 in Envoy Gateway v1.9) + Envoy Gateway CRDs |
| envoy-gateway | oci://docker.io/envoyproxy/gateway-helm | envoy-gateway-system | chart CRDs skipped (the release above owns them, as Envoy Gateway documents for separately managed CRDs) |
| cert-manager | jetstack/cert-manager | cert-manager | CRDs installed by the chart; `config.enableGatewayAPI: true` (gateway-shim and the HTTP-01 Gateway solver; needs the Gateway API CRDs first) |
| cloudnative-pg | cnpg/cloudnative-pg | cnpg-system | CRDs installed by the chart |
| plugin-barman-cloud | cnpg/plugin-barman-cloud | cnpg-system (must be the operator's namespace) | image and sidecar tag pinned; needs cert-manager for its TLS |
| velero | vmware-tanzu/velero | velero | node agent on (file-system backup); AWS plugin; BackupStorageLocation "default" on the stack's bucket when given |
| keda | kedacore/keda | keda | - |
| prometheus-operator-crds | prometheus-community/prometheus-operator-crds | monitoring | CRDs only |

Also:

- ``{name}-gateway-class``: GatewayClass ``eg`` for the Envoy Gateway controller (the chart creates none).
- ``{name}-cluster-issuer``: a cert-manager ClusterIssuer (ACME) whose HTTP-01 solver is ``gatewayHTTPRoute``:
  cert-manager creates the challenge HTTPRoute in the certificate's namespace with parentRefs the Gateway named
  ``http01_gateway``, section "http". A parentRef without a namespace means the route's own namespace, so one
  ClusterIssuer serves every stack's Gateway. Created after cert-manager, whose webhook must be serving first.
"""

from __future__ import annotations

from typing import Any

import pulumi
from .._core import kube as k8s

from .._core import Platform
from ..tls_ingress._k8s import CONTROLLER_NAME, GATEWAY_API, GATEWAY_NAMESPACE
from . import ClusterAddonsArgs

COMPONENT = "cluster-addons"

#: Helm repository per add-on; None for OCI charts (the chart field is the full oci:// reference).
REPOSITORIES = {
    "gateway-crds": None,
    "envoy-gateway": None,
    "cert-manager": "https://charts.jetstack.io",
    "cloudnative-pg": "https://cloudnative-pg.github.io/charts",
    "plugin-barman-cloud": "https://cloudnative-pg.github.io/charts",
    "velero": "https://vmware-tanzu.github.io/helm-charts",
    "keda": "https://kedacore.github.io/charts",
    "prometheus-operator-crds": "https://prometheus-community.github.io/helm-charts",
}
CHARTS = {
    "gateway-crds": "oci://docker.io/envoyproxy/gateway-crds-helm",
    "envoy-gateway": "oci://docker.io/envoyproxy/gateway-helm",
}
NAMESPACES = {
    "gateway-crds": GATEWAY_NAMESPACE,
    "envoy-gateway": GATEWAY_NAMESPACE,
    "cert-manager": "cert-manager",
    "cloudnative-pg": "cnpg-system",
    "plugin-barman-cloud": "cnpg-system",
    "velero": "velero",
    "keda": "keda",
    "prometheus-operator-crds": "monitoring",
}


def _velero_values(args: ClusterAddonsArgs) -> dict[str, Any]:
    values: dict[str, Any] = {
        # File-system backup (Kopia) of pod volumes needs the node agent on every node.
        "deployNodeAgent": True,
        "snapshotsEnabled": False,
        "initContainers": [{
            "name": "velero-plugin-for-aws",
            "image": f"velero/velero-plugin-for-aws:{args.versions.velero_aws_plugin}",
            "imagePullPolicy": "IfNotPresent",
            "volumeMounts": [{"mountPath": "/target", "name": "plugins"}],
        }],
        "credentials": {"useSecret": True, "existingSecret": args.backup_credentials_secret},
    }
    if args.backup_bucket is None:
        values["backupsEnabled"] = False
        return values
    bucket, _, prefix = str(args.backup_bucket).removeprefix("s3://").partition("/")
    config: dict[str, Any] = {"region": args.backup_region}
    if args.backup_endpoint_url:
        config.update({"s3Url": args.backup_endpoint_url, "s3ForcePathStyle": "true"})
    location: dict[str, Any] = {"name": "default", "provider": "aws", "bucket": bucket, "default": True, "config": config}
    location["prefix"] = f"{prefix.strip('/')}/velero" if prefix.strip("/") else "velero"
    values["configuration"] = {"backupStorageLocation": [location]}
    return values


def _values(addon: str, args: ClusterAddonsArgs) -> dict[str, Any]:
    if addon == "gateway-crds":
        return {"crds": {"gatewayAPI": {"enabled": True, "channel": "standard"}, "envoyGateway": {"enabled": True}}}
    if addon == "cert-manager":
        return {
            "crds": {"enabled": True},
            "config": {
                "apiVersion": "controller.config.cert-manager.io/v1alpha1",
                "kind": "ControllerConfiguration",
                "enableGatewayAPI": True,
            },
        }
    if addon == "cloudnative-pg":
        return {"crds": {"create": True}}
    if addon == "plugin-barman-cloud":
        tag = args.versions.barman_cloud_image
        return {"image": {"tag": tag}, "sidecarImage": {"tag": tag}}
    if addon == "velero":
        return _velero_values(args)
    return {}


def build(name: str, args: ClusterAddonsArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    v = args.versions
    wanted = {
        "gateway-crds": (args.envoy_gateway, v.envoy_gateway),
        "envoy-gateway": (args.envoy_gateway, v.envoy_gateway),
        "cert-manager": (args.cert_manager, v.cert_manager),
        "cloudnative-pg": (args.cloudnative_pg, v.cloudnative_pg),
        "plugin-barman-cloud": (args.cloudnative_pg, v.barman_cloud_plugin),
        "velero": (args.velero, v.velero),
        "keda": (args.keda, v.keda),
        "prometheus-operator-crds": (args.prometheus_operator_crds, v.prometheus_operator_crds),
    }
    #: What must be running before an add-on installs.
    needs = {
        "envoy-gateway": ("gateway-crds",),
        "cert-manager": ("gateway-crds",),  # enableGatewayAPI: the controller needs the Gateway API CRDs
        "plugin-barman-cloud": ("cloudnative-pg", "cert-manager"),
    }
    releases: dict[str, Any] = {}
    for addon, (enabled, version) in wanted.items():
        if not enabled:
            continue
        repo = REPOSITORIES[addon]
        deps = [releases[d] for d in needs.get(addon, ()) if d in releases]
        releases[addon] = k8s.helm.v3.Release(
            f"{name}-{addon}",
            k8s.helm.v3.ReleaseArgs(
                name=addon,
                chart=CHARTS.get(addon, addon),
                version=version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repo) if repo else None,
                namespace=NAMESPACES[addon],
                create_namespace=True,
                # The gateway-crds release owns the Gateway API and Envoy Gateway CRDs.
                skip_crds=True if addon == "envoy-gateway" else None,
                # Roll back a failed upgrade instead of leaving a half-applied controller.
                atomic=True,
                cleanup_on_fail=True,
                values=_values(addon, args),
            ),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=deps)) if deps else child,
        )

    labels = lambda n: {**platform.labels(COMPONENT), **platform.k8s_labels(COMPONENT, n)}  # noqa: E731
    if "envoy-gateway" in releases:
        k8s.apiextensions.CustomResource(
            f"{name}-gateway-class",
            api_version=f"{GATEWAY_API}/v1",
            kind="GatewayClass",
            metadata={"name": args.gateway_class, "labels": labels(args.gateway_class)},  # cluster-scoped
            spec={"controllerName": CONTROLLER_NAME},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[releases["envoy-gateway"]])),
        )

    if "cert-manager" in releases:
        parent: dict[str, Any] = {"group": GATEWAY_API, "kind": "Gateway", "name": args.http01_gateway, "sectionName": "http"}
        if args.http01_gateway_namespace:
            parent["namespace"] = args.http01_gateway_namespace
        acme: dict[str, Any] = {
            "server": args.acme_server,
            "privateKeySecretRef": {"name": f"{args.cluster_issuer}-account-key"},
            "solvers": [{"http01": {"gatewayHTTPRoute": {"parentRefs": [parent]}}}],
        }
        if args.acme_email:
            acme["email"] = args.acme_email
        k8s.apiextensions.CustomResource(
            f"{name}-cluster-issuer",
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata={"name": args.cluster_issuer, "labels": labels(args.cluster_issuer)},  # cluster-scoped
            spec={"acme": acme},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[releases["cert-manager"]])),
        )

    return {"installed": list(releases)}
