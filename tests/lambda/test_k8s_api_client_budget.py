"""KubeClient's time budget at its edges (the least time left that still gets an attempt or a retry wait, the most
that does not), running out between attempts, and endpoint paths kept byte for byte."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from k8s_api import KubeApiError, KubeClient
from k8s_api.client import MIN_ATTEMPT_SECONDS

from tests.support.fake_kube import FakeKubeApi

CM_PATH = "/api/v1/namespaces/default/configmaps/demo"
CM = {"kind": "ConfigMap"}


@pytest.fixture
def api() -> Iterator[FakeKubeApi]:
    with FakeKubeApi(token="good-token") as server:
        server.put_object(CM_PATH, CM)
        yield server


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class Script:
    """time_left() answering from a list, one value per call (the last one repeats)."""

    def __init__(self, *values: float) -> None:
        self.values = list(values)

    def __call__(self) -> float:
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


def client(api: FakeKubeApi, sleeps: Sleeps, **kwargs: Any) -> KubeClient:
    kwargs.setdefault("endpoint", api.endpoint)
    return KubeClient(ca_data=api.ca_data, token=lambda: "good-token", sleep=sleeps, **kwargs)


def test_exactly_the_minimum_time_left_still_gets_an_attempt(api: FakeKubeApi) -> None:
    assert MIN_ATTEMPT_SECONDS == 1.0
    assert client(api, Sleeps(), time_left=lambda: 1.0).get(CM_PATH) == CM
    assert len(api.requests) == 1


def test_just_under_the_minimum_gets_none(api: FakeKubeApi) -> None:
    with pytest.raises(KubeApiError) as exc:
        client(api, Sleeps(), time_left=lambda: 0.999).get(CM_PATH)
    assert str(exc.value) == f"GET {CM_PATH}: no time left to call the Kubernetes API at {api.endpoint}"
    assert exc.value.status is None
    assert api.requests == []


def test_a_wait_that_leaves_exactly_the_minimum_is_taken(api: FakeKubeApi) -> None:
    api.fail_next(CM_PATH, 503, headers={"Retry-After": "2"})
    sleeps = Sleeps()
    assert client(api, sleeps, time_left=lambda: 3.0).get(CM_PATH) == CM
    assert (sleeps, len(api.requests)) == ([2.0], 2)


def test_a_wait_that_leaves_less_is_not(api: FakeKubeApi) -> None:
    api.fail_next(CM_PATH, 503, headers={"Retry-After": "2.5"}, message="busy")
    sleeps = Sleeps()
    with pytest.raises(KubeApiError) as exc:
        client(api, sleeps, time_left=lambda: 3.0).get(CM_PATH)
    assert str(exc.value) == (
        f"GET {CM_PATH}: Kubernetes API at {api.endpoint} gave up after 1 attempt(s), out of time for another; "
        "last error: HTTP 503: busy"
    )
    assert exc.value.status == 503
    assert (sleeps, len(api.requests)) == ([], 1)


def test_time_running_out_during_the_wait_ends_before_the_next_attempt(api: FakeKubeApi) -> None:
    # Enough time when the wait is planned, too little once it is over (a slow first answer, say).
    api.fail_next(CM_PATH, 500, times=3, headers={"Retry-After": "0"}, message="etcd timeout")
    sleeps = Sleeps()
    with pytest.raises(KubeApiError) as exc:
        client(api, sleeps, time_left=Script(5.0, 5.0, 0.5)).get(CM_PATH)
    assert str(exc.value) == (
        f"GET {CM_PATH}: Kubernetes API at {api.endpoint} gave up after 1 attempt(s), out of time for another; "
        "last error: HTTP 500: etcd timeout"
    )
    assert exc.value.status == 500
    assert (sleeps, len(api.requests)) == ([0.0], 1)


@pytest.mark.parametrize("prefix", ["/proxX", "/a/XX", "/XX/X"])
def test_an_endpoint_path_is_kept_up_to_its_trailing_slash(api: FakeKubeApi, prefix: str) -> None:
    api.put_object(prefix + CM_PATH, CM)
    c = client(api, Sleeps(), endpoint=f"{api.endpoint}{prefix}/")
    assert c.endpoint == f"{api.endpoint}{prefix}"
    assert c.get(CM_PATH) == CM
    assert [r.path for r in api.requests] == [prefix + CM_PATH]
