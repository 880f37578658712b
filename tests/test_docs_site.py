"""The documentation site (mkdocs.yml, docs/) and the README that leads into it (issue 28): the site builds with
`mkdocs build --strict` (a broken link, a missing anchor, a page left out of the nav or a missing include fails),
offline; every page is in the nav; every section the README had before the split is a heading on some page; the
README stays the short first page, and its own links resolve."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from markdown.extensions.toc import slugify
from mkdocs.config import load_config

from tests.conftest import ROOT
from tests.support import docs
from tests.support.offline import REFUSED, offline_env

MKDOCS_YML = ROOT / "mkdocs.yml"

# The README's section headings before issue 28 split it into the site (README.md at commit 94d0600): each one must
# stay a heading of README.md or of a docs/ page, at any level, so no section is lost in a later edit either.
FORMER_README_HEADINGS = (
    "eks-lattice-gateway",
    "What it deploys",
    "Quick start",
    "Prerequisites and permissions",
    "kubectl access",
    "Deploy, diff, smoke-test, destroy",
    "Add your own service",
    "Security: access control",
    "Protocols: HTTPS, gRPC and TLS passthrough",
    "Access on each protocol",
    "Certificates",
    "Smoke test per protocol",
    "The example: `examples/all-protocols.json`",
    "Update safety: `make impact`",
    "Ship through CodePipeline",
    "Configuration",
    "Share with another account",
    "Dashboard and alarms",
    "Cost",
    "Lattice DNS records",
    "End-to-end in a real account: `make e2e`, `make audit`, `make impact CHANGESET=1`",
    "make e2e report (SIMULATED: fake AWS, not a real run)",
    "Deploy critical path",
    "Checks",
    "Left behind",
    "Tests",
    "Mutation testing",
    "Security",
    "Benchmarks",
    "Repository layout",
    "Troubleshooting",
)
# Former headings whose text now sits under another heading, each with the page and why. Keep it small: a section
# that moved keeps its heading.
MERGED: dict[str, str] = {}

README_MAX_LINES = 175  # "about 150 lines": what a person reads first; the rest belongs on a page


def headings(text: str) -> list[str]:
    """The Markdown headings of a page, outside fenced code (a `# comment` in a bash block is none)."""
    found, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            found.append(line.lstrip("#").strip())
    return found


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """`mkdocs build --strict`, as `make docs` runs it, with the network cut (tests/support/offline.py: a fetch
    raises) and from a folder that is not the config's (the site resolves its paths against mkdocs.yml's folder, not
    the working directory): every build a test makes checks both."""
    elsewhere = site.parent / "elsewhere"  # an empty working directory: no CHANGELOG.md or docs/ to find by luck
    elsewhere.mkdir(parents=True, exist_ok=True)
    config = config.resolve()
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        cwd=elsewhere,
        check=False,
        env=offline_env({**os.environ, "NO_MKDOCS_2_WARNING": "1"}),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The site as it is, built once for the tests that read it (none writes into it): the run and the site."""
    site = tmp_path_factory.mktemp("built") / "site"
    return build(MKDOCS_YML, site), site


def test_the_site_builds_strict_without_a_warning(built_site: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, site = built_site
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert not re.search(r"^WARNING", output, flags=re.M), output
    for page in docs.DOCS.glob("*.md"):
        html = "index.html" if page.stem == "index" else f"{page.stem}/index.html"
        assert (site / html).is_file(), page.name
    # The changelog is included, not copied: the releases page carries CHANGELOG.md's newest entry.
    newest = re.search(r"^## (\[[^\]]+\])", (ROOT / "CHANGELOG.md").read_text(), flags=re.M)
    assert newest and newest.group(1) in (site / "releases" / "index.html").read_text()


@pytest.fixture(scope="module")
def site_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the site's sources (docs/, mkdocs.yml, CHANGELOG.md), shown once to build as it is: each broken
    copy below is made from it, so that its failed build is the broken reference's doing."""
    copy = tmp_path_factory.mktemp("copy")
    shutil.copytree(docs.DOCS, copy / "docs")
    shutil.copy(MKDOCS_YML, copy / "mkdocs.yml")
    shutil.copy(ROOT / "CHANGELOG.md", copy / "CHANGELOG.md")
    result = build(copy / "mkdocs.yml", tmp_path_factory.mktemp("copy-build") / "site")
    assert result.returncode == 0, result.stdout + result.stderr
    return copy


@pytest.mark.parametrize(
    "broken",
    [
        "[a page that is not there](no-such-page.md)",
        "[an anchor that is not there](configuration.md#no-such-section)",
        '--8<-- "NO-SUCH-FILE.md"',
    ],
    ids=["page", "anchor", "include"],
)
def test_a_broken_link_anchor_or_include_fails_the_build(tmp_path: Path, site_copy: Path, broken: str) -> None:
    """Class test: what strict mode is there for. A copy of the site with one broken reference does not build (the
    copy as it is builds: site_copy)."""
    shutil.copytree(site_copy, tmp_path, dirs_exist_ok=True)
    page = tmp_path / "docs" / "cost.md"
    page.write_text(page.read_text() + f"\n{broken}\n")
    result = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0, result.stdout + result.stderr


def test_a_page_left_out_of_the_nav_fails_the_build(tmp_path: Path) -> None:
    shutil.copytree(docs.DOCS, tmp_path / "docs")
    shutil.copy(MKDOCS_YML, tmp_path / "mkdocs.yml")
    shutil.copy(ROOT / "CHANGELOG.md", tmp_path / "CHANGELOG.md")
    (tmp_path / "docs" / "orphan.md").write_text("# Orphan\n")
    assert build(tmp_path / "mkdocs.yml", tmp_path / "site").returncode != 0


def _nav_files(nav: object) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [f for value in nav.values() for f in _nav_files(value)]
    if isinstance(nav, list):
        return [f for item in nav for f in _nav_files(item)]
    return []


def test_every_page_is_in_the_nav_once() -> None:
    config = load_config(str(MKDOCS_YML))
    listed = _nav_files(config["nav"])
    assert len(listed) == len(set(listed)), listed
    assert sorted(listed) == sorted(p.name for p in docs.DOCS.glob("*.md"))


def test_the_site_fetches_nothing(tmp_path: Path) -> None:
    """Offline: only the built-in search plugin; no theme fonts from a font service. The strict builds above run with
    the network cut; here the cut is shown to hold: the same site with a build hook that fetches a page fails."""
    config = load_config(str(MKDOCS_YML))
    assert set(config["plugins"].keys()) == {"material/search"}
    assert config["theme"]["font"] is False
    shutil.copytree(docs.DOCS, tmp_path / "docs")
    shutil.copy(ROOT / "CHANGELOG.md", tmp_path / "CHANGELOG.md")
    (tmp_path / "fetch.py").write_text(
        "import urllib.request\n\n\ndef on_config(config):\n"
        "    urllib.request.urlopen('https://fonts.googleapis.com/css?family=Roboto', timeout=5)\n"
    )
    (tmp_path / "mkdocs.yml").write_text(MKDOCS_YML.read_text() + "hooks:\n  - fetch.py\n")
    result = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert f"{REFUSED}name lookup of 'fonts.googleapis.com' refused" in result.stdout + result.stderr


def test_every_former_readme_section_is_a_heading_on_some_page() -> None:
    found = {h for page in docs.pages() for h in headings(page.read_text())}
    missing = [h for h in FORMER_README_HEADINGS if h not in found and h not in MERGED]
    assert not missing, f"sections lost from README.md and docs/ (move each to a page, or into MERGED): {missing}"
    assert not [h for h in MERGED if h in found], "a MERGED heading is a heading again: drop it from MERGED"


def test_the_readme_is_the_short_first_page() -> None:
    lines = docs.README.read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines: move detail to a docs/ page"
    # It leads into every page of the site.
    linked = set(re.findall(r"\]\(docs/([a-z0-9-]+\.md)", "\n".join(lines)))
    assert linked == {p.name for p in docs.DOCS.glob("*.md")}


def test_the_readmes_links_resolve() -> None:
    """The README is not part of the site's build, so its links are checked here: each relative target exists and
    each `#anchor` is a heading of its page (as mkdocs and GitHub slug it)."""
    text = docs.README.read_text()
    links = re.findall(r"\]\((?!https?://)([^)\s]+)\)", text)
    assert len(links) > 10, links
    for link in links:
        target, _, anchor = link.partition("#")
        path = ROOT / target if target else docs.README
        assert path.exists(), link
        if anchor:
            slugs = {slugify(h.replace("`", ""), "-") for h in headings(path.read_text())}
            assert anchor in slugs, (link, sorted(slugs))


def test_every_make_target_is_documented() -> None:
    """Each target `make help` lists is shown as `make <target>` on some page."""
    targets = re.findall(r"^([a-z0-9-]+):[^#\n]*##", (ROOT / "Makefile").read_text(), flags=re.M)
    text = docs.text()
    missing = [t for t in targets if not re.search(rf"make {re.escape(t)}\b", text)]
    assert not missing, missing


# A pointer from the code (a message, a help text, a field's description, a comment) into the documentation: a
# section of the README itself ("README: Cost", "README 'Quick start'"), or a page with or without a section
# ("docs/troubleshooting.md, 'Renaming a route but keeping its hostname'", "docs/protocols.md: Certificates").
_SECTION_POINTER = re.compile(r"""README(?:\.md)?(?:[:,]\s*|\s+)[*'"]?([A-Z][^'"*)\n;.]*?)(?:['"*)\n;.]|$)""")
_PAGE_POINTER = re.compile(
    r"""\bdocs/([a-z0-9-]+\.md)\b(?:(?:,\s*|:\s*|\s+)(?:[*']([A-Z][^'*\n]*)[*']|([A-Z][^'"*)\n;.,]*)))?"""
)
# README.md named as a file (a list of paths), not as a pointer to a section.
_README_FILE = re.compile(r"""["']README\.md["']""")
# A line citing an upstream repository's docs/ (the controller's docs/faq.md at v2.1.3) points elsewhere.
_UPSTREAM = re.compile(r"\bv\d+\.\d+|aws-application-networking-k8s")
PRODUCT_CODE = ("app.py", "config", "constructs", "lambda", "stacks", "tools")


def _product_sources() -> list[Path]:
    return [
        p
        for name in PRODUCT_CODE
        for p in ([ROOT / name] if name.endswith(".py") else sorted((ROOT / name).rglob("*.py")))
    ]


def _section_names(page: Path) -> set[str]:
    """A page's headings and bold terms, lower case, without backticks: what a pointer may name as a section."""
    text = page.read_text()
    found = headings(text) + re.findall(r"\*\*([^*\n]+)\*\*", text)
    return {name.replace("`", "").lower() for name in found}


def unresolved_pointers(text: str) -> tuple[int, list[str]]:
    """The pointers into the documentation in one source's text, and those that do not resolve: a pointer that
    says "README" must name a heading of README.md itself (the README keeps only a few sections; the rest moved
    to docs/ pages), and a pointer to a page must name an existing docs/<page>.md whose headings or bold terms
    contain the section it names."""
    count, unresolved = 0, []
    readme = {h.replace("`", "").lower() for h in headings(docs.README.read_text())}
    for m in re.finditer(r"\bREADME\b", text):
        count += 1
        if _README_FILE.match(text, m.start() - 1):
            continue
        pointer = _SECTION_POINTER.match(text, m.start())
        section = pointer.group(1).strip().lower() if pointer else ""
        if not section or not any(section in name for name in readme):
            unresolved.append(text[m.start() : m.start() + 70].split("\n", maxsplit=1)[0])
    for line in text.splitlines():
        if _UPSTREAM.search(line):
            continue
        for m in _PAGE_POINTER.finditer(line):
            count += 1
            page = docs.DOCS / m.group(1)
            section = (m.group(2) or m.group(3) or "").strip().lower()
            if not page.is_file() or (section and not any(section in n for n in _section_names(page))):
                unresolved.append(m.group(0))
    return count, unresolved


@pytest.mark.parametrize(
    ("text", "resolves"),
    [
        ("(README: Cost)", True),
        ("(README: Certificates)", False),  # a section that moved to docs/protocols.md
        ("see README 'Renaming a route but keeping its hostname'", False),
        ("(README)", False),
        ("the README's recovery", False),
        ('FILES = ("README.md",)', True),
        ("docs/protocols.md: Certificates", True),
        ("docs/troubleshooting.md, 'Renaming a route but keeping its hostname'", True),
        ("docs/observability.md, *No such section*", False),
        ("docs/no-such-page.md", False),
    ],
)
def test_a_pointer_resolves_only_to_its_own_page(text: str, resolves: bool) -> None:
    """Class test, on the faults it is there for: a pointer naming the README for a section that lives on a docs
    page now, a bare "README", a page without the section."""
    count, unresolved = unresolved_pointers(text)
    assert count == 1, text
    assert (not unresolved) is resolves, unresolved


def test_every_pointer_from_the_code_into_the_documentation_resolves() -> None:
    """Class test: every pointer in the product code resolves (see unresolved_pointers); renaming or moving a
    heading must take its pointers along."""
    total, unresolved = 0, []
    for source in _product_sources():
        count, bad = unresolved_pointers(source.read_text())
        total += count
        unresolved += [f"{source.relative_to(ROOT)}: {b!r}" for b in bad]
    assert total > 10, total
    assert not unresolved, unresolved


# A script the built site makes the reader's browser load from elsewhere: a quoted absolute URL in its JavaScript
# (the theme's bundle loads mermaid this way) or an HTML <script src="https://...">.
_JS_URL = re.compile(r"""["']https://([^/"'\s]+)[^"'\s]*["']""")
_HTML_SCRIPT = re.compile(r"""<script[^>]*\bsrc=["']?https://([^/"'\s>]+)""")


def remote_script_hosts(site: Path) -> set[str]:
    hosts = {m.group(1) for js in site.rglob("*.js") for m in _JS_URL.finditer(js.read_text(errors="replace"))}
    return hosts | {m.group(1) for page in site.rglob("*.html") for m in _HTML_SCRIPT.finditer(page.read_text())}


def test_each_host_the_built_site_loads_scripts_from_is_named_in_the_docs(
    tmp_path: Path, built_site: tuple[subprocess.CompletedProcess[str], Path]
) -> None:
    """Class test: the site is built offline, but the reader's browser may still fetch code (material's bundle
    loads mermaid from unpkg.com, a floating major without an integrity hash); each such host is stated on a
    page, so "offline" never overclaims."""
    result, built = built_site
    assert result.returncode == 0
    hosts = remote_script_hosts(built)
    assert "unpkg.com" in hosts, hosts  # the scan sees the one this theme version has
    site = tmp_path / "site"  # a copy: the module's built site stays as built
    shutil.copytree(built, site)
    (site / "extra.html").write_text('<script src="https://cdn.example.net/x.js"></script>')
    assert "cdn.example.net" in remote_script_hosts(site)
    text = "\n".join(p.read_text() for p in docs.DOCS.glob("*.md"))
    unnamed = sorted(h for h in hosts if h not in text)
    assert not unnamed, f"the site's pages load scripts from {unnamed}: say so on docs/development.md"
