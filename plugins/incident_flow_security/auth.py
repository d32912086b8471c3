"""Failed and successful logins: brute force, credential stuffing, distributed attempts, compromise.

Authentication events come from three kinds of logs, read in one pass:

- **sshd** through syslog (``Failed password for [invalid user] X from IP``, ``Invalid user X from
  IP``, ``Accepted publickey for X from IP``, and ``message repeated N times: [ ... ]``);
- **web access logs**: a 401 or 403 on a login endpoint is a failure, a POST answered 2xx/3xx on
  one is a success, and a 401 to a client that sent a user name (HTTP basic auth) is a failure;
- **structured application events** (JSON, logfmt): an ECS ``event.outcome`` on an authentication
  event, or an event name or message such as ``login_failed`` or ``authentication succeeded``,
  with the address and account from the usual keys.

Then, per attacked component (the syslog host for sshd, the component for web and application
logs), per source and per account:

- **brute force**: at least ``max_failures`` failures from one source within ``find_time``
  (fail2ban's ``maxretry``/``findtime``, 5 in 10 minutes by default);
- **credential stuffing**: one source failing on at least ``stuffing_accounts`` accounts;
- **distributed attempts**: one account failing from at least ``distributed_sources`` sources that
  each stay under the brute-force threshold (low and slow, to dodge per-source limits);
- **likely compromise**: a success from a source after at least ``max_failures`` failures from it,
  or after failures on ``compromise_accounts`` accounts, or as the end of a distributed attempt on
  that account. A user who mistypes a password three times and gets in is none of these;
- **a spike in failed logins** that none of the above explains (password spraying: many sources,
  many accounts, each under every threshold): the change point of the per-minute failure count,
  significant by a G-test (:mod:`incident_flow.analysis.stats`) and at least three times the rate
  before it.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict, deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import attrs

from incident_flow import Category, Evidence, Finding, Severity
from incident_flow.analysis.redact import Redactor
from incident_flow.analysis.stats import change_point, is_surge, rate_change
from incident_flow.sources import LogRecord
from incident_flow_security.access import AccessRequest, component_of, record_line
from incident_flow_security.decoding import decode
from incident_flow_security.options import SecurityOptions
from incident_flow_security.rules import split_target
from incident_flow_security.text import clean, valid_ip

__all__ = ["AuthCollector", "AuthEvent", "app_event", "ssh_event", "web_event"]

INVESTIGATOR = "security"
SURGE_MIN = 20
SURGE_RATIO = 3.0
SURGE_P_VALUE = 1e-3

_SSH_FAILED = re.compile(
    r"(?:message repeated (?P<times>\d+) times: \[\s*)?Failed (?:password|publickey|none|hostbased"
    r"|keyboard-interactive(?:/pam)?|gssapi-with-mic) for (?P<invalid>invalid user )?(?P<user>.*?) "
    r"from (?P<ip>\S+) port \d+"
)
_SSH_INVALID = re.compile(r"Invalid user (?P<user>.*?) from (?P<ip>\S+)(?: port \d+)?\s*$")
_SSH_ACCEPTED = re.compile(
    r"Accepted (?:password|publickey|hostbased|keyboard-interactive(?:/pam)?|gssapi-with-mic) "
    r"for (?P<user>\S+) from (?P<ip>\S+) port \d+"
)

_APP_FAILURE = re.compile(
    r"(?i)\b(?:log[_ -]?in|log[_ -]?on|sign[_ -]?in|auth(?:entication|entication_attempt|n)?|credentials?"
    r"|password)[_. -]*(?:fail(?:ed|ure|s)?|denied|invalid|rejected|refused|incorrect|mismatch)\b"
    r"|\b(?:failed|unsuccessful|invalid|denied)[_. -]+(?:log[_ -]?in|log[_ -]?on|sign[_ -]?in"
    r"|authentication|auth|credentials|password)\b|\b(?:bad|wrong|invalid|incorrect)[_ -]+"
    r"(?:password|credentials|username or password)\b"
)
_APP_SUCCESS = re.compile(
    r"(?i)\b(?:log[_ -]?in|log[_ -]?on|sign[_ -]?in|auth(?:entication|n)?)[_. -]*(?:succeeded|success(?:ful)?"
    r"|ok|accepted|granted)\b|\b(?:successful(?:ly)?|user)[_ -]+(?:logged[_ -]?in|log[_ -]?in|authenticated"
    r"|signed[_ -]?in)\b"
)
_APP_EVENT_KEYS = (
    "event.action",
    "event",
    "action",
    "event_type",
    "event.type",
    "type",
    "eventName",
    "msg_id",
)
_APP_IP_KEYS = (
    "client.ip",
    "source.ip",
    "client_ip",
    "src_ip",
    "source_ip",
    "remote_addr",
    "remote_ip",
    "ip",
    "ip_address",
    "clientip",
    "peer",
    "http.client_ip",
)
_APP_USER_KEYS = ("user.name", "username", "user", "account", "login", "user_name", "email", "user.email")
_WEB_USER_ARGS = ("user", "username", "login", "email", "account", "user_name", "usr", "name")


@attrs.frozen
class AuthEvent:
    """One login attempt: when, against what, from where, as whom, and how it ended."""

    at: datetime
    target: str
    channel: str  # ssh | web | app
    source: str | None  # a valid IP address, canonical
    raw_source: str
    account: str | None
    success: bool
    record: LogRecord  # quoted as evidence (cleaned and redacted) only if a finding needs it
    count: int = 1
    path: str | None = None  # the login endpoint, for a web event


def _path_weights(events: Iterable[AuthEvent]) -> dict[str, int]:
    """Attempts per web login path: where the requests went (the service behind a gateway)."""
    counts = Counter(e.path for e in events if e.path)
    return dict(counts.most_common(20))


def _account(value: str | None, redactor: Redactor) -> str | None:
    if value is None:
        return None
    value = clean(value, 64, redactor)
    return value or None


def ssh_event(record: LogRecord, redactor: Redactor) -> tuple[AuthEvent, bool] | None:
    """An sshd record as an auth event, and whether it is an ``Invalid user`` notice (which sshd
    follows with a ``Failed ... for invalid user`` line for the same connection)."""
    if record.at is None or record.fields.get("app") != "sshd":
        return None
    message = record.message
    target = clean(record.fields.get("host") or component_of(record), 64)
    for pattern, success, notice in ((_SSH_FAILED, False, False), (_SSH_ACCEPTED, True, False)):
        match = pattern.search(message)
        if match is not None:
            times = match.groupdict().get("times")
            return (
                AuthEvent(
                    at=record.at,
                    target=target,
                    channel="ssh",
                    source=valid_ip(match.group("ip")),
                    raw_source=clean(match.group("ip"), 64),
                    account=_account(match.group("user"), redactor),
                    success=success,
                    record=record,
                    count=int(times) if times else 1,
                ),
                notice,
            )
    match = _SSH_INVALID.search(message)
    if match is not None:
        return (
            AuthEvent(
                at=record.at,
                target=target,
                channel="ssh",
                source=valid_ip(match.group("ip")),
                raw_source=clean(match.group("ip"), 64),
                account=_account(match.group("user"), redactor),
                success=False,
                record=record,
            ),
            True,
        )
    return None


def web_event(request: AccessRequest, login_paths: re.Pattern[str], redactor: Redactor) -> AuthEvent | None:
    """A request to a login endpoint (or an HTTP basic-auth refusal) as an auth event."""
    if request.at is None:
        return None
    on_login = login_paths.search(request.path) is not None
    if (on_login and request.status in (401, 403)) or (request.status == 401 and request.remote_user):
        success = False
    elif on_login and request.method in ("POST", "PUT") and 200 <= request.status < 400:
        success = True
    else:
        return None
    account = request.remote_user
    if account is None:
        for name, value in split_target(request.target)[1]:
            if name.lower() in _WEB_USER_ARGS and value:
                account = decode(value).text
                break
    record = request.record
    return AuthEvent(
        at=request.at,
        target=request.component,
        channel="web",
        source=request.source,
        raw_source=clean(request.raw_source, 64),
        account=_account(account, redactor),
        success=success,
        record=record,
        path=request.path,
    )


def _first(fields: Mapping[str, str], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = fields.get(key)
        if value:
            return value
    return None


def app_event(record: LogRecord, redactor: Redactor) -> AuthEvent | None:
    """A structured application record that reports a login, as an auth event."""
    fields = record.fields
    if record.at is None or "status" in fields or "app" in fields:
        return None  # access logs and syslog have their own readers
    outcome = (fields.get("event.outcome") or fields.get("outcome") or "").lower()
    category = (fields.get("event.category") or "").lower()
    name = _first(fields, _APP_EVENT_KEYS) or ""
    text = f"{name} {record.message}"
    success: bool | None = None
    if "auth" in category and outcome in ("failure", "success"):
        success = outcome == "success"
    elif _APP_FAILURE.search(text):
        success = False
    elif _APP_SUCCESS.search(text):
        success = True
    if success is None:
        return None
    raw_source = _first(fields, _APP_IP_KEYS)
    account = _first(fields, _APP_USER_KEYS)
    if raw_source is None and account is None:
        return None
    return AuthEvent(
        at=record.at,
        target=component_of(record),
        channel="app",
        source=valid_ip(raw_source),
        raw_source=clean(raw_source or "", 64),
        account=_account(account, redactor),
        success=success,
        record=record,
    )


def _max_in_window(times: Sequence[tuple[datetime, int]], window: timedelta) -> tuple[int, datetime | None]:
    """The largest count of events within any ``window`` (sliding), and where that window starts."""
    best, best_start = 0, None
    queue: deque[tuple[datetime, int]] = deque()
    total = 0
    for at, count in times:
        queue.append((at, count))
        total += count
        while queue and at - queue[0][0] > window:
            total -= queue.popleft()[1]
        if total > best:
            best, best_start = total, queue[0][0]
    return best, best_start


def _max_distinct(items: Sequence[tuple[datetime, str]], window: timedelta) -> int:
    """The most distinct values seen within any ``window`` (sliding)."""
    best = 0
    queue: deque[tuple[datetime, str]] = deque()
    counts: dict[str, int] = defaultdict(int)
    for at, value in items:
        queue.append((at, value))
        counts[value] += 1
        while queue and at - queue[0][0] > window:
            _, old = queue.popleft()
            counts[old] -= 1
            if counts[old] == 0:
                del counts[old]
        best = max(best, len(counts))
    return best


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def _rising(base: float, top: float, amount: float, scale: float) -> float:
    """A confidence that grows with the amount of evidence, from ``base`` towards ``top``."""
    return round(base + (top - base) * (1.0 - math.exp(-max(amount, 0.0) / scale)), 3)


_CHANNEL = {"ssh": "SSH", "web": "web login", "app": "application login"}


def _channel_name(events: Iterable[AuthEvent]) -> str:
    channels = sorted({e.channel for e in events})
    return " and ".join(_CHANNEL[c] for c in channels) or "login"


def _sample(events: Sequence[AuthEvent], limit: int, redactor: Redactor) -> list[str]:
    """First and last lines of an attack: where it started and that it went on."""
    if len(events) > limit:
        head = limit - limit // 3
        events = [*events[:head], *events[-(limit - head) :]]
    return [record_line(e.record, redactor) for e in events]


def _who(sources: Sequence[str]) -> str:
    if not sources:
        return "an unparsable source"
    if len(sources) == 1:
        return sources[0]
    return f"{sources[0]} and {len(sources) - 1} other source(s)"


#: The most a finding of steady background login noise can weigh in the ranking.
BACKGROUND_CONFIDENCE = 0.2


class AuthCollector:
    """Gathers login events during the pass over the logs, then turns them into findings."""

    def __init__(self, options: SecurityOptions, redactor: Redactor, split: datetime | None = None) -> None:
        self.options = options
        self.redactor = redactor
        #: Where the incident window starts: attempts as frequent before it as after are background.
        self.split = split
        self.login_paths = re.compile(options.login_paths, re.IGNORECASE)
        self.events: list[AuthEvent] = []
        # sshd logs "Invalid user X from IP" and then, for the same connection (pid),
        # "Failed password for invalid user X": count the pair once.
        self._pending_invalid: dict[tuple[str, str], AuthEvent] = {}
        #: Sources that :meth:`findings` named as attackers (the anomaly checks weigh them more).
        self.attackers: set[str] = set()

    def add_record(self, record: LogRecord) -> None:
        if record.fields.get("app") == "sshd":
            found = ssh_event(record, self.redactor)
            if found is None:
                return
            event, notice = found
            key = (event.target, record.fields.get("pid", ""))
            if notice:
                earlier = self._pending_invalid.pop(key, None)
                if earlier is not None:
                    self.events.append(earlier)
                self._pending_invalid[key] = event
                return
            pending = self._pending_invalid.get(key)
            if pending is not None and not event.success and pending.account == event.account:
                del self._pending_invalid[key]
            self.events.append(event)
            return
        if "status" not in record.fields:
            found_app = app_event(record, self.redactor)
            if found_app is not None:
                self.events.append(found_app)

    def add_request(self, request: AccessRequest) -> None:
        event = web_event(request, self.login_paths, self.redactor)
        if event is not None:
            self.events.append(event)

    # -- analysis -------------------------------------------------------------------------------------

    def findings(self, window_start: datetime | None = None) -> list[Finding]:
        """The findings per target; ``window_start`` is where the baseline of a surge begins."""
        events = [*self.events, *self._pending_invalid.values()]
        events.sort(key=lambda e: e.at)
        by_target: dict[str, list[AuthEvent]] = defaultdict(list)
        for event in events:
            by_target[event.target].append(event)
        findings: list[Finding] = []
        for target, target_events in sorted(by_target.items()):
            found = self._target_findings(target, target_events)
            named = {str(a) for f in found for e in f.evidence for a in e.figures.get("attackers", ()) or ()}
            # A spike the named sources do not explain is its own attack: credential stuffing from
            # hundreds of proxies trips the per-source threshold on a few of them only.
            surge = self._surge_finding(target, target_events, window_start, named)
            if surge is not None:
                found.append(surge)
            findings.extend(found)
        return findings

    def _surge_finding(
        self,
        target: str,
        events: list[AuthEvent],
        window_start: datetime | None,
        named: Collection[str] = (),
    ) -> Finding | None:
        """A spike in failed logins that no single source or account explains (password spraying).

        The onset is the change point of the per-minute failure count; the spike must be
        significant (G-test), at least ``SURGE_RATIO`` times the rate before, and ``SURGE_MIN``
        failures strong, so a steady trickle of typos never is one. When sources already ``named``
        by another finding sent half the spike or more, the spike is theirs and yields nothing.
        """
        failures = [e for e in events if not e.success]
        if sum(e.count for e in failures) < SURGE_MIN:
            return None
        start = _minute(min(window_start or failures[0].at, failures[0].at))
        end = _minute(failures[-1].at)
        minutes = int((end - start).total_seconds() // 60) + 1
        counts = [0] * minutes
        for event in failures:
            counts[int((_minute(event.at) - start).total_seconds() // 60)] += event.count
        point = change_point(counts)
        if point is None or point.p_value > SURGE_P_VALUE:
            return None
        onset = start + timedelta(minutes=point.index)
        before, after = sum(counts[: point.index]), sum(counts[point.index :])
        change = rate_change(before, point.index, after, minutes - point.index)
        if after < SURGE_MIN or change.ratio < SURGE_RATIO or change.p_value > SURGE_P_VALUE:
            return None
        spike = [e for e in failures if e.at >= onset]
        sources = Counter(e.source for e in spike if e.source)
        if named and 2 * sum(n for s, n in sources.items() if s in named) >= sum(sources.values()):
            return None
        accounts = sorted({e.account for e in spike if e.account})
        channel = _channel_name(spike)
        evidence = Evidence(
            source=target,
            kind="auth_surge",
            summary=(
                f"{channel} failures on {target} rose from {change.rate_before:.2f} to "
                f"{change.rate_after:.2f} a minute at {onset.astimezone(UTC):%H:%M} UTC: {after} failures "
                f"from {len(sources)} sources on {len(accounts)} accounts, none over its own threshold"
            ),
            at_from=onset,
            at_to=spike[-1].at,
            query="failed logins per minute: change point and G-test of the rates before and after",
            lines=_sample(spike, self.options.sample_lines, self.redactor),
            figures={
                "kind": "failed_login_surge",
                "target": target,
                "channel": sorted({e.channel for e in spike}),
                "path_weights": _path_weights(spike),
                "attacker": sources.most_common(1)[0][0] if sources else None,
                "attackers": [s for s, _ in sources.most_common(100)],
                "accounts": accounts[:50],
                "failures_before": before,
                "failures_after": after,
                "rate_before_per_min": round(change.rate_before, 3),
                "rate_after_per_min": round(change.rate_after, 3),
                "p_value": float(f"{change.p_value:.3g}"),
            },
        )
        self.attackers.update(sources)
        return Finding(
            investigator=INVESTIGATOR,
            component=target,
            title=f"spike in failed {channel} attempts on {target} from {len(sources)} sources",
            summary=evidence.summary + ": a spread-out attack (password spraying) or a broken client",
            confidence=_rising(0.45, 0.75, min(change.ratio, 100.0) * math.log1p(after) / 10.0, 10.0),
            evidence=[evidence],
            category=Category.SECURITY,
            severity=Severity.HIGH,
            indicator=f"failed logins per minute on {target} ({change.ratio:.0f}x)",
            onset=onset,
        )

    def _target_findings(self, target: str, events: list[AuthEvent]) -> list[Finding]:
        opts = self.options
        failures = [e for e in events if not e.success]
        failures_by_source: dict[str, list[AuthEvent]] = defaultdict(list)
        failures_by_account: dict[str, list[AuthEvent]] = defaultdict(list)
        for event in failures:
            failures_by_source[event.source or f"unparsed:{event.raw_source}"].append(event)
            if event.account is not None:
                failures_by_account[event.account].append(event)

        brute: dict[str, tuple[int, list[AuthEvent]]] = {}
        stuffing: dict[str, tuple[int, list[AuthEvent]]] = {}
        for source, source_events in failures_by_source.items():
            peak, _ = _max_in_window([(e.at, e.count) for e in source_events], opts.find_time)
            accounts = _max_distinct([(e.at, e.account or "?") for e in source_events], opts.spread_time)
            if accounts >= opts.stuffing_accounts:
                stuffing[source] = (accounts, source_events)
            elif peak >= opts.max_failures:
                brute[source] = (peak, source_events)

        distributed: dict[str, list[str]] = {}
        for account, account_events in failures_by_account.items():
            quiet = [
                e
                for e in account_events
                if e.source is not None and e.source not in brute and e.source not in stuffing
            ]
            if (
                _max_distinct([(e.at, e.source or "") for e in quiet], opts.spread_time)
                >= opts.distributed_sources
            ):
                distributed[account] = sorted({e.source for e in quiet if e.source})

        compromises = self._compromises(events, failures_by_source, distributed)
        findings: list[Finding] = []
        if compromises:
            findings.append(self._compromise_finding(target, compromises))
        if stuffing:
            stuffed = [e for _, evs in stuffing.values() for e in evs]
            findings.append(
                self._background(
                    sorted(stuffed, key=lambda e: e.at),
                    self._source_finding(target, "credential_stuffing", stuffing),
                )
            )
        if brute:
            guessed = [e for _, evs in brute.values() for e in evs]
            findings.append(
                self._background(
                    sorted(guessed, key=lambda e: e.at), self._source_finding(target, "brute_force", brute)
                )
            )
        if distributed:
            spread = [e for account in distributed for e in failures_by_account[account]]
            findings.append(
                self._background(
                    sorted(spread, key=lambda e: e.at),
                    self._distributed_finding(target, distributed, failures_by_account),
                )
            )
        self.attackers.update(s for s in [*brute, *stuffing] if not s.startswith("unparsed:"))
        self.attackers.update(c[0].source for c in compromises if c[0].source)
        for sources in distributed.values():
            self.attackers.update(sources)
        return findings

    def _compromises(
        self,
        events: list[AuthEvent],
        failures_by_source: Mapping[str, list[AuthEvent]],
        distributed: Mapping[str, list[str]],
    ) -> list[tuple[AuthEvent, list[AuthEvent], str]]:
        opts = self.options
        found: list[tuple[AuthEvent, list[AuthEvent], str]] = []
        reported: set[tuple[str | None, str | None]] = set()
        for success in (e for e in events if e.success):
            if success.source is None or (success.source, success.account) in reported:
                continue
            before = [
                e
                for e in failures_by_source.get(success.source, [])
                if success.at - opts.compromise_time <= e.at <= success.at
            ]
            failed = sum(e.count for e in before)
            accounts = {e.account for e in before if e.account}
            reason = ""
            if failed >= opts.max_failures:
                reason = f"after {failed} failed attempts from the same source"
            elif len(accounts) >= opts.compromise_accounts:
                reason = f"after failures on {len(accounts)} accounts from the same source"
            elif success.account is not None and success.source in distributed.get(success.account, ()):
                reason = "at the end of a distributed attempt on this account"
            if reason:
                reported.add((success.source, success.account))
                found.append((success, before, reason))
        return found

    def _compromise_finding(
        self, target: str, compromises: list[tuple[AuthEvent, list[AuthEvent], str]]
    ) -> Finding:
        success, before, reason = max(compromises, key=lambda c: (sum(e.count for e in c[1]), c[0].at))
        accounts = sorted({c[0].account for c in compromises if c[0].account})
        sources = sorted({c[0].source for c in compromises if c[0].source})
        failed = sum(e.count for c in compromises for e in c[1])
        first = min([e.at for c in compromises for e in c[1]] + [c[0].at for c in compromises])
        account = success.account or "an unknown account"
        channel = _channel_name([success])
        lines = [
            *_sample(before, self.options.sample_lines - 1, self.redactor),
            record_line(success.record, self.redactor),
        ]
        evidence = Evidence(
            source=target,
            kind="auth_compromise",
            summary=f"{channel} success as {account} from {success.source} {reason}",
            at_from=first,
            at_to=max(c[0].at for c in compromises),
            query=f"login failures then a success from one source within {self.options.compromise_time}",
            lines=lines,
            figures={
                "kind": "compromise",
                "target": target,
                "channel": success.channel,
                "path_weights": _path_weights([*before, success]),
                "attacker": success.source,
                "attackers": sources,
                "account": success.account,
                "accounts": accounts,
                "failures_before_success": failed,
                "success_at": success.at.isoformat(),
            },
        )
        return Finding(
            investigator=INVESTIGATOR,
            component=target,
            title=f"likely compromise: {channel} as {account} from {success.source} {reason}",
            summary=(
                f"{target}: {channel} succeeded as {account} from {success.source} {reason}; treat the "
                f"account{'s' if len(accounts) > 1 else ''} {', '.join(accounts) or account} as compromised"
            ),
            confidence=_rising(0.85, 0.97, failed, 25.0),
            evidence=[evidence],
            category=Category.SECURITY,
            severity=Severity.CRITICAL,
            indicator=f"login success for {account} from {success.source} after failures",
            onset=first,
        )

    def _background(self, events: Sequence[AuthEvent], finding: Finding) -> Finding:
        """Failed logins at the same pace before the incident window as in it are the internet's
        steady noise: context at low weight, never the cause (a compromise is never background)."""
        if self.split is None or not events or events[0].at >= self.split:
            return finding
        before = sum(e.count for e in events if e.at < self.split)
        after = sum(e.count for e in events if e.at >= self.split)
        last = max(e.at for e in events)
        change = rate_change(
            before,
            (self.split - events[0].at).total_seconds() / 60.0,
            after,
            max((last - self.split).total_seconds() / 60.0, 1.0),
        )
        if before == 0 or is_surge(change, significance=0.01):
            return finding
        return attrs.evolve(
            finding,
            confidence=min(finding.confidence, BACKGROUND_CONFIDENCE),
            severity=Severity.MEDIUM,
            symptom=True,
            summary=f"{finding.summary}; steady background: {change.rate_before:.2f}/min before the "
            f"incident window and {change.rate_after:.2f}/min in it",
        )

    def _source_finding(
        self, target: str, kind: str, per_source: dict[str, tuple[int, list[AuthEvent]]]
    ) -> Finding:
        ranked = sorted(per_source.items(), key=lambda item: -sum(e.count for e in item[1][1]))
        valid = [source for source, _ in ranked if not source.startswith("unparsed:")]
        unparsed = [
            clean(source.removeprefix("unparsed:"), 64)
            for source, _ in ranked
            if source.startswith("unparsed:")
        ]
        all_events = sorted((e for _, (_, evs) in ranked for e in evs), key=lambda e: e.at)
        total = sum(e.count for e in all_events)
        accounts = sorted({e.account for e in all_events if e.account})
        lead_source, (lead_measure, lead_events) = ranked[0]
        lead_name = lead_source if not lead_source.startswith("unparsed:") else "an unparsable source"
        channel = _channel_name(all_events)
        if kind == "brute_force":
            what = "brute force"
            detail = f"{lead_measure} failures within {self.options.find_time} from {lead_name}"
            query = (
                f"failed logins per source, sliding {self.options.find_time}, "
                f"threshold {self.options.max_failures}"
            )
        else:
            what = "credential stuffing"
            detail = f"failures on {lead_measure} accounts from {lead_name}"
            query = (
                f"distinct accounts failed per source, sliding {self.options.spread_time}, "
                f"threshold {self.options.stuffing_accounts}"
            )
        evidence = Evidence(
            source=target,
            kind=f"auth_{kind}",
            summary=(
                f"{channel} {what} on {target}: {total} failed logins from {len(ranked)} source(s); {detail}"
            ),
            at_from=all_events[0].at,
            at_to=all_events[-1].at,
            query=query,
            lines=_sample(sorted(lead_events, key=lambda e: e.at), self.options.sample_lines, self.redactor),
            figures={
                "kind": kind,
                "target": target,
                "channel": sorted({e.channel for e in all_events}),
                "path_weights": _path_weights(all_events),
                "attacker": valid[0] if valid else None,
                "attackers": valid[:50],
                "unparsable_sources": unparsed[:10],
                "failures": total,
                "failures_by_source": {
                    s: sum(e.count for e in evs) for s, (_, evs) in ranked if s in valid[:20]
                },
                "accounts": accounts[:50],
                "threshold": self.options.max_failures,
                "find_time_s": int(self.options.find_time.total_seconds()),
            },
        )
        base = 0.6 if kind == "brute_force" else 0.65
        return Finding(
            investigator=INVESTIGATOR,
            component=target,
            title=f"{channel} {what} against {target} from {_who(valid)}",
            summary=(
                f"{target}: {total} failed {channel} attempts from {len(ranked)} source(s), led by {detail}"
            ),
            confidence=_rising(base, 0.88, total - self.options.max_failures, 60.0),
            evidence=[evidence],
            category=Category.SECURITY,
            severity=Severity.HIGH,
            indicator=f"failed logins ({what}) from {_who(valid) if valid else lead_name}",
            onset=all_events[0].at,
        )

    def _distributed_finding(
        self, target: str, distributed: dict[str, list[str]], by_account: Mapping[str, list[AuthEvent]]
    ) -> Finding:
        ranked = sorted(distributed.items(), key=lambda item: -len(item[1]))
        account, sources = ranked[0]
        events = sorted((e for acc, _ in ranked for e in by_account[acc]), key=lambda e: e.at)
        all_sources = sorted({s for _, srcs in ranked for s in srcs})
        total = sum(e.count for e in events)
        channel = _channel_name(events)
        evidence = Evidence(
            source=target,
            kind="auth_distributed",
            summary=(
                f"{channel} failures for {account} from {len(sources)} sources, each under the per-source "
                f"threshold of {self.options.max_failures}"
            ),
            at_from=events[0].at,
            at_to=events[-1].at,
            query=(
                f"distinct sources failing per account, sliding {self.options.spread_time}, "
                f"threshold {self.options.distributed_sources}"
            ),
            lines=_sample(
                sorted(by_account[account], key=lambda e: e.at), self.options.sample_lines, self.redactor
            ),
            figures={
                "kind": "distributed",
                "target": target,
                "channel": sorted({e.channel for e in events}),
                "path_weights": _path_weights(events),
                "account": account,
                "accounts": [acc for acc, _ in ranked][:50],
                "attackers": all_sources[:100],
                "sources": len(all_sources),
                "failures": total,
            },
        )
        return Finding(
            investigator=INVESTIGATOR,
            component=target,
            title=f"distributed {channel} attempts on {account} at {target} from {len(sources)} sources",
            summary=(
                f"{target}: the account {account} failed from {len(sources)} different sources, each staying "
                f"under the brute-force threshold: a distributed attack"
            ),
            confidence=_rising(0.5, 0.85, len(all_sources) - self.options.distributed_sources, 10.0),
            evidence=[evidence],
            category=Category.SECURITY,
            severity=Severity.HIGH,
            indicator=f"failed logins for {account} from {len(all_sources)} sources",
            onset=events[0].at,
        )
