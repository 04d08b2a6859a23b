"""Comments cite documents of this repository by section title; every cited section exists.

Citations read ``docs/PROTOCOL.md "Order book sync"``, possibly wrapped over lines and
possibly naming several sections (``"Values on the wire", "Timestamps and units"``). A
title matches a heading that starts with it (``"Engine API"`` finds "Engine API (owned
by ...)"). Without this check a renamed section leaves comments pointing at nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = {
    "README.md": ROOT / "README.md",
    "docs/PROTOCOL.md": ROOT / "docs" / "PROTOCOL.md",
    "docs/PERFORMANCE.md": ROOT / "docs" / "PERFORMANCE.md",
    "docs/CONTRACTS.md": ROOT / "docs" / "CONTRACTS.md",
    "docs/ARCHITECTURE.md": ROOT / "docs" / "ARCHITECTURE.md",
}
# A document name, then one or more quoted titles; a comment may wrap between them.
_GAP = r"[\s#]*"
_CITATION = re.compile(
    r"(?<![\w/])((?:docs/)?(?:PROTOCOL|PERFORMANCE|CONTRACTS|ARCHITECTURE)\.md|README\.md)"
    + _GAP
    + r'((?:"[^"]{1,80}"(?:,'
    + _GAP
    + r")?)+)"
)
_TITLE = re.compile(r'"([^"]+)"')


def _headings(path: Path) -> set[str]:
    return {
        line.lstrip("#").strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }


def _sources() -> list[Path]:
    files = [*ROOT.glob("bpx_tui/**/*.py"), *ROOT.glob("tests/**/*.py"), *ROOT.glob("docs/*.md")]
    return sorted(path for path in files if path != Path(__file__).resolve())


def _document(name: str) -> str:
    """A bare ``PROTOCOL.md`` can only mean the one in docs/."""
    return name if name.startswith("docs/") or name == "README.md" else f"docs/{name}"


def _title(raw: str) -> str:
    """The title with a wrapped comment's line break, indent and ``#`` folded to a space."""
    return " ".join(raw.replace("#", " ").split())


def test_every_cited_section_exists() -> None:
    headings = {name: _headings(path) for name, path in DOCUMENTS.items() if path.exists()}
    missing: list[str] = []
    seen = 0
    for source in _sources():
        text = source.read_text(encoding="utf-8")
        for match in _CITATION.finditer(text):
            document = _document(match.group(1))
            line = text.count("\n", 0, match.start()) + 1
            where = f"{source.relative_to(ROOT)}:{line}"
            if document not in headings:
                missing.append(f"{where}: {document} is not a document of this repository")
                continue
            for raw in _TITLE.findall(match.group(2)):
                title = _title(raw)
                seen += 1
                if not any(heading.startswith(title) for heading in headings[document]):
                    missing.append(f"{where}: {document} has no section {title!r}")
    assert not missing, "\n".join(missing)
    assert seen > 10  # the pattern still finds the citations it is meant to check


# Documents this project was written from that are not in the repository: citing one
# sends a reader to a file they do not have.
_OUTSIDE = re.compile(
    r"DESIGN\.md|backpack-api\.md|perf-anchors\.md|textual-notes\.md|(?<!RFC \d{4} )§\s?\d"
)


def test_no_citation_names_a_document_outside_the_repository() -> None:
    found = []
    for source in _sources():
        if source.name == "test_citations.py":
            continue
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            if _OUTSIDE.search(line):
                found.append(f"{source.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
