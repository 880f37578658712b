"""A test host in the client VPC: SSM-managed, no key pair, no inbound rules, IMDSv2, encrypted root volume."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct, IDependable
from constructs.nag import acknowledge

from config.model import is_graviton

# curl ships with AL2023; dig comes from bind-utils, fetched over the S3 gateway endpoint. User data runs once,
# so a transient repository or endpoint fault is retried (6 attempts over ~75 s) instead of leaving no dig.
INSTALL_COMMANDS = (
    "for attempt in 1 2 3 4 5 6; do dnf install -y bind-utils && break; "
    'if [ "$attempt" = 6 ]; then echo "bind-utils: install failed 6 times" >&2; exit 1; fi; '
    "sleep $((attempt * 5)); done",
)


def image_parameter(instance_type: str) -> str:
    """The public SSM parameter naming the current AL2023 AMI for the instance type's architecture."""
    arch = "arm64" if is_graviton(instance_type) else "x86_64"
    return f"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"


class ClientHost(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        instance_type: str,
        depends_on: Sequence[IDependable] = (),
    ) -> None:
        """`depends_on`: what the first boot needs in place (the VPC endpoints its user data and agent use)."""
        super().__init__(scope, construct_id)
        self.role = role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="Client test host: Systems Manager only",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore")],
        )
        acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]",
            "AWS's maintained minimum for Session Manager and Run Command; a hand-written copy would drift.",
        )
        security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Client test host: no inbound rules (Session Manager needs none)",
            allow_all_outbound=True,
        )
        # The AMI is named in the launch template as `resolve:ssm:<parameter>`: EC2 resolves it when the instance
        # launches, not CloudFormation at each deploy, so a newly published AL2023 AMI changes nothing in the
        # template and no unrelated deploy replaces the host. Synth stays hermetic (no lookup, no context cache).
        # (A launch template, not the instance's ImageId: its ImageId is documented to take `resolve:ssm:`.)
        user_data = ec2.UserData.for_linux()
        user_data.add_commands(*INSTALL_COMMANDS)
        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            machine_image=ec2.MachineImage.resolve_ssm_parameter_at_launch(
                image_parameter(instance_type), os=ec2.OperatingSystemType.LINUX
            ),
            instance_type=ec2.InstanceType(instance_type),
            role=role,
            security_group=security_group,
            user_data=user_data,
            require_imdsv2=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(8, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3),
                )
            ],
        )
        # Given subnets are used as they are: an imported subnet (a consumer's existing VPC, read at deploy time)
        # has no AZ, which select_subnets would read (CannotReferenceSubnetSAvailability).
        chosen = subnets.subnets or vpc.select_subnets(subnets=subnets.subnets).subnets
        subnet_id = chosen[0].subnet_id
        self.instance = ec2.CfnInstance(
            self,
            "Instance",
            launch_template=ec2.CfnInstance.LaunchTemplateSpecificationProperty(
                launch_template_id=self.launch_template.launch_template_id,
                version=self.launch_template.latest_version_number,
            ),
            subnet_id=subnet_id,
            monitoring=True,  # detailed monitoring
        )
        # One Name for the host, its volume and the template (the template tags what it launches).
        Tags.of(self.launch_template).add("Name", self.node.path)
        for dependency in depends_on:
            self.instance.node.add_dependency(dependency)
        acknowledge(
            self.instance,
            "AwsSolutions-EC29",
            "A disposable test host: termination protection would only block `cdk destroy`.",
        )
