"""The VPC Lattice service network, owned by CloudFormation (not by the controller), and its two VPC
associations, access logs and auth policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, CustomResource, Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_vpclattice as lattice
from constructs import Construct
from constructs.controller import MANAGED_BY_TAG_KEY
from constructs.nag import acknowledge
from constructs.provider import CustomResourceProvider
from constructs.python_function import PythonFunction

from config.access_policy import network_statements

# The drain waiter's deadline (the provider's total_timeout, 20 min, must exceed it plus a query interval), and
# the grace period before it removes an unhealthy controller's leftovers: longer than the controller pods'
# termination grace (30 s) plus a reconcile, so a controller still finishing its own deletes is not raced.
DRAIN_TIMEOUT_SECONDS = 1080
CLEANUP_AFTER_SECONDS = 120


def access_log_group_name(network_name: str) -> str:
    """The service network's access log group (read by the dashboard's saved queries)."""
    return f"/aws/vendedlogs/vpclattice/{network_name}"


@dataclass(frozen=True, kw_only=True)
class AssociatedVpc:
    name: str
    vpc: ec2.IVpc
    cidr: str


def association_rules(ports: tuple[int, ...]) -> list[tuple[int, str]]:
    """(port, description) of a VPC association security group's ingress from its VPC: the Gateway's listener
    ports (config.model.AppConfig.association_ports); a client reaches a listener only on a port they admit."""
    names = {80: "HTTP from the VPC", 443: "HTTPS from the VPC"}
    return [(port, names.get(port, f"TLS {port} from the VPC")) for port in ports]


class LatticeServiceNetwork(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        auth_type: str,
        vpcs: list[AssociatedVpc],
        controller_managed_by: str,
        log_retention: logs.RetentionDays,
        log_key: kms.IKey,
        admit_unsigned: bool = False,
        consumer_statement: dict[str, Any] | None = None,
        named_roles: list[str] | None = None,
        ports: tuple[int, ...] = (80, 443),
    ) -> None:
        """controller_managed_by: the AWS Gateway API Controller's ManagedBy tag value for this app's cluster
        (constructs.controller.values.controller_managed_by); on delete, the drain waiter removes what carries
        it, should the controller have left anything associated with the network.
        `admit_unsigned`: some route admits unsigned callers; `consumer_statement`: the consumer accounts'
        auth-policy statement (constructs.sharing.network_share.consumer_auth_statement); `named_roles`: roles routes
        name outside the consumer accounts (config.access_policy.network_roles), admitted by ARN. AWS_IAM only."""
        super().__init__(scope, construct_id)
        self.network = lattice.CfnServiceNetwork(self, "ServiceNetwork", name=name, auth_type=auth_type)
        self.network.apply_removal_policy(RemovalPolicy.DESTROY)

        # Log delivery adds each destination group's ARN to the account's one CloudWatch Logs resource policy
        # (AWSLogDeliveryWrite20150319, at most 5,120 characters) unless the name is under /aws/vendedlogs/,
        # which a single wildcard statement covers.
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=access_log_group_name(name),
            retention=log_retention,
            encryption_key=log_key,  # every request's caller, path and status: the app's log key
            removal_policy=RemovalPolicy.DESTROY,
        )
        lattice.CfnAccessLogSubscription(
            self,
            "AccessLogSubscription",
            resource_identifier=self.network.attr_arn,
            destination_arn=access_logs.log_group_arn,
        )

        if auth_type == "AWS_IAM":
            # Authenticated principals of this account and the consumer accounts; unsigned callers from the
            # associated VPCs only when a route opts in (config/access_policy.py).
            lattice.CfnAuthPolicy(
                self,
                "AuthPolicy",
                resource_identifier=self.network.attr_id,
                policy={
                    "Version": "2012-10-17",
                    "Statement": network_statements(
                        account=Aws.ACCOUNT_ID,
                        vpc_ids=[v.vpc.vpc_id for v in vpcs],
                        unsigned=admit_unsigned,
                        consumer_statement=consumer_statement,
                        roles=named_roles,
                    ),
                },
            )

        drain = self._drain_waiter(log_retention, controller_managed_by)
        self.associations: dict[str, lattice.CfnServiceNetworkVpcAssociation] = {}
        for item in vpcs:
            sg = ec2.SecurityGroup(
                self,
                f"{item.name}AssociationSecurityGroup",
                vpc=item.vpc,
                description=f"Lattice association of the {item.name} VPC: HTTP/HTTPS from that VPC only",
                allow_all_outbound=False,
            )
            for port, what in association_rules(ports):
                sg.add_ingress_rule(ec2.Peer.ipv4(item.cidr), ec2.Port.tcp(port), what)
            association = lattice.CfnServiceNetworkVpcAssociation(
                self,
                f"{item.name}Association",
                service_network_identifier=self.network.attr_id,
                vpc_identifier=item.vpc.vpc_id,
                security_group_ids=[sg.security_group_id],
            )
            # Deleted before the waiter, which holds the network's delete until Lattice has really let go.
            association.node.add_dependency(drain)
            self.associations[item.name] = association

    def _drain_waiter(self, log_retention: logs.RetentionDays, controller_managed_by: str) -> CustomResource:
        """On delete, wait until the network has no VPC or service associations left (Lattice deletes them
        asynchronously and answers 409 to a network delete until then), removing what an unhealthy
        controller of this cluster left behind (lambda/lattice_drain/handler.py)."""
        handler, waiter = _drain_functions(
            self,
            handler=("DrainHandler", "Waits for Lattice associations to go before the service network is deleted"),
            waiter=(
                "DrainWaiter",
                "Polls the network's associations on delete; removes this cluster's controller leftovers",
            ),
            log_retention=log_retention,
        )
        for fn in (handler, waiter):
            fn.role.add_to_policy(
                iam.PolicyStatement(actions=["vpc-lattice:GetServiceNetwork"], resources=[self.network.attr_arn])
            )
            # The association List actions take no resource-level permissions (IAM service authorization
            # reference for VPC Lattice): "*" is the only resource they accept. Read-only. The resource and
            # endpoint association listings (what else blocks the network's delete) are named as AWS's managed
            # ReadOnlyAccess policy names them (moto 5.2.5's copy, moto/iam/aws_managed_policies.py, read
            # 2026-12-05); whether they would take a narrower resource is unverified, so "*" like their siblings.
            fn.role.add_to_policy(
                iam.PolicyStatement(
                    actions=[
                        "vpc-lattice:ListServiceNetworkVpcAssociations",
                        "vpc-lattice:ListServiceNetworkServiceAssociations",
                        "vpc-lattice:ListServiceNetworkResourceAssociations",
                        "vpc-lattice:ListServiceNetworkVpcEndpointAssociations",
                    ],
                    resources=["*"],
                )
            )
            acknowledge(
                fn.role,
                "AwsSolutions-IAM5[Resource::*]",
                "Lattice's List* actions (associations; for the waiter also services and target groups) and "
                "ListTagsForResource support no resource-level permissions; read-only.",
            )
        return _drain_resource(
            self,
            ids=("DrainProvider", "DrainWaiterResource"),
            functions=(handler, waiter),
            resource_type="Custom::LatticeServiceNetworkDrain",
            network_id=self.network.attr_id,
            controller_managed_by=controller_managed_by,
            log_retention=log_retention,
        )


def grant_controller_cleanup(role: iam.IRole, controller_managed_by: str) -> None:
    """Only the waiter deletes, and only what carries this cluster's ManagedBy tag (every action below
    that takes a resource supports aws:ResourceTag: IAM service authorization reference for VPC Lattice)."""

    def arns(resource_type: str) -> list[str]:
        # IDs are Lattice's, assigned when the controller created them; the tag condition does the scoping.
        # Pseudo parameters even in a stack with a concrete environment: one ARN form, one acknowledgment.
        return [f"arn:{Aws.PARTITION}:vpc-lattice:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource_type}/*"]

    owned = {"StringEquals": {f"aws:ResourceTag/{MANAGED_BY_TAG_KEY}": controller_managed_by}}
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["vpc-lattice:DeleteServiceNetworkServiceAssociation"],
            resources=arns("servicenetworkserviceassociation"),
            conditions=owned,
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["vpc-lattice:DeleteService"], resources=arns("service"), conditions=owned)
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["vpc-lattice:ListTargets", "vpc-lattice:DeregisterTargets", "vpc-lattice:DeleteTargetGroup"],
            resources=arns("targetgroup"),
            conditions=owned,
        )
    )
    # No resource-level permissions for these (same reference): "*" is the only resource they take. They
    # only read; the handler decides ownership from the tags they return.
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "vpc-lattice:ListServices",
                "vpc-lattice:ListTargetGroups",
                "vpc-lattice:ListTagsForResource",
            ],
            resources=["*"],
        )
    )
    for resource_type in ("servicenetworkserviceassociation", "service", "targetgroup"):
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:vpc-lattice:<AWS::Region>:<AWS::AccountId>:"
            f"{resource_type}/*]",
            f"Lattice assigns {resource_type} IDs when the controller creates them; the statement is limited "
            f"by the aws:ResourceTag/{MANAGED_BY_TAG_KEY} condition to this cluster's controller's resources.",
        )


class LatticeServiceSweep(Construct):
    """The Gateway stack's half of the cleanup: on the stack's delete, removes what this cluster's controller left
    in Lattice (service associations on the network, services, target groups), so that a Gateway-only destroy
    with the controller down strands no service and no custom domain (lambda/lattice_drain/handler.py, Mode
    sweep). Everything the controller does must come after it (`resource`), so that it is deleted after the
    controller: the controller cannot recreate what it sweeps."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network_id: str,
        controller_managed_by: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        handler, waiter = _drain_functions(
            self,
            handler=("Handler", "Validates the Lattice sweep; on delete records its start"),
            waiter=(
                "Waiter",
                "On the Gateway stack's delete, removes this cluster's controller leftovers from Lattice",
            ),
            log_retention=log_retention,
        )
        # No resource-level permissions for the List action (as in LatticeServiceNetwork): "*". Read-only.
        waiter.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["vpc-lattice:ListServiceNetworkServiceAssociations"], resources=["*"])
        )
        acknowledge(
            waiter.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Lattice's List* actions (associations, services, target groups) and ListTagsForResource support no "
            "resource-level permissions; read-only.",
        )
        self.resource = _drain_resource(
            self,
            ids=("Provider", "Resource"),
            functions=(handler, waiter),
            resource_type="Custom::LatticeServiceSweep",
            network_id=network_id,
            mode="sweep",
            controller_managed_by=controller_managed_by,
            log_retention=log_retention,
        )


def _drain_functions(
    scope: Construct,
    *,
    handler: tuple[str, str],
    waiter: tuple[str, str],
    log_retention: logs.RetentionDays,
) -> tuple[PythonFunction, PythonFunction]:
    """The onEvent handler and isComplete waiter of lambda/lattice_drain/handler.py, each (construct id,
    description); the network's drain and the Gateway stack's sweep differ only in these."""

    def function(entry: str, construct_id: str, description: str) -> PythonFunction:
        return PythonFunction(
            scope,
            construct_id,
            packages=("lattice_drain", "stack_removal"),
            handler=f"lattice_drain.handler.{entry}",
            description=description,
            timeout=Duration.minutes(1),
            log_retention=log_retention,
        )

    return function("on_event", *handler), function("is_complete", *waiter)


def _drain_resource(
    scope: Construct,
    *,
    ids: tuple[str, str],
    functions: tuple[PythonFunction, PythonFunction],
    resource_type: str,
    network_id: str,
    controller_managed_by: str,
    log_retention: logs.RetentionDays,
    mode: str | None = None,
) -> CustomResource:
    """The drain custom resource (`ids`: its provider's and its own construct ids) over `functions` (handler,
    waiter), after granting the waiter the cleanup of this cluster's controller leftovers. `mode`: the handler's
    Mode property (absent: the network's drain)."""
    handler, waiter = functions
    grant_controller_cleanup(waiter.role, controller_managed_by)
    # Services and target groups are deleted only while the waiter's own stack is being deleted (not when the
    # network is replaced and the cluster lives on): it reads its own stack's status.
    waiter.role.add_to_principal_policy(
        iam.PolicyStatement(actions=["cloudformation:DescribeStacks"], resources=[Aws.STACK_ID])
    )
    provider = CustomResourceProvider(
        scope,
        ids[0],
        on_event=handler.function,
        is_complete=waiter.function,
        query_interval=Duration.seconds(15),
        total_timeout=Duration.minutes(20),
        log_retention=log_retention,
    )
    return CustomResource(
        scope,
        ids[1],
        service_token=provider.service_token,
        resource_type=resource_type,
        properties={
            "ServiceNetworkId": network_id,
            **({"Mode": mode} if mode else {}),
            "TimeoutSeconds": str(DRAIN_TIMEOUT_SECONDS),
            "CleanupAfterSeconds": str(CLEANUP_AFTER_SECONDS),
            "ControllerManagedBy": controller_managed_by,
        },
    )
