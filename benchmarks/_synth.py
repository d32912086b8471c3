"""Synthetic data for the speed and memory benchmarks (``log_throughput.py``, ``full_run.py``).

The log: the eight loghub-2k samples' raw lines, headers kept, each copy **re-randomised** so that
no line repeats verbatim, interleaved line by line with generated application logs.

- Which parts of a loghub line are variables is read from its labelled template
  (``*_structured_corrected.csv``): the template is matched against the message (``<*>`` as a
  non-greedy group), and inside each ``<*>`` every IP, hex id and digit run gets a fresh random
  value of the same shape (same length, same case, a leading zero kept). Constants that hold digits
  (``ssh2``, ``uid=0`` where the label says so) stay, so each line keeps its original label.
- In the header (cut with ``formats.toml``'s layout), the date and time fields are rewritten from
  one synthetic clock in each file's own notation (``081109 203615``, ``17/06/09``, epoch seconds,
  ``Jun 14 15:16:01``...), so the timestamps stay valid and run forward; the numeric id fields
  (pid, node, log id, thread) are re-randomised like variables; level and component are kept.
- The application lines are Python ``logging``'s ``TIMESTAMP LEVEL [service] message`` from six
  fake services with 36 message types (numbers, ids, durations, paths, IPs, e-mail addresses, user
  names and other word-valued variables), drawn with skewed weights; every type belongs to one
  service. Its label is the message type.

An optional incident: from ``onset`` on, the ``payments`` service logs connection timeouts and
pool exhaustion at a far higher rate (what the full-run benchmark's metrics and commits point to).

Everything is seeded: the same arguments give the same bytes.
"""

from __future__ import annotations

import array
import bisect
import csv
import random
import re
import string
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _loghub import DATA_DIR, DATASETS, layout_regex, load_formats

APP = "app"
PARTS: tuple[str, ...] = (*DATASETS, APP)
"""The parts of the mixed file; a line's part is its index in this tuple."""

# -- loghub lines, re-randomised -------------------------------------------------------------------

# A variable value inside a ``<*>``: an IPv4 address, a 0x number, a hex id (letters and digits,
# 6+ characters), or a run of digits.
_VALUE = re.compile(
    r"(?P<ip>(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.]))"
    r"|(?P<hex0x>0[xX][0-9a-fA-F]+)"
    r"|(?P<hex>(?<![0-9A-Za-z])(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{6,}(?![0-9A-Za-z]))"
    r"|(?P<num>\d+)"
)
# Header fields that hold the time, per data set; rendered from the synthetic clock.
_TIME_FIELDS = {
    "HDFS": {"Date": "%y%m%d", "Time": "%H%M%S"},
    "Hadoop": {"Date": "%Y-%m-%d", "Time": "%H:%M:%S,{ms}"},
    "Spark": {"Date": "%y/%m/%d", "Time": "%H:%M:%S"},
    "Zookeeper": {"Date": "%Y-%m-%d", "Time": "%H:%M:%S,{ms}"},
    "BGL": {"Timestamp": "{epoch}", "Date": "%Y.%m.%d", "Time": "%Y-%m-%d-%H.%M.%S.{us}"},
    "HPC": {"Time": "{epoch}"},
    "Linux": {"Month": "%b", "Date": "{day}", "Time": "%H:%M:%S"},
    "OpenSSH": {"Date": "%b", "Day": "{day}", "Time": "%H:%M:%S"},
}
# Header fields kept as they are (they name the event's source, not a value).
_KEEP_FIELDS = frozenset({"Level", "Component", "Label", "Type", "State", "Flag"})

# Segment kinds of a line recipe.
_LIT, _NUM, _HEX, _IP, _TIME = range(5)


def _render_time(spec: str, t: datetime) -> str:
    text = t.strftime(spec) if "%" in spec else spec
    if "{" in text:
        text = text.format(
            ms=f"{t.microsecond // 1000:03d}",
            us=f"{t.microsecond:06d}",
            epoch=int(t.timestamp()),
            day=f"{t.day:2d}",
        )
    return text


def _template_regex(template: str) -> re.Pattern[str]:
    parts = []
    for i, piece in enumerate(template.split("<*>")):
        if i:
            parts.append("(.*?)")
        parts.append(r"\s+".join(re.escape(s) for s in re.split(r"\s+", piece)))
    return re.compile(r"\s*" + "".join(parts) + r"\s*", re.DOTALL)


def _value_segments(text: str, out: list[tuple]) -> None:
    """Append the segments of a variable's text: literal runs and values to re-randomise."""
    pos = 0
    for m in _VALUE.finditer(text):
        if m.start() > pos:
            out.append((_LIT, text[pos : m.start()]))
        value = m.group()
        if m.lastgroup == "ip":
            out.append((_IP,))
        elif m.lastgroup == "hex0x":
            out.append((_LIT, value[:2]))
            out.append((_HEX, len(value) - 2, value[2:].isupper()))
        elif m.lastgroup == "hex":
            out.append((_HEX, len(value), value.isupper()))
        else:
            out.append((_NUM, len(value), value[0] == "0" and len(value) > 1))
        pos = m.end()
    if pos < len(text):
        out.append((_LIT, text[pos:]))


def _compact(segments: list[tuple]) -> tuple[tuple, ...]:
    """Merge adjacent literals."""
    out: list[tuple] = []
    for seg in segments:
        if seg[0] == _LIT and out and out[-1][0] == _LIT:
            out[-1] = (_LIT, out[-1][1] + seg[1])
        elif seg[0] != _LIT or seg[1]:
            out.append(seg)
    return tuple(out)


@dataclass(frozen=True)
class LoghubLine:
    """One original loghub line as a recipe: literal text, values to re-draw, time fields."""

    segments: tuple[tuple, ...]
    event: str


def load_recipes(name: str, data_dir: Path = DATA_DIR) -> list[LoghubLine]:
    """The 2,000 lines of one sample as recipes, with their labels (EventId)."""
    fmt = load_formats(data_dir)[name]
    layout = layout_regex(str(fmt["log_format"]))
    folder = data_dir / name
    raw = (folder / f"{name}_2k.log").read_text(encoding="utf-8", errors="replace").splitlines()
    with (folder / f"{name}_2k.log_structured_corrected.csv").open(encoding="utf-8", newline="") as fh:
        labels = [(row["EventId"], row["EventTemplate"]) for row in csv.DictReader(fh)]
    if len(labels) != len(raw):
        raise ValueError(f"{name}: {len(raw)} lines but {len(labels)} labels")
    times = _TIME_FIELDS[name]
    cache: dict[str, re.Pattern[str]] = {}
    recipes: list[LoghubLine] = []
    for line, (event, template) in zip(raw, labels, strict=True):
        line = line.rstrip("\r")
        m = layout.match(line) or layout.match(line.strip())
        if m is None:
            raise ValueError(f"{name}: a line does not match its header layout: {line!r}")
        text = m.string
        segments: list[tuple] = []
        pos = 0
        for group in layout.groupindex:
            start, end = m.span(group)
            if start < 0:
                continue
            gap = text[pos:start]
            value = text[start:end]
            if group in times:
                if times[group] == "{day}":
                    gap = " "  # syslog pads the day of month: "Jun  9", "Jun 14"
                segments.append((_LIT, gap))
                segments.append((_TIME, times[group]))
            elif group == "Content":
                segments.append((_LIT, gap))
                rx = cache.get(template)
                if rx is None:
                    rx = cache[template] = _template_regex(template)
                tm = rx.fullmatch(value)
                if tm is None:  # no label shape to follow: keep the message as it is
                    segments.append((_LIT, value))
                else:
                    p = 0
                    for g in range(1, (tm.lastindex or 0) + 1):
                        gs, ge = tm.span(g)
                        segments.append((_LIT, value[p:gs]))
                        _value_segments(value[gs:ge], segments)
                        p = ge
                    segments.append((_LIT, value[p:]))
            elif group in _KEEP_FIELDS:
                segments.append((_LIT, gap + value))
            else:
                segments.append((_LIT, gap))
                _value_segments(value, segments)
            pos = end
        segments.append((_LIT, text[pos:]))
        recipes.append(LoghubLine(_compact(segments), event))
    return recipes


_HEX_LOWER = "0123456789abcdef"
_HEX_UPPER = "0123456789ABCDEF"


class Renderer:
    """Fills recipes with fresh values; one instance per generated file (seeded)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._time_cache: dict[tuple[str, datetime], str] = {}

    def digits(self, n: int, leading_zero: bool) -> str:
        r = self.rng
        if n == 1:
            return str(r.randrange(10))
        body = str(r.randrange(10 ** (n - 1))).zfill(n - 1)
        return ("0" if leading_zero else str(r.randrange(1, 10))) + body

    def hexid(self, n: int, upper: bool) -> str:
        return f"{self.rng.getrandbits(4 * n):0{n}{'X' if upper else 'x'}}"

    def ip(self) -> str:
        r = self.rng.randrange
        return f"{r(1, 255)}.{r(256)}.{r(256)}.{r(1, 255)}"

    def render(self, segments: Sequence[tuple], t: datetime) -> str:
        out: list[str] = []
        for seg in segments:
            kind = seg[0]
            if kind == _LIT:
                out.append(seg[1])
            elif kind == _NUM:
                out.append(self.digits(seg[1], seg[2]))
            elif kind == _HEX:
                out.append(self.hexid(seg[1], seg[2]))
            elif kind == _IP:
                out.append(self.ip())
            else:
                out.append(_render_time(seg[1], t))
        return "".join(out)


# -- application logs ------------------------------------------------------------------------------

_SYLLABLES = ("ka", "lo", "mi", "ra", "ne", "to", "sa", "vi", "de", "ru", "po", "li", "an", "el", "jo", "be")
_WORDS_TEXT = (
    "shoes jacket lamp desk chair sofa phone cable charger laptop monitor keyboard mouse camera lens "
    "tent stove bottle kettle mug plate knife fork spoon towel pillow blanket mattress curtain rug "
    "mirror clock watch ring necklace wallet bag backpack suitcase umbrella helmet glove scarf hat"
)
_WORDS = tuple(_WORDS_TEXT.split())
_CARRIERS = (
    "dhl",
    "ups",
    "fedex",
    "gls",
    "dpd",
    "hermes",
    "postnl",
    "colissimo",
    "bpost",
    "correos",
    "royalmail",
    "usps",
)
_DOMAINS = ("example.com", "mail.test", "shop.invalid", "corp.example")


def _name(r: random.Random) -> str:
    return "".join(r.choice(_SYLLABLES) for _ in range(r.randint(2, 4)))


_V: dict[str, Callable[[random.Random], str]] = {
    "order": lambda r: str(r.randint(100000, 9999999)),
    "user": _name,
    "uid": lambda r: f"u{r.randint(1000, 99999)}",
    "n": lambda r: str(r.randint(0, 500)),
    "k": lambda r: str(r.randint(1, 5)),
    "ms": lambda r: str(int(r.expovariate(1 / 120)) + 1),
    "sec": lambda r: f"{r.uniform(0.01, 30):.2f}",
    "amount": lambda r: f"{r.uniform(1, 900):.2f}",
    "uuid": lambda r: "-".join(f"{r.getrandbits(4 * n):0{n}x}" for n in (8, 4, 4, 4, 12)),
    "hex": lambda r: f"{r.getrandbits(64):016x}",
    "txn": lambda r: f"ch_{r.getrandbits(72):018x}",
    "last4": lambda r: f"{r.randint(0, 9999):04d}",
    "host": lambda r: f"{r.choice(('db', 'pg', 'cache', 'api', 'queue'))}-{r.randint(1, 12)}.internal",
    "port": lambda r: str(r.choice((5432, 6379, 8080, 9092, 443))),
    "ip": lambda r: f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
    "email": lambda r: f"{_name(r)}@{r.choice(_DOMAINS)}",
    "url": lambda r: f"https://hooks.{r.choice(_DOMAINS)}/{_name(r)}/{r.randint(1, 999)}",
    "status2": lambda r: str(r.choice((200, 201, 202, 204))),
    "status5": lambda r: str(r.choice((500, 502, 503, 504))),
    "sku": lambda r: f"SKU-{r.randint(10000, 99999)}",
    "wh": lambda r: f"WH{r.randint(1, 40):02d}",
    "pct": lambda r: f"{r.uniform(50, 99.9):.1f}",
    "term": lambda r: r.choice(_WORDS),
    "coupon": lambda r: f"{r.choice(_WORDS).upper()}{r.randint(5, 50)}",
    "path": lambda r: r.choice(("/api/orders/", "/api/cart/", "/api/products/")) + str(r.randint(1, 99999)),
    "carrier": lambda r: r.choice(_CARRIERS),
    "ship": lambda r: f"SHP{r.randint(10**8, 10**9 - 1)}",
    "kg": lambda r: f"{r.uniform(0.1, 30):.1f}",
    "postcode": lambda r: f"{r.randint(1000, 99999)}",
    "date": lambda r: f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
}

# (service, level, message with {variables}, weight). The first of each service is its commonest.
APP_TYPES: tuple[tuple[str, str, str, float], ...] = (
    ("checkout", "INFO", "GET {path} 200 in {ms}ms user={uid}", 30),
    ("checkout", "INFO", "Order {order} created for user {user} with {n} items, total {amount} EUR", 8),
    ("checkout", "WARNING", "Cart {uuid} expired after {n} minutes", 2),
    ("checkout", "ERROR", "Payment declined for order {order}: insufficient_funds", 0.6),
    ("checkout", "INFO", "Applied coupon {coupon} to order {order}, discount {amount}", 1.5),
    ("checkout", "DEBUG", "Recomputed cart totals in {ms} ms", 6),
    ("payments", "INFO", "Charge {txn} authorised for {amount} EUR via card ending {last4}", 8),
    ("payments", "WARNING", "Retrying charge {txn} (attempt {k} of 5) after {ms}ms", 0.8),
    ("payments", "ERROR", "Connection to {host}:{port} timed out after {ms} ms", 0.1),
    ("payments", "INFO", "Refund {txn} issued to customer {email}", 0.7),
    ("payments", "INFO", "Webhook {uuid} delivered to {url} with status {status2}", 3),
    ("payments", "ERROR", "Connection pool exhausted: {n} of {n} connections in use, {n} waiting", 0.05),
    ("inventory", "INFO", "Reserved {n} units of {sku} for order {order}", 7),
    ("inventory", "INFO", "Stock level for {sku} at warehouse {wh} is {n}", 10),
    ("inventory", "WARNING", "Low stock for {sku}: {n} left (threshold {n})", 1),
    ("inventory", "INFO", "Released reservation {uuid} after {sec} seconds", 2),
    ("inventory", "DEBUG", "Cache hit ratio {pct}% over last {n} lookups", 3),
    ("inventory", "ERROR", "Failed to sync inventory with {host}: HTTP {status5}", 0.2),
    ("auth", "INFO", "User {user} logged in from {ip}", 9),
    ("auth", "WARNING", "Failed login for user {user} from {ip}: bad password", 1.2),
    ("auth", "INFO", "Session {hex} refreshed for user {user}, expires in {n}s", 6),
    ("auth", "INFO", "Password reset requested for {email}", 0.4),
    ("auth", "WARNING", "Rate limit reached for client {ip}: {n} requests in {k}s", 0.5),
    ("auth", "INFO", "User {user} logged out after {n} minutes", 4),
    ("search", "INFO", "Query '{term}' returned {n} results in {ms} ms", 12),
    ("search", "INFO", "Reindexed {n} documents into shard {k} in {sec}s", 0.5),
    ("search", "WARNING", "Slow query on shard {k}: {ms} ms for '{term}'", 0.8),
    ("search", "INFO", "Suggester rebuilt with {n} terms", 0.3),
    ("search", "ERROR", "Shard {k} unavailable on node {host}, {k} replicas left", 0.05),
    ("search", "DEBUG", "Query plan cache evicted {n} entries", 2),
    ("shipping", "INFO", "Shipment {ship} for order {order} handed to carrier {carrier}", 4),
    ("shipping", "INFO", "Label printed for shipment {ship} ({n} parcels, {kg} kg)", 3),
    ("shipping", "WARNING", "Address validation failed for order {order}: postcode {postcode} unknown", 0.4),
    ("shipping", "INFO", "Tracking update for {ship} received from {carrier}", 5),
    ("shipping", "INFO", "Estimated delivery for order {order} is {date}", 2),
    ("shipping", "ERROR", "Carrier API {url} returned {status5} after {ms} ms", 0.3),
)
_INCIDENT_TYPES = (8, 11, 7)  # payments: timeouts, pool exhausted, retries
_FIELD_RX = re.compile(r"\{(\w+)\}")


def _compile_app_types() -> list[tuple[str, str, list[str | Callable[[random.Random], str]]]]:
    compiled = []
    for service, level, text, _ in APP_TYPES:
        pieces: list[str | Callable[[random.Random], str]] = []
        pos = 0
        for m in _FIELD_RX.finditer(text):
            pieces.append(text[pos : m.start()])
            pieces.append(_V[m.group(1)])
            pos = m.end()
        pieces.append(text[pos:])
        compiled.append((service, level, [p for p in pieces if p != ""]))
    return compiled


# -- the incident's timeline, shared by both benchmarks --------------------------------------------

DETECTED = datetime(2026, 3, 14, 14, 0, tzinfo=UTC)
"""The detection time of the full run; the generated data ends here."""
SPAN = timedelta(hours=3)
"""How much time the log and the metrics cover, up to :data:`DETECTED`."""
ONSET = DETECTED - timedelta(minutes=20)
"""When the payments incident starts (log errors, the metric anomaly)."""
CULPRIT_AT = ONSET - timedelta(minutes=12)
"""When the commit behind it lands."""


# -- the mixed file --------------------------------------------------------------------------------


@dataclass
class MixedLog:
    """A generated log file and, per line, its part (index in :data:`PARTS`) and its label."""

    path: Path
    lines: int
    start: datetime
    end: datetime
    parts: bytes
    labels: list[str]
    onset: datetime | None = None
    per_part: Counter[str] = field(default_factory=Counter)


def generate_mixed(
    path: Path,
    lines: int = 1_000_000,
    *,
    end: datetime = DETECTED,
    span: timedelta = SPAN,
    app_share: float = 0.5,
    onset: datetime | None = ONSET,
    seed: int = 20261127,
) -> MixedLog:
    """Write the mixed log to ``path``: ``lines`` lines over ``span`` ending at ``end``.

    A share ``app_share`` of the lines are application logs; the rest cycles through each loghub
    sample's 2,000 lines in order (the eight samples equally often), every copy re-randomised.
    """
    rng = random.Random(seed)
    renderer = Renderer(rng)
    recipes = {name: load_recipes(name) for name in DATASETS}
    cursor = dict.fromkeys(DATASETS, 0)
    app_types = _compile_app_types()
    weights = [w for *_, w in APP_TYPES]
    cum = list(_accumulate(weights))
    incident_weights = list(weights)
    for i in _INCIDENT_TYPES:
        incident_weights[i] = 12.0
    cum_incident = list(_accumulate(incident_weights))
    start = end - span
    step = span / lines
    parts = bytearray(lines)
    labels: list[str] = []
    per_part: Counter[str] = Counter()
    n_loghub = len(DATASETS)
    app_index = PARTS.index(APP)
    label_cache: dict[tuple[str, str], str] = {}
    with path.open("w", encoding="utf-8", newline="\n") as out:
        buf: list[str] = []
        t = start
        for i in range(lines):
            t = start + step * i
            if rng.random() < app_share:
                table = cum_incident if onset is not None and t >= onset else cum
                k = bisect.bisect(table, rng.random() * table[-1])
                service, level, pieces = app_types[k]
                msg = "".join(p if isinstance(p, str) else p(rng) for p in pieces)
                buf.append(f"{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d} {level} [{service}] {msg}\n")
                parts[i] = app_index
                key = (APP, str(k))
                per_part[APP] += 1
            else:
                p = rng.randrange(n_loghub)
                name = DATASETS[p]
                recipe = recipes[name][cursor[name] % len(recipes[name])]
                cursor[name] += 1
                buf.append(renderer.render(recipe.segments, t) + "\n")
                parts[i] = p
                key = (name, recipe.event)
                per_part[name] += 1
            label = label_cache.get(key)
            if label is None:
                label = label_cache[key] = f"{key[0]}:{key[1]}"
            labels.append(label)
            if len(buf) >= 4096:
                out.write("".join(buf))
                buf.clear()
        out.write("".join(buf))
    return MixedLog(path, lines, start, end, bytes(parts), labels, onset, per_part)


def _accumulate(values: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for v in values:
        total += v
        out.append(total)
    return out


def write_prefix(source: Path, target: Path, lines: int) -> None:
    """The first ``lines`` lines of ``source`` into ``target``."""
    with source.open("rb") as fin, target.open("wb") as fout:
        for i, line in enumerate(fin):
            if i >= lines:
                break
            fout.write(line)


def write_part(source: Path, parts: bytes, part: int, target: Path) -> list[int]:
    """The lines of one part of the mixed file into ``target``; returns their 0-based indices."""
    kept: list[int] = []
    with source.open("rb") as fin, target.open("wb") as fout:
        for i, line in enumerate(fin):
            if parts[i] == part:
                fout.write(line)
                kept.append(i)
    return kept


# -- scoring ---------------------------------------------------------------------------------------


def correct_lines(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> bytearray:
    """Per line, 1 when its predicted group is exactly the lines of its labelled group (GA's rule)."""
    by_pred: dict[Hashable, list[int]] = defaultdict(list)
    for i, p in enumerate(predicted):
        by_pred[p].append(i)
    truth_sizes = Counter(truth)
    ok = bytearray(len(truth))
    for members in by_pred.values():
        first = truth[members[0]]
        if truth_sizes[first] == len(members) and all(truth[i] == first for i in members):
            for i in members:
                ok[i] = 1
    return ok


def fill_forward(starts: dict[int, int], lines: int) -> array.array:
    """Per line (0-based), the group of the record holding it, from 1-based record start lines.

    A line that starts no record (a continuation the reader joined to the record before) gets that
    record's group, which is what a user sees.
    """
    groups = array.array("i", [-1]) * lines
    for line, group in starts.items():
        if 1 <= line <= lines:
            groups[line - 1] = group
    current = -1
    for i in range(lines):
        if groups[i] < 0:
            groups[i] = current
        else:
            current = groups[i]
    return groups


# -- metrics and a git repository for the full run -------------------------------------------------

METRIC_COMPONENTS = (
    "checkout",
    "payments",
    "inventory",
    "auth",
    "search",
    "shipping",
    "gateway",
    "redis",
    "postgres",
    "kafka",
    "frontend",
    "catalog",
    "cart",
    "users",
    "notifications",
    "recommendations",
    "ads",
    "email",
    "currency",
    "quote",
)
METRIC_NAMES = (
    "cpu",
    "mem",
    "lat_50",
    "lat_99",
    "rps",
    "errors",
    "gc_pause",
    "threads",
    "conn_pool",
    "queue",
)


def write_metrics(
    path: Path, start: datetime, end: datetime, *, anomaly: tuple[str, datetime], seed: int = 7
) -> int:
    """A wide metrics CSV: ``time`` then 200 ``<component>_<metric>`` columns, one row per 10 s.

    Each series is a level with noise, a slow daily-like drift and, for some, a periodic component.
    ``anomaly`` names one series and when it starts to climb (to about 8x its level over a few
    minutes). Returns the number of rows.
    """
    rng = random.Random(seed)
    columns = [f"{c}_{m}" for c in METRIC_COMPONENTS for m in METRIC_NAMES]
    bases = {col: rng.uniform(5, 500) for col in columns}
    noise = {col: rng.uniform(0.01, 0.06) for col in columns}
    period = {col: rng.choice((0, 0, 300, 900, 1800)) for col in columns}
    bad, onset = anomaly
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["time", *columns])
        t = start
        import math

        while t <= end:
            secs = (t - start).total_seconds()
            row: list[object] = [int(t.timestamp())]
            for col in columns:
                level = bases[col] * (1 + 0.05 * math.sin(secs / 7200))
                if period[col]:
                    level *= 1 + 0.1 * math.sin(2 * math.pi * secs / period[col])
                value = level * (1 + rng.gauss(0, noise[col]))
                if col == bad and t >= onset:
                    ramp = min((t - onset).total_seconds() / 180.0, 1.0)
                    value *= 1 + 7 * ramp
                row.append(f"{max(value, 0.0):.3f}")
            writer.writerow(row)
            rows += 1
            t += timedelta(seconds=10)
    return rows


def make_git_repo(
    folder: Path,
    *,
    end: datetime,
    commits: int = 300,
    days: int = 4,
    culprit: tuple[str, datetime] | None = None,
    seed: int = 11,
    git: str = "git",
) -> int:
    """A repository of ``commits`` commits spread over ``days`` days before ``end``.

    Files live under ``services/<component>/``; each commit touches one to three files of one
    component, with fixed author and committer dates. ``culprit`` adds a commit to
    ``services/<component>/config/pool.yaml`` at the given time (the change behind the incident).
    Uses ``git`` through subprocess with ``-c user.name=... -c user.email=...``; returns the count.
    """
    import subprocess

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ident = [
        "-c",
        "user.name=Bench Bot",
        "-c",
        "user.email=bench@example.invalid",
        "-c",
        "commit.gpgsign=false",
    ]

    def run(*args: str, env: dict[str, str] | None = None) -> None:
        subprocess.run([git, *ident, *args], cwd=folder, check=True, capture_output=True, env=env)

    run("init", "-q", "-b", "main")
    components = METRIC_COMPONENTS[:10]
    files = {
        c: [
            f"services/{c}/{n}"
            for n in (
                "app.py",
                "handlers.py",
                "db.py",
                "config/settings.yaml",
                "config/pool.yaml",
                "README.md",
            )
        ]
        for c in components
    }
    start = end - timedelta(days=days)
    times = sorted(start + (end - start) * rng.random() for _ in range(commits))
    planned: list[tuple[datetime, str, list[str], str]] = []
    for t in times:
        comp = rng.choice(components)
        touched = rng.sample(files[comp], rng.randint(1, 3))
        verb = rng.choice(("Fix", "Refactor", "Tune", "Add", "Update", "Clean up"))
        planned.append((t, comp, touched, f"{verb} {comp} {rng.choice(_WORDS)} handling"))
    if culprit is not None:
        comp, at = culprit
        planned.append(
            (at, comp, [f"services/{comp}/config/pool.yaml"], f"Lower {comp} database pool size to 4")
        )
        planned.sort(key=lambda p: p[0])
    import os

    env = dict(os.environ)
    for key in [k for k in env if k.startswith("GIT_")]:
        del env[key]
    for i, (t, _comp, touched, message) in enumerate(planned):
        for name in touched:
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("a", encoding="utf-8") as fh:
                fh.write(f"# change {i}: {''.join(rng.choices(string.ascii_lowercase, k=24))}\n")
        stamp = t.strftime("%Y-%m-%dT%H:%M:%S+0000")
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = stamp
        run("add", "-A", env=env)
        run("commit", "-q", "-m", message, env=env)
    return len(planned)
