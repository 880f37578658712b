#!/usr/bin/env python3
"""Before a deploy: consumer stacks of this app that the configuration no longer has (issue 21).

Removing a consumer from `consumers` and deploying drops its account from the provider's RAM share, auth policy
and roles, and leaves its stack behind: VPC, test host, Lattice and zone associations, which later hold the
provider's destroy. So this check runs before `make deploy` and before each pipeline stage deploys:

1. the provider's deployed Platform stack (its template: the RAM share's principals) names the consumer accounts
   it shares with; the configured consumers add theirs;
2. in each of those accounts, through its CDK bootstrap lookup role (as tools/impact.py --deployed reads
   templates), CloudFormation lists the stacks; a stack of this provider's consumer (name `<prefix>-Consumer-...`,
   description "... of the service network of <prefix>-Platform in account <provider account>": the consumer's
   stack, and in a pipeline its SmokeAccess stack) that the configuration no longer makes is stranded;
3. any stranded stack: exit 1 with the exact command that destroys it (the app no longer synthesizes it, so
   `cdk destroy` cannot); an account that cannot be read: exit 2 ("cannot check consumer stacks in ..."),
   unless `goneConsumerAccounts` lists it (closed, suspended, or no longer trusting this one): then it is
   not read, and named on the output.

Usage: python tools/stranded.py [-c key=value ...] [--stack-prefix <stackPrefix>[-<stage>]] [--account ID]
[--region R] [--profile P]. `--account`: the provider's account (default: the credentials'); `--region`: the
provider's region (default: the profile's). Exit 0: nothing stranded (or no Platform stack deployed yet).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the app's packages live in the repo root
    sys.path.insert(0, str(ROOT))

from stacks.sharing import SMOKE_ACCESS, consumer_description_suffix  # noqa: E402
from tools.impact import (  # noqa: E402
    LOOKUP_ROLE,
    ImpactError,
    Session,
    aws_session,
    bootstrap_qualifier,
    caller_account,
    deployed_templates,
    failure_line,
    lookup_client,
    parse_context,
    partition_of,
)
from tools.impact.model import Stranded  # noqa: E402
from tools.synth import cdk_json_context  # noqa: E402
from tools.tool_args import parse_known, tool_parser  # noqa: E402

DEFAULT_PREFIX = "EksLatticeGateway"
# Every status but DELETE_COMPLETE (botocore cloudformation 2010-05-15 service-2.json, StackStatus enum; read
# 2026-12-05): a stack that failed to create or roll back still holds what it made.
LIVE_STATUSES = (
    "CREATE_IN_PROGRESS",
    "CREATE_FAILED",
    "CREATE_COMPLETE",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_FAILED",
    "ROLLBACK_COMPLETE",
    "DELETE_IN_PROGRESS",
    "DELETE_FAILED",
    "UPDATE_IN_PROGRESS",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_COMPLETE",
    "UPDATE_FAILED",
    "UPDATE_ROLLBACK_IN_PROGRESS",
    "UPDATE_ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_ROLLBACK_COMPLETE",
    "REVIEW_IN_PROGRESS",
    "IMPORT_IN_PROGRESS",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_IN_PROGRESS",
    "IMPORT_ROLLBACK_FAILED",
    "IMPORT_ROLLBACK_COMPLETE",
)


def shared_accounts(platform_template: Mapping[str, Any]) -> set[str]:
    """The consumer accounts a deployed Platform template shares the service network with (RAM principals)."""
    accounts: set[str] = set()
    for resource in platform_template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::RAM::ResourceShare":
            principals = resource.get("Properties", {}).get("Principals", [])
            accounts.update(p for p in principals if isinstance(p, str) and p.isdigit())
    return accounts


def consumer_stacks(client: Any, *, prefix: str, account: str) -> list[str]:
    """Live stacks in the client's account and region that belong to a consumer of `<prefix>-Platform` in the
    provider `account` (stacks.sharing.consumer_description: another provider's stacks of the same prefix, in
    another account, end differently): consumer stacks and a pipeline's consumer SmokeAccess stacks."""
    suffix = consumer_description_suffix(platform_stack=f"{prefix}-Platform", account=account)
    found: list[str] = []
    for page in client.get_paginator("list_stacks").paginate(StackStatusFilter=list(LIVE_STATUSES)):
        for summary in page.get("StackSummaries", []):
            name, description = str(summary.get("StackName", "")), str(summary.get("TemplateDescription", ""))
            if name.startswith(f"{prefix}-Consumer-") and description.endswith(suffix):
                found.append(name)
    return sorted(found)


def is_configured(stack: str, configured: Mapping[str, str]) -> bool:
    """A consumer stack, or a pipeline's SmokeAccess stack of one (`<consumer stack>-SmokeAccess`: consumer names
    are lower case, so the suffix cannot be part of one)."""
    return stack in configured or stack.removesuffix(f"-{SMOKE_ACCESS}") in configured


def find_stranded(
    *,
    configured: Mapping[str, str],
    prefix: str,
    account: str,
    region: str,
    session: Session,
    qualifier: str,
    platform_client: Any,
    gone: Collection[str] = (),
) -> list[Stranded]:
    """`configured`: consumer stack name -> account, as the configuration makes them; `gone`: accounts
    acknowledged as gone (goneConsumerAccounts), never read. Raises ImpactError naming the account it cannot
    read."""
    platform = deployed_templates([f"{prefix}-Platform"], client=platform_client).get(f"{prefix}-Platform")
    if platform is None:
        return []  # no provider deployed: nothing can be stranded yet
    stranded: list[Stranded] = []
    for consumer_account in sorted((shared_accounts(platform) | set(configured.values())) - set(gone)):
        try:
            client = lookup_client(session, account=consumer_account, region=region, qualifier=qualifier)
            names = consumer_stacks(client, prefix=prefix, account=account)
        except Exception as err:
            role = LOOKUP_ROLE.format(
                partition=partition_of(region), account=consumer_account, qualifier=qualifier, region=region
            )
            why = str(err) if isinstance(err, ImpactError) else f"{type(err).__name__}: {err}"
            raise ImpactError(
                f"cannot check consumer stacks in account {consumer_account} ({region}) through {role} "
                f"(cdk bootstrap --trust {account}): {why}; if the account is closed or no longer yours, "
                f"acknowledge it in goneConsumerAccounts (cdk.json)"
            ) from None
        stranded += [Stranded(n, consumer_account, region) for n in names if not is_configured(n, configured)]
    return stranded


def refusal(stranded: Iterable[Stranded]) -> str:
    lines = ["stranded: refusing to deploy: these consumer stacks are no longer configured (`consumers`):"]
    for s in stranded:
        lines.append(f"  {s.stack} in account {s.account} ({s.region})")
    lines.append(
        "Deploying now drops their accounts from the share and leaves their VPCs, test hosts and associations "
        "behind (a later provider destroy waits on them). Destroy each first, with credentials of its account:"
    )
    lines += [f"  {s.destroy}" for s in stranded]
    lines.append("then deploy again.")
    return "\n".join(lines)


def configured_stacks(
    context: Mapping[str, Any], prefix: str | None = None
) -> tuple[dict[str, str], tuple[str, ...], str]:
    """Consumer stack name -> account, as the configuration makes them (stacks.sharing's names), the accounts
    acknowledged as gone (goneConsumerAccounts), and the provider's stack prefix (`prefix`, else the
    configuration's stackPrefix)."""
    import datetime as dt  # noqa: PLC0415

    from config import parse_context as parse_app_context  # noqa: PLC0415

    config = parse_app_context(context, today=dt.date.today())
    prefix = prefix or config.stack_prefix
    stacks = {f"{prefix}-Consumer-{c.name}": c.account for c in config.consumers}
    return stacks, config.gone_consumer_accounts, prefix


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    session_factory: Callable[[str | None, str | None], Session] = aws_session,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = tool_parser("stranded", __doc__)
    parser.add_argument(
        "--stack-prefix", default=None, help=f"the provider's stack prefix (default: stackPrefix, {DEFAULT_PREFIX})"
    )
    parser.add_argument("--account", help="the provider's account (default: the credentials')")
    parser.add_argument("--region", help="the provider's region (default: the profile's)")
    parser.add_argument("--profile", help="AWS profile")
    args = parse_known(parser, argv, err=err)
    try:
        context = {**cdk_json_context(), **parse_context(args.context)}
        configured, gone, prefix = configured_stacks(context, args.stack_prefix)
        session = session_factory(args.profile, args.region)
        region = args.region or session.region_name
        if not region:
            raise ImpactError("no AWS region configured (set AWS_REGION, as cdk deploy needs too)")
        mine = caller_account(session)
        account = args.account or mine
        platform_client = (
            session.client("cloudformation", region_name=region)
            if account == mine
            else lookup_client(session, account=account, region=region, qualifier=bootstrap_qualifier(context))
        )
        stranded = find_stranded(
            configured=configured,
            prefix=prefix,
            account=account,
            region=region,
            session=session,
            qualifier=bootstrap_qualifier(context),
            platform_client=platform_client,
            gone=gone,
        )
    except Exception as error:  # a configuration error, an ImpactError or an AWS error, in one line
        print(failure_line("stranded", error), file=err)
        return 2
    if stranded:
        print(refusal(stranded), file=err)
        return 1
    if gone:
        print(f"stranded: not checked (goneConsumerAccounts): {', '.join(gone)}", file=out)
    print(f"stranded: no consumer stack of {prefix}-Platform is left behind", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
