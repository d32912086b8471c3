"""Huge and hostile inputs, through whole runs: the run finishes, the report stays a report.

- memory: reading a 20 MB and a 200 MB log, in a subprocess each (the reading path alone, then
  ``incident-flow patterns``), peak RSS measured; the larger must stay within 1.5x + 30 MB of the
  smaller (the 1 GB run belongs in ``benchmarks/``);
- a 10 MB line, binary data, invalid UTF-8, ANSI escapes, Markdown and HTML in log text;
- symbolic-link loops under a ``**`` glob, a config whose paths point outside its folder;
- shell metacharacters in what ends up in a suggested command: quoted, never executed.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from faults import (
    INTACT_FINDING,
    assert_survived,
    incident_log,
    peak_rss_mb,
    timed,
    write_case,
    write_large_log,
)
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_profiles import SMALL
from markdown_it import MarkdownIt
from markdown_it.token import Token

from incident_flow.api import run_incident
from incident_flow.logs import read_records
from incident_flow.mitigate import propose_mitigations
from incident_flow.model import Assessment, Category, Change, Evidence, Incident, Report, RootCause, Severity

AT = datetime(2026, 3, 14, 14, 10, tzinfo=UTC)
BOUND = 60.0
ROOT = Path(__file__).resolve().parents[1]

# -- memory -----------------------------------------------------------------------------------------

SMALL_MB, LARGE_MB = 20, 200
#: What the reading path of every investigator does, alone in a process: stream the records of
#: one file and mine their templates (the miner's state is what may legitimately grow).
STREAM = """
import sys
from incident_flow.analysis.templates import TemplateMiner
from incident_flow.logs import read_records
miner = TemplateMiner()
count = sum(1 for record in read_records([sys.argv[1]]) if miner.add(record.message))
print(count)
"""


@pytest.fixture(scope="module")
def large_logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, Path]]:
    """A 20 MB and a 200 MB Python-logging file (same generator, same seed); removed afterwards."""
    folder = tmp_path_factory.mktemp("large")
    files = {size: folder / f"app-{size}mb.log" for size in (SMALL_MB, LARGE_MB)}
    for size, path in files.items():
        write_large_log(path, size)
    try:
        yield files
    finally:
        for path in files.values():
            path.unlink(missing_ok=True)


def _figures(peaks: dict[int, float]) -> str:
    return ", ".join(f"peak RSS {peak:.0f} MB for the {size} MB log" for size, peak in sorted(peaks.items()))


def _flat(small: float, large: float) -> bool:
    return large < 1.5 * small + 30


def test_reading_a_200_mb_log_keeps_memory_flat(large_logs: dict[int, Path]) -> None:
    """The log reading path (reader, format detection, multi-line assembly, template miner)."""
    peaks = {}
    for size, path in large_logs.items():
        peaks[size], code = peak_rss_mb([sys.executable, "-c", STREAM, str(path)], timeout=600)
        assert code == 0
    print(f"\nreading: {_figures(peaks)}")
    assert _flat(peaks[SMALL_MB], peaks[LARGE_MB]), f"peak RSS by file size (MB): {peaks}"


def test_incident_flow_patterns_on_a_200_mb_log_keeps_memory_flat(large_logs: dict[int, Path]) -> None:
    """``incident-flow patterns FILE`` (text output) as a user runs it."""
    peaks = {}
    for size, path in large_logs.items():
        command = [sys.executable, "-m", "incident_flow", "patterns", str(path)]
        peaks[size], code = peak_rss_mb(command, timeout=600)
        assert code == 0
    print(f"\npatterns: {_figures(peaks)}")
    assert _flat(peaks[SMALL_MB], peaks[LARGE_MB]), f"peak RSS by file size (MB): {peaks}"


# -- long lines, binary data, invalid UTF-8 ---------------------------------------------------------


def _control_characters(text: str) -> list[str]:
    return sorted({c for c in text if (ord(c) < 32 and c != "\n") or c == "\x7f"})


def test_a_10_mb_line_is_cut_and_said(tmp_path: Path) -> None:
    """A 10 MB line in the middle of the log: cut to 64 KiB with a marker, the cut reported."""
    config = write_case(tmp_path / "case", AT)
    log = tmp_path / "case" / "logs" / "orders.log"
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    middle = len(lines) // 2
    huge = (
        f"{AT - timedelta(minutes=30):%Y-%m-%d %H:%M:%S},000 ERROR [orders] payload "
        + "A" * 10_000_000
        + "\n"
    )
    log.write_text("".join([*lines[:middle], huge, *lines[middle:]]), encoding="utf-8")
    with timed() as elapsed:
        report = run_incident("orders failing", config=config, at=AT)
    assert_survived(
        report, elapsed=elapsed[0], bound=BOUND, failed={"orders-logs": "longer than 64 KiB were cut"}
    )
    assert len(report.to_markdown()) < 1_000_000 and len(report.to_json()) < 2_000_000


def test_binary_files_and_invalid_utf8_are_read_or_skipped_and_said(tmp_path: Path) -> None:
    """A binary file (skipped, said) and a Latin-1 log with control bytes (read, U+FFFD)."""
    rng = random.Random(3)
    folder = tmp_path / "case"
    logs = folder / "logs"
    logs.mkdir(parents=True)
    (logs / "core.bin").write_bytes(bytes(rng.randrange(256) for _ in range(200_000)))
    latin = incident_log(AT, component="legacy", marker="caf\xe9 \x00\x07\x1b]0;x\x07 \udcff", seed=5)
    (logs / "legacy.log").write_bytes(latin.encode("latin-1", "surrogateescape"))
    extra = (
        '[[sources]]\nname = "core"\ntype = "logs"\npaths = ["logs/core.bin"]\n\n'
        '[[sources]]\nname = "legacy"\ntype = "logs"\npaths = ["logs/legacy.log"]\ncomponent = "legacy"\n'
    )
    config = write_case(folder, AT, extra=extra)
    with timed() as elapsed:
        report = run_incident("orders failing", config=config, at=AT)
    assert_survived(report, elapsed=elapsed[0], bound=BOUND, failed={"core": "looks binary"})
    markdown, text = report.to_markdown(), report.to_json()
    markdown.encode("utf-8")  # no lone surrogate survives
    json.loads(text)
    assert "\ufffd" in text  # the Latin-1 bytes were read, as replacement characters
    assert not _control_characters(markdown)


HOSTILE_MARKER = (
    "\x1b[2J\x1b[31m# Owned\x1b[0m <script>alert(1)</script> <img src=x onerror=alert(1)> "
    "[click](javascript:alert(1)) | col | **bold** `tick` <!-- c --> $(touch PWNED) ; reboot"
)


def _tokens(markdown: str) -> list[Token]:
    out: list[Token] = []
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        out.append(token)
        out.extend(token.children or [])
    return out


def test_ansi_markdown_and_html_in_log_text_are_escaped_in_the_report(tmp_path: Path) -> None:
    """Error lines carrying terminal escapes, Markdown and HTML: quoted as text in the report."""
    config = write_case(tmp_path / "case", AT, marker=HOSTILE_MARKER)
    with timed() as elapsed:
        report = run_incident("orders failing", config=config, at=AT)
    assert_survived(report, elapsed=elapsed[0], bound=BOUND)
    evidence = [line for f in report.findings for e in f.evidence for line in e.lines]
    assert any("script" in line for line in evidence), "the hostile text is not in the evidence"
    markdown = report.to_markdown()
    assert not _control_characters(markdown)
    tokens = _tokens(markdown)
    assert not [t for t in tokens if t.type.startswith("html")], "raw HTML reached the report"
    links = [t.attrGet("href") for t in tokens if t.type == "link_open"]
    assert not [h for h in links if "javascript" in str(h).lower()]
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert not [h for h in headings if "Owned" in h]
    assert "\x1b" not in report.to_json().replace("\\u001b", "")


# -- paths: link loops, a config pointing outside its folder ----------------------------------------


def test_symlink_loops_under_a_recursive_glob_end_and_read_each_file_once(tmp_path: Path) -> None:
    """``logs/**/*.log`` over a folder holding links back to itself and to its parent."""
    folder = tmp_path / "case"
    config = write_case(folder, AT)
    logs = folder / "logs"
    (logs / "nested" / "deeper").mkdir(parents=True)
    (logs / "loop").symlink_to(logs, target_is_directory=True)
    (logs / "nested" / "deeper" / "up").symlink_to(folder, target_is_directory=True)
    (logs / "nested" / "self").symlink_to(logs / "nested", target_is_directory=True)
    (logs / "nested" / "same.log").symlink_to(logs / "orders.log")
    text = config.read_text(encoding="utf-8").replace(
        'paths = ["logs/orders.log"]', 'paths = ["logs/**/*.log"]'
    )
    config.write_text(text, encoding="utf-8")
    paths = {r.path for r in read_records([logs / "**" / "*.log"])}
    assert len(paths) == 1, paths  # one file, however many ways lead to it
    with timed() as elapsed:
        report = run_incident("orders failing", config=config, at=AT)
    assert_survived(report, elapsed=elapsed[0], bound=BOUND)


def test_a_config_pointing_outside_its_folder_is_read_as_written_and_audited(tmp_path: Path) -> None:
    """Relative paths resolve against the config's folder, ``..`` included; devices are refused as
    binary; the audit trail records the resolved paths, so what was read is never a surprise."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "orders.log").write_text(incident_log(AT), encoding="utf-8")
    folder = tmp_path / "case" / "nested"
    folder.mkdir(parents=True)
    config = folder / "incident-flow.toml"
    config.write_text(
        '[[sources]]\nname = "orders-logs"\ntype = "logs"\npaths = ["../../elsewhere/orders.log"]\n'
        'component = "orders"\n\n'
        '[[sources]]\nname = "device"\ntype = "logs"\npaths = ["/dev/zero"]\n',
        encoding="utf-8",
    )
    os.chdir(tmp_path)  # the working folder must not matter
    with timed() as elapsed:
        report = run_incident("orders failing", config=config, at=AT)
    assert_survived(report, elapsed=elapsed[0], bound=BOUND, failed={"device": "looks binary"})
    trail = Path(report.audit["path"]).read_text(encoding="utf-8")
    sources = next(json.loads(line) for line in trail.splitlines() if '"kind":"sources"' in line)
    described = " ".join(sources["data"]["built"])
    assert "elsewhere/orders.log" in described and "/dev/zero" in described


@pytest.fixture(autouse=True)
def _restore_cwd() -> Iterator[None]:
    cwd = os.getcwd()
    yield
    os.chdir(cwd)


# -- shell metacharacters in suggested commands -----------------------------------------------------

_SHELL = st.sampled_from(
    [
        "$(touch PWNED)",
        "`touch PWNED`",
        "; touch PWNED",
        "&& touch PWNED",
        "| sh",
        "> /etc/passwd",
        "'",
        '"',
        "\\",
        "\n",
        "\x1b[2J",
        "--exec=touch PWNED",
        "-m",
        "*",
        "~",
        "$IFS",
        "\u2028",
        "{a,b}",
        "!!",
    ]
)
_hostile = st.lists(_SHELL | st.text(max_size=8), min_size=1, max_size=5).map("".join)


def _report_with(change: Change) -> Report:
    evidence = Evidence(source="s", kind="k", summary="seen", lines=("x",))
    cause = RootCause(
        rank=1,
        component="orders",
        category=Category.CODE,
        summary=change.summary,
        confidence=0.9,
        evidence=(evidence,),
        change=change,
    )
    return Report(
        incident=Incident(id="inc-x", description="x", detected_at=AT),
        assessment=Assessment(severity=Severity.HIGH, category=Category.CODE),
        root_causes=(cause,),
        mitigations=propose_mitigations([cause]),
    )


@SMALL
@given(change_id=_hostile, summary=_hostile, kind=st.sampled_from(["commit", "merge", "deploy", "flag"]))
def test_shell_metacharacters_in_a_change_are_quoted_never_run(
    tmp_path_factory: pytest.TempPathFactory, change_id: str, summary: str, kind: str
) -> None:
    """A change id and summary full of shell syntax: commands stay argument lists, shown quoted so
    that a shell would read back exactly those arguments, and nothing is executed."""
    if not change_id.strip():
        change_id = "x" + change_id
    report = _report_with(Change(id=change_id, summary=summary or "s", at=AT, kind=kind))
    markdown = report.to_markdown()
    for mitigation in report.mitigations:
        if mitigation.command is None:
            continue
        assert isinstance(mitigation.command, tuple) and change_id in mitigation.command
        shown = [line for line in markdown.splitlines() if "git revert" in line]
        assert shown, markdown
        if all(arg.isprintable() for arg in mitigation.command):
            quoted = shlex.join(mitigation.command)
            assert any(quoted in line for line in shown) or any(
                shlex.quote(change_id) in line for line in shown
            )
            assert shlex.split(quoted) == list(mitigation.command)
    assert not Path("PWNED").exists() and not (ROOT / "PWNED").exists()


def test_the_intact_finding_title_is_what_the_helpers_expect(tmp_path: Path) -> None:
    """A plain run of the helper case gives the finding every test above checks for."""
    config = write_case(tmp_path / "case", AT)
    report = run_incident("orders failing", config=config, at=AT)
    assert any(INTACT_FINDING in f.title for f in report.findings)
