"""GCP backend of Network: a custom-mode VPC the stack's Cloud Run services, Cloud SQL and Memorystore share.

What it creates:

* ``{name}-vpc``: custom-mode VPC (no auto subnets), regional routing;
* ``{name}-subnet``: the lower half of ``cidr`` in the stack's region, Private Google Access on (Google APIs
  without external IPs), VPC flow logs (5 s aggregation, 50 % sampling, all metadata). Cloud Run services attach
  to it with Direct VPC egress (no Serverless VPC Access connector to run and pay for);
* flow-log retention: ``{name}-flow-logs`` a log bucket with ``flow_log_retention_days`` and ``{name}-flow-logs-sink``
  routing this subnet's ``vpc_flows`` entries into it (the project's ``_Default`` bucket keeps 30 days whatever a
  stack asks);
* private services access for Cloud SQL and Memorystore: ``{name}-psa-range`` (the upper half of ``cidr``,
  purpose VPC_PEERING) and ``{name}-psa`` (the service networking peering). Neither store gets a public IP;
* firewall, deny by default: ``{name}-deny-ingress`` and ``{name}-deny-egress`` (priority 65000, logged), then
  allows for what the links need: egress to the private services range on 5432 (PostgreSQL) and 6378/6379
  (Memorystore TLS/plain), egress inside the subnet on the services' ports (service-to-service calls), egress
  HTTPS to Google's private API range 199.36.153.8/30, and with ``gcp.nat`` HTTPS out to the internet for
  services tagged ``internet-egress`` (WebServices with ``internet_egress``);
* ``{name}-run-app-zone`` + ``{name}-run-app-record``: a Cloud DNS private zone ``run.app.`` answering
  ``*.run.app`` with private.googleapis.com (199.36.153.8/30), so one service's call to another's internal
  ``https://<service>-<hash>.<region>.run.app`` URL stays in the VPC and is admitted by the callee's internal
  ingress;
* ``{name}-googleapis-zone`` + ``-private`` + ``-cname``: a private zone ``googleapis.com.`` sending
  ``*.googleapis.com`` to private.googleapis.com (the same range), so API calls from services (and the CREMA
  autoscaler) stay inside the VPC under the deny-all egress;
* with ``gcp.nat``: ``{name}-router`` + ``{name}-nat`` (Cloud NAT for the subnet, automatic IPs, errors logged);
* with ``gcp.customer_managed_keys``: ``{name}-keyring`` + ``{name}-key`` (Cloud KMS, 90-day rotation,
  ``protect``ed in prod: losing it loses the data encrypted with it). Consumers grant their service agent
  ``roles/cloudkms.cryptoKeyEncrypterDecrypter`` on it; the Secret Manager agent's grant is made here
  (``{name}-secrets-agent`` + ``{name}-secrets-key-access``) because every component's secrets use it.

``zones`` and ``nat_per_zone`` have no GCP counterpart: a subnet spans every zone of its region and Cloud NAT is a
regional, zone-redundant managed service.

Cost: VPC, firewall and DNS private zone ~free ($0.20/zone-month); Cloud NAT $0.0014/h per VM-equivalent + data;
flow logs ingestion; KMS $0.06/key-version-month.
"""

from __future__ import annotations

import ipaddress
from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi_gcp as gcp

from .._core import Cloud, InputError, Platform, options_for, stateful_opts
from .._core.gcp_compute import compute
from . import GcpNetworkOptions

_COMPONENT = "network"
PRIVATE_API_RANGE = "199.36.153.8/30"  # private.googleapis.com
PRIVATE_API_IPS = ("199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11")
INTERNET_EGRESS_TAG = "internet-egress"
SERVICE_TAG = "prodkit-service"
KEY_ROTATION = "7776000s"  # 90 days


def ranges(cidr: str) -> tuple[str, str]:
    """(subnet, private services range): the lower and upper half of the VPC CIDR."""
    low, high = ipaddress.ip_network(cidr).subnets(prefixlen_diff=1)
    return str(low), str(high)


def validate(args: Any, platform: Platform) -> None:
    """GCP needs a region for the subnet (the stack validates its form)."""
    if not platform.region:
        raise InputError("prodkit:region", "", "GCP needs a region for the subnet, e.g. 'us-central1'")


def build(name: str, args: Any, platform: Platform, child: pulumi.ResourceOptions) -> dict[str, Any]:
    opts = options_for(args, Cloud.GCP, GcpNetworkOptions)
    labels = platform.labels(_COMPONENT)
    region = platform.region
    subnet_cidr, psa_cidr = ranges(args.cidr)
    psa_net = ipaddress.ip_network(psa_cidr)

    vpc = compute.Network(
        f"{name}-vpc", project=opts.project, name=platform.physical_name("vpc"), auto_create_subnetworks=False, routing_mode="REGIONAL",
        description=f"{platform.app}/{platform.stack} private network", opts=child,
    )
    subnet = compute.Subnetwork(
        f"{name}-subnet", project=opts.project, name=platform.physical_name("subnet"), network=vpc.id, region=region, ip_cidr_range=subnet_cidr,
        private_ip_google_access=True, stack_type="IPV4_ONLY",
        log_config={"aggregation_interval": "INTERVAL_5_SEC", "flow_sampling": 0.5, "metadata": "INCLUDE_ALL_METADATA"},
        opts=child,
    )
    flow_bucket = gcp.logging.ProjectBucketConfig(
        f"{name}-flow-logs", project=opts.project or gcp.organizations.get_client_config_output(opts=pulumi.InvokeOptions(parent=child.parent)).project,
        location="global", bucket_id=platform.physical_name("flow-logs", limit=100), retention_days=args.flow_log_retention_days,
        description=f"VPC flow logs of {platform.app}/{platform.stack}", opts=child,
    )
    gcp.logging.ProjectSink(
        f"{name}-flow-logs-sink", name=platform.physical_name("flow-logs", limit=100), project=opts.project,
        destination=pulumi.Output.concat("logging.googleapis.com/", flow_bucket.id),
        filter=pulumi.Output.concat('log_id("compute.googleapis.com/vpc_flows") AND resource.labels.subnetwork_name="', subnet.name, '"'),
        unique_writer_identity=True, opts=child,
    )

    psa_range = compute.GlobalAddress(
        f"{name}-psa-range", project=opts.project, name=platform.physical_name("psa"), purpose="VPC_PEERING", address_type="INTERNAL",
        address=str(psa_net.network_address), prefix_length=psa_net.prefixlen, network=vpc.id,
        description="Private services access (Cloud SQL, Memorystore)", labels=labels, opts=child,
    )
    psa = gcp.servicenetworking.Connection(
        f"{name}-psa", network=vpc.id, service="servicenetworking.googleapis.com", reserved_peering_ranges=[psa_range.name],
        opts=child,
    )

    def firewall(role: str, **kw: Any) -> None:
        compute.Firewall(
            f"{name}-{role}", project=opts.project, name=platform.physical_name(role), network=vpc.id,
            log_config={"metadata": "INCLUDE_ALL_METADATA"}, opts=child, **kw,
        )

    firewall("deny-ingress", direction="INGRESS", priority=65000, denies=[{"protocol": "all"}], source_ranges=["0.0.0.0/0"],
             description="Deny all ingress (Cloud Run receives requests through Google's front ends, not the VPC)")
    firewall("deny-egress", direction="EGRESS", priority=65000, denies=[{"protocol": "all"}], destination_ranges=["0.0.0.0/0"],
             description="Deny all egress not allowed below")
    firewall("allow-egress-stores", direction="EGRESS", priority=1000, destination_ranges=[psa_cidr],
             allows=[{"protocol": "tcp", "ports": ["5432", "6378", "6379"]}],
             description="PostgreSQL and Redis (TLS 6378) in the private services range")
    firewall("allow-egress-google", direction="EGRESS", priority=1000, destination_ranges=[PRIVATE_API_RANGE],
             allows=[{"protocol": "tcp", "ports": ["443"]}],
             description="Google APIs and internal run.app calls through private.googleapis.com")
    firewall("allow-egress-subnet", direction="EGRESS", priority=1000, destination_ranges=[subnet_cidr],
             allows=[{"protocol": "tcp"}], description="Between the stack's services")
    firewall("allow-ingress-subnet", direction="INGRESS", priority=1000, source_ranges=[subnet_cidr],
             allows=[{"protocol": "tcp"}], description="Between the stack's services")
    if opts.nat:
        firewall("allow-egress-internet", direction="EGRESS", priority=1000, destination_ranges=["0.0.0.0/0"],
                 allows=[{"protocol": "tcp", "ports": ["443"]}], target_tags=[INTERNET_EGRESS_TAG],
                 description="HTTPS to the internet (LLM and GitHub APIs) for services with internet_egress")

    zone = gcp.dns.ManagedZone(
        f"{name}-run-app-zone", project=opts.project, name=platform.physical_name("run-app"), dns_name="run.app.", visibility="private",
        description="Internal run.app calls through private.googleapis.com",
        private_visibility_config={"networks": [{"network_url": vpc.id}]}, labels=labels, opts=child,
    )
    gcp.dns.RecordSet(
        f"{name}-run-app-record", project=opts.project, managed_zone=zone.name, name="*.run.app.", type="A", ttl=300, rrdatas=list(PRIVATE_API_IPS),
        opts=child,
    )

    # Every service sends all traffic through the VPC and the firewall denies the internet by default, so Google
    # APIs (the CREMA autoscaler's Cloud Run Admin / Parameter Manager calls, any client library) must resolve to
    # private.googleapis.com, which Private Google Access serves from inside the VPC.
    apis = gcp.dns.ManagedZone(
        f"{name}-googleapis-zone", project=opts.project, name=platform.physical_name("googleapis"), dns_name="googleapis.com.",
        visibility="private", description="Google APIs through private.googleapis.com (Private Google Access)",
        private_visibility_config={"networks": [{"network_url": vpc.id}]}, labels=labels, opts=child,
    )
    gcp.dns.RecordSet(
        f"{name}-googleapis-private", project=opts.project, managed_zone=apis.name, name="private.googleapis.com.", type="A", ttl=300,
        rrdatas=list(PRIVATE_API_IPS), opts=child,
    )
    gcp.dns.RecordSet(
        f"{name}-googleapis-cname", project=opts.project, managed_zone=apis.name, name="*.googleapis.com.", type="CNAME", ttl=300,
        rrdatas=["private.googleapis.com."], opts=child,
    )

    if opts.nat:
        router = compute.Router(f"{name}-router", project=opts.project, name=platform.physical_name("router"), network=vpc.id, region=region, opts=child)
        compute.RouterNat(
            f"{name}-nat", project=opts.project, name=platform.physical_name("nat"), router=router.name, region=region,
            nat_ip_allocate_option="AUTO_ONLY", source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[{"name": subnet.id, "source_ip_ranges_to_nats": ["ALL_IP_RANGES"]}],
            enable_endpoint_independent_mapping=False,
            log_config={"enable": True, "filter": "ERRORS_ONLY"}, opts=child,
        )

    key_id = secrets_key_access = None
    if opts.customer_managed_keys:
        ring = gcp.kms.KeyRing(f"{name}-keyring", name=platform.physical_name("keyring"), location=region, project=opts.project,
                               opts=stateful_opts(child, True))  # key rings cannot be deleted at all
        key = gcp.kms.CryptoKey(
            f"{name}-key", name=platform.physical_name("key"), key_ring=ring.id, purpose="ENCRYPT_DECRYPT",
            rotation_period=KEY_ROTATION, destroy_scheduled_duration="2592000s", labels=labels,
            opts=stateful_opts(child, True),  # only prod profiles ask for CMEK; losing the key loses the data
        )
        key_id = key.id
        # Secret Manager encrypts every secret of the stack with this key (user-managed replicas in `region`, the
        # key ring's location): its per-project service agent needs the key before the first secret exists.
        agent = gcp.projects.ServiceIdentity(f"{name}-secrets-agent", service="secretmanager.googleapis.com", project=opts.project, opts=child)
        secrets_key_access = gcp.kms.CryptoKeyIAMMember(
            f"{name}-secrets-key-access", crypto_key_id=key_id, role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member=pulumi.Output.concat("serviceAccount:", agent.email), opts=child,
        )

    handle = SimpleNamespace(
        network_id=vpc.id, network_name=vpc.name, subnet_id=subnet.id, region=region, project=opts.project,
        cidr=args.cidr, subnet_cidr=subnet_cidr, psa_cidr=psa_cidr, psa_range_name=psa_range.name, psa_connection=psa,
        kms_key_id=key_id, secrets_key_access=secrets_key_access, nat=opts.nat,
    )
    return {"network_id": vpc.id, "handle": handle}
