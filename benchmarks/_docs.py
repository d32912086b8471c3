"""Writing a benchmark's figures into its own section of ``docs/benchmarks.md``.

Each benchmark owns the text between its two markers (``<!-- name:start -->`` and
``<!-- name:end -->``) and rewrites only that, so the scripts can be re-run one at a time.
"""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(section: str, start: str, end: str, doc: Path = DOC) -> None:
    """Replace the text between ``start`` and ``end`` in ``doc`` (or append it), leaving the rest."""
    block = f"{start}\n{section.rstrip()}\n{end}"
    if doc.exists():
        text = doc.read_text(encoding="utf-8")
        if start in text and end in text.split(start, 1)[1]:
            before, rest = text.split(start, 1)
            text = before + block + rest.split(end, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    else:
        doc.parent.mkdir(parents=True, exist_ok=True)
        text = "# Benchmarks\n\n" + block + "\n"
    doc.write_text(text, encoding="utf-8")
