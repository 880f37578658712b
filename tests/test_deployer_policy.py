"""make deployer-policy (issue 27 item 3): the execution role's policies cover every handler permission of every
resource type in every shared synthesis, each within IAM's managed-policy size; the deployer's policy assumes exactly
the bootstrap template's roles; the bootstrap policy covers the bootstrap template's types."""

from __future__ import annotations

import fnmatch
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.limits import MANAGED_POLICY
from tests.conftest import PipelineSynth, Synthesized
from tests.support.iam_policy import Decision, Request, evaluate, resolve, token_key
from tools import deployer_policy as dp
from tools.impact import _provider_index, _schemas_dir, read_assemblies

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _statements(files: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [s for name, doc in files.items() if name.startswith(prefix) for s in doc["Statement"]]


def _schema_permissions(rtype: str, region: str) -> set[str]:
    """Read here, not through the tool: the create, update and delete handlers' permissions in cfn-lint's schema,
    and its tagging permissions (stack tags reach every taggable resource)."""
    if rtype.startswith("Custom::") or rtype in dp.NO_PERMISSIONS:
        return set()
    digest = _provider_index(region)[rtype]
    schema = json.loads((_schemas_dir() / "resources" / f"{digest}.json").read_text())
    handlers = schema.get("handlers", {})
    tagging = set(schema.get("tagging", {}).get("permissions", []))
    return {p for h in ("create", "update", "delete") for p in handlers.get(h, {}).get("permissions", [])} | tagging


def _allowed(statements: list[dict[str, Any]], action: str, resource: str = "arn:aws:ec2:us-east-1:1:x/y") -> bool:
    context = {"iam:PolicyARN": "arn:aws:iam::111111111111:policy/EksLatticeGateway-Gateway-ControllerPolicy-AB12"}
    return evaluate(statements, Request(action=action, resource=resource, context=context)) == Decision.ALLOW


def _app_iam_resource(action: str) -> str:
    """An IAM resource of this app that `action` acts on, named as CloudFormation names one (stack name first)."""
    if not action.startswith("iam:"):
        return "arn:aws:ec2:us-east-1:1:x/y"
    if "ServiceLinkedRole" in action:
        return "arn:aws:iam::111111111111:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS"
    if "InstanceProfile" in action and "Role" not in action:
        return "arn:aws:iam::111111111111:instance-profile/EksLatticeGateway-Platform-ClientHostProfile-AB12"
    if "Policy" in action and "Role" not in action:
        return "arn:aws:iam::111111111111:policy/EksLatticeGateway-Gateway-ControllerPolicy-AB12"
    return "arn:aws:iam::111111111111:role/EksLatticeGateway-Platform-ClusterRole-AB12"


@pytest.fixture(scope="module")
def syntheses(
    synth: Synthesized,
    variant: Synthesized,
    namespaced: Synthesized,
    two_stages: PipelineSynth,
    one_stage: PipelineSynth,
) -> list[Path]:
    return [synth.outdir, variant.outdir, namespaced.outdir, two_stages.outdir, one_stage.outdir]


def test_every_handler_permission_of_every_synthesized_type_is_allowed(syntheses: list[Path], tmp_path: Path) -> None:
    """Class test: for each shared synthesis (the app's, its variants, both pipelines with their stages), every
    permission the registry schema lists for a type's create, update and delete handlers, in each region the stacks
    name, is allowed by the execution policies; each custom resource type's ServiceToken may be invoked."""
    for outdir in syntheses:
        assembly = read_assemblies(outdir)
        regions = sorted(set(assembly.regions.values()) - {""} or {"us-east-1"})
        files = dp.generate(
            tmp_path / outdir.name, assembly.templates, assembly.regions, qualifier=dp.DEFAULT_QUALIFIER
        )
        statements = _statements(files, "execution-policy-")
        for rtype in dp.template_types(assembly.templates):
            for region in regions:
                for action in _schema_permissions(rtype, region):
                    if re.match(r"iam:\w*(User|Group)", action) or not dp.IAM_ACTION.fullmatch(action):
                        continue  # dropped: no IAM user or group here (generate refuses one); not an IAM action
                    assert _allowed(statements, action, _app_iam_resource(action)), (outdir.name, rtype, action)
            if rtype.startswith("Custom::"):
                assert _allowed(statements, "lambda:InvokeFunction"), rtype
        for name, document in files.items():
            assert dp._size(document) <= MANAGED_POLICY.limit, name
        assert len([n for n in files if n.startswith("execution-policy-")]) <= dp.MAX_ROLE_MANAGED_POLICIES


# What the CloudFormation docs say each evaluation needs (see the TEMPLATE_REFERENCES comment in
# tools/deployer_policy/references.py for the sources, read 2026-12-05); written out here so the test does not read
# the tool's table.
GET_AZS = ("ec2:DescribeAvailabilityZones", "ec2:DescribeAccountAttributes", "ec2:DescribeSubnets")
ACCOUNT = "111111111111"


def _requests(template: dict[str, Any], region: str) -> list[tuple[str, Request]]:
    """(kind, request) for every intrinsic, SSM parameter type and dynamic reference in the template, with concrete
    values (partition aws, the stack's region, ACCOUNT)."""
    table = {token_key({"Ref": "AWS::Region"}): region, token_key({"Ref": "AWS::AccountId"}): ACCOUNT}
    found: list[tuple[str, Request]] = []

    def ssm(name: str) -> Request:
        name = name.rsplit(":", 1)[0] if name.rsplit(":", 1)[-1].isdigit() else name
        return Request("ssm:GetParameters", f"arn:aws:ssm:{region}:{ACCOUNT}:parameter{name}")

    def walk(value: Any) -> None:
        if isinstance(value, str):
            for kind, ref in re.findall(r"\{\{resolve:(ssm|ssm-secure|secretsmanager):([^}]+)\}\}", value):
                if kind == "secretsmanager":
                    arn = f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{ref.split(':')[0]}-AbCdEf"
                    found.append(("secretsmanager", Request("secretsmanager:GetSecretValue", arn)))
                else:
                    found.append(("resolve:ssm", ssm(ref)))
            if value.startswith("resolve:ssm:"):
                found.append(("ImageId resolve:ssm", ssm(value.removeprefix("resolve:ssm:"))))
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            if "Fn::GetAZs" in value:
                found.extend(("Fn::GetAZs", Request(a, "*")) for a in GET_AZS)
            if "Fn::GetStackOutput" in value:
                arg = value["Fn::GetStackOutput"]
                if "RoleArn" in arg:
                    found.append(("GetStackOutput RoleArn", Request("sts:AssumeRole", resolve(arg["RoleArn"], table))))
                else:
                    where = resolve(arg.get("Region", region), table)
                    arn = f"arn:aws:cloudformation:{where}:{ACCOUNT}:stack/{arg['StackName']}/0c1d-2e3f"
                    found.append(("GetStackOutput", Request("cloudformation:DescribeStacks", arn)))
            for v in value.values():
                walk(v)

    walk({k: v for k, v in template.items() if k != "Parameters"})
    for parameter in template.get("Parameters", {}).values():
        if parameter["Type"].startswith("AWS::SSM::Parameter::Value<"):
            found.append(("SSM parameter type", ssm(parameter["Default"])))
    return found


def test_every_template_reference_is_allowed_to_the_execution_role(syntheses: list[Path], tmp_path: Path) -> None:
    """Class test: in every shared synthesis (the app's, the consumer variant, the walkthrough's, both pipelines with
    their stages and consumer stages), each Fn::GetStackOutput (DescribeStacks on the referenced stack, or AssumeRole
    on its RoleArn), Fn::GetAZs, SSM parameter type and dynamic reference is allowed by the execution policies, on
    that stack or role and not on another; and each Fn:: the templates use is one the tool knows."""
    kinds: set[str] = set()
    for outdir in syntheses:
        assembly = read_assemblies(outdir)
        files = dp.generate(tmp_path / outdir.name, assembly.templates, assembly.regions, qualifier="hnb659fds")
        statements = _statements(files, "execution-policy-")
        for stack, template in assembly.templates.items():
            region = assembly.regions.get(stack) or "us-east-1"
            for kind, request in _requests(dict(template), region):
                kinds.add(kind)
                assert evaluate(statements, request) == Decision.ALLOW, (outdir.name, stack, kind, request)
                if "EksLatticeGateway" in request.resource:  # named by the app: not granted beyond it
                    other = Request(request.action, request.resource.replace("EksLatticeGateway", "Other"))
                    assert evaluate(statements, other) != Decision.ALLOW, (outdir.name, stack, kind, other)
            used = set(re.findall(r'"(Fn::[A-Za-z]+)"', json.dumps(template)))
            assert used <= dp.NO_CALL_INTRINSICS | dp.TEMPLATE_REFERENCES, (stack, used)
    # The syntheses hold every kind this app uses today, so the walk above cannot pass by finding nothing.
    assert {"GetStackOutput", "GetStackOutput RoleArn", "Fn::GetAZs", "SSM parameter type"} <= kinds, kinds
    assert "ImageId resolve:ssm" in kinds, kinds


def test_dynamic_references_and_unknown_intrinsics(tmp_path: Path) -> None:
    template: dict[str, Any] = {
        "Resources": {
            "A": {
                "Type": "AWS::Logs::LogGroup",  # its handlers call no ssm or secretsmanager action
                "Properties": {
                    "LogGroupName": "{{resolve:secretsmanager:EksLatticeGateway-token:SecretString:k}}",
                    "LogGroupClass": "{{resolve:ssm:/EksLatticeGateway/x:3}}"
                    " {{resolve:ssm-secure:/EksLatticeGateway/y}}",
                },
            }
        }
    }
    files = dp.generate(tmp_path, {"S": template}, {"S": "eu-west-1"}, qualifier="q")
    statements = _statements(files, "execution-policy-")
    for kind, request in _requests(template, "eu-west-1"):
        assert evaluate(statements, request) == Decision.ALLOW, (kind, request)
        other = Request(request.action, request.resource.replace("EksLatticeGateway", "Other"))
        assert evaluate(statements, other) != Decision.ALLOW, (kind, other)
    assert len(_requests(template, "eu-west-1")) == 3
    template["Resources"]["A"]["Properties"]["Value"] = {"Fn::ImportValue": "x"}
    with pytest.raises(dp.PolicyError, match=r"S: Fn::ImportValue: no entry"):
        dp.generate(tmp_path, {"S": template}, {"S": "eu-west-1"}, qualifier="q")


# Privilege escalation through IAM (the actions that let a principal give itself or a role it controls more power).
ESCALATION = (
    "iam:CreateRole", "iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:PassRole", "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion", "iam:UpdateAssumeRolePolicy", "iam:DeleteRolePermissionsBoundary",
    "iam:PutRolePermissionsBoundary", "iam:CreatePolicy", "iam:AddRoleToInstanceProfile", "iam:CreateInstanceProfile",
    "iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
    "iam:AttachUserPolicy", "iam:PutUserPolicy", "iam:AttachGroupPolicy", "iam:PutGroupPolicy", "iam:AddUserToGroup",
)  # fmt: skip
OUTSIDE = (
    "arn:aws:iam::111111111111:role/Admin",
    "arn:aws:iam::111111111111:role/cdk-hnb659fds-cfn-exec-role-111111111111-us-east-1",
    "arn:aws:iam::111111111111:policy/Other",
    "arn:aws:iam::111111111111:instance-profile/Other",
    "arn:aws:iam::111111111111:user/alice",
    "arn:aws:iam::111111111111:group/admins",
)


def _role_names(templates: dict[str, Any]) -> set[str]:
    return {
        str(r["Properties"]["RoleName"])
        for t in templates.values()
        for r in t.get("Resources", {}).values()
        if r["Type"] == "AWS::IAM::Role" and "RoleName" in r.get("Properties", {})
    }


def test_iam_escalation_is_denied_outside_the_apps_names(syntheses: list[Path], tmp_path: Path) -> None:
    """Class test: with every shared synthesis's execution policies, each privilege-escalation action is denied on
    roles, policies, instance profiles, users and groups outside this app's names; AdministratorAccess cannot be
    attached even to the app's roles; every explicit RoleName the templates set is inside the scope."""
    admin = {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
    names: set[str] = set()
    for outdir in syntheses:
        assembly = read_assemblies(outdir)
        files = dp.generate(tmp_path / outdir.name, assembly.templates, assembly.regions, qualifier="hnb659fds")
        statements = _statements(files, "execution-policy-")
        for action in ESCALATION:
            for resource in OUTSIDE:
                request = Request(action=action, resource=resource, context=admin)
                assert evaluate(statements, request) != Decision.ALLOW, (outdir.name, action, resource)
        app_role = "arn:aws:iam::111111111111:role/EksLatticeGateway-Platform-ClusterRole-AB12"
        assert evaluate(statements, Request("iam:AttachRolePolicy", app_role, admin)) != Decision.ALLOW
        assert _allowed(statements, "iam:CreateRole", app_role) and _allowed(statements, "iam:PassRole", app_role)
        for policy in dp.attached_aws_managed_policies(assembly.templates):
            context = {"iam:PolicyARN": policy.replace("arn:*", "arn:aws")}
            assert evaluate(statements, Request("iam:AttachRolePolicy", app_role, context)) == Decision.ALLOW
        names |= _role_names(dict(assembly.templates))
        actions = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
        assert "iam:CreateRole" in actions and not [a for a in actions if re.match(r"iam:\w*(User|Group)", a)]
    assert names, "no explicit RoleName in any synthesis: the check below would pass by finding nothing"
    for name in names:
        assert fnmatch.fnmatchcase(name, dp.iam_name_pattern("EksLatticeGateway")), name


def test_an_iam_user_or_group_is_refused(tmp_path: Path) -> None:
    for resource in (
        {"Type": "AWS::IAM::User"},
        {"Type": "AWS::IAM::Policy", "Properties": {"PolicyName": "p", "Groups": ["g"], "PolicyDocument": {}}},
    ):
        with pytest.raises(dp.PolicyError, match=r"S/X: IAM users or groups"):
            dp.generate(tmp_path, {"S": {"Resources": {"X": resource}}}, ["us-east-1"], qualifier="q")


def test_the_handler_permissions_come_from_the_registry_schema() -> None:
    # AWS::EKS::Nodegroup's create handler lists eks:CreateNodegroup and iam:PassRole (cfn-lint's schema).
    actions = dp.handler_permissions("AWS::EKS::Nodegroup")
    assert {"eks:CreateNodegroup", "eks:DeleteNodegroup", "eks:UpdateNodegroupConfig", "iam:PassRole"} <= actions
    assert dp.handler_permissions("Custom::LatticeDnsRecord") == {"lambda:InvokeFunction"}
    assert dp.handler_permissions("AWS::CDK::Metadata") == frozenset()
    # Its schema's tagging.permissions: eks:TagResource and eks:UntagResource.
    assert {"eks:TagResource", "eks:UntagResource"} <= actions


def test_a_type_without_a_schema_is_refused_by_name(tmp_path: Path) -> None:
    templates = {"S": {"Resources": {"X": {"Type": "AWS::Nope::Thing"}}}}
    with pytest.raises(dp.PolicyError, match=r"AWS::Nope::Thing: no CloudFormation registry schema"):
        dp.generate(tmp_path, templates, ["us-east-1"], qualifier="q")


def test_split_keeps_every_action_once_and_each_document_under_the_limit() -> None:
    actions = [f"svc:Action{i:04d}" for i in range(900)]
    documents = dp.split_policies(actions, sid="S")
    assert len(documents) > 1
    assert [a for d in documents for a in d["Statement"][0]["Action"]] == actions
    assert all(dp._size(d) <= MANAGED_POLICY.limit for d in documents)
    assert all(dp._size(d) <= 500 for d in dp.split_policies(actions[:100], sid="S", limit=500))


def _bootstrap_role_names() -> dict[str, str]:
    data = yaml.safe_load(dp.BOOTSTRAP_TEMPLATE.read_text())
    return {
        lid: r["Properties"]["RoleName"]["Fn::Sub"]
        for lid, r in data["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and isinstance(r["Properties"].get("RoleName"), dict)
    }


def test_the_deployer_assumes_the_bootstrap_roles_the_cli_uses_and_not_the_execution_role() -> None:
    statements = dp.deployer_document(stack_prefix="EksLatticeGateway", qualifier="hnb659fds")["Statement"]
    names = _bootstrap_role_names()
    for template_name in names.values():
        arn = "arn:aws:iam::111111111111:role/" + template_name.replace("${Qualifier}", "hnb659fds").replace(
            "${AWS::AccountId}", "111111111111"
        ).replace("${AWS::Region}", "eu-west-1")
        expected = not template_name.startswith("cdk-${Qualifier}-cfn-exec-role")
        assert _allowed(statements, "sts:AssumeRole", arn) is expected, arn
    assert len(names) == len(dp.BOOTSTRAP_ROLES) + 1  # the four the CLI assumes and the execution role
    assert not _allowed(statements, "sts:AssumeRole", "arn:aws:iam::111111111111:role/cdk-other-deploy-role-1-r")


def test_the_deployer_may_read_this_apps_stacks_and_invoke_their_smoke_functions_only() -> None:
    statements = dp.deployer_document(stack_prefix="EksLatticeGateway")["Statement"]
    stack = "arn:aws:cloudformation:eu-west-1:111111111111:stack/EksLatticeGateway-Gateway/abc"
    assert _allowed(statements, "cloudformation:GetTemplate", stack)
    assert not _allowed(statements, "cloudformation:GetTemplate", stack.replace("EksLatticeGateway", "Other"))
    function = "arn:aws:lambda:eu-west-1:111111111111:function:EksLatticeGateway-Gateway-SmokeTest-abc"
    assert _allowed(statements, "lambda:InvokeFunction", function)
    assert not _allowed(statements, "lambda:InvokeFunction", function.replace("EksLatticeGateway", "Other"))


def test_the_bootstrap_policy_covers_the_bootstrap_templates_types() -> None:
    statements = dp.bootstrap_document()["Statement"]
    types = dp.bootstrap_types()
    assert {"AWS::S3::Bucket", "AWS::IAM::Role", "AWS::ECR::Repository", "AWS::SSM::Parameter"} <= types
    for rtype in types:
        for action in dp.handler_permissions(rtype):
            assert _allowed(statements, action), (rtype, action)
    assert _allowed(statements, "cloudformation:CreateChangeSet")
    assert dp._size(dp.bootstrap_document()) <= MANAGED_POLICY.limit


def test_main_writes_the_files_and_prints_the_bootstrap_command(synth: Synthesized, tmp_path: Path) -> None:
    out = io.StringIO()
    assert dp.main(["--assembly", str(synth.outdir), "--out", str(tmp_path)], out=out) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert "deployer-policy.json" in written and "bootstrap-policy.json" in written
    assert "execution-policy-1.json" in written
    for name in written:
        json.loads((tmp_path / name).read_text())
    assert "--cloudformation-execution-policies" in out.getvalue()
    assert fnmatch.fnmatch(out.getvalue(), "*execution-policy-1.json (* of 6144 characters)*")


def test_the_policy_names_carry_the_stacks_partition_and_region() -> None:
    names = ["execution-policy-1.json"]
    assert dp.policy_arns(names, {"S": "cn-north-1"}) == [
        "arn:aws-cn:iam::<account>:policy/eks-lattice-gateway-cn-north-1-execution-policy-1"
    ]
    assert dp.policy_arns(names, {"S": "us-gov-west-1"})[0].startswith("arn:aws-us-gov:iam::")
    assert dp.policy_arns(names, {"A": "eu-west-1", "B": "us-east-1"}) == [
        "arn:aws:iam::<account>:policy/eks-lattice-gateway-<region>-execution-policy-1"
    ]
    assert dp.policy_arns(names, {"A": "eu-west-1", "B": "cn-north-1"})[0].startswith("arn:<partition>:")


def test_the_qualifier_comes_from_the_assemblys_bootstrap_roles(synth: Synthesized, tmp_path: Path) -> None:
    """A qualifier the app was synthesized with (cdk.json's @aws-cdk/core:bootstrapQualifier) is in manifest.json's
    role ARNs: the deployer's policy assumes those roles, not the default qualifier's."""
    import shutil

    copy = tmp_path / "assembly"
    shutil.copytree(synth.outdir, copy)
    manifest = copy / "manifest.json"
    assert dp.qualifier_of(copy) == "hnb659fds"
    manifest.write_text(manifest.read_text().replace("cdk-hnb659fds-", "cdk-custom42-"))
    assert dp.qualifier_of(copy) == "custom42"
    out = tmp_path / "out"
    assert dp.main(["--assembly", str(copy), "--out", str(out)], out=io.StringIO()) == 0
    statements = json.loads((out / "deployer-policy.json").read_text())["Statement"]
    role = "arn:aws:iam::111111111111:role/cdk-custom42-deploy-role-111111111111-us-east-1"
    assert _allowed(statements, "sts:AssumeRole", role)
    assert not _allowed(statements, "sts:AssumeRole", role.replace("custom42", "hnb659fds"))
    assert (
        "cloudformation:DescribeEvents"
        in json.loads((out / "bootstrap-policy.json").read_text())["Statement"][0]["Action"]
    )


def test_only_iam_actions_reach_the_policies(syntheses: list[Path], tmp_path: Path) -> None:
    """Class test: every Action string of every generated policy has IAM's action grammar; the registry schemas'
    non-actions (the LogGroup schema's s3:REST.PUT.OBJECT) are left out, and every real action is kept."""
    log_group = _schema_permissions("AWS::Logs::LogGroup", "us-east-1")
    assert "s3:REST.PUT.OBJECT" in log_group  # the instance, so this test cannot pass by the schema changing
    for outdir in syntheses[:1]:
        assembly = read_assemblies(outdir)
        files = dp.generate(tmp_path, assembly.templates, assembly.regions, qualifier="q")
        actions = [
            a
            for doc in files.values()
            for st in doc["Statement"]
            for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
        ]
        bad = [a for a in actions if not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+\*?", a)]
        assert not bad, bad
        assert {a for a in log_group if "." not in a} <= set(actions)


# Explicit physical names of this app's resources the policies scope by prefix: (type, property) -> (action, ARN
# format, which policy). A managed policy's ARN is policy/<name>, a role's role/<name>, a function's function:<name>.
NAMED = {
    ("AWS::IAM::Role", "RoleName"): ("iam:CreateRole", "arn:aws:iam::111111111111:role/{}", "execution-policy-"),
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"): (
        "iam:CreatePolicy",
        "arn:aws:iam::111111111111:policy/{}",
        "execution-policy-",
    ),
    ("AWS::IAM::InstanceProfile", "InstanceProfileName"): (
        "iam:CreateInstanceProfile",
        "arn:aws:iam::111111111111:instance-profile/{}",
        "execution-policy-",
    ),
    ("AWS::Lambda::Function", "FunctionName"): (
        "lambda:InvokeFunction",
        "arn:aws:lambda:us-east-1:111111111111:function:{}",
        "deployer-policy",
    ),
}
FUNCTION = ("AWS::Lambda::Function", "FunctionName")
OTHER = "Other"  # a prefix no synthesis here starts with


def _named(templates: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(kind, name, action, ARN) for each stack (the deployer reads it; the execution role creates its generated
    names, which start with the stack's name) and each literal name of NAMED's kinds."""
    found = []
    for stack, template in templates.items():
        arn = f"arn:aws:cloudformation:us-east-1:111111111111:stack/{stack}/0c1d-2e3f"
        found.append(("stack", stack, "cloudformation:GetTemplate", arn))
        generated = f"{stack}-ClusterRole-AB12CD34"
        found.append(("generated role", generated, "iam:CreateRole", NAMED["AWS::IAM::Role", "RoleName"][1]))
        function = f"{stack}-SmokeTest-AB12CD34"
        found.append(("generated function", function, "lambda:InvokeFunction", NAMED[FUNCTION][1]))
        for resource in template.get("Resources", {}).values():
            for (kind, key), (action, arn_format, _) in NAMED.items():
                name = (resource.get("Properties") or {}).get(key) if resource["Type"] == kind else None
                if isinstance(name, str):
                    found.append((f"{kind}.{key}", name, action, arn_format))
    return [(k, n, a, f.format(n) if "{}" in f else f) for k, n, a, f in found]


@pytest.fixture(scope="module")
def prefixed_syntheses(
    synth: Synthesized, largest: Synthesized, two_stages: PipelineSynth, one_stage: PipelineSynth
) -> list[tuple[Path, str]]:
    """(assembly, the stack prefix its configuration gives): the default; tests/largest_config.py's, whose
    stackPrefix is 40 characters of its own (role names at IAM's 64 shortened with a hash); the pipelines, whose
    stages' stacks are EksLatticeGateway-<stage>-... (stacks/pipeline_stack.py)."""
    assert largest.config.stack_prefix != "EksLatticeGateway"
    return [
        (synth.outdir, synth.config.stack_prefix),
        (largest.outdir, largest.config.stack_prefix),
        (two_stages.outdir, "EksLatticeGateway"),
        (one_stage.outdir, "EksLatticeGateway"),
    ]


def test_the_policies_are_scoped_to_the_synthesized_configurations_stack_prefix(
    prefixed_syntheses: list[tuple[Path, str]], tmp_path: Path
) -> None:
    """Class test: for the default, a non-default stackPrefix and both pipelines, the generated policies' scope is
    the configuration's prefix: every stack name (and a name CloudFormation generates from it), explicit RoleName,
    ManagedPolicyName, InstanceProfileName and FunctionName is allowed, the same name under another prefix is
    denied (the repo's IAM evaluator), and a policy of the app's own may be attached to the app's roles."""
    kinds: set[str] = set()
    for outdir, prefix in prefixed_syntheses:
        assembly = read_assemblies(outdir)
        assert dp.stack_prefix_of(assembly.templates) == prefix, outdir.name
        files = dp.generate(tmp_path / outdir.name, assembly.templates, assembly.regions, qualifier="hnb659fds")
        role = f"arn:aws:iam::111111111111:role/{prefix}-Platform-ClusterRole-AB12"
        for kind, name, action, arn in _named(dict(assembly.templates)):
            kinds.add(kind)
            assert name.startswith(prefix), (outdir.name, kind, name)
            statements = _statements(files, next((w for a, _, w in NAMED.values() if a == action), "deployer-"))
            assert _allowed(statements, action, arn), (outdir.name, kind, name)
            other = arn.replace(f"{prefix}", OTHER, 1)
            assert evaluate(statements, Request(action, other)) != Decision.ALLOW, (outdir.name, kind, other)
            if kind.startswith("AWS::IAM::ManagedPolicy"):
                attach = Request("iam:AttachRolePolicy", role, {"iam:PolicyARN": arn})
                assert evaluate(statements, attach) == Decision.ALLOW, (outdir.name, name)
                attach = Request("iam:AttachRolePolicy", role, {"iam:PolicyARN": other})
                assert evaluate(statements, attach) != Decision.ALLOW, (outdir.name, other)
    # The syntheses hold each kind, so the walk cannot pass by finding none of them.
    assert {"stack", "generated role", "generated function", "AWS::IAM::Role.RoleName"} <= kinds, kinds


def test_the_stack_prefix_is_read_from_the_stack_names() -> None:
    assert dp.stack_prefix_of(["e2e-abc123-Platform", "e2e-abc123-Gateway", "e2e-abc123-Consumer-b"]) == "e2e-abc123"
    # A stage whose name starts like the pipeline's stack: the common part ends at the prefix's hyphen.
    pipeline = ["EksLatticeGateway-Pipeline", "EksLatticeGateway-PipelineX-Platform", "EksLatticeGateway-PipelineX-G"]
    assert dp.stack_prefix_of(pipeline) == "EksLatticeGateway"
    assert dp.stack_prefix_of(["a-b-c-Platform", "a-b-c-Gateway"]) == "a-b-c"
    assert dp.stack_prefix_of(["S"]) == "S"
    with pytest.raises(dp.PolicyError, match="no stacks"):
        dp.stack_prefix_of([])
    with pytest.raises(dp.PolicyError, match="share no name prefix"):
        dp.stack_prefix_of(["A-Platform", "B-Platform"])
