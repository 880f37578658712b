"""RAM shares (issue 20 review, 1): every share this app creates is followed by a wait until RAM has associated
its resources (lambda/ram_share_wait), and the service-network share's own permission grants no action that RAM's
AWS-managed permission for service networks does not.

RAM associates a share's resources asynchronously and may refuse one (for example for a permission it does not
accept for the resource type): only a wait on GetResourceShareAssociations tells the provider's deploy.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ram as ram
from constructs.sharing.network_share import SHARED_NETWORK_ACTIONS, SHARED_NETWORK_RESOURCE_TYPE
from constructs.sharing.ram_share_waiter import RESOURCE_TYPE

from tests.conftest import Synthesized

Template = dict[str, Any]

# RAM's AWS-managed permission for vpc-lattice:ServiceNetwork shares (read 2026-12-05).
# Its name: AWSRAMPermissionVpcLatticeServiceNetworkReadWrite, the default `permissions` of tedilabs/terraform-aws-
# vpc-connectivity modules/lattice-service-network/variables.tf (commit f3188376) and the ARN
# arn:aws:ram::aws:permission/<that name> in other public Terraform; no AWS document found (search tool: docs,
# pages, code). Its actions: UNVERIFIED. No source lists them. The three below are the actions of the cross-account
# service-network resource policy that RAM manages for a shared network, as public examples write it
# (JamesWoolfenden/pike terraform/aws/backup/aws_vpclattice_resource_policy.tf; alchemy.run's VpcLattice
# ResourcePolicy page, "the policy AWS RAM manages when sharing Lattice resources"). `aws ram get-permission
# --permission-arn arn:aws:ram::aws:permission/AWSRAMPermissionVpcLatticeServiceNetworkReadWrite` settles it.
MANAGED_PERMISSION_NAME = "AWSRAMPermissionVpcLatticeServiceNetworkReadWrite"
MANAGED_PERMISSION_RESOURCE_TYPE = "vpc-lattice:ServiceNetwork"
MANAGED_PERMISSION_ACTIONS = (  # UNVERIFIED (see above)
    "vpc-lattice:CreateServiceNetworkVpcAssociation",
    "vpc-lattice:CreateServiceNetworkServiceAssociation",
    "vpc-lattice:GetServiceNetwork",
)


def shares_and_waits(templates: dict[str, Template]) -> list[tuple[str, str, Template, list[Template]]]:
    """(stack, share id, share, the waits on it) for every AWS::RAM::ResourceShare in the templates."""
    found = []
    for stack, template in templates.items():
        resources = template.get("Resources", {})
        for logical_id, share in resources.items():
            if share["Type"] != "AWS::RAM::ResourceShare":
                continue
            waits = [
                r
                for r in resources.values()
                if r["Type"] == RESOURCE_TYPE
                and r["Properties"].get("ResourceShareArn") == {"Fn::GetAtt": [logical_id, "Arn"]}
            ]
            found.append((stack, logical_id, share, waits))
    return found


def assert_every_share_is_waited_for(templates: dict[str, Template]) -> int:
    """Every share has exactly one wait, on all of its resources. Returns the number of shares."""
    found = shares_and_waits(templates)
    for stack, logical_id, share, waits in found:
        assert len(waits) == 1, f"{stack}/{logical_id}: {len(waits)} waits on RAM's association of the share"
        (wait,) = waits
        assert wait["Properties"]["ResourceArns"] == share["Properties"].get("ResourceArns"), (stack, logical_id)
        assert int(wait["Properties"]["TimeoutSeconds"]) >= 60, (stack, logical_id)
    return len(found)


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_every_ram_share_is_followed_by_a_wait_for_its_associations(which: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(which)
    count = assert_every_share_is_waited_for(synthesized.templates)
    assert count == (1 if synthesized.config.consumers else 0)  # the variant has consumers, the default none


def test_the_check_catches_a_share_nobody_waits_for() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S")
    ram.CfnResourceShare(stack, "Bare", name="n", resource_arns=["arn:aws:ec2:us-east-1:1:subnet/subnet-0"])
    template = app.synth().get_stack_by_name("S").template
    with pytest.raises(AssertionError, match=r"S/Bare.*: 0 waits"):
        assert_every_share_is_waited_for({"S": template})


def test_the_wait_is_in_the_platform_stack_after_the_share(variant: Synthesized) -> None:
    """The wait reads the share's ARN (so it runs after the share) in the Platform stack, which the consumer stacks
    are deployed after: a refused association fails the provider's deploy, before any consumer waits for it."""
    ((stack, share_id, _, (wait,)),) = shares_and_waits(variant.templates)
    assert stack.endswith("-Platform")
    assert wait["Properties"]["ResourceShareArn"] == {"Fn::GetAtt": [share_id, "Arn"]}


def test_the_shares_permission_grants_nothing_the_managed_one_does_not() -> None:
    """The customer-managed permission narrows RAM's default for the same resource type; an action outside the
    managed permission's is one RAM may not accept for the type (actions recorded above, unverified)."""
    assert MANAGED_PERMISSION_RESOURCE_TYPE == SHARED_NETWORK_RESOURCE_TYPE
    managed = set(MANAGED_PERMISSION_ACTIONS)
    assert set(SHARED_NETWORK_ACTIONS) <= managed, set(SHARED_NETWORK_ACTIONS) - managed
    assert set(SHARED_NETWORK_ACTIONS) < managed  # strictly narrower: no service association
