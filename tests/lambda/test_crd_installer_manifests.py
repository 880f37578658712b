"""crd_installer.manifests without a YAML parser: separators, scalars, metadata scoping, names at their limits and
the exact message for each document it refuses (CloudFormation shows it)."""

from __future__ import annotations

import pytest
from crd_installer.manifests import Document, ManifestError, _is_content, _scalar, identify, parse_file, split_documents

CRD = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {name}\n"
ALLOWED = (
    "CustomResourceDefinition (apiextensions.k8s.io/v1), "
    "ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1), "
    "ValidatingAdmissionPolicyBinding (admissionregistration.k8s.io/v1)"
)


def refused(text: str, *, index: int = 0) -> str:
    with pytest.raises(ManifestError) as exc:
        identify(text, source="f.yaml", index=index)
    return str(exc.value)


# -- documents --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "docs"),
    [
        ("a: 1\n---\nb: 2\n", ["a: 1\n", "b: 2\n"]),
        ("---\na: 1\n...\n---   # next\nb: 2\n... end\n", ["a: 1\n", "b: 2\n"]),
        ("a: 1\r\n---\r\nb: 2\r\n", ["a: 1\r\n", "b: 2\r\n"]),  # CRLF files
        ("---x: 1\n....\n", ["---x: 1\n....\n"]),  # not markers: text right after the dashes/dots
        ("a: 1\n---X\n...X\n", ["a: 1\n---X\n...X\n"]),
        ("%YAML 1.2\n%TAG ! tag:x:\n---\na: 1\n", ["a: 1\n"]),  # directives before a document
        ("# header\n%YAML 1.2\n---\na: 1\n", ["a: 1\n"]),  # ... even after a comment
        ("a: |\n  x\n%not-a-directive\n", ["a: |\n  x\n%not-a-directive\n"]),  # inside a document: content
        ("# only\n---\n\n   \n---\n  # indented comment\n", []),
        ("a: 1", ["a: 1"]),  # no final newline
    ],
)
def test_split_documents(text: str, docs: list[str]) -> None:
    assert split_documents(text) == docs


def test_what_counts_as_content() -> None:
    assert _is_content("a: 1")
    assert _is_content("  x # y")
    assert not _is_content("")
    assert not _is_content("   \t")
    assert not _is_content("   # comment")


@pytest.mark.parametrize(
    ("rest", "value"),
    [
        (" plain", "plain"),
        ("   spaced out   ", "spaced out"),
        (" plain # comment", "plain"),
        (" a#b", "a#b"),  # '#' without a space before it is part of the value
        (" 'single quoted' # c", "single quoted"),
        (" 'a' # it's", "a"),  # the first closing quote ends it
        (' "double quoted"', "double quoted"),
        (" 'a\"b'", 'a"b'),
        (" 'unterminated", ""),
        (" ''", ""),
        ("", ""),
    ],
)
def test_scalar(rest: str, value: str) -> None:
    assert _scalar(rest) == value


# -- identify ---------------------------------------------------------------------------------------------------


def test_identify_reads_only_top_level_keys_and_metadata_name() -> None:
    text = (
        "# leading comment\n"
        "- a top-level sequence item is skipped\n"
        "metadata:   # a comment is not a flow mapping\n"
        "\n"
        "   # comments and blank lines do not fix the indentation\n"
        "   labels:\n"
        "      name: label-not-this\n"
        "   name: widgets.example.com\n"
        "spec:\n"
        "   name: spec-not-this\n"
        "   kind: NotThis\n"
        "kind: CustomResourceDefinition\n"
        "apiVersion: apiextensions.k8s.io/v1\n"
    )
    doc = identify(text, source="f.yaml", index=3)
    assert doc == Document(
        "f.yaml", 3, "apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com", text.encode()
    )
    assert str(doc) == "CustomResourceDefinition widgets.example.com"
    assert doc.path == "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com"
    assert doc.is_crd


@pytest.mark.parametrize(
    ("kind", "collection"),
    [
        ("ValidatingAdmissionPolicy", "validatingadmissionpolicies"),
        ("ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings"),
    ],
)
def test_admission_policies_route_to_their_collections(kind: str, collection: str) -> None:
    doc = identify(
        f"apiVersion: admissionregistration.k8s.io/v1\nkind: {kind}\nmetadata:\n  name: p\n", source="v", index=0
    )
    assert doc.path == f"/apis/admissionregistration.k8s.io/v1/{collection}/p"
    assert not doc.is_crd


def test_indented_text_before_any_top_level_key_is_not_metadata() -> None:
    text = (
        "  name: sneaky\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  labels: {}\n"
    )
    assert refused(text) == "f.yaml (document 1): could not find metadata.name"


def test_name_after_metadata_ends_is_not_metadata_name() -> None:
    text = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  labels: {}\nname: x\n"
    assert refused(text) == "f.yaml (document 1): could not find metadata.name"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo: bar\n", "could not find apiVersion, kind, metadata.name"),
        ("apiVersion:\nkind: K\nmetadata:\n  name: x\n", "could not find apiVersion"),
        ("apiVersion: a/v1\nkind: ''\nmetadata:\n  name: x\n", "could not find kind"),
        ("apiVersion: a/v1\napiVersion: b/v1\nkind: K\n", "duplicate top-level apiVersion"),
        ("kind: K\napiVersion: a/v1\nkind: K\n", "duplicate top-level kind"),
        ("kind: K\nmetadata:\n  name: a\n  name: b\n", "duplicate metadata.name"),
        ("kind: K\nmetadata: {name: x}\n", "metadata must be a block mapping to be read without a parser"),
        (
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n",
            f"v1 Namespace is not a kind this installer applies (only {ALLOWED})",
        ),
        (
            CRD.format(name="x").replace("apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1"),
            "apiextensions.k8s.io/v1beta1 CustomResourceDefinition is not a kind this installer applies "
            f"(only {ALLOWED})",
        ),
    ],
)
def test_refusals_name_file_and_document(text: str, message: str) -> None:
    assert refused(text, index=1) == f"f.yaml (document 2): {message}"


@pytest.mark.parametrize(
    "name",
    ["a", "0", "a" * 253, "widgets.example.com", "a-b.c-d", "x" + "-" * 251 + "y"],
)
def test_valid_names_are_accepted(name: str) -> None:
    assert identify(CRD.format(name=name), source="f.yaml", index=0).name == name


@pytest.mark.parametrize(
    "name",
    ["a" * 254, "Widgets.example.com", "-a", "a-", ".a", "a.", "a/b", "../../x", "a_b", "a b"],
)
def test_invalid_names_are_refused(name: str) -> None:
    assert refused(CRD.format(name=f"'{name}'")) == f"f.yaml (document 1): {name!r} is not a valid object name"


# -- parse_file -------------------------------------------------------------------------------------------------


def test_parse_file_numbers_documents_and_keeps_bodies() -> None:
    text = CRD.format(name="a.example.com") + "---\n# comment only\n---\n" + CRD.format(name="b.example.com")
    docs = parse_file(text.encode(), source="two.yaml")
    assert [(d.source, d.index, d.name) for d in docs] == [
        ("two.yaml", 0, "a.example.com"),
        ("two.yaml", 1, "b.example.com"),
    ]
    assert [d.body for d in docs] == [CRD.format(name=n).encode() for n in ("a.example.com", "b.example.com")]
    bad = text + "---\nkind: K\n"
    with pytest.raises(ManifestError) as exc:
        parse_file(bad.encode(), source="two.yaml")
    assert str(exc.value) == "two.yaml (document 3): could not find apiVersion, metadata.name"


def test_parse_file_refuses_non_utf8_and_empty_files() -> None:
    with pytest.raises(ManifestError) as exc:
        parse_file(b"\xff\xfe", source="bad.yaml")
    assert str(exc.value) == (
        "bad.yaml: not UTF-8 text ('utf-8' codec can't decode byte 0xff in position 0: invalid start byte)"
    )
    for empty in (b"", b"# nothing\n---\n"):
        with pytest.raises(ManifestError) as exc:
            parse_file(empty, source="bad.yaml")
        assert str(exc.value) == "bad.yaml: no YAML documents found"
