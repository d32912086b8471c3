"""Finding log files and streaming their lines, robustly: this runs during outages.

Files are read in blocks of 1 MiB that are cut at the last newline and decoded as a whole, which is
much faster than a call per line and keeps memory flat: at most a block, plus one line capped at
:data:`MAX_LINE` characters. A 10 MB line is kept as its first 64 KiB and a marker. Bytes that are not
UTF-8 become U+FFFD; gzip is recognised by its magic bytes whatever the file is called; a binary file
is skipped; a truncated or corrupt gzip gives the lines before the damage. Every problem is reported
through ``warn`` and the read goes on with the next file: a lost file is said, never silent.
"""

from __future__ import annotations

import fnmatch
import gzip
import os
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

__all__ = ["MAX_LINE", "Warn", "expand_paths", "has_magic", "iter_lines"]

Warn = Callable[[str], None]

#: The most characters one line keeps (64 KiB): the rest is dropped and the line says so.
MAX_LINE = 64 * 1024
_BLOCK = 1 << 20
_BINARY_PROBE = 8192
_GZIP_MAGIC = b"\x1f\x8b"
_MAGIC = re.compile(r"[*?[]")


def has_magic(path: str) -> bool:
    """Whether a path is a glob pattern."""
    return _MAGIC.search(path) is not None


def _truncated(line: str, dropped: int) -> str:
    return f"{line[:MAX_LINE]}… [line truncated: {dropped} more bytes]"


def iter_lines(path: Path, warn: Warn) -> Iterator[str]:
    """The lines of one file, decoded, without line endings. Problems are warned, never raised."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below, across yields
    except IsADirectoryError:
        warn(f"{path}: is a folder, not a log file (use a glob such as {path}/*.log)")
        return
    except OSError as exc:
        warn(f"{path}: cannot be read ({exc.strerror or exc})")
        return
    with handle:
        try:
            magic = handle.read(2)
            handle.seek(0)
        except OSError as exc:
            warn(f"{path}: cannot be read ({exc.strerror or exc})")
            return
        if magic == _GZIP_MAGIC:
            with gzip.GzipFile(fileobj=handle, mode="rb") as stream:
                yield from _split(_salvaging_reader(stream), path, warn, compressed=True)
        else:
            yield from _split(_truncation_aware(handle, path, warn), path, warn, compressed=False)


def _truncation_aware(handle: IO[bytes], path: Path, warn: Warn) -> Callable[[int], bytes]:
    """``handle.read``, warning when the end of the file comes early because it was truncated.

    logrotate's ``copytruncate`` empties a log while it may be read: the reader then meets the end
    of the file before the bytes it already read, and the lines that were still to come are gone
    (they are in the rotated copy). That loss is said, never silent.
    """

    def read(size: int) -> bytes:
        block = handle.read(size)
        if not block:
            try:
                position, now = handle.tell(), os.fstat(handle.fileno()).st_size
            except OSError:
                return block
            if now < position:
                warn(
                    f"{path}: truncated while being read (now {now} bytes, {position} were read); "
                    "the lines after that point were not read (see the rotated copy)"
                )
        return block

    return read


def _salvaging_reader(stream: gzip.GzipFile) -> Callable[[int], bytes]:
    """``read(size)`` for a gzip stream that returns the data before a failure, then raises.

    ``GzipFile.read(size)`` drops everything it decompressed in the call that meets a truncated or
    corrupt stream; reading piecewise with ``read1`` keeps it.
    """
    failure: list[BaseException] = []

    def read(size: int) -> bytes:
        if failure:
            raise failure[0]
        chunks: list[bytes] = []
        total = 0
        while total < size:
            try:
                chunk = stream.read1(size - total)
            except (EOFError, OSError, zlib.error) as exc:
                if not chunks:
                    raise
                failure.append(exc)
                break
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)

    return read


def _split(read: Callable[[int], bytes], path: Path, warn: Warn, *, compressed: bool) -> Iterator[str]:
    pending = b""  # the start of a line whose end is in a later block
    long_prefix: bytes | None = None  # an over-long line, being skipped to its end
    long_dropped = 0
    long_lines = 0
    first_long = 0
    lineno = 0
    first = True
    while True:
        try:
            block: bytes = read(_BLOCK)
        except (EOFError, OSError, zlib.error) as exc:
            kind = "compressed stream is truncated or corrupt" if compressed else "read failed"
            warn(f"{path}: {kind} after line {lineno} ({exc}); the lines before it were read")
            block = b""
        if first:
            first = False
            if b"\x00" in block[:_BINARY_PROBE]:
                warn(f"{path}: looks binary (NUL bytes in its first 8 KB), skipped")
                return
            if block.startswith(b"\xef\xbb\xbf"):
                block = block[3:]
        if not block:
            break
        if long_prefix is not None:
            newline = block.find(b"\n")
            if newline < 0:
                long_dropped += len(block)
                continue
            long_dropped += newline
            lineno += 1
            yield _truncated(long_prefix.decode("utf-8", "replace"), long_dropped)
            long_prefix = None
            block = block[newline + 1 :]
        data = pending + block if pending else block
        cut = data.rfind(b"\n")
        if cut < 0:
            pending = data
        else:
            pending = data[cut + 1 :]
            text = data[: cut + 1].decode("utf-8", "replace")
            if "\r" in text:
                text = text.replace("\r\n", "\n")
            lines = text.split("\n")
            lines.pop()  # the empty string after the block's last newline
            if len(data) > MAX_LINE and max(map(len, lines)) > MAX_LINE:
                for index, line in enumerate(lines):
                    if len(line) > MAX_LINE:
                        lines[index] = _truncated(line, len(line.encode("utf-8", "replace")) - MAX_LINE)
                        long_lines += 1
                        first_long = first_long or lineno + index + 1
            lineno += len(lines)
            yield from lines
        if len(pending) > MAX_LINE:
            long_prefix = pending[:MAX_LINE]
            long_dropped = len(pending) - MAX_LINE
            long_lines += 1
            first_long = first_long or lineno + 1
            pending = b""
    if long_prefix is not None:
        yield _truncated(long_prefix.decode("utf-8", "replace"), long_dropped)
    elif pending:
        line = pending.decode("utf-8", "replace")
        yield line[:-1] if line.endswith("\r") else line
    if long_lines:
        limit = MAX_LINE // 1024
        warn(f"{path}: {long_lines} line(s) longer than {limit} KiB were cut (first at line {first_long})")


# -- globs -----------------------------------------------------------------------------------------


def expand_paths(paths: Sequence[str | os.PathLike[str]], warn: Warn) -> Iterator[Path]:
    """The files named by ``paths``, in the order given; each glob's matches sorted by name.

    ``**`` matches any number of folders. Symbolic links are followed, but a folder already walked is
    not walked again, so a link loop ends. A file named twice (directly or through two globs) is read
    once. A glob that matches nothing is warned; a plain path that does not exist is warned when read.
    """
    seen: set[str] = set()
    for entry in paths:
        text = os.path.expanduser(os.fspath(entry))
        if has_magic(text):
            matches = sorted(_glob(text, warn))
            if not matches:
                warn(f"{text}: the glob matched no file")
        else:
            matches = [text]
        for match in matches:
            key = os.path.realpath(match)
            if key in seen:
                continue
            seen.add(key)
            yield Path(match)


def _glob(pattern: str, warn: Warn) -> Iterator[str]:
    parts = pattern.replace(os.sep, "/").split("/")
    if parts[-1] == "**":  # "logs/**" means every file under logs, as in glob.glob
        parts.append("*")
    anchor: list[str] = []
    while parts and not has_magic(parts[0]):
        anchor.append(parts.pop(0))
    root = "/".join(anchor) if anchor else ""
    if anchor == [""]:
        root = "/"
    visited: set[tuple[int, int]] = set()
    for found in _walk(root, [p for p in parts if p != ""], visited, warn):
        if os.path.isfile(found):
            yield found


def _join(folder: str, name: str) -> str:
    if not folder:
        return name
    return folder + name if folder.endswith("/") else f"{folder}/{name}"


def _entries(folder: str, warn: Warn) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder or ".") as it:
            return list(it)
    except FileNotFoundError:
        return []
    except OSError as exc:
        warn(f"{folder or '.'}: cannot list the folder ({exc.strerror or exc})")
        return []


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _walk(folder: str, parts: list[str], visited: set[tuple[int, int]], warn: Warn) -> Iterator[str]:
    if not parts:
        yield folder
        return
    head, rest = parts[0], parts[1:]
    if head == "**":
        yield from _walk(folder, rest, visited, warn)
        try:
            stat = os.stat(folder or ".")
        except OSError:
            return
        key = (stat.st_dev, stat.st_ino)
        if key in visited:  # a link back to a folder already walked
            return
        visited.add(key)
        for entry in _entries(folder, warn):
            if not entry.name.startswith(".") and _is_dir(entry):
                yield from _walk(_join(folder, entry.name), parts, visited, warn)
        return
    if has_magic(head):
        matcher = re.compile(fnmatch.translate(head))
        hidden_ok = head.startswith(".")
        for entry in _entries(folder, warn):
            name = entry.name
            if (hidden_ok or not name.startswith(".")) and matcher.match(name):
                if not rest:
                    yield _join(folder, name)
                elif _is_dir(entry):
                    yield from _walk(_join(folder, name), rest, visited, warn)
        return
    target = _join(folder, head)
    if not rest:
        if os.path.lexists(target):
            yield target
    elif os.path.isdir(target):
        yield from _walk(target, rest, visited, warn)
