"""Is the stack that sent this custom-resource event being removed as a whole?

A resource's Delete comes in three situations: the stack is deleted; a first create failed and is rolled back
(every resource goes); an update replaced or dropped the resource (its old copy is deleted in the update's
cleanup, or in the rollback of an update) while the rest of the stack -- the cluster, the other routes -- lives
on. Only the first two may clean up what belongs to the whole stack (strip the controller's finalizers, sweep
this cluster's Lattice services). The stack's own status tells them apart.

CloudFormation stack statuses: botocore's cloudformation 2010-05-15 service model, shape StackStatus (every
value is classified in tests/lambda/test_stack_removal.py), and the meanings in the CloudFormation User Guide,
"Stack status codes" (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-describing-stacks.html,
read 2026-12-05): DELETE_IN_PROGRESS is the ongoing removal of the stack; ROLLBACK_IN_PROGRESS is the removal
after a failed (or cancelled) stack creation -- an update's rollback is UPDATE_ROLLBACK_IN_PROGRESS, and an
import's rollback (IMPORT_ROLLBACK_IN_PROGRESS) returns the stack to its state before the import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

WHOLE_STACK_REMOVAL = frozenset({"DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"})


def removes_whole_stack(status: str | None) -> bool:
    """True only for a status in which CloudFormation deletes every resource of the stack."""
    return status in WHOLE_STACK_REMOVAL


def read_status(describe_stacks: Callable[..., Mapping[str, Any]], stack: str) -> str:
    """The stack's StackStatus ("" if CloudFormation lists no stack); errors are the caller's to judge."""
    stacks = describe_stacks(StackName=stack).get("Stacks") or []
    return str(stacks[0].get("StackStatus") or "") if stacks else ""
