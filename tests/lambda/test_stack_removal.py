"""lambda/stack_removal: a whole-stack removal is told from an update by the stack's status, for every status
CloudFormation has (botocore's StackStatus enum, classified in tests/support/stack_statuses.py)."""

from __future__ import annotations

from typing import Any

import pytest
from stack_removal.status import WHOLE_STACK_REMOVAL, read_status, removes_whole_stack

from tests.support.stack_statuses import WHOLE_STACK_REMOVAL as TABLE
from tests.support.stack_statuses import botocore_stack_statuses


def test_every_botocore_stack_status_is_classified() -> None:
    assert sorted(TABLE) == sorted(botocore_stack_statuses())


def test_the_handlers_set_is_what_the_table_says() -> None:
    assert {status for status, whole in TABLE.items() if whole} == WHOLE_STACK_REMOVAL
    assert set(botocore_stack_statuses()) >= WHOLE_STACK_REMOVAL  # no misspelt status that would never match


@pytest.mark.parametrize("status", botocore_stack_statuses())
def test_removes_whole_stack(status: str) -> None:
    assert removes_whole_stack(status) is TABLE[status]


@pytest.mark.parametrize("status", [None, "", "delete_in_progress", "DELETE_IN_PROGRESS "])
def test_anything_else_is_not_a_removal(status: str | None) -> None:
    assert removes_whole_stack(status) is False


@pytest.mark.parametrize(
    ("answer", "status"),
    [({"Stacks": [{"StackStatus": "ROLLBACK_IN_PROGRESS"}]}, "ROLLBACK_IN_PROGRESS"), ({"Stacks": []}, ""), ({}, "")],
)
def test_read_status(answer: dict[str, Any], status: str) -> None:
    calls: list[dict[str, Any]] = []

    def describe_stacks(**params: Any) -> dict[str, Any]:
        calls.append(params)
        return answer

    assert read_status(describe_stacks, "arn:stack") == status
    assert calls == [{"StackName": "arn:stack"}]
