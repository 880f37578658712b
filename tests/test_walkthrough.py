"""The "Add your own service" page, docs/own-service.md (issue 27 item 4): its configuration is
docs/examples/own-service.json, the suite's namespaced synthesis (tests/conftest.py NAMESPACED); the page shows that
file as it is, and the `make
impact` output of the change from the defaults as tools/impact.py prints it for the two shared syntheses. After an
intended change, rewrite the output with `UPDATE_WALKTHROUGH=1 .venv/bin/python -m pytest -n 0
tests/test_walkthrough.py` and read the diff."""

from __future__ import annotations

import io
import json
import os
import re
import textwrap

from config import parse_context
from tests.conftest import NAMESPACED, ROOT, TODAY, WALKTHROUGH, Synthesized, cdk_json_context
from tools import impact
from tools.synth import read_assembly

PAGE = ROOT / "docs" / "own-service.md"


def _block(name: str, text: str) -> tuple[int, int, str]:
    """The fenced block between `<!-- name... -->` and `<!-- /name -->`: (start, end, its dedented body)."""
    m = re.search(rf"<!-- {name}[^\n]*-->\n(.*?)\n\s*<!-- /{name} -->", text, flags=re.S)
    assert m, f"{PAGE.name} has no {name} block"
    fenced = textwrap.dedent(m.group(1))
    body = re.fullmatch(r"```\w*\n(.*)\n```", fenced.strip(), flags=re.S)
    assert body, f"{name}: not one fenced block"
    return m.start(1), m.end(1), body.group(1)


def impact_output(base: Synthesized, proposal: Synthesized) -> str:
    result = impact.compare(
        base.templates,
        proposal.templates,
        old_environments=impact.environments(read_assembly(base.outdir)),
        new_environments=impact.environments(read_assembly(proposal.outdir)),
    )
    out = io.StringIO()
    impact.report(result, out)
    return out.getvalue().rstrip("\n")


def test_the_page_shows_the_walkthrough_configuration_as_it_is() -> None:
    _, _, body = _block("walkthrough-config", PAGE.read_text())
    assert json.loads(body) == json.loads(WALKTHROUGH.read_text()) == NAMESPACED


def test_the_walkthrough_configuration_is_valid_and_has_an_access_entry() -> None:
    config = parse_context({**cdk_json_context(), **NAMESPACED}, today=TODAY)
    (route,) = config.routes
    assert route.access is not None and route.access.allow
    assert config.apps[0].namespace == route.namespace != "default"


def test_the_page_shows_make_impacts_output_for_the_walkthrough(synth: Synthesized, namespaced: Synthesized) -> None:
    text = PAGE.read_text()
    start, end, shown = _block("walkthrough-impact", text)
    expected = impact_output(synth, namespaced)
    if os.environ.get("UPDATE_WALKTHROUGH") == "1" and shown != expected:
        indented = textwrap.indent(f"```text\n{expected}\n```", "   ")
        PAGE.write_text(text[:start] + indented + text[end:])
        shown = expected
    assert shown == expected
    assert "[BLOCKING]" not in expected and "replace " not in expected  # what the page says of it
