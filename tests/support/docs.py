"""The user documentation: README.md, the first page a person reads, and the mkdocs site's pages in docs/ (each in
mkdocs.yml's nav; tests/test_docs_site.py builds them). A test that checks a claim the documentation makes reads
the page the claim is on, or every page when the claim may sit on any of them."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def page(name: str) -> Path:
    """A site page by its file name (docs/<name>), which must exist."""
    path = DOCS / name
    assert path.is_file(), f"no documentation page {path.relative_to(ROOT)}"
    return path


def pages() -> list[Path]:
    """README.md, then every page of the site."""
    return [README, *sorted(DOCS.glob("*.md"))]


def text() -> str:
    """Every page's text, each after a blank line."""
    return "\n\n".join(p.read_text(encoding="utf-8") for p in pages())
