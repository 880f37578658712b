"""What the tools that make passes CDK_ARGS to share: `-c KEY=VALUE` as the CDK CLI takes it, the CDK arguments a
tool does not use (named on stderr, then ignored), and the list of findings a check ends with."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Protocol, TextIO


class Finding(Protocol):
    def line(self) -> str: ...


def tool_parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """The tool's parser, described by its docstring's first line, with -c KEY=VALUE first."""
    parser = argparse.ArgumentParser(prog=prog, description=(doc or "").splitlines()[0])
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE", help="as with cdk")
    return parser


def parse_known(parser: argparse.ArgumentParser, argv: Sequence[str] | None, *, err: TextIO) -> argparse.Namespace:
    """The arguments, naming on `err` the CDK CLI's that the tool does not use (make passes all of CDK_ARGS)."""
    args, unknown = parser.parse_known_args(argv)
    ignored(parser.prog, unknown, err=err)
    return args


def ignored(prog: str, unknown: Sequence[str], *, err: TextIO) -> None:
    if unknown:
        print(f"({prog}: ignoring CDK arguments it does not use: {' '.join(unknown)})", file=err)


def findings(found: Sequence[Finding], *, heading: str, clean: str, out: TextIO) -> int:
    """A check's end: `heading` and a line per finding, exit status 1; or `clean`, exit status 0."""
    if found:
        print(heading, file=out)
        for item in found:
            print(item.line(), file=out)
        return 1
    print(clean, file=out)
    return 0
