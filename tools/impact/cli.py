"""`make impact`'s command line: synthesize or read both sides, compare, report, refuse (--fail-on-stateful),
and --changeset."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from tools.impact.analysis import Environment, compare, environments
from tools.impact.baselines import (
    Session,
    SessionFactory,
    _environment,
    _has_consumers,
    aws_session,
    bootstrap_qualifier,
    caller_account,
    cloudformation_client,
    credentials_environment,
    deployed_templates_in_their_accounts,
    failure_line,
    read_assemblies,
    with_producers,
)
from tools.impact.errors import ImpactError
from tools.impact.model import Impact
from tools.impact.output import refusal, report
from tools.synth import Assembly, cdk_json_context
from tools.tool_args import ignored

Synthesizer = Callable[[Mapping[str, Any] | None], Assembly]
# Templates compared, never deployed: referencing assets in place instead of copying them (~60 MB of layer zips
# per synth) saves about 40% of a warm synth and leaves every resource's Type and Properties as they are (the
# asset hashes are the same); only the aws:asset:path metadata differs.
NO_ASSET_STAGING = {"aws:cdk:disable-asset-staging": True}


def synthesize_in_tmp(overrides: Mapping[str, Any] | None, *, today: dt.date | None = None) -> Assembly:
    from tools.synth import synthesize  # noqa: PLC0415 - jsii starts on first use

    with tempfile.TemporaryDirectory(prefix="cdk.out.impact.") as outdir:  # the templates are read into memory
        return synthesize(Path(outdir), {**(overrides or {}), **NO_ASSET_STAGING}, today=today or dt.date.today())


def changeset_check(
    impact: Impact,
    names: Sequence[str],
    proposal: Assembly,
    *,
    args: argparse.Namespace,
    client: Any,
    out: TextIO,
    err: TextIO,
    creator: Callable[[Sequence[str]], Callable[[Sequence[str], str], None]] | None,
    session: Session | None,
) -> int:
    """--changeset: CloudFormation's change sets for the stacks in the credentials' account (a consumer's stack in
    another account is named, not compared: its change set needs that account's credentials)."""
    from tools import changeset  # noqa: PLC0415

    elsewhere = {n for n in names if proposal.accounts.get(n)}
    try:
        mine = caller_account(session) if elsewhere and session is not None else None
    except ImpactError as error:
        print(f"impact: {error}", file=err)
        return 2
    here = {n for n in names if n not in elsewhere or proposal.accounts[n] == mine}
    for name in sorted(set(names) - here):
        print(f"changeset: {name} is in account {proposal.accounts[name]}: not compared here", file=out)
    cdk_args = [arg for pair in args.context for arg in ("-c", pair)]
    create = (creator or changeset.cdk_prepare)(cdk_args)
    selected = [n for n in names if n in here]
    return changeset.check(impact.changes, stacks=selected, client=client, create=create, out=out)


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="impact", description="What a configuration change replaces, before cdk deploy (offline by default)."
    )
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE", help="as with cdk")
    baseline = parser.add_mutually_exclusive_group()
    baseline.add_argument("--baseline", type=Path, metavar="DIR", help="compare with this cloud assembly")
    baseline.add_argument(
        "--deployed", action="store_true", help="compare with the deployed stacks (CloudFormation GetTemplate)"
    )
    parser.add_argument("--assembly", type=Path, metavar="DIR", help="the proposal: this cloud assembly, no synth")
    parser.add_argument("--stacks", nargs="+", metavar="NAME", help="only these stacks")
    parser.add_argument("--stack-prefix", metavar="PREFIX", help="only stacks whose name starts with PREFIX")
    parser.add_argument(
        "--fail-on-stateful",
        action="store_true",
        help="exit 1 if a stateful resource is replaced, or a new route takes over a hostname the deploy deletes",
    )
    parser.add_argument("--allow-hint", default="", metavar="TEXT", help="printed after a refusal: how to override")
    parser.add_argument("--profile", help="AWS profile for --deployed")
    parser.add_argument("--region", help="AWS region for --deployed (default: the stack's, else your profile's)")
    parser.add_argument("-v", "--verbose", action="store_true", help="also list in-place updates")
    parser.add_argument(
        "--changeset",
        action="store_true",
        help="also create a CloudFormation change set per stack (implies --deployed), compare it resource by "
        "resource with this prediction (tools/changeset.py), delete it; exit 1 on any disagreement",
    )
    return parser.parse_known_args(argv)


def parse_context(pairs: Sequence[str]) -> dict[str, str]:
    """`-c key=value` as the CDK CLI passes it: the value stays a string; the app's loader decodes JSON."""
    context: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ImpactError(f"-c {pair!r}: expected KEY=VALUE")
        context[key.strip()] = value
    return context


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    synthesizer: Synthesizer = synthesize_in_tmp,
    client_factory: Callable[[str | None, str | None], Any] = cloudformation_client,
    session_factory: SessionFactory = aws_session,
    changeset_creator: Callable[[Sequence[str]], Callable[[Sequence[str], str], None]] | None = None,
) -> int:
    """`session_factory` (profile, region): the credentials that read other accounts' templates (--deployed);
    `changeset_creator` (the -c arguments): what prepares the change sets (--changeset; default the pinned CLI)."""
    out, err = out or sys.stdout, err or sys.stderr
    from config import ConfigError  # noqa: PLC0415

    args, unknown = parse_args(argv)
    ignored("impact", unknown, err=err)
    args.deployed = args.deployed or args.changeset
    try:
        if args.changeset and args.baseline:
            raise ImpactError("--changeset compares with the deployed stacks; it takes no --baseline")
        overrides = parse_context(args.context)
        if args.deployed and not args.assembly and "pipeline" in {**cdk_json_context(), **overrides}:
            # `make deploy STACKS=EksLatticeGateway-Pipeline`: that stack holds none of the app's resources; each
            # stage's own stacks are named per stage and checked against a synthesized assembly.
            print(
                "impact: pipeline mode: nothing of the app deploys here; check a stage's stacks with "
                "--deployed --assembly cdk.out --stack-prefix EksLatticeGateway-<stage>",
                file=out,
            )
            return 0
        context = {**cdk_json_context(), **overrides}
        if args.assembly:
            proposal = read_assemblies(args.assembly)
        elif args.deployed and _has_consumers(context) and not os.environ.get("CDK_DEFAULT_ACCOUNT"):
            # As `cdk deploy` synthesizes: with the credentials' account (consumer stacks need it).
            found = credentials_environment(session_factory(args.profile, args.region))
            with _environment(found):
                proposal = synthesizer(overrides)
        else:
            proposal = synthesizer(overrides)
        names = [
            n
            for n in proposal.templates
            if (not args.stacks or n in args.stacks) and (not args.stack_prefix or n.startswith(args.stack_prefix))
        ]
        missing = sorted(set(args.stacks or ()) - set(proposal.templates))
        if missing:
            raise ImpactError(f"--stacks: no stack named {', '.join(missing)} (have: {', '.join(proposal.templates)})")
        if not names:
            raise ImpactError("no stack selected")
        before: dict[str, Environment] | None = None  # --deployed reads each stack in the proposal's environment
        if args.deployed:
            regions = {proposal.regions.get(n) for n in names}
            region = args.region or (regions.pop() if len(regions) == 1 else None)
            client = client_factory(args.profile, region)
            fetched = with_producers(names, proposal.templates)
            baseline = deployed_templates_in_their_accounts(
                fetched,
                selected=names,
                accounts=proposal.accounts,
                regions=proposal.regions,
                client=client,
                session=session_factory(args.profile, region) if set(fetched) & set(proposal.accounts) else None,
                qualifier=bootstrap_qualifier(context),
                out=out,
            )
            for name in names:
                if name not in baseline:
                    print(f"(stack {name} is not deployed: everything in it is new)", file=out)
        else:
            assembly = read_assemblies(args.baseline) if args.baseline else synthesizer(None)
            baseline, before = assembly.templates, environments(assembly)
            if not args.stacks:  # a stack the proposal drops is selected too: it is orphaned
                names += [n for n in baseline if n not in proposal.templates and n.startswith(args.stack_prefix or "")]
    except (ConfigError, ImpactError) as error:
        print(failure_line("impact", error), file=err)
        return 2
    impact = compare(
        baseline,
        proposal.templates,
        stacks=names,
        regions=proposal.regions,
        old_environments=before,
        new_environments=environments(proposal),
    )
    report(impact, out, verbose=args.verbose)
    if args.changeset:
        session = session_factory(args.profile, args.region) if proposal.accounts else None
        return changeset_check(
            impact, names, proposal, args=args, client=client, out=out, err=err, creator=changeset_creator,
            session=session,
        )  # fmt: skip
    if args.fail_on_stateful and (impact.stateful or impact.blocking or impact.blockers):
        print(refusal(impact, args.allow_hint), file=err)
        return 1
    return 0
