"""Baselines: a cloud assembly on disk, or the deployed templates (GetTemplate), in their own accounts through
the CDK bootstrap's lookup role; and the one-line failure of each kind."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from tools.impact.cloudformation import Template, references
from tools.impact.errors import ImpactError
from tools.synth import Assembly, read_assembly


def read_assemblies(outdir: Path) -> Assembly:
    """A cloud assembly's stacks, including those of nested assemblies (a pipeline's stages)."""
    if not (outdir / "manifest.json").is_file():
        raise ImpactError(f"{outdir} is not a cloud assembly (no manifest.json)")
    assembly = read_assembly(outdir)
    templates, regions, accounts = dict(assembly.templates), dict(assembly.regions), dict(assembly.accounts)
    manifest = json.loads((outdir / "manifest.json").read_text())
    for artifact in manifest.get("artifacts", {}).values():
        if artifact.get("type") == "cdk:cloud-assembly":
            nested = read_assemblies(outdir / artifact["properties"]["directoryName"])
            templates.update(nested.templates)
            regions.update(nested.regions)
            accounts.update(nested.accounts)
    return Assembly(outdir=outdir, templates=templates, regions=regions, accounts=accounts)


def deployed_templates(stacks: Iterable[str], *, client: Any) -> dict[str, Template]:
    """The templates CloudFormation holds for `stacks` (GetTemplate, Original stage); absent stacks are skipped."""
    templates: dict[str, Template] = {}
    for name in stacks:
        try:
            body = client.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
        except Exception as err:
            if _error_code(err) == "ValidationError" and "does not exist" in str(err):
                continue
            raise ImpactError(f"GetTemplate {name}: {_describe(err)}") from None
        try:
            templates[name] = body if isinstance(body, dict) else json.loads(body)
        except ValueError:
            raise ImpactError(f"GetTemplate {name}: the deployed template is not JSON (not deployed by CDK?)") from None
    return templates


# The CDK bootstrap's lookup role (ReadOnlyAccess, trusting the accounts given to `cdk bootstrap --trust` and
# `--trust-for-lookup`: aws-cdk 2.1148.1 lib/api/bootstrap/bootstrap-template.yaml, LookupRole, read 2026-12-05): how
# the CDK CLI and the pipeline's impact step (constructs/pipeline/impact.py) read another account. Its qualifier is
# cdk.json's @aws-cdk/core:bootstrapQualifier, else the bootstrap's default.
QUALIFIER_KEY = "@aws-cdk/core:bootstrapQualifier"
DEFAULT_QUALIFIER = "hnb659fds"
LOOKUP_ROLE = "arn:{partition}:iam::{account}:role/cdk-{qualifier}-lookup-role-{account}-{region}"
Session = Any  # boto3.session.Session
SessionFactory = Callable[[str | None, str | None], Session]


def bootstrap_qualifier(context: Mapping[str, Any]) -> str:
    """The bootstrap qualifier of the app's context (cdk.json merged with -c), else the bootstrap's default."""
    return str(context.get(QUALIFIER_KEY) or DEFAULT_QUALIFIER)


def aws_session(profile: str | None, region: str | None) -> Session:
    import boto3  # noqa: PLC0415 - only --deployed needs boto3

    try:
        return boto3.session.Session(profile_name=profile, region_name=region)
    except Exception as err:
        raise ImpactError(_describe(err)) from None


def caller_account(session: Session) -> str:
    try:
        return str(session.client("sts").get_caller_identity()["Account"])
    except Exception as err:
        raise ImpactError(f"GetCallerIdentity: {_describe(err)}") from None


def partition_of(region: str) -> str:
    """The partition of `region` (aws, aws-cn, aws-us-gov ...), from botocore's bundled endpoints data."""
    import botocore.session  # noqa: PLC0415

    return str(botocore.session.get_session().get_partition_for_region(region))


def lookup_session(session: Session, *, account: str, region: str, qualifier: str, partition: str | None = None) -> Any:
    """A boto3 session in `account` through its bootstrap lookup role, assumed with `session` (`partition`:
    default, the region's). The role reads (tools/audit.py lists with it); it never writes."""
    import boto3  # noqa: PLC0415

    partition = partition or partition_of(region)
    role = LOOKUP_ROLE.format(partition=partition, account=account, qualifier=qualifier, region=region)
    response = session.client("sts", region_name=region).assume_role(
        RoleArn=role, RoleSessionName="eks-lattice-gateway-impact"
    )
    credentials = response["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def lookup_client(session: Session, *, account: str, region: str, qualifier: str, partition: str | None = None) -> Any:
    """A CloudFormation client in `account` through its bootstrap lookup role (lookup_session)."""
    return lookup_session(session, account=account, region=region, qualifier=qualifier, partition=partition).client(
        "cloudformation"
    )


def deployed_templates_in_their_accounts(
    names: Sequence[str],
    *,
    selected: Iterable[str],
    accounts: Mapping[str, str],
    regions: Mapping[str, str],
    client: Any,
    session: Session | None,
    qualifier: str,
    out: TextIO,
) -> dict[str, Template]:
    """deployed_templates for stacks spread over accounts: those of the caller's account (or of none) with
    `client`, each other account's through its bootstrap lookup role, as the pipeline does. A `selected` stack
    whose account cannot be read is refused ("cannot check <stack>"): reading it in the caller's account would
    only find it "not deployed" and call everything in it new. A producer (a stack the selected ones read
    outputs from) that cannot be read is skipped with a note, as one not deployed."""
    chosen = set(selected)
    foreign = {n: accounts[n] for n in names if n in accounts}
    mine = caller_account(session) if foreign and session is not None else None
    own = [n for n in names if n not in foreign or foreign[n] == mine]
    templates = deployed_templates(own, client=client)
    by_target: dict[tuple[str, str], list[str]] = {}
    for name in names:
        if name not in own:
            by_target.setdefault((foreign[name], regions.get(name, "")), []).append(name)
    for (account, region), stacks in sorted(by_target.items()):
        try:
            if session is None or not region:
                raise ImpactError("no credentials to assume its lookup role with, or no region")
            other = lookup_client(session, account=account, region=region, qualifier=qualifier)
            templates.update(deployed_templates(stacks, client=other))
        except Exception as err:
            why = str(err) if isinstance(err, ImpactError) else f"{type(err).__name__}: {err}"
            role = LOOKUP_ROLE.format(partition="aws", account=account, qualifier=qualifier, region=region)
            refused = [s for s in stacks if s in chosen]
            if refused:
                raise ImpactError(
                    f"cannot check {', '.join(refused)}: its deployed template is in account {account}, read through "
                    f"{role} (cdk bootstrap --trust <this account>): {why}"
                ) from None
            print(f"(cannot read {', '.join(stacks)} in account {account}: {why}; not compared)", file=out)
    return templates


def _has_consumers(context: Mapping[str, Any]) -> bool:
    value = context.get("consumers")
    return bool(value) and value not in ("[]", "")


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def credentials_environment(session: Session) -> dict[str, str]:
    """CDK_DEFAULT_ACCOUNT/REGION as the CDK CLI sets them from the credentials: the app synthesizes the stacks
    `cdk deploy` will deploy (consumer stacks need the provider's account)."""
    region = session.region_name
    return {"CDK_DEFAULT_ACCOUNT": caller_account(session), **({"CDK_DEFAULT_REGION": region} if region else {})}


def with_producers(names: Sequence[str], templates: Mapping[str, Template]) -> list[str]:
    """`names` and every stack whose outputs they read (Fn::GetStackOutput), transitively: a replacement there
    reaches them, so the analysis needs those stacks' templates too."""
    found = list(names)
    for name in found:
        for ref in references(templates.get(name, {}).get("Resources", {}), name):
            if ref.output and ref.stack in templates and ref.stack not in found:
                found.append(ref.stack)
    return found


def cloudformation_client(profile: str | None, region: str | None) -> Any:
    import boto3  # noqa: PLC0415 - only --deployed needs boto3

    try:
        return boto3.session.Session(profile_name=profile, region_name=region).client("cloudformation")
    except Exception as err:
        raise ImpactError(_describe(err)) from None


def _error_code(err: Exception) -> str | None:
    response = getattr(err, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def failure_line(prog: str, error: Exception) -> str:
    """The one line a tool's main prints for what ends it with exit 2: a configuration error (it names the key),
    an ImpactError as it reads, anything else (an AWS error) described."""
    from config import ConfigError  # noqa: PLC0415

    if isinstance(error, ConfigError):
        return f"{prog}: invalid configuration: {error}"
    if isinstance(error, ImpactError):
        return f"{prog}: {error}"
    return f"{prog}: {_describe(error)}"


def _describe(err: Exception) -> str:
    kind = type(err).__name__
    if kind == "NoCredentialsError":
        return "no AWS credentials found (--deployed reads the deployed templates; set AWS_PROFILE or log in)"
    if kind == "NoRegionError":
        return 'no AWS region configured (set AWS_REGION; or pass --region: make impact ARGS="--region ...")'
    if kind == "ProfileNotFound":
        return str(err)
    code = _error_code(err)
    if code in {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException"}:
        return f"AWS credentials rejected ({code}); refresh them and retry"
    if code in {"AccessDenied", "AccessDeniedException"}:
        return f"access denied: --deployed needs cloudformation:GetTemplate ({err})"
    return f"{kind}: {err}"
