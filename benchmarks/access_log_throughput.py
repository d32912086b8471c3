"""Access-log analysis throughput: lines per second, next to ``grep -c`` on the same file.

Run it as ``.venv/bin/python benchmarks/access_log_throughput.py [--lines N]``. It writes a generated
nginx access log (the recommended ``log_format`` of docs/performance.md: combined, then
``$request_time $upstream_response_time "$upstream_addr"``) into a temporary folder, times each
stage on it (best of ``--repeats`` runs), prints a table and rewrites its own section of
``docs/benchmarks.md`` (between ``<!-- accesslog:start -->`` and ``<!-- accesslog:end -->``),
leaving the rest of that file alone.

What is timed, each over the whole file:

- **grep -c**: ``grep -c 'HTTP/1.1' FILE``, the floor: reading and matching lines, nothing more;
- **parse**: :func:`incident_flow.logs.read_records` with the ``log_format`` (records, all fields);
- **parse + endpoint statistics**: :func:`incident_flow.analysis.endpoints.collect_endpoint_stats`
  over those records (templating, per-minute counts and latency histograms, clients, instances);
- **whole access-log analysis**: the performance investigator's access-log step
  (``incident_flow_performance.access.analyse_access_logs``): the above, then the latency-shift
  search over every busy endpoint, the surge and instance checks and the findings.

The log has 40 endpoints behind 4 upstreams over ``--minutes`` of traffic, one of which slows down
in the last fifth, so the analysis has something to find.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its sibling _docs, however it is loaded
from _docs import write_section  # noqa: E402
from incident_flow_performance.access import analyse_access_logs  # noqa: E402

from incident_flow.analysis.endpoints import collect_endpoint_stats  # noqa: E402
from incident_flow.config import Settings  # noqa: E402
from incident_flow.logs import LogsSource, read_records  # noqa: E402
from incident_flow.testing import make_context  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- accesslog:start -->", "<!-- accesslog:end -->"
LOG_FORMAT = (
    'log_format perf \'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time $upstream_response_time "$upstream_addr"\';'
)
T0 = dt.datetime(2024, 1, 2, 3, 0, tzinfo=dt.UTC)
AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "okhttp/4.12.0",
    "curl/8.4.0",
)


def generate(path: Path, lines: int, minutes: int, seed: int = 7) -> None:
    """``lines`` requests spread evenly over ``minutes``; endpoint 7 slows down in the last fifth."""
    rnd = random.Random(seed)
    endpoints = [(f"/api/v1/resource{i}/{{}}", 0.01 + 0.005 * (i % 9)) for i in range(40)]
    step = minutes * 60.0 / lines
    with path.open("w", encoding="utf-8") as out:
        for n in range(lines):
            at = T0 + dt.timedelta(seconds=n * step)
            index = rnd.randrange(len(endpoints))
            template, base = endpoints[index]
            latency = rnd.lognormvariate(0, 0.35) * base
            if index == 7 and n > lines * 0.8:
                latency *= 12
            status = 500 if rnd.random() < 0.002 else 200
            stamp = at.strftime("%d/%b/%Y:%H:%M:%S +0000")
            out.write(
                f"10.{rnd.randrange(4)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)} - - [{stamp}] "
                f'"GET {template.format(rnd.randrange(1, 10**6))}?page={rnd.randrange(5)} HTTP/1.1" {status} '
                f'{rnd.randrange(200, 9000)} "-" "{AGENTS[rnd.randrange(len(AGENTS))]}" {latency:.3f} '
                f'{latency * 0.9:.3f} "10.9.0.{1 + rnd.randrange(4)}:8080"\n'
            )


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (grep): steady on a shared machine."""
    own = time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + children.ru_utime + children.ru_stime


def best(func: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """The fastest of ``repeats`` runs: wall seconds, CPU seconds, and the last result."""
    walls, cpus = [], []
    result: object = None
    for _ in range(repeats):
        started, cpu = time.perf_counter(), _cpu_seconds()
        result = func()
        walls.append(time.perf_counter() - started)
        cpus.append(_cpu_seconds() - cpu)
    return min(walls), min(cpus), result


def grep_count(path: Path) -> int:
    done = subprocess.run(["grep", "-c", "HTTP/1.1", str(path)], capture_output=True, text=True, check=True)
    return int(done.stdout.strip())


def parse_only(path: Path) -> int:
    return sum(1 for _ in read_records([path], log_format=LOG_FORMAT, component="web"))


def endpoint_stats(path: Path) -> int:
    return collect_endpoint_stats(read_records([path], log_format=LOG_FORMAT, component="web")).access_records


def whole_analysis(path: Path, minutes: int) -> int:
    source = LogsSource("web", [path], log_format=LOG_FORMAT, component="web")
    ctx = make_context(
        detected_at=T0 + dt.timedelta(minutes=minutes),
        sources=[source],
        settings=Settings(lookback=dt.timedelta(minutes=minutes + 1)),
    ).for_investigator("performance")
    return len(analyse_access_logs(ctx).findings)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def render(rows: Sequence[tuple[str, float, float]], lines: int, size: int, findings: int) -> str:
    grep_rate = lines / rows[0][2]
    table = [
        "| Stage | Wall s | CPU s | Lines/s (CPU) | vs `grep -c` |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for index, (name, wall, cpu) in enumerate(rows):
        rate = lines / cpu
        versus = "1x" if index == 0 else f"{grep_rate / rate:,.0f}x slower"
        table.append(f"| {name} | {wall:.2f} | {cpu:.2f} | {rate:,.0f} | {versus} |")
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    parse_us = rows[1][2] / lines * 1e6
    stats_us = (rows[2][2] - rows[1][2]) / lines * 1e6
    rest_us = (rows[3][2] - rows[2][2]) / lines * 1e6
    return "\n".join(
        [
            "## Access-log analysis",
            "",
            "`benchmarks/access_log_throughput.py` generates an nginx access log in the recommended",
            "`log_format` of [performance.md](performance.md) and times each stage over the whole file",
            "(best of several runs): `grep -c` is the floor (read and match lines); *parse* builds every",
            "record with its fields; *endpoint statistics* adds path templating, per-minute counts and",
            "latency histograms per endpoint, client and upstream; the *whole analysis* adds the",
            f"latency-shift search and the findings ({findings} here: one endpoint slows down on purpose).",
            "Lines per second are over CPU time (the process's, and grep's as a child), which a shared",
            "machine disturbs less than the wall clock; both are shown.",
            "",
            f"{lines:,} lines, {size / 1e6:,.0f} MB; {when}; {_cpu()}, {os.cpu_count()} cores; "
            f"Python {platform.python_version()} on {platform.system()} {platform.release()}.",
            "",
            *table,
            "",
            "The analysis is single-threaded pure Python and streams: memory is bounded by endpoints x",
            "minutes x histogram buckets, not by the number of lines. CPU time per line:",
            "",
            f"- building the record (the `log_format` regex and its fields): {parse_us:.1f} µs;",
            f"- the endpoint statistics (path templating, then about twenty dictionary and histogram "
            f"updates): {stats_us:.1f} µs more;",
            f"- the latency-shift search over every busy endpoint and the findings: {rest_us:+.1f} µs "
            "(a cost per endpoint and minute, not per line).",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--lines", type=int, default=1_000_000, help="lines in the generated log (default 1,000,000)"
    )
    parser.add_argument("--minutes", type=int, default=120, help="minutes of traffic they span (default 120)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per stage (default 3)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    if shutil.which("grep") is None:
        print("grep not found", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="incident-flow-bench-"))
    try:
        path = folder / "access.log"
        generate(path, args.lines, args.minutes)
        size = path.stat().st_size
        stages: list[tuple[str, Callable[[], object]]] = [
            ("`grep -c 'HTTP/1.1'`", lambda: grep_count(path)),
            ("parse (`read_records`)", lambda: parse_only(path)),
            ("parse + endpoint statistics", lambda: endpoint_stats(path)),
            ("whole access-log analysis", lambda: whole_analysis(path, args.minutes)),
        ]
        rows = []
        findings = 0
        for name, func in stages:
            wall, cpu, result = best(func, args.repeats)
            rows.append((name, wall, cpu))
            if name.startswith("whole"):
                findings = int(result)  # type: ignore[call-overload]
            elif isinstance(result, int) and result != args.lines:
                print(f"{name}: counted {result} of {args.lines} lines", file=sys.stderr)
                return 1
            print(
                f"{name:32} {wall:8.2f} s wall {cpu:8.2f} s CPU {args.lines / cpu:>12,.0f} lines/s",
                flush=True,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    section = render(rows, args.lines, size, findings)
    print()
    print(section)
    if not args.no_write:
        write_section(section, START, END)
        print(f"\nwrote the {START} section of {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
