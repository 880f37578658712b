"""`make impact ARGS=--changeset`: CloudFormation's own change set, resource by resource, against make impact.

tools/impact.py predicts, offline, what a deploy replaces. This asks CloudFormation the same question and
compares: the pinned CDK CLI prepares a change set per stack without executing it (`cdk deploy
--method=prepare-change-set`: it publishes the assets, uploads a large template, and creates the change set with
IncludeNestedStacks=true, aws-cdk 2.1148.1 lib/index.js deploy-stack createChangeSet; read 2026-12-05), this module
waits for it, reads every page of DescribeChangeSet (following nested stacks' change sets), compares, and deletes
the change set (and a stack the change set alone created, still REVIEW_IN_PROGRESS and holding nothing).

The shapes, from botocore 1.44.8's cloudformation 2010-05-15 model (service-2 and paginators-1; read 2026-12-05):
DescribeChangeSet takes ChangeSetName (a name or ARN), StackName, NextToken; answers Status (ChangeSetStatus:
CREATE_PENDING, CREATE_IN_PROGRESS, CREATE_COMPLETE, DELETE_*, FAILED), StatusReason, Changes (each a
ResourceChange: Action Add|Modify|Remove|Import|Dynamic|SyncWithActual, LogicalResourceId, ResourceType,
Replacement True|False|Conditional, ChangeSetId of a nested stack's change set) and NextToken; its paginator's
result key is Changes. The waiter ChangeSetCreateComplete (waiters-2) succeeds on CREATE_COMPLETE and fails on
FAILED; a change set with nothing to change also ends FAILED, with a StatusReason starting "The submitted
information didn't contain changes." or "No updates are to be performed." (the CDK toolkit's own test,
toolkit-lib stack-diagnoser changeSetHasNoChanges, aws-cdk 2.1148.1): that is no change, not an error.

How a prediction maps (impact's Change.action -> ResourceChange):
  replace -> Modify with Replacement True, or Conditional (CloudFormation may replace: impact's reading is the
             cautious one and agrees);
  update  -> Modify with Replacement False (Conditional disagrees: impact promised in place);
  add     -> Add;   remove -> Remove;
  none    -> not listed.
Dynamic (CloudFormation cannot tell before executing) agrees with replace or update; Import and SyncWithActual
agree with nothing impact predicts. Every disagreement is printed and the check fails.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from tools.tool_args import findings

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"
# The flags of the pinned CLI's deploy this uses (tests/test_changeset.py checks them against its --help).
# --exclusively: only the named stacks (by default the CLI adds the stacks they depend on, whose change sets this
# would neither compare nor delete).
PREPARE_FLAGS = (
    "--method=prepare-change-set",
    "--change-set-name",
    "--require-approval",
    "--exclusively",
    "--no-notices",
)
NO_CHANGES = ("The submitted information didn't contain changes.", "No updates are to be performed.")
DONE = frozenset({"CREATE_COMPLETE", "FAILED"})
NESTED_STACK = "AWS::CloudFormation::Stack"
DEFAULT_TIMEOUT_SECONDS = 1800.0
POLL_SECONDS = 10.0


class ChangeSetError(Exception):
    """The change set could not be made or read; one line."""


@dataclass(frozen=True)
class CfnChange:
    stack: str  # a nested stack's changes: "<parent>/<nested logical id>"
    logical_id: str
    type: str
    action: str
    replacement: str | None = None
    # Every Detail's Evaluation is Dynamic from a ResourceReference or ResourceAttribute: CloudFormation cannot
    # tell before executing whether the value changes at all. botocore 1.44.8 cloudformation model,
    # ResourceChangeDetail Evaluation/ChangeSource; read 2026-12-05.
    may_change: bool = False


@dataclass(frozen=True)
class Disagreement:
    stack: str
    logical_id: str
    type: str
    predicted: str  # impact's action, or "none"
    cloudformation: str  # "Modify (Replacement True)", or "none"

    def line(self) -> str:
        return (
            f"  {self.stack}/{self.logical_id} ({self.type}): make impact predicted {self.predicted}, "
            f"CloudFormation plans {self.cloudformation}"
        )


def _is_no_change(reason: str) -> bool:
    return any(reason.startswith(prefix) for prefix in NO_CHANGES)


def wait_for(
    client: Any,
    *,
    stack: str,
    name: str,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Wait until the change set is made; False when it has nothing to change. ChangeSetError on any other
    FAILED, or after `timeout` seconds."""
    deadline = clock() + timeout
    while True:
        answer = client.describe_change_set(StackName=stack, ChangeSetName=name)
        status, reason = answer.get("Status", ""), str(answer.get("StatusReason", ""))
        if status == "CREATE_COMPLETE":
            return True
        if status == "FAILED":
            if _is_no_change(reason):
                return False
            raise ChangeSetError(f"change set {name} of {stack} failed: {reason}")
        if status not in {"CREATE_PENDING", "CREATE_IN_PROGRESS"}:
            raise ChangeSetError(f"change set {name} of {stack} is {status}: {reason}")
        if clock() >= deadline:
            raise ChangeSetError(f"change set {name} of {stack} still {status} after {timeout:.0f} s")
        sleep(POLL_SECONDS)


UNRESOLVED_SOURCES = frozenset({"ResourceReference", "ResourceAttribute"})  # resolved only when it executes


def _may_change(resource: Any) -> bool:
    details = resource.get("Details") or []
    return bool(details) and all(
        d.get("Evaluation") == "Dynamic" and d.get("ChangeSource") in UNRESOLVED_SOURCES for d in details
    )


def read_changes(client: Any, *, stack: str | None, change_set: str, label: str | None = None) -> list[CfnChange]:
    """Every ResourceChange of the change set, every page, nested stacks' change sets followed. `stack` None: the
    change set is named by its ARN alone (a nested one: its stack has no PhysicalResourceId yet when it is being
    added, and StackName, a StackNameOrId, takes no empty string: min 1 in botocore's model)."""
    label = label or str(stack)
    found: list[CfnChange] = []
    where = {"StackName": stack} if stack else {}
    pages = client.get_paginator("describe_change_set").paginate(**where, ChangeSetName=change_set)
    for page in pages:
        for change in page.get("Changes", []):
            resource = change.get("ResourceChange", {})
            found.append(
                CfnChange(
                    stack=label,
                    logical_id=str(resource.get("LogicalResourceId", "")),
                    type=str(resource.get("ResourceType", "")),
                    action=str(resource.get("Action", "")),
                    replacement=resource.get("Replacement"),
                    may_change=_may_change(resource),
                )
            )
            nested = resource.get("ChangeSetId")
            if resource.get("ResourceType") == NESTED_STACK and nested:
                found += read_changes(
                    client, stack=None, change_set=str(nested), label=f"{label}/{resource.get('LogicalResourceId')}"
                )
    return found


def agrees(predicted: str, change: CfnChange | None) -> bool:
    if change is None:
        return predicted == "none"
    action, replacement = change.action, change.replacement
    if action == "Dynamic":
        return predicted in {"replace", "update"}
    if action == "Modify" and change.may_change and predicted in {"none", "update"}:
        # "may change": impact reads the template, where nothing (none) or something in place (update) changes;
        # a Conditional replacement here hangs on the same unresolved value.
        return replacement in {"False", "Conditional", None}
    return {
        "replace": action == "Modify" and replacement in {"True", "Conditional"},
        "update": action == "Modify" and replacement == "False",
        "add": action == "Add",
        "remove": action == "Remove",
        "none": False,
    }.get(predicted, False)


def describe(change: CfnChange | None) -> str:
    if change is None:
        return "no change"
    may = ", may change: every detail Dynamic" if change.may_change else ""
    return f"{change.action} (Replacement {change.replacement}{may})" if change.action == "Modify" else change.action


def compare(predicted: Iterable[Any], planned: Iterable[CfnChange], *, stacks: Sequence[str]) -> list[Disagreement]:
    """`predicted`: impact's Change objects (stack, logical_id, type, action); `planned`: CloudFormation's, for
    `stacks` (and their nested stacks)."""
    selected = set(stacks)
    ours = {(c.stack, c.logical_id): c for c in predicted if c.stack in selected}
    theirs = {(c.stack, c.logical_id): c for c in planned}
    out: list[Disagreement] = []
    for key in sorted(set(ours) | set(theirs)):
        mine, cfn = ours.get(key), theirs.get(key)
        action = mine.action if mine is not None else "none"
        if not agrees(action, cfn):
            kind = mine.type if mine is not None else (cfn.type if cfn else "")
            out.append(Disagreement(key[0], key[1], kind, action, describe(cfn)))
    return out


def describe_stack(client: Any, stack: str) -> dict[str, Any] | None:
    """The stack's description, or None when it does not exist."""
    try:
        stacks = client.describe_stacks(StackName=stack).get("Stacks", [])
    except Exception as err:  # botocore ClientError ValidationError: "Stack with id X does not exist"
        if "does not exist" in str(err):
            return None
        raise
    return dict(stacks[0]) if stacks else None


def stack_status(client: Any, stack: str) -> str | None:
    """The stack's status, or None when it does not exist."""
    found = describe_stack(client, stack)
    return str(found["StackStatus"]) if found else None


def refusal(stack: str, found: dict[str, Any] | None) -> str | None:
    """Why the pinned CLI's prepare-change-set must not touch this stack, or None. aws-cdk 2.1148.1 lib/index.js
    (read 2026-12-05): deployStack deletes a stack whose status isCreationFailure (ROLLBACK_COMPLETE or
    ROLLBACK_FAILED, lines 107904-107905) before re-creating it (lines 113649-113653), and changeSetDeployment calls
    updateTerminationProtection after creating the change set even when it does not execute it (line 113994),
    which sets EnableTerminationProtection to the template's (lines 114153-114167)."""
    if found is None:
        return None
    status = str(found.get("StackStatus", ""))
    if status.startswith("ROLLBACK_"):
        return f"{stack} is {status}: the CDK CLI would delete it before making a change set"
    if found.get("EnableTerminationProtection"):
        return f"{stack} has termination protection, which the CDK CLI would rewrite"
    return None


def cdk_prepare(cdk_args: Sequence[str]) -> Callable[[Sequence[str], str], None]:
    """Creates change set `name` for `stacks` with the pinned CLI, executing nothing."""

    def create(stacks: Sequence[str], name: str) -> None:
        command = [str(CDK), "deploy", PREPARE_FLAGS[0], "--change-set-name", name, "--require-approval", "never"]
        command += ["--exclusively", "--no-notices", *cdk_args, *stacks]
        result = subprocess.run(command, check=False)  # noqa: S603 - the pinned CLI, the user's -c values, no shell
        if result.returncode != 0:
            raise ChangeSetError(f"cdk deploy --method=prepare-change-set exited {result.returncode}")

    return create


def check(
    predicted: Iterable[Any],
    *,
    stacks: Sequence[str],
    client: Any,
    create: Callable[[Sequence[str], str], None],
    out: TextIO,
    name: str | None = None,
    wait: Callable[..., bool] = wait_for,
) -> int:
    """Prepare, wait, compare, clean up. 0 agreed, 1 a disagreement (printed), 2 the change set failed."""
    name = name or f"impact-{int(time.time())}"
    if not stacks:
        print("changeset: no stack in the credentials' account to compare", file=out)
        return 0
    described = {stack: describe_stack(client, stack) for stack in stacks}
    for stack, found in described.items():
        reason = refusal(stack, found)
        if reason:
            print(f"changeset: {reason}; nothing was created", file=out)
            return 2
    before = {stack: (str(found["StackStatus"]) if found else None) for stack, found in described.items()}
    planned: list[CfnChange] = []
    try:
        create(stacks, name)
        for stack in stacks:
            try:
                made = wait(client, stack=stack, name=name)
            except Exception as err:
                if "ChangeSetNotFound" in type(err).__name__ or "ChangeSetNotFound" in str(err):
                    # The CLI creates none for a stack whose template and parameters are unchanged.
                    print(f"changeset: {stack}: unchanged (the CDK CLI made no change set)", file=out)
                    continue
                raise
            if made:
                planned += read_changes(client, stack=stack, change_set=name)
            else:
                print(f"changeset: {stack}: CloudFormation finds nothing to change", file=out)
    except ChangeSetError as err:
        print(f"changeset: {err}", file=out)
        return 2
    finally:
        cleanup(client, stacks=stacks, name=name, before=before, out=out)
    disagreements = compare(predicted, planned, stacks=stacks)
    compared = len(planned)
    heading = f"changeset: {len(disagreements)} disagreement(s) between make impact and CloudFormation:"
    clean = f"changeset: make impact agrees with CloudFormation on all {compared} planned change(s)"
    return findings(disagreements, heading=heading, clean=clean, out=out)


CLEANUP_WAIT_SECONDS = 300.0


def _code(err: Exception) -> str:
    response = getattr(err, "response", None) or {}
    return str(response.get("Error", {}).get("Code") or type(err).__name__)


def cleanup(
    client: Any,
    *,
    stacks: Sequence[str],
    name: str,
    before: dict[str, str | None],
    out: TextIO,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Delete the change set; and a stack that did not exist before and that only the change set made. Every
    call is guarded: one error is printed and the rest still runs (and the caller's own error stays the one
    reported). A change set still CREATE_IN_PROGRESS refuses deletion (InvalidChangeSetStatus): wait, then retry."""
    for stack in stacks:
        deadline = clock() + CLEANUP_WAIT_SECONDS
        while True:
            try:
                client.delete_change_set(StackName=stack, ChangeSetName=name)
                break
            except Exception as err:
                code = _code(err)
                if code == "InvalidChangeSetStatus" and clock() < deadline:
                    try:
                        while client.describe_change_set(StackName=stack, ChangeSetName=name).get("Status") in {
                            "CREATE_PENDING", "CREATE_IN_PROGRESS"} and clock() < deadline:  # fmt: skip
                            sleep(POLL_SECONDS)
                    except Exception as described:
                        print(f"changeset: could not read change set {name} of {stack}: {_code(described)}",
                              file=out)  # fmt: skip
                        break
                    continue
                if "ChangeSetNotFound" not in code and "does not exist" not in str(err):
                    print(f"changeset: could not delete change set {name} of {stack}: {code}: {err}", file=out)
                break
        if before.get(stack) is not None:
            continue
        try:
            if stack_status(client, stack) == "REVIEW_IN_PROGRESS":
                client.delete_stack(StackName=stack)
                print(f"changeset: deleted {stack}, which only the change set had created (REVIEW_IN_PROGRESS)",
                      file=out)  # fmt: skip
        except Exception as err:
            print(f"changeset: could not clean up {stack}: {_code(err)}: {err}", file=out)
