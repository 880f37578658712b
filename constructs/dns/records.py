"""One Route 53 CNAME per HTTPRoute: custom domain -> the Lattice-assigned DNS name the controller writes
into the route's annotation. A custom resource (provider framework with a waiter) reads it at deploy time."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aws_cdk import Aws, CfnOutput, CustomResource, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct
from constructs.provider import CustomResourceProvider
from constructs.python_function import PythonFunction, cluster_function
from constructs.schedule import run_every
from constructs.workload import route_object

from config import AppConfig
from config.lattice_names import route_object_name
from config.model import ROUTE_KINDS, Route
from config.versions import CONTROLLER_NAMESPACE

ROUTE_READERS_GROUP = "eks-lattice-gateway:route-readers"
# The resync's routes travel in a file of its code asset (lambda/lattice_dns/handler.py RECORDS_FILE), the values
# every record shares in RECORD_DEFAULTS: Lambda's 4 KB of environment would not hold many routes' records.
RECORDS_FILE = "lattice_dns/records.json"
SHARED_RECORD_KEYS = ("ClusterName", "HostedZoneId")


def route_resource(route: Route) -> str:
    """The API resource (plural) of the route's kind: httproutes, grpcroutes or tlsroutes."""
    return ROUTE_KINDS[route.protocol].lower() + "s"


class LatticeDnsRecords(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        config: AppConfig,
        hosted_zone_id: str,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        routes: dict[str, eks.KubernetesManifest],
        namespace_manifest: eks.KubernetesManifest | None,
        log_retention: logs.RetentionDays,
    ) -> None:
        """`namespace_manifest`: the manifest that creates the workload's namespaces (None: only `default`); the
        readers' RoleBindings in them wait for it, as kubectl does not retry "namespace not found"."""
        super().__init__(scope, construct_id)
        zone_arn = f"arn:{Aws.PARTITION}:route53:::hostedzone/{hosted_zone_id}"
        records = [
            {
                "ClusterName": cluster.cluster_name,
                "Namespace": r.namespace,
                "RouteName": route_object_name(r, config.cluster_name),
                "Hostname": r.hostname,
                "HostedZoneId": hosted_zone_id,
                # Only for the kinds after HTTPRoute (issue 26): records of HTTP routes keep their properties.
                **({"RouteResource": route_resource(r)} if route_resource(r) != "httproutes" else {}),
            }
            for r in config.routes
        ]

        # The records these functions may change: any CNAME or TXT *inside* the zone (never its apex, NS or SOA),
        # created or deleted. Not only the current config's names: when a hostname changes or a route is removed,
        # CloudFormation deletes the old record during UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, after this policy has
        # already been updated, so a per-config list would refuse that delete and leave the zone non-empty.
        # Records of others stay safe through the ownership marker (records.py), not through IAM.
        change_conditions = {
            "ForAllValues:StringLike": {
                "route53:ChangeResourceRecordSetsNormalizedRecordNames": [f"*.{config.private_zone_name}"],
            },
            "ForAllValues:StringEquals": {
                "route53:ChangeResourceRecordSetsRecordTypes": ["CNAME", "TXT"],
                "route53:ChangeResourceRecordSetsActions": ["UPSERT", "DELETE"],
            },
        }

        # Route 53 rights in a managed policy of their own whose Description (create-only) names the zone: a new
        # zone (privateZoneName) replaces the policy instead of updating it, so the old one, naming the old zone,
        # stays attached until CloudFormation's cleanup has deleted the old records (each record depends on it, so
        # it goes after them). An updated policy would name only the new zone by then: the old records' Delete
        # would be refused (AccessDenied) and the records, and with them the old zone, left behind.
        zone_access = iam.ManagedPolicy(
            self,
            "ZoneAccess",
            description=f"Lattice DNS: CNAME and TXT records in zone {hosted_zone_id} ({config.private_zone_name})",
            statements=[
                iam.PolicyStatement(
                    actions=["route53:GetHostedZone", "route53:ListResourceRecordSets"], resources=[zone_arn]
                ),
                iam.PolicyStatement(
                    actions=["route53:ChangeResourceRecordSets"], resources=[zone_arn], conditions=change_conditions
                ),
            ],
        )

        shared = {key: records[0][key] for key in SHARED_RECORD_KEYS}
        route_entries = [{k: v for k, v in r.items() if k not in SHARED_RECORD_KEYS} for r in records]

        def function(construct_id: str, handler: str, description: str, timeout: Duration) -> PythonFunction:
            resync = handler.endswith("resync")
            fn = cluster_function(
                self,
                construct_id,
                cluster=cluster,
                vpc=vpc,
                security_group=security_group,
                packages=("k8s_api", "lattice_dns"),
                handler=handler,
                description=description,
                timeout=timeout,
                log_retention=log_retention,
                environment={"RECORD_DEFAULTS": json.dumps(shared)} if resync else None,
                files={RECORDS_FILE: json.dumps(route_entries, indent=1) + "\n"} if resync else None,
            )
            zone_access.attach_to_role(fn.role)
            return fn

        on_event = function(
            "OnEvent",
            "lattice_dns.handler.on_event",
            "Lattice DNS: writes the CNAME for an HTTPRoute",
            Duration.minutes(1),
        )
        is_complete = function(
            "IsComplete",
            "lattice_dns.handler.is_complete",
            "Lattice DNS: waits for the HTTPRoute's Lattice DNS annotation",
            Duration.minutes(3),
        )
        roles = [on_event.role, is_complete.role]
        if config.dns_resync_minutes:
            resync = function(
                "Resync",
                "lattice_dns.handler.resync",
                "Lattice DNS: periodic repair of the CNAMEs",
                Duration.minutes(5),
            )
            run_every(
                self,
                "ResyncSchedule",
                function=resync.function,
                minutes=config.dns_resync_minutes,
                description="Runs the Lattice DNS re-sync",
            )
            roles.append(resync.role)

        # Read-only Kubernetes access: view in the routes' namespaces (and the controller's, for readiness in
        # timeout messages) plus get on HTTPRoutes, which the built-in view role does not cover (CRDs).
        namespaces = sorted({*config.namespaces, CONTROLLER_NAMESPACE})
        access_entries = [
            eks.CfnAccessEntry(
                self,
                f"AccessEntry{index}",
                cluster_name=cluster.cluster_name,
                principal_arn=role.role_arn,
                kubernetes_groups=[ROUTE_READERS_GROUP],
                access_policies=[
                    eks.CfnAccessEntry.AccessPolicyProperty(
                        policy_arn=f"arn:{Aws.PARTITION}:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
                        access_scope=eks.CfnAccessEntry.AccessScopeProperty(type="namespace", namespaces=namespaces),
                    )
                ],
            )
            for index, role in enumerate(roles)
        ]
        rbac = eks.KubernetesManifest(
            self,
            "RouteReaderRbac",
            cluster=cluster,
            overwrite=True,
            manifest=[
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRole",
                    "metadata": {"name": "eks-lattice-gateway-route-reader"},
                    "rules": [
                        {
                            "apiGroups": ["gateway.networking.k8s.io"],
                            # Every route kind, whatever the config uses now: a record added with the first
                            # GRPC or TLS route need not wait for this manifest's update.
                            "resources": ["grpcroutes", "httproutes", "tlsroutes"],
                            "verbs": ["get", "list"],
                        }
                    ],
                },
            ],
        )
        # One resource per namespace's binding: kubectl's prune never deletes a RoleBinding dropped from an updated
        # manifest (constructs/workload/manifests.py), a removed resource's Delete does.
        self.bindings = [
            eks.KubernetesManifest(
                self,
                f"RouteReaderBinding-{ns}",
                cluster=cluster,
                overwrite=True,
                manifest=[
                    {
                        "apiVersion": "rbac.authorization.k8s.io/v1",
                        "kind": "RoleBinding",
                        "metadata": {"name": "eks-lattice-gateway-route-reader", "namespace": ns},
                        "roleRef": {
                            "apiGroup": "rbac.authorization.k8s.io",
                            "kind": "ClusterRole",
                            "name": "eks-lattice-gateway-route-reader",
                        },
                        "subjects": [
                            {"kind": "Group", "name": ROUTE_READERS_GROUP, "apiGroup": "rbac.authorization.k8s.io"}
                        ],
                    }
                ],
            )
            for ns in sorted(config.namespaces)
        ]

        if namespace_manifest is not None:
            rbac.node.add_dependency(namespace_manifest)

        provider = CustomResourceProvider(
            self,
            "Provider",
            on_event=on_event.function,
            is_complete=is_complete.function,
            query_interval=Duration.seconds(10),
            total_timeout=Duration.minutes(config.dns_record_timeout_minutes),
            log_retention=log_retention,
        )
        self.records: dict[str, CustomResource] = {}
        for record, route in zip(records, config.routes, strict=True):
            key = f"{route.namespace}/{route.name}"
            resource = CustomResource(
                self,
                f"Record-{route.namespace}-{route.name}",
                service_token=provider.service_token,
                resource_type="Custom::LatticeDnsRecord",
                properties={
                    **record,
                    "TimeoutSeconds": str(config.dns_record_timeout_minutes * 60),
                    "Ttl": "60",
                    # A changed route may get a new Lattice name: this makes CloudFormation send an Update.
                    "RouteSpecHash": _digest(route_object(config, route)),
                },
            )
            # Created after the route (and its readers' access), deleted before it (SPEC §4).
            resource.node.add_dependency(routes[key], rbac, *self.bindings, *access_entries, zone_access)
            self.records[key] = resource
            CfnOutput(self, f"CustomDomain-{route.name}", value=route.hostname, description=f"Custom domain of {key}")
            CfnOutput(
                self,
                f"LatticeDomain-{route.name}",
                value=resource.get_att_string("LatticeDomainName"),
                description=f"Lattice-assigned DNS name of {key} (the CNAME's target)",
            )


def _digest(obj: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]
