"""KubeClient.for_lambda with the real boto3: which region it takes (AWS_REGION first), that EKS and STS both use
it, what reaches the EKS client and the KubeClient, and the caller's own error when no region is known.

EKS is a local DescribeCluster on 127.0.0.1 (AWS_ENDPOINT_URL_EKS) that records how each call was signed; the
cluster it describes is a fake API server accepting only real EKS tokens signed for one region."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from k8s_api import KubeApiError, KubeClient
from k8s_api.client import bounded_eks_config, eks_call_seconds

from tests.support.fake_eks import FakeEks
from tests.support.fake_kube import FakeKubeApi, looks_like_eks_token
from tests.support.local_aws import use_local_aws

REGION = "eu-west-3"
OTHER_REGION = "ap-southeast-2"
CM_PATH = "/api/v1/namespaces/default/configmaps/demo"


class RefusedError(Exception):
    """The caller's own error type (a handler's), which for_lambda raises when it cannot work."""


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeEks]:
    """Throwaway credentials, no config files or profile, no region, and EKS answered by FakeEks."""
    with FakeEks() as eks:
        use_local_aws(monkeypatch, tmp_path, {"EKS": eks.endpoint})
        yield eks


@pytest.fixture
def cluster(aws: FakeEks) -> Iterator[FakeKubeApi]:
    """Cluster eks-demo: its API server accepts only EKS tokens signed for REGION."""
    with FakeKubeApi(token="never-this", accept_token=functools.partial(looks_like_eks_token, region=REGION)) as api:
        aws.clusters["eks-demo"] = {"endpoint": api.endpoint, "certificateAuthority": {"data": api.ca_data}}
        api.put_object(CM_PATH, {"kind": "ConfigMap"})
        yield api


def test_aws_region_wins_for_eks_and_for_the_token(
    aws: FakeEks, cluster: FakeKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Lambda runtime sets both; a different AWS_DEFAULT_REGION must not take over either client.
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", OTHER_REGION)
    client = KubeClient.for_lambda("eks-demo", error=RefusedError)
    assert [path for path, _ in aws.calls] == ["/clusters/eks-demo"]
    assert aws.regions() == [REGION]
    assert client.endpoint == cluster.endpoint
    assert client.get(CM_PATH) == {"kind": "ConfigMap"}  # only a token signed for REGION gets in


def test_aws_default_region_when_aws_region_is_unset(
    aws: FakeEks, cluster: FakeKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    client = KubeClient.for_lambda("eks-demo", error=RefusedError)
    assert aws.regions() == [REGION]
    assert client.get(CM_PATH) == {"kind": "ConfigMap"}


def test_the_token_is_signed_for_the_lambdas_region(
    aws: FakeEks, cluster: FakeKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same cluster reached from another region: its API server (expecting REGION) refuses that token.
    monkeypatch.setenv("AWS_REGION", OTHER_REGION)
    client = KubeClient.for_lambda("eks-demo", error=RefusedError)
    assert aws.regions() == [OTHER_REGION]
    with pytest.raises(KubeApiError) as exc:
        client.get(CM_PATH)
    assert exc.value.status == 401


@pytest.mark.parametrize("empty", [None, ""], ids=["unset", "empty"])
def test_no_region_is_the_callers_error_before_any_call(
    aws: FakeEks, monkeypatch: pytest.MonkeyPatch, empty: str | None
) -> None:
    if empty is not None:
        monkeypatch.setenv("AWS_REGION", empty)
        monkeypatch.setenv("AWS_DEFAULT_REGION", empty)
    with pytest.raises(RefusedError) as exc:
        KubeClient.for_lambda("eks-demo", error=RefusedError)
    assert str(exc.value) == "AWS_REGION is not set; cannot reach EKS"
    assert aws.calls == []


def test_eks_config_reaches_the_eks_client_and_settings_the_kube_client(
    aws: FakeEks, cluster: FakeKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", REGION)
    config = Config(user_agent_extra="finalizer-guard/test")
    client = KubeClient.for_lambda(
        "eks-demo", error=RefusedError, eks_config=config, max_attempts=1, sleep=lambda s: None
    )
    [(_, headers)] = aws.calls
    assert "finalizer-guard/test" in headers["user-agent"]
    cluster.fail_next(CM_PATH, 503, times=2, message="busy")
    with pytest.raises(KubeApiError) as exc:
        client.get(CM_PATH)
    assert str(exc.value).endswith("still failing after 1 attempts; last error: HTTP 503: busy")
    assert len(cluster.requests_to(CM_PATH)) == 1


def test_without_eks_config_describe_cluster_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """5 s to connect, 10 s to read, three attempts in all (botocore's own reading of the Config)."""
    config = _made_config(monkeypatch)
    assert (config.connect_timeout, config.read_timeout) == (5, 10)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}


def _sized(config: Any) -> tuple[int, float, float]:
    return config.retries["total_max_attempts"], config.connect_timeout, config.read_timeout


def test_describe_cluster_keeps_its_defaults_only_with_time_for_all_of_them() -> None:
    """Three attempts of 5 s + 10 s with botocore's longest backoff before retries 1 and 2 (1 s and 2 s, each up to
    5 s more on an x-amz-retry-after header): 58 s. Below that, fewer attempts; below one attempt, shorter ones."""
    assert eks_call_seconds(3, 5, 10) == 58
    assert _sized(bounded_eks_config()) == (3, 5, 10)
    assert _sized(bounded_eks_config(58)) == (3, 5, 10)
    assert _sized(bounded_eks_config(57.9)) == (2, 5, 10)
    assert _sized(bounded_eks_config(36)) == (2, 5, 10)
    assert _sized(bounded_eks_config(35.9)) == (1, 5, 10)
    assert _sized(bounded_eks_config(15)) == (1, 5, 10)
    assert _sized(bounded_eks_config(1.5)) == (1, 0.5, 1.0)


@pytest.mark.parametrize("seconds", [0.3, 1.0, 1.4, 7.5, 14.9, 15.0, 20.0, 35.99, 36.0, 50.0, 57.99, 58.0, 300.0])
def test_describe_cluster_fits_the_seconds_it_is_given(seconds: float) -> None:
    config = bounded_eks_config(seconds)
    assert config.retries["mode"] == "standard"
    assert eks_call_seconds(*_sized(config)) <= seconds + 1e-9
    assert config.connect_timeout > 0 and config.read_timeout > 0


def _made_config(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> Any:
    monkeypatch.setenv("AWS_REGION", REGION)
    made: list[Any] = []

    def for_eks_cluster(cluster_name: str, *, eks_client: Any, **rest: Any) -> str:
        made.append(eks_client.meta.config)
        return "client"

    monkeypatch.setattr(KubeClient, "for_eks_cluster", for_eks_cluster)
    assert KubeClient.for_lambda("eks-demo", error=RefusedError, **kwargs) == "client"
    [config] = made
    return config


def test_with_time_left_describe_cluster_is_cut_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _sized(_made_config(monkeypatch, time_left=lambda: 300.0)) == (3, 5, 10)
    assert _sized(_made_config(monkeypatch, time_left=lambda: 20.0)) == (1, 5, 10)
    assert _sized(_made_config(monkeypatch, time_left=lambda: 3.0)) == (1, 1, 2)
    # A caller's own Config keeps its other settings; the time left still cuts attempts and timeouts.
    mine = Config(user_agent_extra="finalizer-guard/test", retries={"mode": "standard", "total_max_attempts": 5})
    config = _made_config(monkeypatch, eks_config=mine, time_left=lambda: 20.0)
    assert config.user_agent_extra == "finalizer-guard/test"
    assert _sized(config) == (1, 5, 10)


def test_without_time_for_one_attempt_describe_cluster_is_not_called(
    aws: FakeEks, cluster: FakeKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", REGION)
    with pytest.raises(KubeApiError) as exc:
        KubeClient.for_lambda("eks-demo", error=RefusedError, time_left=lambda: 0.9)
    assert str(exc.value) == "eks:DescribeCluster for 'eks-demo': no time left to call it (0.9 s left)"
    assert aws.calls == []


def test_a_slow_describe_cluster_says_how_much_time_it_had(
    aws: FakeEks, cluster: FakeKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", REGION)
    aws.delay = 1.5
    with pytest.raises(KubeApiError) as exc:
        KubeClient.for_lambda("eks-demo", error=RefusedError, time_left=lambda: 1.2)
    message = str(exc.value)
    assert message.startswith("eks:DescribeCluster for 'eks-demo' failed: Read timeout"), message
    assert message.endswith("(out of time: 1.2 s of the invocation were left for it)"), message
    assert len(aws.calls) == 1  # total_max_attempts 1: botocore counts the first call


@pytest.mark.parametrize(
    ("name", "answer"), [("eks-denied", "AccessDeniedException"), ("eks-gone", "ResourceNotFoundException")]
)
def test_an_answer_from_eks_is_not_blamed_on_the_time_left(
    aws: FakeEks, monkeypatch: pytest.MonkeyPatch, name: str, answer: str
) -> None:
    """Under the 58 s of a whole DescribeCluster, only a call that got no answer was cut short by the time left; a
    refusal or an unknown cluster is EKS's answer (reviewer c, dupes item 4: red before, '(out of time: 40.0 s ...)'
    followed both)."""
    monkeypatch.setenv("AWS_REGION", REGION)
    aws.denied.add("eks-denied")
    with pytest.raises(KubeApiError) as exc:
        KubeClient.for_lambda(name, error=RefusedError, time_left=lambda: 40.0)
    message = str(exc.value)
    assert message.startswith(f"eks:DescribeCluster for {name!r} failed: An error occurred ({answer})"), message
    assert "out of time" not in message, message


def test_an_unknown_cluster_names_it(aws: FakeEks, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", REGION)
    with pytest.raises(KubeApiError) as exc:
        KubeClient.for_lambda("eks-gone", error=RefusedError, eks_config=Config(retries={"total_max_attempts": 1}))
    assert str(exc.value).startswith("eks:DescribeCluster for 'eks-gone' failed: An error occurred (ResourceNotFound")
    assert [path for path, _ in aws.calls] == ["/clusters/eks-gone"]
