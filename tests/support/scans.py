"""cfn-lint and checkov over synthesized templates, each template's result kept by its content.

Both scanners judge one template at a time (no check reads another file), so a template's findings are a
function of its bytes, the scanner's version and the options: they are kept in `.cache/scans/` under the hash
of those, and a template that has not changed since it was last scanned is not scanned again. A change to the
infrastructure rescans exactly the templates it changes; a clean clone (CI) scans everything. The cache holds
the scanners' raw findings, never a verdict: the tests judge them each run.
`EKS_LATTICE_SCAN_CACHE=off` scans everything, every time.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "scans"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
# What pins checkov (its own virtualenv, built from these): part of each checkov result's key.
CHECKOV_PINS = (ROOT / "requirements-scan.txt", ROOT / "constraints-scan.txt")
CHECKOV_ARGS = ("--framework", "cloudformation", "--output", "json", "--compact", "--skip-download")


def caching() -> bool:
    return os.environ.get("EKS_LATTICE_SCAN_CACHE", "").strip().lower() not in ("off", "0", "false", "no")


def _key(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def _load(tool: str, key: str) -> Any | None:
    path = CACHE / tool / f"{key}.json"
    if not caching() or not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # a torn or foreign file: scan again
        return None


def _store(tool: str, key: str, value: Any) -> None:
    if not caching():
        return
    folder = CACHE / tool
    folder.mkdir(parents=True, exist_ok=True)
    # Atomic: the other xdist worker may read (or write) the same key meanwhile.
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w") as out:
        json.dump(value, out)
    os.replace(tmp, folder / f"{key}.json")


# ------------------------------------------------------------------------------------------------- cfn-lint


@dataclass(frozen=True)
class LintFinding:
    rule: str
    message: str
    path: tuple[str | int, ...]

    def __str__(self) -> str:
        return f"{self.rule} {self.message} ({list(self.path)})"


def cfn_lint(template: Path, *, regions: Sequence[str]) -> list[LintFinding]:
    """Every cfn-lint match in one template file, for these regions."""
    import cfnlint.version

    key = _key(template.read_bytes(), cfnlint.version.__version__, json.dumps(sorted(regions)))
    cached = _load("cfn-lint", key)
    if cached is None:
        from cfnlint.api import ManualArgs, lint_file

        matches = lint_file(template, config=ManualArgs(regions=list(regions)))
        cached = [{"rule": m.rule.id, "message": m.message, "path": list(m.path)} for m in matches]
        _store("cfn-lint", key, cached)
    return [LintFinding(rule=f["rule"], message=f["message"], path=tuple(f["path"])) for f in cached]


# -------------------------------------------------------------------------------------------------- checkov

RESULT_KINDS = ("passed_checks", "failed_checks", "skipped_checks")


def _checkov_key(data: bytes) -> str:
    return _key(data, *(p.read_bytes() for p in CHECKOV_PINS), " ".join(CHECKOV_ARGS))


def checkov(templates: Mapping[str, bytes], *, run: Callable[[Path], dict[str, Any]] | None = None) -> dict[str, Any]:
    """checkov's results for these templates (file name -> content), as one report:
    {"parsing_errors": [...], "passed_checks"/"failed_checks"/"skipped_checks": [...]}, each check's
    `file_path` the template's name. Templates not cached are scanned together, in one checkov process."""
    per_file: dict[str, dict[str, Any]] = {}
    missing: dict[str, str] = {}
    for name, data in templates.items():
        key = _checkov_key(data)
        cached = _load("checkov", key)
        if cached is None:
            missing[name] = key
        else:
            per_file[name] = cached
    if missing:
        with tempfile.TemporaryDirectory(prefix="checkov-") as tmp:
            for name in missing:
                (Path(tmp) / name).write_bytes(templates[name])
            report = (run or run_checkov)(Path(tmp))
        summary, results = report["summary"], report["results"]
        for name, key in missing.items():
            entry: dict[str, Any] = {
                kind: [c for c in results.get(kind, []) if c["file_path"].lstrip("/") == name] for kind in RESULT_KINDS
            }
            # checkov counts parse failures but doesn't say which file: a failure taints the whole batch.
            entry["parsing_errors"] = summary["parsing_errors"]
            per_file[name] = entry
            if summary["parsing_errors"] == 0:
                _store("checkov", key, entry)
    merged: dict[str, Any] = {kind: [] for kind in RESULT_KINDS}
    merged["parsing_errors"] = 0
    for name in templates:
        entry = per_file[name]
        merged["parsing_errors"] = max(merged["parsing_errors"], entry["parsing_errors"])
        for kind in RESULT_KINDS:
            merged[kind] += [{**c, "file_path": name} for c in entry[kind]]
    return merged


def run_checkov(directory: Path) -> dict[str, Any]:
    """One checkov process over every template in `directory`; its JSON report."""
    if not CHECKOV.is_file():
        raise FileNotFoundError(f"checkov not found at {CHECKOV}: `make test` creates .venv-checkov")
    # --skip-download: no Prisma Cloud look-ups (no network here, nor needed: the checks ship in the package).
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(directory), *CHECKOV_ARGS],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    # Exit 1 means findings (read by the caller); anything else, or no JSON, is checkov failing to run.
    if result.returncode not in (0, 1):
        raise RuntimeError(f"checkov exited {result.returncode}: {result.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(result.stdout)
    if report.get("check_type") != "cloudformation":
        raise RuntimeError(f"checkov reported {report.get('check_type')!r}, not cloudformation")
    return report
