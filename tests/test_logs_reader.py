"""Reading files during an outage: globs, gzip, damaged and hostile files. Nothing is lost silently:
every problem is a warning and the other files are still read."""

from __future__ import annotations

import gzip
import os
import resource
from pathlib import Path

import pytest

from incident_flow.logs import read_records
from incident_flow.logs.reader import MAX_LINE, expand_paths, iter_lines
from incident_flow.sources import LogRecord

LINE = "2024-01-02 03:04:05,123 ERROR [orders] payment declined for order {}\n"


def read(paths: list[Path | str], **options: object) -> tuple[list[LogRecord], list[str]]:
    warnings: list[str] = []
    records = list(read_records(paths, warn=warnings.append, **options))  # type: ignore[arg-type]
    return records, warnings


def test_gzip_is_recognised_by_its_magic_bytes_not_its_name(tmp_path: Path) -> None:
    rotated = tmp_path / "orders.log.1"  # logrotate's delaycompress names vary; the bytes do not
    rotated.write_bytes(gzip.compress("".join(LINE.format(i) for i in range(3)).encode()))
    named = tmp_path / "orders.log.2.gz"
    named.write_bytes(gzip.compress(LINE.format(9).encode()))
    records, warnings = read([rotated, named])
    assert [r.message[-1] for r in records] == ["0", "1", "2", "9"]
    assert warnings == []


def test_a_plain_file_called_gz_is_still_read(tmp_path: Path) -> None:
    fake = tmp_path / "app.log.gz"
    fake.write_text(LINE.format(1))
    records, warnings = read([fake])
    assert len(records) == 1 and warnings == []


def test_a_truncated_gzip_gives_what_it_could_read_and_warns(tmp_path: Path) -> None:
    data = gzip.compress("".join(LINE.format(i) for i in range(20000)).encode())
    path = tmp_path / "cut.log.gz"
    path.write_bytes(data[: len(data) // 2])
    records, warnings = read([path, tmp_path / "missing.log"])
    assert 0 < len(records) < 20000
    assert records[0].line == 1 and records[-1].line == len(records)
    assert any("cut.log.gz" in w and "truncated or corrupt" in w for w in warnings)
    assert any("missing.log" in w for w in warnings)


def test_a_corrupt_gzip_warns_and_the_next_file_is_read(tmp_path: Path) -> None:
    bad = tmp_path / "a.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage that is not deflate at all")
    good = tmp_path / "b.log"
    good.write_text(LINE.format(1))
    records, warnings = read([bad, good])
    assert [r.path for r in records] == [str(good)]
    assert len(warnings) == 1 and "a.gz" in warnings[0]


def test_a_binary_file_is_skipped_with_a_warning(tmp_path: Path) -> None:
    binary = tmp_path / "core.dump"
    binary.write_bytes(b"ELF\x00\x01\x02" + os.urandom(4000))
    records, warnings = read([binary])
    assert records == []
    assert warnings == [f"{binary}: looks binary (NUL bytes in its first 8 KB), skipped"]


def test_invalid_utf8_is_replaced_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "latin1.log"
    path.write_bytes(
        "2024-01-02 03:04:05,123 WARNING [orders] café ünïcode\n".encode("latin-1") + b"\xff\xfe ok\n"
    )
    records, warnings = read([path])
    assert records[0].message == "caf\ufffd \ufffdn\ufffdcode"
    assert records[0].text.endswith("\ufffd\ufffd ok")  # an unparsed line continues the record
    assert warnings == []


def test_crlf_and_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "windows.log"
    path.write_bytes(b"\xef\xbb\xbf" + LINE.format(1).replace("\n", "\r\n").encode() * 2)
    records, _ = read([path])
    assert [r.text for r in records] == [LINE.format(1).rstrip("\n")] * 2


def test_a_10_mb_line_is_cut_and_memory_stays_bounded(tmp_path: Path) -> None:
    path = tmp_path / "huge.log"
    with path.open("w") as f:
        f.write(LINE.format(1))
        f.write("2024-01-02 03:04:06,000 ERROR [orders] " + "x" * 10_000_000 + "\n")
        f.write(LINE.format(3))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    records, warnings = read([path])
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert [r.line for r in records] == [1, 2, 3]
    assert len(records[1].text) < MAX_LINE + 100
    assert records[1].message.endswith("more bytes]")
    assert records[1].level == "error"
    assert warnings == [f"{path}: 1 line(s) longer than 64 KiB were cut (first at line 2)"]
    assert grown_kb < 8_000  # the 10 MB line was never held whole


def test_a_huge_line_without_a_newline_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "tail.log"
    path.write_text(LINE.format(1) + "y" * (3 * 1024 * 1024))
    lines = list(iter_lines(path, lambda _: None))
    assert len(lines) == 2 and len(lines[1]) < MAX_LINE + 100


def test_missing_file_and_folder_warn_and_the_rest_is_read(tmp_path: Path) -> None:
    good = tmp_path / "good.log"
    good.write_text(LINE.format(1))
    records, warnings = read([tmp_path / "gone.log", tmp_path, good])
    assert len(records) == 1
    assert warnings[0].startswith(f"{tmp_path / 'gone.log'}: cannot be read")
    assert "is a folder" in warnings[1]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_warns(tmp_path: Path) -> None:
    locked = tmp_path / "locked.log"
    locked.write_text(LINE.format(1))
    locked.chmod(0)
    records, warnings = read([locked])
    assert records == [] and "cannot be read" in warnings[0]


def test_globs_recursive_sorted_and_each_file_once(tmp_path: Path) -> None:
    for name in ("b/2.log", "a/1.log", "a/deep/er/3.log", "a/skip.txt", ".hidden/4.log", "top.log"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(LINE.format(name))
    found = list(expand_paths([f"{tmp_path}/**/*.log", tmp_path / "top.log"], lambda _: None))
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a/1.log",
        "a/deep/er/3.log",
        "b/2.log",
        "top.log",
    ]


def test_a_glob_that_matches_nothing_warns(tmp_path: Path) -> None:
    records, warnings = read([f"{tmp_path}/*.log"])
    assert records == []
    assert warnings == [f"{tmp_path}/*.log: the glob matched no file"]


def test_symlink_loops_do_not_hang_a_recursive_glob(tmp_path: Path) -> None:
    (tmp_path / "logs" / "app").mkdir(parents=True)
    (tmp_path / "logs" / "app" / "x.log").write_text(LINE.format(1))
    os.symlink(tmp_path / "logs", tmp_path / "logs" / "app" / "loop")
    os.symlink(tmp_path / "logs" / "app", tmp_path / "logs" / "again")
    records, _ = read([f"{tmp_path}/logs/**/*.log"])
    assert len(records) == 1


def test_relative_globs_resolve_against_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "x.log").write_text(LINE.format(1))
    monkeypatch.chdir(tmp_path)
    assert [str(p) for p in expand_paths(["*.log"], lambda _: None)] == ["x.log"]


def test_a_file_rotated_away_after_the_glob_warns_and_the_rest_is_read(tmp_path: Path) -> None:
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_text(LINE.format(1))
    second.write_text(LINE.format(2))
    warnings: list[str] = []
    stream = read_records([f"{tmp_path}/*.log"], warn=warnings.append)
    assert next(stream).path == str(first)
    second.unlink()  # between the glob and its read, as logrotate does
    assert list(stream) == []
    assert warnings == [f"{second}: cannot be read (No such file or directory)"]
