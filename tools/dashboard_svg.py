#!/usr/bin/env python3
"""A mock picture of the CloudWatch dashboard (docs/dashboard.svg), drawn from the synthesized dashboard body.

    python tools/dashboard_svg.py          # synthesize (or reuse a fresh cdk.out) and rewrite docs/dashboard.svg
    python tools/dashboard_svg.py --check  # exit 1 when the picture is stale

Every widget is drawn where the body places it, with its title, its series' labels and the alarm names; the
lines are made up (a seeded random walk per series), since no data exists before a deploy. tests/
test_observability.py fails when the committed picture no longer matches the default configuration's body.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUT = ROOT / "docs" / "dashboard.svg"
GATEWAY = "EksLatticeGateway-Gateway"
CELL_W, CELL_H, GAP = 44, 34, 6  # pixels per grid column, per height unit, between widgets
FONT = "font-family='Helvetica, Arial, sans-serif'"
PALETTE = ("#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def _flatten(node: Any, names: dict[str, str]) -> str:
    """A property as text, each GetAtt shown by what it stands for (an alarm's name, <Service0>), Refs as <X>."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and "Fn::Join" in node:
        sep, parts = node["Fn::Join"]
        return str(sep).join(_flatten(p, names) for p in parts)
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        logical_id, attribute = node["Fn::GetAtt"]
        return names.get(logical_id, f"<{attribute}>")
    if isinstance(node, dict) and "Ref" in node:
        return "<" + str(node["Ref"]).split("::")[-1] + ">"
    raise ValueError(f"unexpected intrinsic {node}")


def dashboard_body(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(dashboard name, body) of the template's one dashboard, alarm ARNs replaced by alarm names."""
    resources = template["Resources"]
    names = {k: r["Properties"]["AlarmName"] for k, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    (props,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    # The body is JSON text: an alarm name goes in as a JSON string's contents.
    escaped = {k: json.dumps(v)[1:-1] for k, v in names.items()}
    return props["DashboardName"], json.loads(_flatten(props["DashboardBody"], escaped))


def _series(props: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(label, axis) of each visible series of a metric widget."""
    for entry in props.get("metrics", []):
        options = entry[-1] if isinstance(entry[-1], dict) else {}
        if options.get("visible") is False:
            continue
        label = options.get("label") or (entry[1] if isinstance(entry[0], str) else options.get("expression", ""))
        yield str(label), options.get("yAxis", "left")


def _walk(label: str, n: int) -> list[float]:
    """A made-up line between 0 and 1, the same for the same label every time."""
    seed = hashlib.sha256(label.encode()).digest()
    value, out = seed[0] / 255, []
    for i in range(n):
        value = min(0.95, max(0.05, value + (seed[(i + 1) % len(seed)] / 255 - 0.5) * 0.25))
        out.append(value)
    return out


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines


def _text(x: float, y: float, body: str, *, size: int = 11, weight: str = "normal", fill: str = "#16191f") -> str:
    return f"<text x='{x:.0f}' y='{y:.0f}' font-size='{size}' font-weight='{weight}' fill='{fill}' {FONT}>" + (
        escape(body) + "</text>"
    )


def _widget(widget: dict[str, Any]) -> list[str]:
    x, y = widget["x"] * CELL_W + GAP, widget["y"] * CELL_H + GAP
    w, h = widget["width"] * CELL_W - GAP, widget["height"] * CELL_H - GAP
    props = widget["properties"]
    out = [f"<rect x='{x}' y='{y}' width='{w}' height='{h}' rx='4' fill='#ffffff' stroke='#d5dbdb'/>"]
    chars = int(w / 6.2)
    if widget["type"] == "text":
        line_y = y + 20
        for raw in props["markdown"].splitlines():
            plain = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", raw).replace("**", "").replace("*", "")
            heading = raw.startswith("#")
            for part in _wrap(plain.lstrip("# ").replace("  ", " "), chars) or [""]:
                if line_y < y + h - 6:
                    out.append(
                        _text(x + 10, line_y, part, size=14 if heading else 11, weight="bold" if heading else "normal")
                    )
                line_y += 20 if heading else 15
        return out
    out.append(_text(x + 10, y + 18, props.get("title", "")[: int(w / 7)], size=12, weight="bold"))
    if widget["type"] == "alarm":
        row_y = y + 40
        for name in props.get("alarms", []):
            lines = _wrap(name.split(" ", 1)[-1], chars - 5)  # without the stack name, which the title shows
            if row_y + 13 * (len(lines) - 1) > y + h - 6:
                break
            out.append(f"<circle cx='{x + 16}' cy='{row_y - 4}' r='5' fill='#1d8102'/>")
            for line in lines:
                out.append(_text(x + 28, row_y, line, size=10))
                row_y += 13
            row_y += 5
        return out
    series = list(_series(props))
    legend_rows = (len(series) + 1) // 2
    top, bottom = y + 30, y + h - 12 - legend_rows * 14
    left, right = x + 30, x + w - (30 if any(a == "right" for _, a in series) else 12)
    out.append(f"<line x1='{left}' y1='{bottom}' x2='{right}' y2='{bottom}' stroke='#aab7b8'/>")
    out.append(f"<line x1='{left}' y1='{top}' x2='{left}' y2='{bottom}' stroke='#aab7b8'/>")
    for i, annotation in enumerate(props.get("annotations", {}).get("horizontal", [])):
        ay = top + (bottom - top) * (0.15 + 0.1 * i)
        out.append(
            f"<line x1='{left}' y1='{ay:.0f}' x2='{right}' y2='{ay:.0f}' stroke='#d13212' stroke-dasharray='4 3'/>"
        )
        out.append(
            _text(right - 90, ay - 3, f"{annotation.get('label', '')} {annotation['value']:g}", size=9, fill="#d13212")
        )
    points = 24
    for i, (label, _axis) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        values = _walk(label + props.get("title", ""), points)
        path = " ".join(
            f"{left + (right - left) * k / (points - 1):.1f},{bottom - (bottom - top) * v:.1f}"
            for k, v in enumerate(values)
        )
        out.append(f"<polyline points='{path}' fill='none' stroke='{color}' stroke-width='1.5'/>")
        lx = x + 12 + (i % 2) * (w / 2)
        ly = bottom + 14 + (i // 2) * 14
        out.append(f"<rect x='{lx:.0f}' y='{ly - 8:.0f}' width='10' height='3' fill='{color}'/>")
        out.append(_text(lx + 14, ly, label[: int(chars / 2) - 3], size=9))
    return out


def render(template: dict[str, Any]) -> str:
    name, body = dashboard_body(template)
    widgets = body["widgets"]
    width = 24 * CELL_W + GAP
    height = max(w["y"] + w["height"] for w in widgets) * CELL_H + GAP + 30
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' viewBox='0 0 {width} {height}'>",
        f"<rect width='{width}' height='{height}' fill='#f2f3f3'/>",
    ]
    for widget in widgets:
        parts += _widget(widget)
    note = f"{name}: a mock of the layout (tools/dashboard_svg.py); lines are made up, not data"
    parts.append(_text(GAP + 4, height - 10, note, size=10, fill="#545b64"))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only report a stale picture")
    args = parser.parse_args(argv)
    from tools import synth  # noqa: PLC0415

    assembly = synth.load(emit=lambda m: print(m, file=sys.stderr))
    text = render(assembly.templates[GATEWAY])
    if OUT.exists() and OUT.read_text() == text:
        return 0
    if args.check:
        print(f"stale: {OUT.relative_to(ROOT)} (run python tools/dashboard_svg.py)", file=sys.stderr)
        return 1
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
