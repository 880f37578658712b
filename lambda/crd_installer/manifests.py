"""Split multi-document YAML and identify each document without a YAML parser (none in the Lambda runtime).

Only what is needed to route a document to its API path is read: top-level `apiVersion` and `kind`, and
`metadata.name`. The document's bytes are sent unchanged; the API server does the real parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Cluster-scoped kinds this installer may write, and the collection each one lives in.
_COLLECTIONS: dict[tuple[str, str], str] = {
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"): (
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies"
    ),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"): (
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings"
    ),
}

# DNS-subdomain names only: also keeps a hostile name from reaching another URL path.
_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_DOC_START_RE = re.compile(r"^---(\s.*)?$")
_DOC_END_RE = re.compile(r"^\.\.\.(\s.*)?$")
_KEY_RE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(?P<rest>(\s.*)?)$")


class ManifestError(ValueError):
    """A document could not be identified or is of a kind this installer does not apply."""


@dataclass(frozen=True)
class Document:
    source: str  # file name, for messages
    index: int  # 0-based position among the file's non-empty documents
    api_version: str
    kind: str
    name: str
    body: bytes

    @property
    def path(self) -> str:
        """API path of the object, for GET and server-side apply."""
        return f"{_COLLECTIONS[(self.api_version, self.kind)]}/{self.name}"

    @property
    def is_crd(self) -> bool:
        return self.kind == "CustomResourceDefinition"

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def split_documents(text: str) -> list[str]:
    """The file's YAML documents (text), without separators; documents holding only comments are dropped."""
    docs: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if any(_is_content(line) for line in current):
            docs.append("".join(current))
        current.clear()

    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        if _DOC_START_RE.match(bare) or _DOC_END_RE.match(bare):
            flush()
        elif bare.startswith("%") and not any(_is_content(x) for x in current):
            continue  # a %YAML / %TAG directive before a document
        else:
            current.append(line)
    flush()
    return docs


def _scalar(rest: str) -> str:
    """A plain or quoted one-line scalar value, without a trailing comment."""
    value = rest.strip()
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = value.find(quote, 1)
        if end < 0:
            return ""
        return value[1:end]
    return re.split(r"\s#", value, maxsplit=1)[0].strip()


def identify(text: str, *, source: str, index: int) -> Document:
    """apiVersion, kind and metadata.name of one document, by scanning its lines."""
    top: dict[str, str] = {}
    name: str | None = None
    in_metadata = False
    metadata_indent: int | None = None
    where = f"{source} (document {index + 1})"

    for raw in text.splitlines():
        if not _is_content(raw):
            continue
        match = _KEY_RE.match(raw)
        indent = len(raw) - len(raw.lstrip(" "))
        if indent == 0:
            in_metadata = False
            if match is None:
                continue  # a top-level sequence item or flow text: nothing we route on
            key, rest = match["key"], match["rest"]
            if key in ("apiVersion", "kind"):
                if key in top:
                    raise ManifestError(f"{where}: duplicate top-level {key}")
                top[key] = _scalar(rest)
            elif key == "metadata":
                if rest.strip() and not rest.strip().startswith("#"):
                    raise ManifestError(f"{where}: metadata must be a block mapping to be read without a parser")
                in_metadata = True
                metadata_indent = None
            continue
        if not in_metadata:
            continue
        if metadata_indent is None:
            metadata_indent = indent  # the first line under metadata fixes its children's indentation
        if indent == metadata_indent and match is not None and match["key"] == "name":
            if name is not None:
                raise ManifestError(f"{where}: duplicate metadata.name")
            name = _scalar(match["rest"])

    api_version, kind = top.get("apiVersion"), top.get("kind")
    if not api_version or not kind or not name:
        missing = [k for k, v in (("apiVersion", api_version), ("kind", kind), ("metadata.name", name)) if not v]
        raise ManifestError(f"{where}: could not find {', '.join(missing)}")
    if (api_version, kind) not in _COLLECTIONS:
        allowed = ", ".join(f"{k} ({v})" for v, k in _COLLECTIONS)
        raise ManifestError(f"{where}: {api_version} {kind} is not a kind this installer applies (only {allowed})")
    if not _NAME_RE.match(name):
        raise ManifestError(f"{where}: {name!r} is not a valid object name")
    return Document(source, index, api_version, kind, name, text.encode("utf-8"))


def parse_file(data: bytes, *, source: str) -> list[Document]:
    """Every document of one downloaded file, identified; raises ManifestError naming the file."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ManifestError(f"{source}: not UTF-8 text ({err})") from err
    docs = [identify(doc, source=source, index=i) for i, doc in enumerate(split_documents(text))]
    if not docs:
        raise ManifestError(f"{source}: no YAML documents found")
    return docs
