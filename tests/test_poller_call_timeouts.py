"""Class test (reviewer c, dupes item 2): a poller's per-call timeouts fit within its synthesized Lambda Timeout.

ram_share_wait and lattice_drain start an API call only when the poll has time for a whole one (connect + read)
before their POLL_MARGIN_SECONDS; a call longer than the function's Timeout less that margin would never start,
so every poll would skip it and the wait would only time out. The Timeouts come from the suite's shared syntheses
(ram_share_wait exists only where a share is made: the variant). The same holds for k8s_api's DescribeCluster
in the functions that reach the cluster, within the time each keeps back to report (else, cut to the time left,
it would never make all its attempts)."""

from __future__ import annotations

from typing import Any

import pytest
from controller_credentials import handler as credentials
from crd_installer import handler as crd_installer
from finalizer_guard import handler as finalizer_guard
from k8s_api import client as k8s_client
from lattice_drain import calls as drain_calls
from lattice_drain import handler as drain
from ram_share_wait import handler as ram_wait

from tests.conftest import Synthesized

# handler module prefix -> (connect s, read s, the poll's margin s): what one call may take and what it must leave.
# Read at test time (not import time), so a changed constant is what the test sees.
POLLERS: dict[str, Any] = {
    "ram_share_wait.": lambda: (
        ram_wait.CONNECT_TIMEOUT_SECONDS, ram_wait.READ_TIMEOUT_SECONDS, ram_wait.POLL_MARGIN_SECONDS
    ),
    "lattice_drain.": lambda: (
        drain_calls.CONNECT_TIMEOUT_SECONDS, drain_calls.READ_TIMEOUT_SECONDS, drain.POLL_MARGIN_SECONDS
    ),
}  # fmt: skip


def _polling_functions(synth: Synthesized) -> list[tuple[str, str, int]]:
    """(logical id, handler, Timeout) of every is_complete function of a poller in the synthesis."""
    found = []
    for template in synth.templates.values():
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            handler = str(props.get("Handler", ""))
            polls = resource["Type"] == "AWS::Lambda::Function" and handler.endswith(".is_complete")
            if polls and any(handler.startswith(prefix) for prefix in POLLERS):
                found.append((logical_id, handler, int(props.get("Timeout", 3))))
    return found


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_one_whole_call_fits_each_pollers_timeout_less_its_margin(which: str, request: pytest.FixtureRequest) -> None:
    synth: Synthesized = request.getfixturevalue(which)
    functions = _polling_functions(synth)
    kinds = {handler.split(".")[0] + "." for _, handler, _ in functions}
    assert kinds == ({"lattice_drain."} if which == "synth" else set(POLLERS)), functions
    for logical_id, handler, timeout in functions:
        connect, read, margin = next(v() for k, v in POLLERS.items() if handler.startswith(k))
        assert connect + read <= timeout - margin, (
            f"{logical_id} ({handler}): one call may take {connect} + {read} s, but the function has {timeout} s "
            f"less a {margin} s margin: no poll would ever call"
        )


def test_the_call_timeouts_are_the_documented_ones() -> None:
    """Each handler's comment gives these (botocore makes one attempt of connect + read)."""
    assert (ram_wait.CONNECT_TIMEOUT_SECONDS, ram_wait.READ_TIMEOUT_SECONDS) == (5.0, 20.0)
    assert (drain_calls.CONNECT_TIMEOUT_SECONDS, drain_calls.READ_TIMEOUT_SECONDS) == (5.0, 10.0)
    assert ram_wait._call_seconds() == 25.0 and drain_calls._call_seconds() == 15.0


# Functions that reach the cluster through KubeClient.for_lambda (k8s_api) -> the time each keeps back to report.
KUBE_USERS: dict[str, Any] = {
    "controller_credentials.": lambda: credentials.LAMBDA_TIME_RESERVE_SECONDS,
    "crd_installer.": lambda: crd_installer.LAMBDA_TIME_RESERVE_SECONDS,
    "finalizer_guard.": lambda: finalizer_guard.LAMBDA_TIME_RESERVE_SECONDS,
}


def test_a_whole_describe_cluster_fits_each_kube_users_timeout_less_its_reserve(synth: Synthesized) -> None:
    """k8s_api's DescribeCluster, all EKS_ATTEMPTS with their timeouts and botocore's backoff bound
    (eks_call_seconds), fits each function's Timeout less its reserve: otherwise every invocation would cut it."""
    whole = k8s_client.eks_call_seconds(
        k8s_client.EKS_ATTEMPTS, k8s_client.EKS_CONNECT_TIMEOUT_SECONDS, k8s_client.EKS_READ_TIMEOUT_SECONDS
    )
    seen = set()
    for template in synth.templates.values():
        for logical_id, resource in template["Resources"].items():
            handler = str(resource.get("Properties", {}).get("Handler", ""))
            prefix = next((p for p in KUBE_USERS if handler.startswith(p)), None)
            if resource["Type"] != "AWS::Lambda::Function" or prefix is None:
                continue
            seen.add(prefix)
            timeout = int(resource["Properties"].get("Timeout", 3))
            reserve = KUBE_USERS[prefix]()
            assert whole <= timeout - reserve, f"{logical_id} ({handler}): {whole} s > {timeout} s - {reserve} s"
    assert seen == set(KUBE_USERS)
    assert (k8s_client.EKS_CONNECT_TIMEOUT_SECONDS, k8s_client.EKS_READ_TIMEOUT_SECONDS) == (5.0, 10.0)
    assert k8s_client.EKS_ATTEMPTS == 3 and whole == 58.0  # 3 x 15 s + backoff bounds (1 + 5) and (2 + 5)
