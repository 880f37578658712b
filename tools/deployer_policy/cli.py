"""`make deployer-policy`'s command line: read or synthesize the templates, write the policy files."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from config.limits import MANAGED_POLICY
from tools.deployer_policy.deployer import DEFAULT_QUALIFIER, bootstrap_document, deployer_document
from tools.deployer_policy.execution import (
    MAX_ROLE_MANAGED_POLICIES,
    PolicyError,
    _size,
    check_no_users_or_groups,
    execution_actions,
    iam_statements,
    policy_document,
    split_policies,
    stack_prefix_of,
    template_types,
)
from tools.deployer_policy.references import reference_statements
from tools.impact import (
    QUALIFIER_KEY,
    ImpactError,
    parse_context,
    partition_of,
    read_assemblies,
    synthesize_in_tmp,
)
from tools.synth import cdk_json_context

ROOT = Path(__file__).resolve().parents[2]


def generate(
    outdir: Path,
    templates: Mapping[str, Mapping[str, Any]],
    regions: Iterable[str] | Mapping[str, str],
    *,
    qualifier: str,
) -> dict[str, Any]:
    """`regions`: each stack's region (a mapping), or only the regions (then references name any region). The
    policies name this app's resources by the stacks' prefix (stack_prefix_of)."""
    check_no_users_or_groups(templates)
    prefix = stack_prefix_of(templates)
    types = template_types(templates)
    stack_regions = dict(regions) if isinstance(regions, Mapping) else {}
    region_list = sorted(set(stack_regions.values() if stack_regions else regions) - {""} or {"us-east-1"})
    actions = execution_actions(types, region_list)
    execution = split_policies([a for a in actions if not a.startswith("iam:")], sid="CloudFormationHandlers")
    scoped = iam_statements(actions, templates, stack_prefix=prefix) + reference_statements(templates, stack_regions)
    if scoped:
        execution.append(policy_document(scoped))
        if _size(execution[-1]) > MANAGED_POLICY.limit:
            raise PolicyError(f"the scoped IAM and references' policy is over {MANAGED_POLICY.limit} characters")
    if len(execution) > MAX_ROLE_MANAGED_POLICIES:
        raise PolicyError(f"{len(execution)} execution policies; a role takes {MAX_ROLE_MANAGED_POLICIES} by default")
    outdir.mkdir(parents=True, exist_ok=True)
    for old in outdir.glob("execution-policy-*.json"):
        old.unlink()
    files = {}
    for n, document in enumerate(execution, 1):
        files[f"execution-policy-{n}.json"] = document
    files["deployer-policy.json"] = deployer_document(stack_prefix=prefix, qualifier=qualifier)
    files["bootstrap-policy.json"] = bootstrap_document()
    for name, document in files.items():
        (outdir / name).write_text(json.dumps(document, indent=2) + "\n")
    return files


def policy_arns(names: Iterable[str], regions: Mapping[str, str]) -> list[str]:
    """The managed policies' ARNs to create from the execution-policy files: the stacks' partition (not always
    aws), and the region in the name, since IAM names are account-wide and each region's synthesis differs."""
    where = sorted(set(regions.values()) - {""})
    partitions = {partition_of(r) for r in where}
    partition = partitions.pop() if len(partitions) == 1 else "<partition>"
    region = where[0] if len(where) == 1 else "<region>"
    return [
        f"arn:{partition}:iam::<account>:policy/eks-lattice-gateway-{region}-{n.removesuffix('.json')}" for n in names
    ]


def _read(outdir: Path) -> tuple[dict[str, Any], dict[str, str]]:
    assembly = read_assemblies(outdir)
    return dict(assembly.templates), dict(assembly.regions)


def qualifier_of(outdir: Path) -> str | None:
    """The qualifier of the bootstrap roles the assembly's stacks deploy with (manifest.json's role ARNs)."""
    manifest = outdir / "manifest.json"
    found = re.search(r"role/cdk-([a-z0-9]+)-deploy-role-", manifest.read_text()) if manifest.exists() else None
    return found.group(1) if found else None


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from tools import deployer_policy  # noqa: PLC0415 - the package's docstring describes the command

    description = str(deployer_policy.__doc__).split("\n\n")[0]
    parser = argparse.ArgumentParser(prog="deployer-policy", description=description)
    parser.add_argument("--assembly", type=Path, help="a synthesized cloud assembly (default: cdk.out, synthesized)")
    parser.add_argument("--out", type=Path, default=ROOT / "deployer-policy", help="folder for the JSON files")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE", help="as with cdk")
    parser.add_argument(
        "--qualifier", help=f"the bootstrap qualifier (default: the assembly's roles, else {QUALIFIER_KEY}, else cdk's)"
    )
    args = parser.parse_args(argv)
    try:
        context = parse_context(args.context)
        if args.assembly:
            templates, regions = _read(args.assembly)
            found = qualifier_of(args.assembly)
        elif context:  # make deployer-policy CDK_ARGS="-c key=value": this configuration, synthesized now
            synthesized = synthesize_in_tmp(context)
            templates, regions, found = dict(synthesized.templates), dict(synthesized.regions), None
        else:
            from tools.synth import load  # noqa: PLC0415 - jsii starts on import

            outdir = load(emit=lambda m: print(m, file=err)).outdir
            templates, regions = _read(outdir)
            found = qualifier_of(outdir)
        qualifier = args.qualifier or found or str({**cdk_json_context(), **context}.get(QUALIFIER_KEY) or "")
        files = generate(args.out, templates, regions, qualifier=qualifier or DEFAULT_QUALIFIER)
    except (PolicyError, ImpactError) as e:
        print(f"deployer-policy: {e}", file=err)
        return 2
    names = sorted(n for n in files if n.startswith("execution-policy-"))
    for name, document in files.items():
        print(f"wrote {args.out / name} ({_size(document)} of {MANAGED_POLICY.limit} characters)", file=out)
    arns = ",".join(policy_arns(names, regions))
    print(
        f"IAM writes, stacks and smoke functions scoped to names starting {stack_prefix_of(templates)}\n"
        "Create one managed policy per execution-policy file, then bootstrap with them (not AdministratorAccess):\n"
        f"  make bootstrap CDK_ARGS='--cloudformation-execution-policies {arns}'\n"
        "Attach deployer-policy.json to whoever runs make deploy / destroy / impact / smoke,\n"
        "and bootstrap-policy.json to whoever runs make bootstrap (README: Prerequisites and permissions).",
        file=out,
    )
    return 0
