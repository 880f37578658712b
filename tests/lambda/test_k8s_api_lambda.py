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
    monkeypatch.setenv("AWS_REGION", REGION)
    made: list[Any] = []

    def for_eks_cluster(cluster_name: str, *, eks_client: Any, **kwargs: Any) -> str:
        made.append(eks_client.meta.config)
        return "client"

    monkeypatch.setattr(KubeClient, "for_eks_cluster", for_eks_cluster)
    assert KubeClient.for_lambda("eks-demo", error=RefusedError) == "client"
    [config] = made
    assert (config.connect_timeout, config.read_timeout) == (5, 10)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}


def test_an_unknown_cluster_names_it(aws: FakeEks, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", REGION)
    with pytest.raises(KubeApiError) as exc:
        KubeClient.for_lambda("eks-gone", error=RefusedError, eks_config=Config(retries={"total_max_attempts": 1}))
    assert str(exc.value).startswith("eks:DescribeCluster for 'eks-gone' failed: An error occurred (ResourceNotFound")
    assert [path for path, _ in aws.calls] == ["/clusters/eks-gone"]
