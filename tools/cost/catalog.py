"""Which resource types the estimate prices, and for every other type the app synthesizes, why it adds no
standing cost (with the pricing page that says so)."""

from __future__ import annotations

from collections.abc import Mapping

from tools.cost.model import Template

ZONE_ASSOCIATION = "Custom::CrossAccountZoneAssociation"

# The resource types estimate() prices (a line each, read from the templates). Every other type the app
# synthesizes must be in FREE_TYPES with the reason it adds no standing cost and the pricing page that says so
# (tests/test_cost.py checks every type of every synthesized variant; `make fuzz` the generated ones). The pages
# are named, not copied: re-read them with tools/prices.json's next refresh (named 2026-12-05).
PRICED_TYPES = frozenset({
    "AWS::EKS::Cluster", "AWS::EKS::Nodegroup", "AWS::EC2::NatGateway", "AWS::EC2::EIP", "AWS::Route53::HostedZone",
    "AWS::EC2::Instance", "AWS::EC2::VPCEndpoint", "AWS::Logs::LogGroup", "AWS::CloudWatch::Dashboard",
    "AWS::CloudWatch::Alarm", "AWS::KMS::Key", "AWS::Logs::QueryDefinition",
    "AWS::VpcLattice::ServiceNetworkVpcAssociation", ZONE_ASSOCIATION,
    # Lattice services and SNS are priced from what creates them: one service per emitted HTTPRoute, the
    # alarm email per message.
    "Custom::AWSCDK-EKS-KubernetesResource", "AWS::SNS::Topic", "AWS::SNS::Subscription",
})  # fmt: skip
_IAM = "https://aws.amazon.com/iam/faqs/ (IAM is offered at no additional charge)"
_VPC = "https://aws.amazon.com/vpc/pricing/ (no charge to create and use a VPC; charged: NAT, endpoints, IPv4)"
_EKS = "https://aws.amazon.com/eks/pricing/ (charged per cluster hour and for the compute; add-ons, access entries "
_EKS += "and Pod Identity add no charge)"
_LAMBDA = "https://aws.amazon.com/lambda/pricing/ (per request and GB-second only: custom resources run at deploy)"
_SFN = "https://aws.amazon.com/step-functions/pricing/ (per state transition only: the provider framework's waits)"
_CFN = "https://aws.amazon.com/cloudformation/pricing/ (no charge for AWS:: resources; custom resources run Lambda)"
_LATTICE = "https://aws.amazon.com/vpc/lattice/pricing/ (charged per service hour, GB and request: priced above)"
FREE_TYPES: dict[str, str] = {
    **dict.fromkeys(("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy",
                     "AWS::IAM::InstanceProfile"), _IAM),
    **dict.fromkeys(("AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::RouteTable", "AWS::EC2::Route",
                     "AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::InternetGateway",
                     "AWS::EC2::VPCGatewayAttachment", "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress",
                     "AWS::EC2::SecurityGroupEgress", "AWS::EC2::LaunchTemplate"), _VPC),
    "AWS::EC2::FlowLog": "https://aws.amazon.com/cloudwatch/pricing/ (flow logs are billed as vended log ingestion: "
    "the Logs ingest line)",
    **dict.fromkeys(("AWS::EKS::Addon", "AWS::EKS::AccessEntry", "AWS::EKS::PodIdentityAssociation"), _EKS),
    **dict.fromkeys(("AWS::Lambda::Function", "AWS::Lambda::LayerVersion", "AWS::Lambda::Permission",
                     "AWS::Lambda::EventInvokeConfig"), _LAMBDA),
    "AWS::StepFunctions::StateMachine": _SFN,
    "AWS::SSM::Parameter": "https://aws.amazon.com/systems-manager/pricing/ (standard parameters: no charge)",
    "AWS::Events::Rule": "https://aws.amazon.com/eventbridge/pricing/ (scheduled rules: no charge for the schedule)",
    **dict.fromkeys(("AWS::VpcLattice::ServiceNetwork", "AWS::VpcLattice::AuthPolicy",
                     "AWS::VpcLattice::AccessLogSubscription", "AWS::VpcLattice::ResourcePolicy"), _LATTICE),
    **dict.fromkeys(("AWS::RAM::ResourceShare", "AWS::RAM::Permission"),
                    "https://aws.amazon.com/ram/pricing/ (no additional charge)"),
    "AWS::SNS::TopicPolicy": "https://aws.amazon.com/sns/pricing/ (charged per message delivered: priced above)",
    **dict.fromkeys(("AWS::CDK::Metadata", "AWS::CloudFormation::WaitConditionHandle"), _CFN),
    **dict.fromkeys(("Custom::AWSCDK-EKS-HelmChart", "Custom::AWS", "Custom::VpcRestrictDefaultSG",
                     "Custom::FinalizerGuard", "Custom::ControllerCredentials", "Custom::LatticeDnsRecord",
                     "Custom::GatewayApiCrds", "Custom::LatticeMetricIds", "Custom::LatticeServiceNetworkDrain",
                     "Custom::PrivateZoneSweep", "Custom::ExistingVpc", "Custom::LatticeShareAcceptance",
                     "Custom::LatticeServiceSweep", "Custom::RamShareAssociation", "Custom::PodCredentials",
                     "AWS::CloudFormation::CustomResource"), _CFN),
}  # fmt: skip


def unpriced_types(templates: Mapping[str, Template]) -> list[str]:
    """Resource types in `templates` that are neither priced nor listed free (each must be one or the other)."""
    found = {r.get("Type", "") for t in templates.values() for r in t.get("Resources", {}).values()}
    return sorted(found - PRICED_TYPES - set(FREE_TYPES))
