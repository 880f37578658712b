"""Every CloudFormation stack status, classified independently of lambda/stack_removal: does CloudFormation
remove every resource of the stack in it?

Meanings: CloudFormation User Guide, "Stack status codes"
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-describing-stacks.html, read 2026-12-05).
The list itself is botocore's (cloudformation 2010-05-15 service model, shape StackStatus): a status botocore
knows that this table does not fails tests/lambda/test_stack_removal.py.
"""

from __future__ import annotations

import botocore.session

WHOLE_STACK_REMOVAL = {
    "DELETE_IN_PROGRESS": True,  # the stack is being deleted
    "ROLLBACK_IN_PROGRESS": True,  # a failed (or cancelled) first create: every created resource is deleted
    # Resting states: no Delete comes then.
    "CREATE_COMPLETE": False,
    "CREATE_FAILED": False,
    "ROLLBACK_COMPLETE": False,
    "ROLLBACK_FAILED": False,
    "DELETE_COMPLETE": False,
    "DELETE_FAILED": False,
    "UPDATE_COMPLETE": False,
    "UPDATE_FAILED": False,
    "UPDATE_ROLLBACK_COMPLETE": False,
    "UPDATE_ROLLBACK_FAILED": False,
    "IMPORT_COMPLETE": False,
    "IMPORT_ROLLBACK_COMPLETE": False,
    "IMPORT_ROLLBACK_FAILED": False,
    "REVIEW_IN_PROGRESS": False,
    # An update or import: the stack lives on, whatever resource it replaces or drops.
    "CREATE_IN_PROGRESS": False,
    "UPDATE_IN_PROGRESS": False,
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": False,  # the old copies of replaced or dropped resources go
    "UPDATE_ROLLBACK_IN_PROGRESS": False,  # back to the previous template
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": False,  # the failed update's new resources go
    "IMPORT_IN_PROGRESS": False,
    "IMPORT_ROLLBACK_IN_PROGRESS": False,  # back to the state before the import
}


def botocore_stack_statuses() -> list[str]:
    model = botocore.session.get_session().get_service_model("cloudformation")
    return list(model.shape_for("StackStatus").enum)
