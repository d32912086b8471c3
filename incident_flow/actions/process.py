"""Running one command for an action: an argument list, no shell, a timeout, bounded output.

The command's output goes to a temporary file rather than a pipe, so a command that prints
gigabytes costs disk, not memory, and only its first and last :data:`OUTPUT_LIMIT` bytes are kept
for the audit trail. The command runs in a session of its own, so a timeout kills it and every
process it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

__all__ = ["OUTPUT_LIMIT", "CommandOutcome", "run_command"]

#: Bytes of a command's output kept from its start, and as many from its end.
OUTPUT_LIMIT = 4096


@attrs.frozen
class CommandOutcome:
    """How a command ended: ``returncode`` is None when it could not start or was killed at its
    timeout (``timed_out``); ``output`` is stdout and stderr interleaved, bounded."""

    argv: tuple[str, ...]
    returncode: int | None
    output: str
    duration_s: float
    timed_out: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.error is None


def _bounded(data: bytes, total: int) -> str:
    if total <= 2 * OUTPUT_LIMIT:
        return data.decode("utf-8", "replace")
    head = data[:OUTPUT_LIMIT].decode("utf-8", "replace")
    tail = data[-OUTPUT_LIMIT:].decode("utf-8", "replace")
    return f"{head}\n[... {total - 2 * OUTPUT_LIMIT} bytes of output omitted ...]\n{tail}"


def _read_bounded(file: tempfile._TemporaryFileWrapper[bytes]) -> str:
    file.seek(0, os.SEEK_END)
    total = file.tell()
    file.seek(0)
    if total <= 2 * OUTPUT_LIMIT:
        return _bounded(file.read(), total)
    head = file.read(OUTPUT_LIMIT)
    file.seek(total - OUTPUT_LIMIT)
    return _bounded(head + file.read(OUTPUT_LIMIT), total)


def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> CommandOutcome:
    """Run ``argv`` (never through a shell) in ``cwd``, for at most ``timeout`` seconds."""
    args = tuple(argv)
    started = time.monotonic()
    with tempfile.NamedTemporaryFile(prefix="incident-flow-output-") as out:
        try:
            process = subprocess.Popen(
                args,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                start_new_session=True,
                shell=False,
            )
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            return CommandOutcome(
                args, None, "", round(time.monotonic() - started, 3), error=f"{args[0]}: {reason}"
            )
        timed_out = False
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        output = _read_bounded(out)
    duration = round(time.monotonic() - started, 3)
    if timed_out:
        return CommandOutcome(
            args, None, output, duration, timed_out=True, error=f"killed after its timeout of {timeout:g}s"
        )
    return CommandOutcome(args, process.returncode, output, duration)
