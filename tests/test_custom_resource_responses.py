"""Every custom resource's response to CloudFormation fits its 4,096-byte limit at the configured maxima (fault
class 8 of ../shared/REVIEW.md: the metric-id lookup once answered one Data key per route and route x backend,
so 10 routes x 10 backends failed the Gateway deploy).

What is measured is the body the CDK provider framework sends (aws-cdk-lib 2.273.0
custom-resources/lib/provider-framework/runtime/cfn-response.js: Status, Reason, StackId, RequestId,
PhysicalResourceId, LogicalResourceId, NoEcho, Data; Data merges on_event's and is_complete's), with every part
at its largest: the longest stack ARN, the template's own logical id, and each handler's physical id and Data
built from the longest inputs the configuration or the service accepts. A custom resource type without an entry
below fails the test: a new handler must say what it answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from lattice_metrics import handler as metric_ids

from tests.conftest import PipelineSynth, Synthesized
from tests.service_constraints import Template, assembly_templates
from tests.support.fake_lattice import FakeLattice

# CloudFormation: "The total size of the response body can't exceed 4096 bytes" (CloudFormation User Guide, Custom
# resource response objects, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html,
# read 2026-12-05; SPEC §9).
LIMIT = 4096
# arn:<partition>:cloudformation:<region>:<account>:stack/<name, 128 at most>/<uuid>
STACK_ID = "arn:aws-iso-b:cloudformation:ap-southeast-7:123456789012:stack/" + "s" * 128 + "/" + "u" * 36
REQUEST_ID = "r" * 36
CLUSTER = "c" * 100  # EKS ClusterName: at most 100 (botocore eks)
ZONE_ID = "Z" * 32  # Route 53 ResourceId: at most 32 (botocore route53)
HOSTNAME = "h" * 253  # a DNS name
LATTICE_DOMAIN = "d" * 255  # a Lattice service's DNS name (botocore vpc-lattice DnsEntry domainName: a string)
K8S_PATH = "/apis/" + "g" * 253 + "/v1/namespaces/" + "n" * 63 + "/" + "k" * 63 + "/" + "o" * 253
ARN = "arn:aws-iso-b:ram:ap-southeast-7:123456789012:resource-share/" + "x" * 36
UUID_PHYSICAL = "r" * 36  # the framework's default physical id: the request id


def _lattice_metric_ids(props: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """Run the real handler against a fake Lattice that holds the wanted service, with the longest id."""
    with FakeLattice(page_size=100) as fake:
        import boto3
        from botocore.config import Config

        for want in props["Services"]:
            fake.add_service(want["Name"], tags={})
        client = boto3.client(
            "vpc-lattice", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{fake.port}",
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}),
        )  # fmt: skip
        event = {"RequestType": "Create", "ResourceProperties": props}
        started = metric_ids.on_event(event, None)
        done = metric_ids.is_complete({**event, **started}, None, client=client, sleep=lambda _: None)
    assert done["IsComplete"]
    # The fake's ids are as long as Lattice's (svc- and 17 characters: botocore vpc-lattice ServiceId, max 21).
    assert all(len(v) == 21 for v in done["Data"].values())
    return started["PhysicalResourceId"], done["Data"]


# type -> (template properties) -> the largest (physical id, Data) its handler answers.
RESPONSES: dict[str, Callable[[Mapping[str, Any]], tuple[str, dict[str, str]]]] = {
    "Custom::LatticeMetricIds": _lattice_metric_ids,
    # lambda/lattice_dns: physical lattice-dns:<zone>:<hostname>; Data WaitStartedAt (on_event) and the record.
    "Custom::LatticeDnsRecord": lambda _: (
        f"lattice-dns:{ZONE_ID}:{HOSTNAME}",
        {"WaitStartedAt": "9" * 11, "LatticeDomainName": LATTICE_DOMAIN, "Hostname": HOSTNAME},
    ),
    # lambda/crd_installer: gateway-api-crds/<cluster>; Data Version (the pinned tag) and Objects (a count).
    "Custom::GatewayApiCrds": lambda _: (
        f"gateway-api-crds/{CLUSTER}",
        {"Version": "v" + "9" * 20, "Objects": "9" * 6},
    ),
    # lambda/controller_credentials: controller-credentials/<cluster>/<namespace>/<service account>.
    "Custom::ControllerCredentials": lambda _: (
        f"controller-credentials/{CLUSTER}/{'n' * 63}/{'s' * 253}",
        {"Restarted": "False"},
    ),
    # The same handler for an app that calls routes (constructs/access/pod_credentials.py): its namespace and
    # ServiceAccount (the app's name, 63 at most).
    "Custom::PodCredentials": lambda _: (
        f"controller-credentials/{CLUSTER}/{'n' * 63}/{'s' * 63}",
        {"Restarted": "False"},
    ),
    # lambda/finalizer_guard: finalizer-guard/<cluster><path>; no Data.
    "Custom::FinalizerGuard": lambda _: (f"finalizer-guard/{CLUSTER}{K8S_PATH}", {}),
    # lambda/lattice_drain: lattice-drain-<service network id>; no Data.
    "Custom::LatticeServiceNetworkDrain": lambda _: ("lattice-drain-sn-" + "0" * 17, {}),
    # The same handler in Mode sweep (the Gateway stack's own delete): the same physical id; no Data.
    "Custom::LatticeServiceSweep": lambda _: ("lattice-drain-sn-" + "0" * 17, {}),
    # lambda/zone_sweep: <prefix>:<zone id>; no Data.
    "Custom::PrivateZoneSweep": lambda _: (f"zone-sweep:{ZONE_ID}", {}),
    # lambda/consumer_link: the share's ARN and Accepted; the VPC id and its CIDR and first subnet; the zone
    # association's id (zone and VPC) with its adoption marker.
    "Custom::LatticeShareAcceptance": lambda _: (ARN, {"Accepted": "False"}),
    # lambda/ram_share_wait: the share's ARN; no Data.
    "Custom::RamShareAssociation": lambda _: (ARN, {}),
    "Custom::ExistingVpc": lambda _: (
        "vpc-" + "0" * 17,
        {"CidrBlock": "255.255.255.255/32", "SubnetId": "subnet-" + "0" * 17},
    ),
    "Custom::CrossAccountZoneAssociation": lambda _: (f"{ZONE_ID}/vpc-{'0' * 17}/{'r' * 30}/adopted", {}),
    # aws-cdk-lib AwsCustomResource: only the outputPaths asked for (constructs/lattice/prefix_lists.py: a prefix
    # list id, pl- and 17 characters at most); physical id given by the construct.
    "Custom::AWS": lambda props: ("p" * 255, dict.fromkeys(_output_paths(props), "pl-" + "0" * 17)),
    # aws-cdk-lib aws-eks-v2 kubectl handler (custom-resource-handlers/dist/aws-eks-v2/kubectl-handler apply and
    # helm): no Data; the framework's default physical id.
    "Custom::AWSCDK-EKS-KubernetesResource": lambda _: (UUID_PHYSICAL, {}),
    "Custom::AWSCDK-EKS-HelmChart": lambda _: (UUID_PHYSICAL, {}),
    # aws-cdk-lib aws-ec2 restrict-default-security-group-handler: no Data; the default security group's id.
    "Custom::VpcRestrictDefaultSG": lambda _: ("sg-" + "0" * 17, {}),
}


def _output_paths(props: Mapping[str, Any]) -> list[str]:
    """The outputPaths of an AwsCustomResource's calls (their JSON may be joined with a Region reference)."""
    paths: list[str] = []
    for key in ("Create", "Update"):
        call = props.get(key)
        if isinstance(call, dict) and "Fn::Join" in call:
            call = "".join(p if isinstance(p, str) else "us-east-1" for p in call["Fn::Join"][1])
        if isinstance(call, str):
            paths += json.loads(call).get("outputPaths", [])
    assert paths, "an AwsCustomResource without outputPaths answers the whole API response"
    return sorted(set(paths))


def response_bytes(logical_id: str, physical_id: str, data: Mapping[str, str]) -> int:
    body = {
        "Status": "SUCCESS",
        "Reason": "SUCCESS",
        "StackId": STACK_ID,
        "RequestId": REQUEST_ID,
        "PhysicalResourceId": physical_id,
        "LogicalResourceId": logical_id,
        "NoEcho": False,
        "Data": dict(data),
    }
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())  # as JSON.stringify


@pytest.fixture(scope="module")
def custom_resources(
    synth: Synthesized,
    variant: Synthesized,
    largest: Synthesized,
    two_stages: PipelineSynth,
    one_stage: PipelineSynth,
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every custom resource of the default, variant and largest (tests/largest_config.py) apps and both pipelines."""
    templates: list[tuple[str, Template]] = []
    for label, outdir in (("default", synth.outdir), ("variant", variant.outdir), ("largest", largest.outdir),
                          ("pipeline-two", two_stages.outdir), ("pipeline-one", one_stage.outdir)):  # fmt: skip
        templates += [(f"{label}:{name}", t) for name, t in assembly_templates(outdir)]
    found = [
        (where, logical_id, resource["Type"], resource.get("Properties", {}))
        for where, template in templates
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"].startswith("Custom::") or resource["Type"] == "AWS::CloudFormation::CustomResource"
    ]
    assert len({t for _, _, t, _ in found}) >= 8  # every kind the app makes is read
    return found


def test_every_custom_resource_response_fits_4096_bytes_at_the_maxima(
    custom_resources: list[tuple[str, str, str, dict[str, Any]]],
) -> None:
    unknown = sorted({t for _, _, t, _ in custom_resources} - set(RESPONSES))
    assert unknown == [], "say what each new custom resource type answers (RESPONSES)"
    over = []
    for where, logical_id, kind, props in custom_resources:
        physical, data = RESPONSES[kind](props)
        size = response_bytes(logical_id, physical, data)
        if size > LIMIT:
            over.append(f"{where}/{logical_id} ({kind}): {size} bytes")
    assert over == []


def test_the_metric_id_lookup_answers_one_id_whatever_the_number_of_routes(
    custom_resources: list[tuple[str, str, str, dict[str, Any]]], variant: Synthesized
) -> None:
    """The instance: one lookup per route, each with one service and no target groups, so its response does
    not grow with routes or backends."""
    lookups = [(w, props) for w, _, kind, props in custom_resources if kind == "Custom::LatticeMetricIds"]
    per_stage = [p for w, p in lookups if w.startswith("variant:")]
    assert len(per_stage) == len(variant.config.routes) >= 2
    for _, props in lookups:
        assert len(props["Services"]) == 1 and "TargetGroups" not in props


def test_the_old_shape_would_have_been_caught() -> None:
    """The check can fail: one key per route and route x backend at 10 x 10 is over the limit."""
    data = {f"Service{i}": "svc-" + "0" * 17 for i in range(10)}
    data |= {f"TargetGroup{i}x{j}": "tg-" + "0" * 17 for i in range(10) for j in range(10)}
    assert response_bytes("MetricIdsResource0123ABCD", metric_ids.PHYSICAL_ID, data) > LIMIT
