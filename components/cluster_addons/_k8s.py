"""ClusterAddons on Kubernetes: one Helm release per add-on, each in its own namespace, plus the ACME ClusterIssuer.

Releases (logical name ``{name}-{addon}``, Helm release name = the add-on name):

| add-on | chart | namespace | values that matter |
|---|---|---|---|
| ingress-nginx | ingress-nginx/ingress-nginx | ingress-nginx | snippets off; the security headers TlsIngress sets are allowed as custom response headers |
| cert-manager | jetstack/cert-manager | cert-manager | CRDs installed by the chart |
| cloudnative-pg | cnpg/cloudnative-pg | cnpg-system | CRDs installed by the chart |
| keda | kedacore/keda | keda | - |
| prometheus-operator-crds | prometheus-community/prometheus-operator-crds | monitoring | CRDs only |

``{name}-cluster-issuer`` is a cert-manager ClusterIssuer (ACME, HTTP-01 through the nginx IngressClass) created
after the cert-manager release, whose webhook must be serving before cert-manager resources are accepted.
"""

from __future__ import annotations

from typing import Any

import pulumi
from .._core import kube as k8s

from .._core import Platform
from ..tls_ingress._k8s import RESPONSE_HEADERS
from . import ClusterAddonsArgs

COMPONENT = "cluster-addons"

REPOSITORIES = {
    "ingress-nginx": "https://kubernetes.github.io/ingress-nginx",
    "cert-manager": "https://charts.jetstack.io",
    "cloudnative-pg": "https://cloudnative-pg.github.io/charts",
    "keda": "https://kedacore.github.io/charts",
    "prometheus-operator-crds": "https://prometheus-community.github.io/helm-charts",
}
NAMESPACES = {
    "ingress-nginx": "ingress-nginx",
    "cert-manager": "cert-manager",
    "cloudnative-pg": "cnpg-system",
    "keda": "keda",
    "prometheus-operator-crds": "monitoring",
}


def _values(addon: str, args: ClusterAddonsArgs) -> dict[str, Any]:
    if addon == "ingress-nginx":
        return {
            "controller": {
                "ingressClassResource": {"name": args.ingress_class},
                "ingressClass": args.ingress_class,
                "config": {
                    # Snippets let any Ingress author inject nginx configuration: keep them off.
                    "allow-snippet-annotations": "false",
                    # TlsIngress sets these through `custom-headers`; the controller refuses unlisted names.
                    "global-allowed-response-headers": ",".join(RESPONSE_HEADERS),
                    "hsts": "true",
                    "hsts-include-subdomains": "true",
                    "ssl-protocols": "TLSv1.2 TLSv1.3",
                },
            }
        }
    if addon == "cert-manager":
        return {"crds": {"enabled": True}}
    if addon == "cloudnative-pg":
        return {"crds": {"create": True}}
    return {}


def build(name: str, args: ClusterAddonsArgs, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    wanted = {
        "ingress-nginx": (args.ingress_nginx, args.versions.ingress_nginx),
        "cert-manager": (args.cert_manager, args.versions.cert_manager),
        "cloudnative-pg": (args.cloudnative_pg, args.versions.cloudnative_pg),
        "keda": (args.keda, args.versions.keda),
        "prometheus-operator-crds": (args.prometheus_operator_crds, args.versions.prometheus_operator_crds),
    }
    releases: dict[str, k8s.helm.v3.Release] = {}
    for addon, (enabled, version) in wanted.items():
        if not enabled:
            continue
        releases[addon] = k8s.helm.v3.Release(
            f"{name}-{addon}",
            k8s.helm.v3.ReleaseArgs(
                name=addon,
                chart=addon,
                version=version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=REPOSITORIES[addon]),
                namespace=NAMESPACES[addon],
                create_namespace=True,
                # Roll back a failed upgrade instead of leaving a half-applied controller.
                atomic=True,
                cleanup_on_fail=True,
                values=_values(addon, args),
            ),
            opts=child,
        )

    if "cert-manager" in releases:
        issuer = f"{name}-cluster-issuer"
        acme: dict[str, Any] = {
            "server": args.acme_server,
            "privateKeySecretRef": {"name": f"{args.cluster_issuer}-account-key"},
            "solvers": [{"http01": {"ingress": {"ingressClassName": args.ingress_class}}}],
        }
        if args.acme_email:
            acme["email"] = args.acme_email
        k8s.apiextensions.CustomResource(
            issuer,
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            # Cluster-scoped: no namespace.
            metadata={
                "name": args.cluster_issuer,
                "labels": {**platform.labels(COMPONENT), **platform.k8s_labels(COMPONENT, args.cluster_issuer)},
            },
            spec={"acme": acme},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[releases["cert-manager"]])),
        )

    return {"installed": list(releases)}
