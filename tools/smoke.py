#!/usr/bin/env python3
"""`make smoke`: run the routing smoke test Lambdas (inside the client VPC) and report each check.

Finds the functions through the stack outputs SmokeTestFunctionName (signed with its role: every route must
answer; unsigned: every route must refuse) and, under AWS_IAM, SmokeTestSecondIdentityFunctionName (signed
with a role no route names: every route must refuse); invokes them synchronously and prints one line per check
(verdict, route, caller, status, request, detail) and a summary per function. Then, the traffic having reached
every route, it checks that CloudWatch lists each AWS/VpcLattice series the stack's alarms watch (ListMetrics,
polled for up to --metrics-wait-seconds): the VPC Lattice User Guide lists the dimensions (AvailabilityZone,
Service) without saying whether a service's metrics are also published with `Service` alone, which the route
alarms read (tests/lattice_cloudwatch.py). Exit status: 0 when every check passed, 1 otherwise (including
missing credentials or stack, reported in one line without a traceback). The pipeline runs the same script.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TextIO

DEFAULT_STACK = "EksLatticeGateway-Gateway"
OUTPUT_KEY = "SmokeTestFunctionName"
SECOND_OUTPUT_KEY = "SmokeTestSecondIdentityFunctionName"
# The function retries for a few minutes while routes turn healthy; outlast Lambda's 15-minute maximum.
READ_TIMEOUT_SECONDS = 910
LATTICE_NAMESPACE = "AWS/VpcLattice"
# Lattice reports once a minute (User Guide, CloudWatch metrics); a new series can take minutes more to be listed.
DEFAULT_METRICS_WAIT_SECONDS = 900
METRICS_POLL_SECONDS = 30

ClientFactory = Callable[[str, str | None], Any]


class SmokeError(Exception):
    """A problem to report in one line (exit status 1)."""


def boto3_client(service: str, region: str | None) -> Any:
    import boto3  # noqa: PLC0415 - imported late so --help works without boto3
    from botocore.config import Config  # noqa: PLC0415

    config = Config(read_timeout=READ_TIMEOUT_SECONDS, retries={"mode": "standard", "max_attempts": 3})
    return boto3.session.Session(region_name=region).client(service, config=config)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack", default=DEFAULT_STACK, help=f"stack with the {OUTPUT_KEY} output")
    parser.add_argument("--region", default=None, help="AWS region (default: from the environment or profile)")
    parser.add_argument(
        "--function-name", default=None, help="invoke this function; skip the stack lookup and the metrics check"
    )
    parser.add_argument(
        "--metrics-wait-seconds",
        type=int,
        default=DEFAULT_METRICS_WAIT_SECONDS,
        help="how long to wait for the series the alarms watch to be listed (0: check once)",
    )
    parser.add_argument(
        "--no-metrics-check",
        action="store_true",
        help="skip the metrics check (a stack without alarms: a consumer stack's role has no CloudWatch access)",
    )
    return parser.parse_args(argv)


def main(
    argv: Sequence[str] | None = None,
    *,
    client_factory: ClientFactory = boto3_client,
    out: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    out = out or sys.stdout
    args = parse_args(argv)
    try:
        if args.function_name:
            functions = [args.function_name]
        else:
            functions = find_functions(client_factory("cloudformation", args.region), args.stack)
        lam = client_factory("lambda", args.region)
        payloads = [(function, invoke(lam, function)) for function in functions]
    except SmokeError as err:
        print(f"smoke: {err}", file=out)
        return 1
    except Exception as err:  # any AWS/SDK failure becomes one readable line
        print(f"smoke: {_describe(err)}", file=out)
        return 1
    status = max(report(payload, function, out) for function, payload in payloads)
    if status or args.function_name or args.no_metrics_check:
        return status
    try:
        missing = missing_series(
            client_factory("cloudwatch", args.region), args.stack, args.metrics_wait_seconds, sleep=sleep, clock=clock
        )
    except Exception as err:
        print(f"smoke: checking the alarms' metrics: {_describe(err)}", file=out)
        return 1
    for metric, dims, listed in missing:
        print(
            f"FAIL metric {LATTICE_NAMESPACE} {metric} {_dims(dims)}: not listed after the traffic; Lattice lists "
            f"{', '.join(_dims(d) for d in listed) or 'no series of it'}: an alarm on it never sees data",
            file=out,
        )
    print(
        f"metrics check {'FAILED' if missing else 'passed'}: {len(missing)} series the alarms watch missing", file=out
    )
    return 1 if missing else 0


Series = tuple[str, dict[str, str]]


def watched_series(cloudwatch: Any, stack: str) -> list[Series]:
    """Every AWS/VpcLattice (metric, dimensions) the stack's alarms read (their names start with the stack's)."""
    found: list[Series] = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=f"{stack} "):
        for alarm in page.get("MetricAlarms", []):
            for metric in _alarm_metrics(alarm):
                series = (metric["MetricName"], {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])})
                if metric.get("Namespace") == LATTICE_NAMESPACE and series not in found:
                    found.append(series)
    return found


def _alarm_metrics(alarm: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if alarm.get("MetricName"):
        yield {k: alarm.get(k) for k in ("Namespace", "MetricName", "Dimensions")}
    for query in alarm.get("Metrics", []):
        if "MetricStat" in query:
            yield query["MetricStat"]["Metric"]


def missing_series(
    cloudwatch: Any,
    stack: str,
    wait_seconds: int,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> list[tuple[str, dict[str, str], list[dict[str, str]]]]:
    """The watched series ListMetrics does not return (with the dimension sets it does list for that metric and
    those dimension values), after waiting up to `wait_seconds` for them."""
    wanted = watched_series(cloudwatch, stack)
    deadline = clock() + wait_seconds
    while True:
        missing = []
        for metric, dims in wanted:
            filters = [{"Name": k, "Value": v} for k, v in dims.items()]
            listed = [
                {d["Name"]: d["Value"] for d in m.get("Dimensions", [])}
                for page in cloudwatch.get_paginator("list_metrics").paginate(
                    Namespace=LATTICE_NAMESPACE, MetricName=metric, Dimensions=filters
                )
                for m in page.get("Metrics", [])
            ]
            if dims not in listed:  # a series is its exact dimension set
                missing.append((metric, dims, listed))
        if not missing or clock() >= deadline:
            return missing
        sleep(METRICS_POLL_SECONDS)


def _dims(dims: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(dims.items())) + "}"


def find_function(cfn: Any, stack: str) -> str:
    return find_functions(cfn, stack)[0]


def find_functions(cfn: Any, stack: str) -> list[str]:
    """The smoke function, then the second identity's when the stack has one (AWS_IAM)."""
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except Exception as err:
        if _error_code(err) == "ValidationError" and "does not exist" in str(err):
            region = getattr(getattr(cfn, "meta", None), "region_name", None) or "this region"
            raise SmokeError(
                f"stack {stack!r} not found in {region} (deploy first, or pass --stack/--region: "
                'make smoke ARGS="--region ...")'
            ) from None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in (stacks[0].get("Outputs") or [])} if stacks else {}
    name = outputs.get(OUTPUT_KEY)
    if not name:
        raise SmokeError(f"stack {stack!r} has no output {OUTPUT_KEY} (is it deployed with the smoke test?)")
    second = outputs.get(SECOND_OUTPUT_KEY)
    return [str(name), *([str(second)] if second else [])]


def invoke(lam: Any, function: str) -> dict[str, Any]:
    response = lam.invoke(FunctionName=function, InvocationType="RequestResponse", Payload=b"{}")
    body = response["Payload"].read()
    try:
        payload = json.loads(body) if body else {}
    except ValueError:
        payload = {"errorMessage": body.decode("utf-8", "replace")}
    if response.get("FunctionError"):
        # Checks failed (SmokeTestError) or the function itself broke (timeout, bad input).
        return {"error": True, "type": payload.get("errorType", response["FunctionError"]), **payload}
    return dict(payload)


def report(payload: dict[str, Any], function: str, out: TextIO) -> int:
    if payload.get("error"):
        message = str(payload.get("errorMessage", "")).strip() or "no error message"
        if payload.get("type") == "SmokeTestError":
            # The handler's message: a summary line, then one PASS/FAIL line per check.
            summary, *lines = message.splitlines()
            for line in lines:
                print(line, file=out)
            print(f"smoke test FAILED: {summary}", file=out)
        else:
            print(f"smoke: {function} failed ({payload.get('type')}): {message}", file=out)
            print("smoke test FAILED", file=out)
        return 1
    results = payload.get("results") or []
    for r in results:
        print(_line(r), file=out)
    failed = sum(1 for r in results if not r.get("ok"))
    passed = bool(payload.get("passed")) and bool(results) and not failed
    print(
        f"smoke test {'passed' if passed else 'FAILED'}: {len(results) - failed} of {len(results)} checks ok", file=out
    )
    return 0 if passed else 1


def _line(result: dict[str, Any]) -> str:
    """As the handler's report_line (lambda/smoke/handler.py): verdict, route, caller, status, request, detail."""
    verdict = "PASS" if result.get("ok") else "FAIL"
    where = f"route={result.get('route', '-')} caller={result.get('caller', '-')} status={result.get('status') or '-'}"
    return f"{verdict} {where} {result.get('method', 'GET')} {result.get('url')}: {result.get('detail')}"


def _error_code(err: Exception) -> str | None:
    response = getattr(err, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _describe(err: Exception) -> str:
    kind = type(err).__name__
    if kind == "NoCredentialsError":
        return "no AWS credentials found (set AWS_PROFILE or run `aws configure` / `aws sso login`)"
    if kind == "NoRegionError":
        return 'no AWS region configured (pass --region: make smoke ARGS="--region ..."; or set AWS_REGION)'
    code = _error_code(err)
    if code in {"ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException", "InvalidClientTokenId"}:
        return f"AWS credentials rejected ({code}); refresh them and retry"
    if code == "ResourceNotFoundException":
        return f"smoke test function not found ({err}); redeploy the stack"
    return f"{kind}: {err}"


if __name__ == "__main__":
    sys.exit(main())
