"""Configurations generated from config/schema.json, each either deployable or refused by name (issue 24 item 1).

hypothesis-jsonschema draws cdk.json contexts that the schema allows. Each gets one of two outcomes:
- refused: `ConfigError` lines, each `key: reason` with a key path the schema knows; or
- accepted: the model builds Kubernetes objects that the Kubernetes schemas, the CRDs' structural schemas and
  their CEL rules take; and (`full`) the app synthesizes with a provider environment (consumers need one), its
  templates pass cfn-lint and the service-constraint table, every manifest object validates, namespaced objects
  follow their Namespace, and `make cost` prices every resource type or lists it as free. A ConfigError
  raised while the app is built (a check that needs the stack's region) counts as a refusal.
Anything else (a traceback, an accepted config whose synth or checks fail) is a fault: hypothesis shrinks it to a
minimal config, which belongs in REGRESSIONS (tests/test_config_fuzz.py replays them in `make test`).

`python -m tests.config_fuzz --n 200 --seed 1` (make fuzz N= SEED=) runs the full check; tests/test_config_fuzz.py
runs a small seeded sample without synthesis.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "config" / "schema.json"
TODAY = dt.date(2026, 11, 28)  # as tests/conftest.TODAY: the EKS calendar checks don't drift
PROVIDER = ("111111111111", "ap-northeast-2")  # consumers need the provider's account and region
CFN_LINT_REGIONS = ["ap-northeast-2", "us-east-1"]
CFN_LINT_IGNORES = {"W3005"}  # as tests/test_compliance.py, which gives the reason

# Minimal configurations that once failed (found by the fuzzer, shrunk), with what was wrong; each must now be
# accepted and pass, or be refused by name. Replayed by tests/test_config_fuzz.py.
REGRESSIONS: list[tuple[str, dict[str, Any]]] = [
    ("an instance type of EC2's shape that EC2 lacks passed the model; cfn-lint E3628",
     {"nodeInstanceType": "r92zbtws65heit3.h"}),
    ("a repeated admin role: two EKS access entries with one primary identifier (CloudFormation refuses)",
     {"clusterAdminRoleArns": ["arn:aws:iam::794370302519:role/Z", "arn:aws:iam::794370302519:role/Z"]}),
    ("a partition botocore does not know in a role ARN",
     {"clusterAdminRoleArns": ["arn:awsnn:iam::794370302519:role/Z"]}),
]  # fmt: skip

# A key path as ConfigError names it: camelCase names joined by dots, list indexes in brackets.
KEY = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:\[\d+\]|\.[A-Za-z][A-Za-z0-9]*)*$")


class FuzzFaultError(AssertionError):
    """A generated config that neither deploys nor is refused by name."""


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return loaded


@cache
def context_schema() -> dict[str, Any]:
    """config/schema.json's `context` (cdk.json's), without the feature-flag keys it lets through unchecked
    (patternProperties: CDK reads and checks those, the app never does; pipeline has its own key)."""
    whole = schema()
    context = {k: v for k, v in whole["$defs"]["Context"].items() if k != "patternProperties"}
    return {**context, "$defs": whole["$defs"]}


@cache
def configs() -> Any:
    """The hypothesis strategy: cdk.json contexts config/schema.json allows. One per process: building it resolves
    and canonicalises the whole schema (seconds), and a strategy draws the same examples for a seed however often
    it is reused."""
    from hypothesis_jsonschema import from_schema

    return from_schema(context_schema())


def refusal_problems(lines: tuple[str, ...]) -> list[str]:
    """Why these ConfigError lines do not each name a known key ([] when they do)."""
    top = set(context_schema()["properties"])
    found = []
    for line in lines:
        key, _, reason = line.partition(": ")
        known = key.split(".")[0].split("[")[0] in top or reason.startswith("unknown configuration key")
        if not (KEY.match(key) and known and reason):
            found.append(f"a line that names no configuration key: {line!r}")
    return found


def model_outcome(context: dict[str, Any]) -> Any:
    """The AppConfig, or the ConfigError's lines (a tuple) when refused; any other exception is a FuzzFaultError."""
    from config import ConfigError, parse_context

    try:
        return parse_context(context, today=TODAY)
    except ConfigError as err:
        if problems := refusal_problems(err.lines):
            raise FuzzFaultError("; ".join(problems)) from err
        return err.lines
    except Exception as err:
        raise FuzzFaultError(f"the model raised {type(err).__name__} instead of a ConfigError: {err}") from err


def object_problems(config: Any, crd_root: Path) -> list[str]:
    """What the Kubernetes schemas and the CRDs (structural schema and CEL rules) refuse of the workload's
    objects, built from the config without synthesis."""
    from constructs.controller.objects import controller_namespace, controller_service_account
    from constructs.workload.manifests import workload_objects

    from tests.crd_rules import violations
    from tests.k8s_schemas import CORE_API_VERSIONS, validate_object

    found = []
    for obj in [controller_namespace(), controller_service_account(), *workload_objects(config)]:
        where = f"{obj['kind']} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
        try:
            validate_object(obj, crd_root=crd_root, kubernetes_version=config.kubernetes_version)
        except Exception as err:
            found.append(f"{where}: {str(err).splitlines()[0]}")
        if obj["apiVersion"] not in CORE_API_VERSIONS:
            found += [f"{where}: {v}" for v in violations(obj, crd_root)]
    return found


def region_of(config: Any) -> str:
    """A region the config can deploy to: its consumers' or its zones', else PROVIDER's."""
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

    from config.model import az_id_prefix

    regions = [c.region for c in config.consumers if c.region]
    for zone in config.availability_zones:
        if config.uses_az_ids:
            prefix = zone.split("-az", maxsplit=1)[0]
            regions += [r for r in RegionsAndZonesBackend.zones if az_id_prefix(r) == prefix]
        else:
            regions.append(zone[:-1])
    return regions[0] if regions else PROVIDER[1]


def synthesis_problems(context: dict[str, Any], config: Any, crd_root: Path, outdir: Path) -> list[str] | None:
    """Synthesize and check; None when the app refuses the config (ConfigError) while it is built."""
    from config import ConfigError
    from tests.conftest import Synthesized

    try:
        Synthesized(outdir, context, (PROVIDER[0], region_of(config)), nag=False)
    except ConfigError as err:
        if problems := refusal_problems(err.lines):
            return problems
        return None
    return assembly_problems(outdir, config, crd_root)


def assembly_problems(outdir: Path, config: Any, crd_root: Path, *, lint: bool = True) -> list[str]:
    """What cfn-lint (`lint`), the service-constraint table, the Kubernetes schemas, the namespace order and
    make cost's type list find in a synthesized cloud assembly ([] when nothing)."""
    from tests.k8s_schemas import validate_object
    from tests.manifest_order import namespace_order_problems
    from tests.service_constraints import TOKEN, check_templates, k8s_objects
    from tests.support import scans
    from tools import cost
    from tools.synth import read_assembly

    assembly = read_assembly(outdir)
    manifest = json.loads((outdir / "manifest.json").read_text())
    found: list[str] = []
    for artifact in manifest["artifacts"].values() if lint else ():
        if artifact.get("type") == "aws:cloudformation:stack":
            template = outdir / artifact["properties"]["templateFile"]
            for f in scans.cfn_lint(template, regions=CFN_LINT_REGIONS):
                if f.rule not in CFN_LINT_IGNORES:
                    found.append(f"cfn-lint {template.name}: {f}")
    found += [f"service constraint: {f}" for f in check_templates(assembly.templates.items()).findings]
    for name, template in assembly.templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            for where, obj in k8s_objects(resource.get("Properties", {})):
                if TOKEN in json.dumps(obj, ensure_ascii=False):
                    continue  # holds an intrinsic (an ARN, the region): object_problems checks its shape
                try:
                    validate_object(obj, crd_root=crd_root, kubernetes_version=config.kubernetes_version)
                except Exception as err:
                    found.append(f"{name}/{logical_id} {where}: {str(err).splitlines()[0]}")
    found += namespace_order_problems(assembly.templates, assembly.dependencies)
    found += [f"make cost neither prices nor lists as free: {kind}" for kind in cost.unpriced_types(assembly.templates)]
    return found


def check(context: dict[str, Any], crd_root: Path, *, full: bool, tally: Counter[str] | None = None) -> None:
    """Raise FuzzFaultError unless the config is refused by name or accepted and passes (see the module's docstring)."""
    tally = tally if tally is not None else Counter()
    outcome = model_outcome(context)
    if isinstance(outcome, tuple):
        tally["refused by the model"] += 1
        return
    if problems := object_problems(outcome, crd_root):
        raise FuzzFaultError("accepted, but its Kubernetes objects are refused: " + "; ".join(problems[:5]))
    if not full:
        tally["accepted"] += 1
        return
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        problems_or_none = synthesis_problems(context, outcome, crd_root, Path(tmp))
    if problems_or_none is None:
        tally["refused at synth"] += 1
        return
    if problems_or_none:
        raise FuzzFaultError("accepted, but its synthesis fails checks: " + "; ".join(problems_or_none[:5]))
    tally["accepted and synthesized"] += 1


def run(n: int, seed: int, crd_root: Path, *, full: bool, emit: Callable[[str], None] = print) -> Counter[str]:
    """n generated configs (hypothesis shrinks the first fault and raises it). Returns the outcomes' counts."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as with_seed

    tally: Counter[str] = Counter()

    @with_seed(seed)
    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(configs())
    def each(context: dict[str, Any]) -> None:
        try:
            check(context, crd_root, full=full, tally=tally)
        except Exception:
            emit("fault in: " + json.dumps(context, sort_keys=True))
            raise

    each()
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="how many configs (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model-only", action="store_true", help="no synthesis (fast)")
    parser.add_argument("--shared", type=Path, default=None, help="the shared/ folder (default: as the tests find it)")
    args = parser.parse_args(argv)
    from tests.conftest import SHARED

    crd_root = (args.shared or SHARED) / "reference" / "crds"
    if not crd_root.is_dir():
        print(f"reference CRDs not found at {crd_root} (make reference, or --shared)", file=sys.stderr)
        return 2
    start = time.monotonic()
    tally = run(args.n, args.seed, crd_root, full=not args.model_only)
    took = time.monotonic() - start
    counts = ", ".join(f"{k} {v}" for k, v in sorted(tally.items()))
    print(f"{args.n} configs, seed {args.seed}, {took:.0f} s: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
