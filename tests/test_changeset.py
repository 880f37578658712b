"""`make impact ARGS=--changeset` (tools/changeset.py): CloudFormation's change set against make impact.

DescribeChangeSet answers come from tests/changesets/describe_change_set.json, in botocore's DescribeChangeSetOutput
shape; botocore's Stubber checks every request and answer against the cloudformation model, so an answer of the
wrong shape (or a request the API does not take) fails here as it would against the service.
"""

from __future__ import annotations

import copy
import io
import json
import re
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.conftest import Synthesized
from tools import changeset, impact
from tools.changeset import CfnChange, Disagreement, agrees, compare

ANSWERS = json.loads((Path(__file__).parent / "changesets" / "describe_change_set.json").read_text())
PLATFORM = "EksLatticeGateway-Platform"
NAME = "impact-1764950400"
NODEGROUP, ZONE = "EksClusterNodegroupNodeGroupCBF25152", "PrivateZone5A0A35AA"


def answer(key: str, i: int) -> dict[str, Any]:
    return {k: v for k, v in ANSWERS[key][i].items() if k != "_about"}


@pytest.fixture
def cfn(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Stubber]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def describe(
    stub: Stubber, key: str, i: int, *, stack: str | None = PLATFORM, name: str = NAME, token: str | None = None
) -> None:
    params: dict[str, Any] = {**({"StackName": stack} if stack else {}), "ChangeSetName": name}
    if token:
        params["NextToken"] = token
    stub.add_response("describe_change_set", answer(key, i), params)


def stack_exists(stub: Stubber, stack: str = PLATFORM, status: str = "UPDATE_COMPLETE") -> None:
    body = {"Stacks": [{"StackName": stack, "StackStatus": status, "CreationTime": "2026-12-01T00:00:00Z"}]}
    stub.add_response("describe_stacks", body, {"StackName": stack})


def stack_missing(stub: Stubber, stack: str = PLATFORM) -> None:
    stub.add_client_error(
        "describe_stacks",
        "ValidationError",
        f"Stack with id {stack} does not exist",
        expected_params={"StackName": stack},
    )


def deleted_change_set(stub: Stubber, stack: str = PLATFORM) -> None:
    stub.add_response("delete_change_set", {}, {"StackName": stack, "ChangeSetName": NAME})


class Predicted:
    def __init__(self, stack: str, logical_id: str, type: str, action: str) -> None:
        self.stack, self.logical_id, self.type, self.action = stack, logical_id, type, action


PREDICTED = [
    Predicted(PLATFORM, NODEGROUP, "AWS::EKS::Nodegroup", "update"),
    Predicted(PLATFORM, ZONE, "AWS::Route53::HostedZone", "update"),
]


def created(log: list[tuple[tuple[str, ...], str]]) -> Any:
    def create(stacks: Sequence[str], name: str) -> None:
        log.append((tuple(stacks), name))

    return create


def no_wait(client: Any, *, stack: str, name: str) -> bool:
    return changeset.wait_for(client, stack=stack, name=name, sleep=lambda s: None)


def run(client: Any, predicted: Sequence[Any], out: io.StringIO, log: list[Any] | None = None) -> int:
    create = created([] if log is None else log)
    return changeset.check(predicted, stacks=[PLATFORM], client=client, create=create, out=out, name=NAME, wait=no_wait)


# --------------------------------------------------------------------------------------- the mapping


@pytest.mark.parametrize(
    ("predicted", "action", "replacement", "ok"),
    [
        ("replace", "Modify", "True", True),
        ("replace", "Modify", "Conditional", True),  # CloudFormation may replace: impact's cautious reading agrees
        ("replace", "Modify", "False", False),
        ("update", "Modify", "False", True),
        ("update", "Modify", "Conditional", False),  # impact promised in place; CloudFormation cannot
        ("update", "Modify", "True", False),
        ("add", "Add", None, True),
        ("add", "Modify", "False", False),
        ("remove", "Remove", None, True),
        ("remove", "Add", None, False),
        ("update", "Dynamic", None, True),
        ("replace", "Dynamic", None, True),
        ("add", "Dynamic", None, False),
        ("add", "Import", None, False),
        ("update", "SyncWithActual", None, False),
    ],
)
def test_each_action_and_replacement_maps(predicted: str, action: str, replacement: str | None, ok: bool) -> None:
    assert agrees(predicted, CfnChange("S", "R", "T", action, replacement)) is ok


def test_the_mapping_covers_every_action_and_replacement_the_model_has() -> None:
    model = boto3.session.Session().get_available_services() and __import__("botocore.session").session
    service = model.get_session().get_service_model("cloudformation")
    actions = set(service.shape_for("ChangeAction").enum)
    replacements = set(service.shape_for("Replacement").enum)
    assert actions == {"Add", "Modify", "Remove", "Import", "Dynamic", "SyncWithActual"}
    assert replacements == {"True", "False", "Conditional"}
    for action in actions:  # each answers for every prediction without error, and some prediction agrees but Import
        verdicts = {
            p: agrees(p, CfnChange("S", "R", "T", action, "False")) for p in ("replace", "update", "add", "remove")
        }
        assert any(verdicts.values()) is (action not in {"Import", "SyncWithActual"})


def test_one_sided_changes_disagree() -> None:
    planned = [CfnChange(PLATFORM, "Extra", "AWS::IAM::Role", "Modify", "True")]
    found = compare([PREDICTED[0]], planned, stacks=[PLATFORM])
    assert found == [
        Disagreement(PLATFORM, NODEGROUP, "AWS::EKS::Nodegroup", "update", "no change"),
        Disagreement(PLATFORM, "Extra", "AWS::IAM::Role", "none", "Modify (Replacement True)"),
    ]


# --------------------------------------------------------------------------- against recorded answers


def test_in_place_answers_agree_over_two_pages(cfn: tuple[Any, Stubber]) -> None:
    client, stub = cfn
    stack_exists(stub)
    describe(stub, "in_place", 0)  # the wait: CREATE_COMPLETE
    describe(stub, "in_place", 0)  # the read: page 1, then NextToken
    describe(stub, "in_place", 1, token="page-2")
    deleted_change_set(stub)
    log: list[tuple[tuple[str, ...], str]] = []
    out = io.StringIO()
    status = run(client, PREDICTED, out, log)
    assert (status, log) == (0, [((PLATFORM,), NAME)])
    assert "agrees with CloudFormation on all 2 planned change(s)" in out.getvalue()


def test_conditional_replacement_of_a_predicted_update_fails_and_is_printed(cfn: tuple[Any, Stubber]) -> None:
    client, stub = cfn
    stack_exists(stub)
    describe(stub, "conditional", 0)
    describe(stub, "conditional", 0)
    describe(stub, "conditional", 1, token="page-2")
    deleted_change_set(stub)
    out = io.StringIO()
    status = changeset.check(
        PREDICTED, stacks=[PLATFORM], client=client, create=created([]), out=out, name=NAME, wait=no_wait
    )
    assert status == 1
    assert (
        f"  {PLATFORM}/{ZONE} (AWS::Route53::HostedZone): make impact predicted update, "
        "CloudFormation plans Modify (Replacement Conditional)"
    ) in out.getvalue().splitlines()


def test_no_changes_is_not_an_error(cfn: tuple[Any, Stubber]) -> None:
    client, stub = cfn
    stack_exists(stub)
    describe(stub, "no_changes", 0)
    deleted_change_set(stub)
    out = io.StringIO()
    status = run(client, [], out)
    assert status == 0
    assert f"changeset: {PLATFORM}: CloudFormation finds nothing to change" in out.getvalue()


def test_a_failed_change_set_is_one_line_and_what_it_created_is_deleted(cfn: tuple[Any, Stubber]) -> None:
    client, stub = cfn
    stack_missing(stub)  # not deployed before: the change set creates the stack, REVIEW_IN_PROGRESS
    describe(stub, "failed", 0)
    deleted_change_set(stub)
    stack_exists(stub, status="REVIEW_IN_PROGRESS")
    stub.add_response("delete_stack", {}, {"StackName": PLATFORM})
    out = io.StringIO()
    status = run(client, [], out)
    assert status == 2
    lines = out.getvalue().splitlines()
    assert lines[0] == (
        f"changeset: change set {NAME} of {PLATFORM} failed: "
        "Template error: instance of Fn::GetAtt references undefined resource Missing"
    )
    assert lines[1].startswith(f"changeset: deleted {PLATFORM}, which only the change set had created")


def test_a_stack_that_existed_is_never_deleted(cfn: tuple[Any, Stubber]) -> None:
    client, stub = cfn
    stack_exists(stub, status="REVIEW_IN_PROGRESS")  # someone else's change set in review: not ours to delete
    describe(stub, "failed", 0)
    deleted_change_set(stub)
    assert (
        changeset.check(
            [], stacks=[PLATFORM], client=client, create=created([]), out=io.StringIO(), name=NAME, wait=no_wait
        )
        == 2
    )


def test_nested_stacks_change_sets_are_followed(cfn: tuple[Any, Stubber]) -> None:
    client, stub = cfn
    describe(stub, "nested_root", 0, stack="Root")
    child = ANSWERS["nested_root"][0]["Changes"][0]["ResourceChange"]
    describe(stub, "nested_child", 0, stack=None, name=child["ChangeSetId"])  # by its ARN alone
    found = changeset.read_changes(client, stack="Root", change_set=NAME)
    assert [(c.stack, c.logical_id, c.action) for c in found] == [
        ("Root", "Child", "Modify"),
        ("Root/Child", "Queue", "Add"),
        ("Root/Child", "Topic", "Dynamic"),
    ]


def test_wait_polls_until_done_and_times_out(cfn: tuple[Any, Stubber]) -> None:
    client, stub = cfn
    pending = {**answer("in_place", 1), "Status": "CREATE_IN_PROGRESS", "ExecutionStatus": "UNAVAILABLE"}
    stub.add_response("describe_change_set", pending, {"StackName": PLATFORM, "ChangeSetName": NAME})
    describe(stub, "in_place", 1)
    sleeps: list[float] = []
    assert changeset.wait_for(client, stack=PLATFORM, name=NAME, sleep=sleeps.append) is True
    assert sleeps == [changeset.POLL_SECONDS]
    stub.add_response("describe_change_set", pending, {"StackName": PLATFORM, "ChangeSetName": NAME})
    now = iter([0.0, 5000.0])
    with pytest.raises(changeset.ChangeSetError, match="still CREATE_IN_PROGRESS after 1800 s"):
        changeset.wait_for(client, stack=PLATFORM, name=NAME, clock=lambda: next(now), sleep=sleeps.append)


def test_the_cli_flags_exist_in_the_pinned_cdk() -> None:
    help_text = subprocess.run(
        [str(changeset.CDK), "deploy", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in changeset.PREPARE_FLAGS:
        option, _, value = flag.partition("=")
        # yargs negates a boolean with --no-: `--no-notices` is `--notices [boolean]`.
        option = option.replace("--no-", "--") if option.startswith("--no-") else option
        assert re.search(rf"^  {option}[ ,]", help_text, re.MULTILINE), flag
        if value:
            assert f'"{value}"' in help_text, flag


# -------------------------------------------------------------------------- through make impact


def test_impact_changeset_end_to_end(
    synth: Synthesized, cfn: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    """make impact --changeset --stacks Platform: GetTemplate, the change set, the comparison, the cleanup."""
    client, stub = cfn
    deployed = copy.deepcopy(synth.templates[PLATFORM])
    deployed["Resources"][NODEGROUP]["Properties"]["ScalingConfig"]["DesiredSize"] = 3
    deployed["Resources"][ZONE]["Properties"]["HostedZoneConfig"] = {"Comment": "old"}
    stub.add_response(
        "get_template", {"TemplateBody": json.dumps(deployed)}, {"StackName": PLATFORM, "TemplateStage": "Original"}
    )
    stack_exists(stub)
    describe(stub, "in_place", 0)
    describe(stub, "in_place", 0)
    describe(stub, "in_place", 1, token="page-2")
    deleted_change_set(stub)
    log: list[tuple[tuple[str, ...], str]] = []
    argv = ["--changeset", "--assembly", str(synth.outdir), "--region", "us-east-1", "--stacks", PLATFORM]
    out, err = io.StringIO(), io.StringIO()
    real_check = changeset.check

    def named_check(*args: Any, **kwargs: Any) -> int:
        return real_check(*args, **{**kwargs, "name": NAME, "wait": no_wait})

    def creator(cdk_args: Sequence[str]) -> Any:
        log.append((tuple(cdk_args), "args"))
        return created(log)

    monkeypatch.setattr(changeset, "check", named_check)
    status = impact.main(
        [*argv, "-c", "nodeDesiredSize=2"],
        out=out,
        err=err,
        client_factory=lambda profile, region: client,
        changeset_creator=creator,
    )
    assert status == 0, out.getvalue() + err.getvalue()
    assert log == [(("-c", "nodeDesiredSize=2"), "args"), ((PLATFORM,), NAME)]
    assert "impact: 0 replaced, 0 added, 0 removed, 2 updated in place" in out.getvalue()
    assert "agrees with CloudFormation on all 2 planned change(s)" in out.getvalue()


def test_impact_changeset_refuses_a_baseline(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert impact.main(["--changeset", "--baseline", str(tmp_path)], out=out, err=err) == 2
    assert err.getvalue().strip() == "impact: --changeset compares with the deployed stacks; it takes no --baseline"


def test_the_cli_prepares_only_the_named_stacks(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[list[str]] = []

    def fake_run(command: list[str], **_: Any) -> Any:
        ran.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(changeset.subprocess, "run", fake_run)
    changeset.cdk_prepare(["-c", "nodeDesiredSize=3"])([PLATFORM], NAME)
    (command,) = ran
    assert command[:2] == [str(changeset.CDK), "deploy"] and command[-1] == PLATFORM
    for flag in changeset.PREPARE_FLAGS:
        assert flag in command, flag
    assert command[command.index("--change-set-name") + 1] == NAME
    assert [a for a in command[2:] if not a.startswith("-")] == [NAME, "never", "nodeDesiredSize=3", PLATFORM]


def test_nothing_to_compare_creates_nothing(cfn: tuple[Any, Stubber]) -> None:
    client, _ = cfn
    log: list[Any] = []
    out = io.StringIO()
    assert changeset.check([], stacks=[], client=client, create=created(log), out=out, name=NAME) == 0
    assert log == [] and "no stack in the credentials' account" in out.getvalue()


# ---------------------------------------------------------------------- review of issue 25, item 6


def _row(logical: str, action: str, replacement: str | None, details: list[tuple[str, str]], **extra: Any) -> Any:
    resource: dict[str, Any] = {"Action": action, "LogicalResourceId": logical, "ResourceType": "AWS::IAM::Role",
                                **extra}  # fmt: skip
    if replacement:
        resource["Replacement"] = replacement
    resource["Details"] = [{"Target": {"Attribute": "Properties", "Name": "X", "RequiresRecreation": "Never"},
                            "Evaluation": e, "ChangeSource": c} for e, c in details]  # fmt: skip
    return {"Type": "Resource", "ResourceChange": resource}


@pytest.mark.parametrize(
    ("details", "replacement", "predicted", "agreed"),
    [
        ([("Dynamic", "ResourceReference")], "False", "none", True),
        ([("Dynamic", "ResourceAttribute"), ("Dynamic", "ResourceReference")], "False", "update", True),
        ([("Dynamic", "ResourceAttribute")], "Conditional", "update", True),
        ([("Dynamic", "ResourceAttribute")], "Conditional", "none", True),
        ([("Dynamic", "ResourceAttribute")], "True", "none", False),  # a certain replacement is not "may"
        ([("Dynamic", "ResourceReference"), ("Static", "DirectModification")], "False", "none", False),
        ([("Dynamic", "DirectModification")], "Conditional", "update", False),
        ([("Static", "DirectModification")], "False", "none", False),
    ],
)
def test_rows_whose_every_detail_is_dynamic_may_change(
    cfn: tuple[Any, Stubber], details: list[tuple[str, str]], replacement: str, predicted: str, agreed: bool
) -> None:
    """Class of fault: a row CloudFormation cannot resolve before executing (every detail Dynamic, from a
    ResourceReference or ResourceAttribute) read as a certain change. Such a row "may change": it agrees with a
    prediction of none or update, Conditional included; one Static detail or a direct modification makes it certain."""
    client, stub = cfn
    page = {"Status": "CREATE_COMPLETE", "Changes": [_row("Role", "Modify", replacement, details)]}
    stub.add_response("describe_change_set", page, {"StackName": PLATFORM, "ChangeSetName": NAME})
    [change] = changeset.read_changes(client, stack=PLATFORM, change_set=NAME)
    assert changeset.agrees(predicted, change) is agreed
    if change.may_change:
        assert "may change" in changeset.describe(change)


def test_an_added_nested_stacks_change_set_is_read_by_its_arn(cfn: tuple[Any, Stubber]) -> None:
    """A nested stack being added has no PhysicalResourceId: its change set is described by ARN, no StackName
    (StackNameOrId takes no empty string)."""
    client, stub = cfn
    arn = "arn:aws:cloudformation:us-east-1:111122223333:changeSet/impact-Child/0f0e0d0c-0000-4000-8000-00000000000a"
    root = {"Status": "CREATE_COMPLETE", "Changes": [{"Type": "Resource", "ResourceChange": {
        "Action": "Add", "LogicalResourceId": "Child", "ResourceType": "AWS::CloudFormation::Stack",
        "ChangeSetId": arn, "Details": []}}]}  # fmt: skip
    child = {"Status": "CREATE_COMPLETE", "Changes": [{"Type": "Resource", "ResourceChange": {
        "Action": "Add", "LogicalResourceId": "Queue", "ResourceType": "AWS::SQS::Queue", "Details": []}}]}  # fmt: skip
    stub.add_response("describe_change_set", root, {"StackName": "Root", "ChangeSetName": NAME})
    stub.add_response("describe_change_set", child, {"ChangeSetName": arn})
    found = changeset.read_changes(client, stack="Root", change_set=NAME)
    assert [(c.stack, c.logical_id, c.action) for c in found] == [("Root", "Child", "Add"), ("Root/Child", "Queue",
                                                                                             "Add")]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "protected", "line"),
    [
        ("ROLLBACK_COMPLETE", False, "is ROLLBACK_COMPLETE: the CDK CLI would delete it before making a change set"),
        ("ROLLBACK_FAILED", False, "is ROLLBACK_FAILED: the CDK CLI would delete it before making a change set"),
        ("UPDATE_COMPLETE", True, "has termination protection, which the CDK CLI would rewrite"),
    ],
)
def test_stacks_the_cli_would_delete_or_rewrite_are_refused_in_one_line(
    cfn: tuple[Any, Stubber], status: str, protected: bool, line: str
) -> None:
    client, stub = cfn
    body = {"Stacks": [{"StackName": PLATFORM, "StackStatus": status, "CreationTime": "2026-12-01T00:00:00Z",
                        "EnableTerminationProtection": protected}]}  # fmt: skip
    stub.add_response("describe_stacks", body, {"StackName": PLATFORM})
    made: list[Any] = []
    out = io.StringIO()
    status_code = changeset.check(PREDICTED, stacks=[PLATFORM], client=client, create=lambda *a: made.append(a),
                                  out=out, name=NAME, wait=no_wait)  # fmt: skip
    assert (status_code, made) == (2, [])
    assert out.getvalue().splitlines() == [f"changeset: {PLATFORM} {line}; nothing was created"]


def _client_error(code: str, message: str = "x") -> Any:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": message}}, "op")


class FlakyCleanup:
    """DeleteChangeSet refused (InvalidChangeSetStatus) while the change set is CREATE_IN_PROGRESS; one stack's
    DescribeStacks throttled."""

    def __init__(self, in_progress_reads: int) -> None:
        self.reads = in_progress_reads
        self.calls: list[tuple[str, str]] = []

    def delete_change_set(self, *, StackName: str, ChangeSetName: str) -> None:  # noqa: N803
        self.calls.append(("DeleteChangeSet", StackName))
        if StackName == "A" and self.reads > 0:
            raise _client_error("InvalidChangeSetStatus", "Cannot delete ChangeSet in status CREATE_IN_PROGRESS")

    def describe_change_set(self, *, StackName: str, ChangeSetName: str) -> dict[str, Any]:  # noqa: N803
        self.calls.append(("DescribeChangeSet", StackName))
        self.reads -= 1
        return {"Status": "CREATE_IN_PROGRESS" if self.reads > 0 else "CREATE_COMPLETE"}

    def describe_stacks(self, *, StackName: str) -> dict[str, Any]:  # noqa: N803
        self.calls.append(("DescribeStacks", StackName))
        if StackName == "A":
            raise _client_error("Throttling", "Rate exceeded")
        return {"Stacks": [{"StackName": StackName, "StackStatus": "REVIEW_IN_PROGRESS"}]}

    def delete_stack(self, *, StackName: str) -> None:  # noqa: N803
        self.calls.append(("DeleteStack", StackName))


def test_cleanup_waits_out_a_change_set_in_progress_and_one_error_stops_nothing() -> None:
    """Class of fault: a cleanup that stops at its first error (or never deletes a change set still being made).
    DeleteChangeSet is retried until the change set is no longer CREATE_IN_PROGRESS; a throttled DescribeStacks
    of one stack is printed and the other stack is still cleaned up."""
    client, out = FlakyCleanup(in_progress_reads=3), io.StringIO()
    changeset.cleanup(client, stacks=["A", "B"], name=NAME, before={"A": None, "B": None}, out=out,
                      sleep=lambda _s: None)  # fmt: skip
    assert client.calls.count(("DeleteChangeSet", "A")) == 2 and ("DeleteStack", "B") in client.calls
    assert ("DeleteChangeSet", "B") in client.calls
    assert any("Throttling" in line for line in out.getvalue().splitlines())


def test_a_cleanup_error_never_hides_the_original_one(cfn: tuple[Any, Stubber]) -> None:
    class Broken(FlakyCleanup):
        def delete_change_set(self, *, StackName: str, ChangeSetName: str) -> None:  # noqa: N803
            raise _client_error("AccessDenied")

        def describe_stacks(self, *, StackName: str) -> dict[str, Any]:  # noqa: N803
            self.calls.append(("DescribeStacks", StackName))
            if len(self.calls) == 1:  # before: a new stack
                raise _client_error("ValidationError", f"Stack with id {StackName} does not exist")
            raise _client_error("Throttling", "Rate exceeded")  # in the cleanup

    client = Broken(0)

    def create(_stacks: Any, _name: str) -> None:
        raise changeset.ChangeSetError("cdk deploy --method=prepare-change-set exited 1")

    out = io.StringIO()
    assert changeset.check(PREDICTED, stacks=[PLATFORM], client=client, create=create, out=out, name=NAME) == 2
    lines = out.getvalue().splitlines()
    assert "changeset: cdk deploy --method=prepare-change-set exited 1" in lines
    assert any("AccessDenied" in line for line in lines) and any("Throttling" in line for line in lines)
