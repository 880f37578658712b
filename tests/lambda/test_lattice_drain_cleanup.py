"""The drain waiter removes what an unhealthy controller left behind, and nothing else.

Against tests/support/fake_lattice.py through the real boto3 client (moto 5.2.5 has none of the delete
operations). Each poll is followed by fake.tick(), Lattice finishing the deletes it started, and 15 s on
the clock (the provider's query interval).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from lattice_drain import handler as drain

from tests.support.clock import FakeClock as Clock
from tests.support.fake_cloudformation import FakeCloudFormation
from tests.support.fake_lattice import FakeLattice, Service
from tests.support.local_aws import local_client

T0 = 1_900_000_000.0
OWNER = "111122223333/eks-demo/vpc-0abc"
TAG = drain.MANAGED_BY_TAG
OURS = {TAG: OWNER, "application-networking.k8s.aws/RouteName": "demo-http-route"}
# Another cluster (a name this one's is a prefix of, same account) and another VPC's cluster of the same name.
THEIRS = {TAG: "111122223333/eks-demo-2/vpc-0abc"}
OLD_VPC = {TAG: "111122223333/eks-demo/vpc-0999"}
GRACE, TIMEOUT = 120, 1080
STACK_ID = "arn:aws:cloudformation:us-east-1:111122223333:stack/EksLatticeGateway-Platform/5e1f0a2b"


@pytest.fixture
def fake() -> Iterator[FakeLattice]:
    with FakeLattice(page_size=2) as server:
        yield server


class Stacks:
    """CloudFormation as the waiter sees it: the platform stack's status (DescribeStacks), by default being deleted."""

    def __init__(self, server: FakeCloudFormation) -> None:
        self.server = server
        self.client = local_client("cloudformation", server.endpoint)
        self.status = "DELETE_IN_PROGRESS"

    @property
    def status(self) -> str:
        return self.server.statuses[STACK_ID]

    @status.setter
    def status(self, value: str) -> None:
        self.server.statuses[STACK_ID] = value


STACKS: list[Stacks] = []  # the current test's, for poll()


@pytest.fixture(autouse=True)
def stacks() -> Iterator[Stacks]:
    with FakeCloudFormation() as server:
        STACKS.append(Stacks(server))
        try:
            yield STACKS[-1]
        finally:
            STACKS.clear()


def is_complete(event: dict[str, Any], lattice: Any, clock: Clock, context: Any = None) -> dict[str, Any]:
    return drain.is_complete(
        event, context, client=lattice, clock=clock, sleep=lambda _: None, cloudformation=STACKS[-1].client
    )


@pytest.fixture
def lattice(fake: FakeLattice) -> Any:
    return local_client("vpc-lattice", f"http://127.0.0.1:{fake.port}")


def delete_event(network: str, clock: Clock, **props: str) -> dict[str, Any]:
    request = {
        "RequestType": "Delete",
        "StackId": STACK_ID,
        "PhysicalResourceId": f"lattice-drain-{network}",
        "ResourceProperties": {
            "ServiceNetworkId": network,
            "TimeoutSeconds": str(TIMEOUT),
            "CleanupAfterSeconds": str(GRACE),
            "ControllerManagedBy": OWNER,
            **props,
        },
    }
    return {**request, **drain.on_event(request, None, clock=clock)}


def poll(event: dict[str, Any], lattice: Any, fake: FakeLattice, clock: Clock) -> bool:
    result = is_complete(event, lattice, clock)
    assert set(result) == {"IsComplete"}
    fake.tick()
    clock.now += 15
    return bool(result["IsComplete"])


def poll_until_complete(event: dict[str, Any], lattice: Any, fake: FakeLattice, clock: Clock) -> int:
    for count in range(1, TIMEOUT // 15 + 3):
        if poll(event, lattice, fake, clock):
            return count
    raise AssertionError("the waiter never completed")


def leftovers(fake: FakeLattice, network: str, *, services: int = 3) -> list[tuple[Service, Any]]:
    """This cluster's controller's leftovers: services associated with the network, each with a target group
    in the cluster VPC that still has registered targets."""
    made = []
    for i in range(services):
        service, assoc = fake.add_associated_service(f"route-{i}-default", tags=OURS, network=network)
        group = fake.add_target_group(f"k8s-app-{i}", vpc="vpc-0abc", tags=OURS, services=(service,), targets=3)
        made.append((service, (assoc, group)))
    return made


def test_leftovers_of_this_cluster_are_removed_in_lattice_order_and_nothing_else(
    fake: FakeLattice, lattice: Any, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(T0)
    network = fake.add_network()
    ours = leftovers(fake, network)
    # Survivors: another cluster's service on another network, its target group in our VPC, an old
    # deployment's target group elsewhere, and an untagged target group in our VPC.
    other_network = fake.add_network("other-sn")
    theirs, their_assoc = fake.add_associated_service("theirs", tags=THEIRS, network=other_network)
    their_group = fake.add_target_group("theirs", vpc="vpc-0abc", tags=THEIRS, services=(theirs,), targets=1)
    old_group = fake.add_target_group("old", vpc="vpc-0999", tags=OLD_VPC)
    untagged = fake.add_target_group("manual", vpc="vpc-0abc", tags={})
    event = delete_event(network, clock)

    # Within the grace period the controller's own deletes get their chance: nothing is touched.
    while clock.now - T0 < GRACE:
        assert poll(event, lattice, fake, clock) is False
    assert [op for op, _ in fake.calls if op.startswith(("Delete", "Deregister"))] == []

    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        polls = poll_until_complete(event, lattice, fake, clock)
    assert clock.now - T0 < TIMEOUT / 2, f"took {polls} polls"

    assert fake.associations.keys() == {their_assoc.id}
    assert fake.services.keys() == {theirs.id}
    assert fake.target_groups.keys() == {their_group.id, old_group.id, untagged.id}
    assert [t["status"] for t in their_group.targets] == ["HEALTHY"]

    # Lattice's order: association before its service, the service before its target group, targets first.
    calls = fake.calls
    for service, (assoc, group) in ours:
        assert calls.index(("DeleteServiceNetworkServiceAssociation", assoc.id)) < _last(
            calls, "DeleteService", service.id
        )
        assert _last(calls, "DeleteService", service.id) < calls.index(("DeleteTargetGroup", group.id))
        assert calls.index(("DeregisterTargets", group.id)) < calls.index(("DeleteTargetGroup", group.id))
    # Nothing of theirs was ever the object of a delete or deregistration.
    touched = {target for op, target in calls if op.startswith(("Delete", "Deregister"))}
    assert touched.isdisjoint({their_assoc.id, theirs.id, their_group.id, old_group.id, untagged.id})
    # What it removed is logged, one line per resource.
    removed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("cleanup: deleting")]
    assert len(removed) == 3 * 3  # association, service, target group per route
    for service, (assoc, group) in ours:
        assert any(assoc.id in line for line in removed)
        assert any(service.id in line and service.name in line for line in removed)
        assert any(group.id in line for line in removed)
    # Pagination: three services and six target groups at two per page.
    assert fake.calls.count(("ListServices", "")) > polls


def _last(calls: list[tuple[str, str]], op: str, target: str) -> int:
    return max(i for i, call in enumerate(calls) if call == (op, target))


def test_another_clusters_association_survives_and_the_deadline_still_ends_the_wait(
    fake: FakeLattice, lattice: Any, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(T0)
    network = fake.add_network()
    leftovers(fake, network, services=1)
    _, theirs = fake.add_associated_service("theirs", tags=THEIRS, network=network)
    _, manual = fake.add_associated_service(
        "manual", tags={}, network=network
    )  # untagged: a person's, not the controller's
    _, foreign = fake.add_associated_service("shared-in", tags=OURS, network=network)
    fake.unreadable.add(foreign.arn)  # another account's association: its tags can't be read, so not ours
    event = delete_event(network, clock)

    clock.now += GRACE
    for _ in range(6):  # ours go; the others keep the waiter waiting
        assert poll(event, lattice, fake, clock) is False
    assert set(fake.associations) == {theirs.id, manual.id, foreign.id}
    assert not fake.services.keys() - {theirs.service, manual.service, foreign.service}
    clock.now = T0 + TIMEOUT  # then it gives up at the deadline, without failing the delete
    with caplog.at_level(logging.WARNING, logger=drain.LOG.name):
        assert poll(event, lattice, fake, clock) is True
    warning = caplog.records[-1].getMessage()
    assert f"still present after {TIMEOUT}s" in warning
    for assoc in (theirs, manual, foreign):
        assert assoc.id in warning
    assert not {theirs.id, manual.id, foreign.id} & set(fake.ops("DeleteServiceNetworkServiceAssociation"))


def test_at_the_deadline_a_409_is_promised_only_while_something_is_associated(
    fake: FakeLattice, lattice: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Only the cleanup unfinished (a service of ours stuck CREATE_IN_PROGRESS, associated with nothing): the
    drain gives up without failing and names what is left, but the network's delete goes through, so the log
    must not say it will fail with 409. With an association left, it says so."""
    clock = Clock(T0)
    network = fake.add_network()
    stuck = fake.add_service("stuck", tags=OURS)
    stuck.status = "CREATE_IN_PROGRESS"
    event = delete_event(network, clock)
    clock.now = T0 + TIMEOUT
    with caplog.at_level(logging.WARNING, logger=drain.LOG.name):
        assert poll(event, lattice, fake, clock) is True
    warning = caplog.records[-1].getMessage()
    assert f"the cleanup of the controller's leftovers unfinished after {TIMEOUT}s" in warning
    assert stuck.id in warning and "409" not in warning

    _, theirs = fake.add_associated_service("theirs", tags=THEIRS, network=network)
    with caplog.at_level(logging.WARNING, logger=drain.LOG.name):
        assert poll(event, lattice, fake, clock) is True
    warning = caplog.records[-1].getMessage()
    assert f"associations still present after {TIMEOUT}s" in warning
    assert "Its delete will fail with 409 until:" in warning and theirs.id in warning


def test_reruns_are_idempotent(fake: FakeLattice, lattice: Any) -> None:
    """A poll that repeats (the framework retries, or Lattice is slow) never deletes twice, and a Delete
    replayed after everything is gone completes at once without deleting anything."""
    clock = Clock(T0)
    network = fake.add_network()
    ((service, (assoc, group)),) = leftovers(fake, network, services=1)
    event = delete_event(network, clock)
    clock.now += GRACE

    for _ in range(3):  # Lattice hasn't finished: the association stays DELETE_IN_PROGRESS
        result = is_complete(event, lattice, clock)
        assert result == {"IsComplete": False}
    assert fake.ops("DeleteServiceNetworkServiceAssociation") == [assoc.id]
    assert fake.ops("DeleteService") == [service.id] * 3  # refused with 409 while associated: nothing happens

    poll_until_complete(event, lattice, fake, clock)
    assert not fake.associations and not fake.services and not fake.target_groups
    deletes = [c for c in fake.calls if c[0].startswith("Delete")]
    assert deletes.count(("DeleteTargetGroup", group.id)) == 1

    fake.calls.clear()
    assert poll(delete_event(network, clock), lattice, fake, clock) is True
    assert [c for c in fake.calls if c[0].startswith(("Delete", "Deregister"))] == []


def test_a_service_left_without_its_association_is_removed_without_waiting(fake: FakeLattice, lattice: Any) -> None:
    """The controller died between deleting the association and the service: nothing blocks the network, and
    the sweep still removes the service and its target group before the drain completes."""
    clock = Clock(T0)
    network = fake.add_network()
    service = fake.add_service("half-deleted", tags=OURS)
    group = fake.add_target_group("half-deleted", vpc="vpc-0abc", tags=OURS, services=(service,))
    event = delete_event(network, clock)

    polls = poll_until_complete(event, lattice, fake, clock)
    assert clock.now - T0 < GRACE  # no grace needed: nothing was associated
    assert polls >= 2
    assert service.id not in fake.services and group.id not in fake.target_groups


def test_nothing_left_completes_in_one_poll(fake: FakeLattice, lattice: Any) -> None:
    clock = Clock(T0)
    network = fake.add_network()
    fake.add_service("theirs", tags=THEIRS)
    assert poll(delete_event(network, clock), lattice, fake, clock) is True
    assert [op for op, _ in fake.calls if op.startswith("Delete")] == []


def test_without_the_owner_nothing_is_deleted(fake: FakeLattice, lattice: Any) -> None:
    """Deployed before this change (no ControllerManagedBy): the waiter only waits, as it did."""
    clock = Clock(T0)
    network = fake.add_network()
    leftovers(fake, network, services=1)
    event = delete_event(network, clock, ControllerManagedBy="")
    poll_until_complete(event, lattice, fake, clock)
    assert clock.now - T0 >= TIMEOUT
    assert [op for op, _ in fake.calls if op.startswith(("Delete", "Deregister", "ListServices"))] == []


def test_cleanup_errors_never_fail_the_delete(
    fake: FakeLattice, lattice: Any, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(T0)
    network = fake.add_network()
    fake.add_service("half-deleted", tags=OURS)

    def deny(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "ListServices")

    lattice.meta.events.register("before-call.vpc-lattice.ListServices", deny)
    with caplog.at_level(logging.ERROR, logger=drain.LOG.name):
        assert poll(delete_event(network, clock), lattice, fake, clock) is True
    assert "AccessDeniedException" in caplog.text and OWNER in caplog.text


def test_a_poll_out_of_time_carries_on_at_the_next(fake: FakeLattice, lattice: Any) -> None:
    clock = Clock(T0)
    network = fake.add_network()
    leftovers(fake, network, services=1)
    event = delete_event(network, clock)
    clock.now += GRACE

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return int(drain.POLL_MARGIN_SECONDS * 1000)  # no time left for the sweep

    assert is_complete(event, lattice, clock, Context()) == {"IsComplete": False}
    assert [op for op, _ in fake.calls if op.startswith("Delete")] == []
    poll_until_complete(event, lattice, fake, clock)
    assert not fake.services


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"ControllerManagedBy": "eks-demo"}, "ControllerManagedBy must be <account>/<cluster>/<vpc-id>"),
        ({"ControllerManagedBy": "111122223333/eks-demo/vpc-0abc/x"}, "ControllerManagedBy"),
        ({"CleanupAfterSeconds": "soon"}, "CleanupAfterSeconds must be a whole number"),
        ({"CleanupAfterSeconds": "600", "TimeoutSeconds": "300"}, "must not exceed TimeoutSeconds"),
    ],
)
def test_create_rejects_bad_cleanup_properties(props: dict[str, str], message: str) -> None:
    event = {"RequestType": "Create", "ResourceProperties": {"ServiceNetworkId": "sn-1", **props}}
    with pytest.raises(ValueError, match=message):
        drain.on_event(event, None)


# -- the synthesized waiter: its properties and the IAM policy it runs with ---------------------------------------

PLATFORM = "EksLatticeGateway-Platform"


def _resolve(node: Any, refs: dict[str, str]) -> Any:
    """CloudFormation intrinsics of the drain waiter's policy, with `refs` for Ref and Fn::GetAtt."""
    if isinstance(node, list):
        return [_resolve(n, refs) for n in node]
    if not isinstance(node, dict):
        return node
    if "Ref" in node:
        return refs.get(node["Ref"], f"<{node['Ref']}>")  # others (log groups ...) stay opaque
    if "Fn::GetAtt" in node:
        key = ".".join(node["Fn::GetAtt"])
        return refs.get(key, f"<{key}>")
    if "Fn::Join" in node:
        separator, parts = node["Fn::Join"]
        return separator.join(_resolve(parts, refs))
    return {k: _resolve(v, refs) for k, v in node.items()}


def _allows(statements: list[dict[str, Any]], action: str, resource: str, tags: dict[str, str]) -> bool:
    """Identity-policy evaluation for Allow statements with StringEquals conditions (all the waiter uses)."""
    from fnmatch import fnmatchcase

    def as_list(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    for statement in statements:
        if statement["Effect"] != "Allow" or not any(fnmatchcase(action, a) for a in as_list(statement["Action"])):
            continue
        if not any(fnmatchcase(resource, r) for r in as_list(statement["Resource"])):
            continue
        conditions = statement.get("Condition", {})
        assert set(conditions) <= {"StringEquals"}, conditions
        keys = conditions.get("StringEquals", {})
        assert all(k.startswith("aws:ResourceTag/") for k in keys), keys
        if all(tags.get(k.removeprefix("aws:ResourceTag/")) in as_list(v) for k, v in keys.items()):
            return True
    return False


@pytest.fixture(scope="module")
def waiter_policy(synth: Any) -> list[dict[str, Any]]:
    """The is_complete function's statements, with this test's account, region and VPC for the tokens."""
    resources = synth.templates[PLATFORM]["Resources"]
    (function,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"] == "lattice_drain.handler.is_complete"
    ]
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    (drain_resource,) = [r for r in resources.values() if r["Type"] == "Custom::LatticeServiceNetworkDrain"]
    vpc_ref = drain_resource["Properties"]["ControllerManagedBy"]["Fn::Join"][1][-1]["Ref"]
    network = drain_resource["Properties"]["ServiceNetworkId"]["Fn::GetAtt"][0]
    refs = {
        "AWS::Partition": "aws",
        "AWS::Region": "us-east-1",
        "AWS::AccountId": "111122223333",
        "AWS::StackId": STACK_ID,
        vpc_ref: "vpc-0abc",
        f"{network}.Arn": "arn:aws:vpc-lattice:us-east-1:111122223333:servicenetwork/sn-0",
    }
    statements = [
        s
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    return [_resolve(s, refs) for s in statements]


@pytest.mark.parametrize("which", ["synth", "variant"])
def test_the_waiter_gets_the_owner_the_controller_writes(request: pytest.FixtureRequest, which: str) -> None:
    """account/cluster/VPC: the platform's cluster VPC (the one the chart's clusterVpcId names) and the cluster's
    name, so the value is the ManagedBy the controller writes (test_controller_values checks the formula)."""
    synth = request.getfixturevalue(which)
    resources = synth.templates[PLATFORM]["Resources"]
    (drain_resource,) = [r for r in resources.values() if r["Type"] == "Custom::LatticeServiceNetworkDrain"]
    props = drain_resource["Properties"]
    account, middle, vpc = props["ControllerManagedBy"]["Fn::Join"][1]
    assert (account, middle) == ({"Ref": "AWS::AccountId"}, f"/{synth.config.cluster_name}/")
    assert resources[vpc["Ref"]]["Properties"]["CidrBlock"] == synth.config.cluster_vpc_cidr
    assert int(props["CleanupAfterSeconds"]) < int(props["TimeoutSeconds"])


def test_policy_allows_every_call_of_the_cleanup_and_no_delete_of_anything_else(
    fake: FakeLattice, lattice: Any, waiter_policy: list[dict[str, Any]]
) -> None:
    clock = Clock(T0)
    network = fake.add_network()
    leftovers(fake, network, services=2)
    theirs, their_assoc = fake.add_associated_service("theirs", tags=THEIRS, network=network)
    manual, manual_assoc = fake.add_associated_service("manual", tags={}, network=network)
    their_group = fake.add_target_group("theirs", vpc="vpc-0abc", tags=THEIRS, services=(theirs,), targets=1)
    # What each call acts on, by the ID or ARN the fake records: (resource ARN, its tags).
    by_id = {
        item.id: (item.arn, dict(item.tags))
        for table in (fake.associations, fake.services, fake.target_groups)
        for item in table.values()
    }
    event = delete_event(network, clock)
    clock.now += GRACE
    for _ in range(8):
        poll(event, lattice, fake, clock)
    assert not fake.target_groups.keys() - {their_group.id}  # ours are all gone

    resource_level = {
        "DeleteServiceNetworkServiceAssociation",
        "DeleteService",
        "ListTargets",
        "DeregisterTargets",
        "DeleteTargetGroup",
    }
    for operation, target in set(fake.calls):
        if operation == "GetServiceNetwork":
            arn, tags = "arn:aws:vpc-lattice:us-east-1:111122223333:servicenetwork/sn-0", dict[str, str]()
        elif operation in resource_level:
            arn, tags = by_id[target]
        else:  # List* and ListTagsForResource take no resource-level permissions
            arn, tags = "*", {}
        assert _allows(waiter_policy, f"vpc-lattice:{operation}", arn, tags), (operation, target)

    # The policy itself refuses deleting what isn't this cluster's controller's, whatever the handler does.
    refused: list[tuple[str, Any]] = [
        ("DeleteServiceNetworkServiceAssociation", their_assoc),
        ("DeleteServiceNetworkServiceAssociation", manual_assoc),
        ("DeleteService", theirs),
        ("DeleteService", manual),
        ("DeleteTargetGroup", their_group),
        ("DeregisterTargets", their_group),
    ]
    for operation, item in refused:
        assert not _allows(waiter_policy, f"vpc-lattice:{operation}", item.arn, item.tags), (operation, item.id)
    assert not _allows(waiter_policy, "vpc-lattice:DeleteServiceNetwork", "*", {TAG: OWNER})
    # It reads its own stack's status (delete or replacement), and no other stack's.
    assert [form["StackName"] for form in STACKS[-1].server.requests] and all(
        form["Action"] == "DescribeStacks" and form["StackName"] == STACK_ID for form in STACKS[-1].server.requests
    )
    assert _allows(waiter_policy, "cloudformation:DescribeStacks", STACK_ID, {})
    assert not _allows(waiter_policy, "cloudformation:DescribeStacks", STACK_ID.replace("Platform", "Other"), {})


# -- only its own network, and never what a replacement's new network uses ---------------------------------------


def test_the_stack_delete_leaves_services_another_network_uses(
    fake: FakeLattice, lattice: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Deleting the stack: this network's associations go, and the services associated only with it; a service
    of this cluster also (or only) associated with another network is in use there and stays, with its
    target group, which is then not waited for either (it can never become free): the drain ends as soon as
    its own leftovers are gone, not at the deadline. So are groups of ours that only services not ours use
    (another cluster's, or one whose tags can't be read), and one used by a kept service and one that goes."""
    clock = Clock(T0)
    network, other = fake.add_network(), fake.add_network("other-sn")
    ((gone, (gone_assoc, gone_group)),) = leftovers(fake, network, services=1)
    shared, shared_here = fake.add_associated_service("shared", tags=OURS, network=network)
    shared_there = fake.associate(shared, other)
    elsewhere, elsewhere_assoc = fake.add_associated_service("elsewhere", tags=OURS, network=other)
    theirs, _ = fake.add_associated_service("theirs", tags=THEIRS, network=other)
    foreign = fake.add_service("shared-in", tags=OURS)
    fake.unreadable.add(foreign.arn)  # another account's: not ours
    groups = [
        fake.add_target_group(f"k8s-{s.name}", vpc="vpc-0abc", tags=OURS, services=(s,), targets=1)
        for s in (shared, elsewhere, theirs, foreign)
    ]
    groups.append(fake.add_target_group("k8s-both", vpc="vpc-0abc", tags=OURS, services=(gone, shared), targets=1))
    event = delete_event(network, clock)
    clock.now += GRACE
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        polls = poll_until_complete(event, lattice, fake, clock)
    assert polls <= 6, f"waited {polls} polls for what stays"
    assert "still used by" not in caplog.records[-1].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "not waiting any longer" in r.message]
    for group in groups:
        assert any("leaving target group k8s-" in r.message and group.id in r.message for r in caplog.records)

    assert gone.id not in fake.services and gone_group.id not in fake.target_groups
    assert gone_assoc.id not in fake.associations and shared_here.id not in fake.associations
    assert {shared.id, elsewhere.id} <= fake.services.keys()
    assert {shared_there.id, elsewhere_assoc.id} <= fake.associations.keys()
    assert {g.id for g in groups} <= fake.target_groups.keys()
    touched = {target for op, target in fake.calls if op.startswith(("DeleteService", "Deregister", "DeleteTarget"))}
    assert touched.isdisjoint({shared.id, elsewhere.id, *(g.id for g in groups)}), touched


@pytest.mark.parametrize(
    "status",
    [
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",  # the old network's delete, had a replacing update succeeded
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",  # serviceNetworkName changed, refused: the new one's delete
        None,  # never readable (DescribeStacks refused): asked again until the deadline, then not taken for a delete
    ],
)
def test_a_replaced_networks_delete_removes_only_its_own_associations(
    fake: FakeLattice, lattice: Any, stacks: Stacks, status: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    """A network deleted while its stack is not: a serviceNetworkName change creates the new network first (its
    VPC associations are refused: a VPC has one service network, README) and the controller may already have
    associated this cluster's services with it; the rollback then deletes it (or the cleanup would delete the
    old one). The cluster lives on, so its services and target groups stay: only the deleted network's own
    service associations go (nobody can reach them: its VPC associations were deleted first)."""
    clock = Clock(T0)
    old = fake.add_network()
    moved = leftovers(fake, old, services=2)  # the live routes' services, still on the old network
    new = fake.add_network("other-sn")
    on_new = [fake.associate(service, new) for service, _ in moved[:1]]  # one already moved, one not yet
    unused = fake.add_target_group("k8s-unused", vpc="vpc-0abc", tags=OURS)  # in use by no rule yet
    if status is None:
        del stacks.server.statuses[STACK_ID]
    else:
        stacks.status = status
    event = delete_event(old, clock)

    while clock.now - T0 < GRACE:  # the grace period first, as for a delete
        assert poll(event, lattice, fake, clock) is False
    with caplog.at_level(logging.INFO, logger=drain.LOG.name):
        poll_until_complete(event, lattice, fake, clock)

    assert [a for a in fake.associations.values() if a.network == old] == []
    assert {service.id for service, _ in moved} <= fake.services.keys()
    assert {group.id for _, (_, group) in moved} | {unused.id} <= fake.target_groups.keys()
    assert {a.id for a in on_new} <= fake.associations.keys()
    assert [op for op, _ in fake.calls if op in {"DeleteService", "DeregisterTargets", "DeleteTargetGroup"}] == []
    assert "only this network's associations" in caplog.text


def test_a_network_named_by_its_arn_is_swept_as_by_its_id(fake: FakeLattice, lattice: Any) -> None:
    """ServiceNetworkId may be the network's ARN (the API takes either); the sweep still removes every leftover
    of ours, since associations are compared by the network's ID."""
    clock = Clock(T0)
    network = fake.add_network()
    leftovers(fake, network, services=2)
    event = delete_event(fake.network_arn(network), clock)
    poll_until_complete(event, lattice, fake, clock)
    assert not fake.associations and not fake.services and not fake.target_groups


def test_what_other_accounts_associated_is_waited_for_reported_and_never_deleted(
    fake: FakeLattice, lattice: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A resource configuration and a service-network endpoint another account associated block the network's
    delete as much as a VPC does (DeleteServiceNetwork's documentation in botocore's model). Ours still go; theirs
    are waited for until the deadline, then reported by kind and owner, and never the object of a call but a List."""
    clock = Clock(T0)
    network = fake.add_network()
    leftovers(fake, network, services=1)
    fake.resource_associations.append(
        {
            "id": "snra-0000000000000000a",
            "status": "ACTIVE",
            "createdBy": "444455556666",
            "resourceConfigurationName": "their-db",
            "serviceNetworkId": network,
        }
    )
    fake.endpoint_associations.append(
        {
            "id": "snea-1",
            "vpcEndpointId": "vpce-0123456789abcdef0",
            "vpcId": "vpc-0their",
            "vpcEndpointOwnerId": "444455556666",
            "state": "Available",
            "serviceNetworkArn": fake.network_arn(network),
        }
    )
    event = delete_event(network, clock)
    clock.now += GRACE
    for _ in range(6):
        assert poll(event, lattice, fake, clock) is False
    assert not fake.associations and not fake.services and not fake.target_groups  # ours are gone
    clock.now = T0 + TIMEOUT
    with caplog.at_level(logging.WARNING, logger=drain.LOG.name):
        assert poll(event, lattice, fake, clock) is True
    report = caplog.records[-1].getMessage()
    assert "Its delete will fail with 409 until:" in report
    assert "resource configuration association snra-0000000000000000a (resource configuration their-db" in report
    assert "service-network endpoint vpce-0123456789abcdef0 (VPC vpc-0their of account 444455556666" in report
    touched = {target for op, target in fake.calls if not op.startswith(("List", "Get"))}
    assert touched.isdisjoint({"snra-0000000000000000a", "snea-1", "vpce-0123456789abcdef0"})
    assert len(fake.resource_associations) == len(fake.endpoint_associations) == 1


# -- the stack's status decides only once it is read ---------------------------------------------------------


class FlakyStacks:
    """DescribeStacks that is throttled on every call during the first `failing_polls` polls (each poll retries
    it within its time, so the poll as a whole fails), then answers from the fake CloudFormation."""

    def __init__(self, client: Any, failing_polls: int) -> None:
        self.client = client
        self.failing_polls = failing_polls
        self.calls = 0

    def describe_stacks(self, **params: Any) -> Any:
        self.calls += 1
        if self.failing_polls > 0:
            error = {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}, "ResponseMetadata": {}}
            raise ClientError(error, "DescribeStacks")
        return self.client.describe_stacks(**params)


def unassociated_leftovers(fake: FakeLattice) -> None:
    """What a controller that died between deleting an association and its service leaves: a service of ours
    associated with nothing, and its target group with registered targets. No association is left to wait for,
    so the very first poll of either mode decides whether they are swept."""
    service = fake.add_service("route-x-default", tags=OURS)
    fake.add_target_group("k8s-app-x", vpc="vpc-0abc", tags=OURS, services=(service,), targets=2)


@pytest.mark.parametrize("mode", ["drain", "sweep"])
@pytest.mark.parametrize("failing_polls", [1, 3])
def test_a_stack_status_read_that_fails_for_a_while_still_ends_in_the_sweep(
    fake: FakeLattice, lattice: Any, stacks: Stacks, mode: str, failing_polls: int
) -> None:
    """Every Delete path whose action depends on the stack's status (sweep mode: whether to sweep at all; drain
    mode: steps 2 and 3 on the completing poll): a DescribeStacks that fails transiently for the first polls is
    asked again, and the sweep happens once it answers DELETE_IN_PROGRESS."""
    network = fake.add_network()
    unassociated_leftovers(fake)
    clock = Clock(T0)
    event = delete_event(network, clock, Mode=mode)
    reader = FlakyStacks(stacks.client, failing_polls)
    for count in range(1, TIMEOUT // 15):
        result = drain.is_complete(
            event, None, client=lattice, clock=clock, sleep=lambda _: None, cloudformation=reader
        )
        if count <= failing_polls:
            assert result == {"IsComplete": False}, f"poll {count} took an unread status for an answer"
        reader.failing_polls -= 1
        fake.tick()
        clock.now += 15
        if result["IsComplete"]:
            break
    else:
        raise AssertionError("the waiter never completed")
    assert not fake.services and not fake.target_groups
    assert reader.calls > failing_polls  # each failing poll did read (and retry) before answering "not yet"
    assert network in fake.networks  # the network is never this waiter's to delete


@pytest.mark.parametrize("mode", ["drain", "sweep"])
def test_a_stack_status_never_read_gives_up_at_the_deadline_without_sweeping(
    fake: FakeLattice, lattice: Any, stacks: Stacks, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    network = fake.add_network()
    unassociated_leftovers(fake)
    clock = Clock(T0)
    event = delete_event(network, clock, Mode=mode)
    reader = FlakyStacks(stacks.client, failing_polls=10**6)

    def complete() -> bool:
        result = drain.is_complete(
            event, None, client=lattice, clock=clock, sleep=lambda _: None, cloudformation=reader
        )
        return bool(result["IsComplete"])

    for _ in range(3):
        assert complete() is False
        clock.now += 15
    clock.now = T0 + TIMEOUT
    with caplog.at_level(logging.WARNING, logger=drain.LOG.name):
        assert complete() is True  # never fails the Delete for what it could not confirm
    (report,) = [m for m in caplog.messages if m.startswith("gave up")]
    assert report == (
        f"gave up after {TIMEOUT}s: the status of stack {STACK_ID} could not be read, so this cluster's Lattice "
        "services and target groups were not swept (only this network's associations are cleaned up).\n"
        f"  If the stack is being deleted, delete what carries the tag {TAG}={OWNER} in the VPC Lattice console."
    )
    assert len(fake.services) == len(fake.target_groups) == 1  # an unconfirmed delete removes no service
