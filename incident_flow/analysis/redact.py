"""Redact secrets and personal data from text before it is shown, stored or sent anywhere.

Logs are full of things that must not travel: a password in a query string, a bearer token in a
header dump, a cloud key in a stack trace, a customer's card number or e-mail. A report that
quotes a log line would repeat them, and the LLM layer would send them to a third party. Every
piece of log text that leaves an investigator goes through here first.

Each secret is replaced by a placeholder that names its kind and numbers it, ``[REDACTED-EMAIL-1]``:

- **stable**: within one :class:`Redactor`, the same secret always gets the same placeholder, so a
  reader (or a model) can still see that two lines name the same account or the same token;
- **reversible**: the :class:`Redactor` keeps the mapping, so a tool answer that quotes a
  placeholder can be mapped back on the machine that owns the data (:meth:`Redactor.restore`);
- **idempotent**: redacting redacted text changes nothing, and a placeholder is never mistaken for
  a secret.

The rules are about the shape of secrets in general (documented token prefixes, JWTs, PEM blocks,
``key=value`` pairs whose key names a secret, credentials inside URLs), not about any one log.
All rules are one regular expression scanned left to right, so the leftmost, widest secret wins
(``password=a@b.example`` is one password, not an e-mail inside a password), and the scan repeats
until nothing changes, which is what makes the result idempotent.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

__all__ = ["KINDS", "PLACEHOLDER", "Redactor", "luhn_valid", "redact"]

PLACEHOLDER = re.compile(r"\[REDACTED-([A-Z][A-Z0-9_]*)-(\d+)\]")
"""What a placeholder looks like: ``[REDACTED-<KIND>-<n>]``."""

_MAX_PASSES = 4
_NOT_PLACEHOLDER = r"(?!\[REDACTED-[A-Z0-9_]+-\d+\])"

# Keys whose value is a secret. A key *ending* in one of these counts too (``db_password``,
# ``X-Api-Key``, ``aws_secret_access_key``); the short ones must be the whole key (``pwd``, ``pass``),
# or ``bypass=1`` would lose its value.
_SECRET_KEY_SUFFIXES = (
    r"password|passwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key"
    r"|private[_-]?key|account[_-]?key|accountkey|sharedaccesskey|credentials?|auth|jsessionid"
    r"|session[_-]?id|sessionid|signature"
)
_SECRET_KEY_WHOLE = r"pwd|pass|pw|passwort|contrase(?:ñ|n)a|senha|sig"

_RULES: tuple[tuple[str, str], ...] = (
    # PEM private keys, whole; when the END line is missing, up to the end of the base64 body
    # (log lines often carry the key with literal "\n" escapes).
    (
        "PRIVATE_KEY",
        r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]{0,10000}?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\:,.-]*)",
    ),
    # Credentials inside a URL or connection string: scheme://user:password@host. Only the password.
    (
        "URL_PASSWORD",
        r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,31}://[^\s:/@\[\]]*:"
        rf"(?P<URL_PASSWORD>{_NOT_PLACEHOLDER}[^\s@/\[\]]+)@",
    ),
    # Documented token formats.
    (
        "AWS_ACCESS_KEY",
        r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])",
    ),
    ("GCP_API_KEY", r"AIza[0-9A-Za-z_\-]{35}"),
    ("GITHUB_TOKEN", r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})"),
    ("GITLAB_TOKEN", r"glpat-[A-Za-z0-9_\-]{20,}"),
    ("SLACK_TOKEN", r"xox[abposr]-[A-Za-z0-9\-]{10,}"),
    ("SLACK_WEBHOOK", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]{20,}"),
    ("STRIPE_KEY", r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("LLM_API_KEY", r"sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}"),
    ("GOOGLE_OAUTH_TOKEN", r"ya29\.[0-9A-Za-z_\-]{20,}"),
    ("NPM_TOKEN", r"npm_[A-Za-z0-9]{36}"),
    ("PYPI_TOKEN", r"pypi-[A-Za-z0-9_\-]{50,}"),
    ("SENDGRID_KEY", r"SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64}"),
    ("JWT", r"eyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*"),
    # Authorization header values.
    (
        "BEARER_TOKEN",
        r"\b(?i:bearer|basic|digest)\s+(?P<BEARER_TOKEN>" + _NOT_PLACEHOLDER + r"[A-Za-z0-9._~+/=\-]{8,})",
    ),
    # key=value, key: value, "key": "value" where the key names a secret.
    (
        "SECRET",
        # Only the end of the key is matched (``password`` in ``db_password``): a pattern for the
        # whole key would be tried at every position of every line, twenty times slower.
        # The look-ahead on the first letter lets the engine skip most positions at once.
        r"(?=[PpSsTtAaCcJj])(?i:(?:"
        + _SECRET_KEY_SUFFIXES
        + r")|(?<![A-Za-z0-9])(?:"
        + _SECRET_KEY_WHOLE
        + r"))"
        r"[\"']?\s{0,3}(?:=|:(?!//))\s{0,3}"
        r"(?:\"(?P<SECRET_DQ>" + _NOT_PLACEHOLDER + r"[^\"\n]{1,512})\""
        r"|'(?P<SECRET_SQ>" + _NOT_PLACEHOLDER + r"[^'\n]{1,512})'"
        r"|(?P<SECRET_BARE>[^\s&;,\"'<>\[\](){}]{1,512}))",
    ),
    # Payment card numbers: 13-19 digits, optionally grouped; checked with Luhn and the issuer prefix.
    ("CARD_NUMBER", r"(?<![\w\-])(?:\d[ \-]?){12,18}\d(?![\w\-])"),
    ("EMAIL", r"[A-Za-z0-9._%+\-]{1,64}@(?:[A-Za-z0-9\-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9\-])"),
)

KINDS: tuple[str, ...] = tuple(kind for kind, _ in _RULES)
"""Every kind of secret the redactor knows, in the order its rules are tried."""

# The named group that holds the secret part of a match, per rule (absent: the whole match).
_SECRET_GROUPS: dict[str, tuple[str, ...]] = {
    "URL_PASSWORD": ("URL_PASSWORD",),
    "BEARER_TOKEN": ("BEARER_TOKEN",),
    "SECRET": ("SECRET_DQ", "SECRET_SQ", "SECRET_BARE"),
}

# Issuer prefixes of the card networks: a Luhn-valid number without one is an id, not a card.
_CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|3[068]|6(?:011|5|4[4-9]|22)|35|62|81)")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum that every payment card number satisfies."""
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _is_card(text: str) -> bool:
    digits = text.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and bool(_CARD_PREFIX.match(digits)) and luhn_valid(digits)


def _card_within(text: str) -> tuple[int, int] | None:
    """The span of the leftmost, longest card number inside a run of grouped digits.

    The pattern takes the longest run it can (``4000 0000 0000 0006 0`` is one run); the card may be
    any stretch of it that starts and ends at a group boundary.
    """
    starts = [0] + [i + 1 for i, c in enumerate(text) if c in " -"]
    ends = [i for i, c in enumerate(text) if c in " -"] + [len(text)]
    for start in starts:
        for end in reversed(ends):
            if end > start and _is_card(text[start:end]):
                return start, end
    return None


_SECRET_WORDS = (
    "password", "passwd", "passphrase", "secret", "token", "key", "credential", "auth", "session",
    "signature", "pwd", "pass", "pw", "sig", "passwort", "contrase", "senha",
)  # fmt: skip
_AWS_PREFIXES = ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ABIA", "ACCA")

# A cheap look for each rule's unavoidable part (a fixed prefix, an "@", a keyword), given the text
# and its lower-case form: only the rules whose part is there go into the pattern that scans it.
# Most log lines hold no secret and are scanned by one or two rules instead of twenty.
_TRIGGERS: dict[str, Callable[[str, str], bool]] = {
    "PRIVATE_KEY": lambda t, _: "PRIVATE KEY" in t,
    "URL_PASSWORD": lambda t, _: "://" in t,
    "AWS_ACCESS_KEY": lambda t, _: any(p in t for p in _AWS_PREFIXES),
    "GCP_API_KEY": lambda t, _: "AIza" in t,
    "GITHUB_TOKEN": lambda t, _: "gh" in t,
    "GITLAB_TOKEN": lambda t, _: "glpat-" in t,
    "SLACK_TOKEN": lambda t, _: "xox" in t,
    "SLACK_WEBHOOK": lambda t, _: "hooks.slack.com" in t,
    "STRIPE_KEY": lambda t, _: "_live_" in t or "_test_" in t,
    "LLM_API_KEY": lambda t, _: "sk-" in t,
    "GOOGLE_OAUTH_TOKEN": lambda t, _: "ya29." in t,
    "NPM_TOKEN": lambda t, _: "npm_" in t,
    "PYPI_TOKEN": lambda t, _: "pypi-" in t,
    "SENDGRID_KEY": lambda t, _: "SG." in t,
    "JWT": lambda t, _: "eyJ" in t,
    "BEARER_TOKEN": lambda _, low: "bearer" in low or "basic" in low or "digest" in low,
    "SECRET": lambda _, low: any(word in low for word in _SECRET_WORDS),
    "EMAIL": lambda t, _: "@" in t,
}


def _validate(kinds: Iterable[str]) -> tuple[str, ...]:
    wanted = set(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown redaction kinds: {', '.join(sorted(unknown))}; known: {', '.join(KINDS)}")
    return tuple(kind for kind in KINDS if kind in wanted)


@functools.lru_cache(maxsize=256)
def _compile(kinds: tuple[str, ...]) -> re.Pattern[str] | None:
    parts = [f"(?P<_{kind}>{pattern})" for kind, pattern in _RULES if kind in kinds]
    return re.compile("|".join(parts)) if parts else None


class Redactor:
    """Replaces secrets with numbered placeholders and remembers what each one stood for.

    One redactor per conversation or report keeps placeholders stable across all the text it sees:
    the same token is ``[REDACTED-JWT-1]`` in every line. ``kinds`` limits the rules to a subset of
    :data:`KINDS` (for instance, to keep e-mail addresses where they are the point).
    """

    def __init__(self, kinds: Iterable[str] | None = None) -> None:
        self._kinds = KINDS if kinds is None else _validate(kinds)
        self._by_secret: dict[tuple[str, str], str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._next: Counter[str] = Counter()
        self._taken: set[str] = set()
        self.counts: Counter[str] = Counter()
        """How many secrets of each kind were replaced (repeats included)."""

    @property
    def mapping(self) -> Mapping[str, str]:
        """Placeholder to original text, for :meth:`restore` and for audit on the owning machine."""
        return dict(self._by_placeholder)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by its placeholder. Never raises on any ``str``."""
        if not text:
            return text
        # A placeholder-like text already present (from an earlier redaction, or typed by someone)
        # keeps its number, so a new secret never takes a placeholder that means something else.
        for match in PLACEHOLDER.finditer(text):
            self._taken.add(match.group())
        low = text.lower()
        pattern = _compile(tuple(k for k in self._kinds if k not in _TRIGGERS or _TRIGGERS[k](text, low)))
        if pattern is None:
            return text
        for _ in range(_MAX_PASSES):
            redacted = pattern.sub(self._replace, text)
            if redacted == text:
                break
            text = redacted
        return text

    def restore(self, text: str) -> str:
        """Put the originals back in place of the placeholders this redactor made."""
        for _ in range(_MAX_PASSES):
            restored = PLACEHOLDER.sub(lambda m: self._by_placeholder.get(m.group(), m.group()), text)
            if restored == text:
                break
            text = restored
        return text

    def _placeholder(self, kind: str, secret: str) -> str:
        key = (kind, secret)
        found = self._by_secret.get(key)
        if found is not None:
            return found
        while True:
            self._next[kind] += 1
            candidate = f"[REDACTED-{kind}-{self._next[kind]}]"
            if candidate not in self._taken:
                break
        self._taken.add(candidate)
        self._by_secret[key] = candidate
        self._by_placeholder[candidate] = secret
        return candidate

    def _replace(self, match: re.Match[str]) -> str:
        kind = (match.lastgroup or "_")[1:]
        if kind != "CARD_NUMBER" and kind not in _SECRET_GROUPS:
            whole = match.group()
            return self._substitute(kind, whole, 0, len(whole))
        if kind == "CARD_NUMBER":
            whole = match.group()
            span = _card_within(whole)
            return whole if span is None else self._substitute(kind, whole, *span)
        whole = match.group()
        for group in _SECRET_GROUPS[kind]:
            value = match.group(group)
            if value:
                start = match.start(group) - match.start()
                return self._substitute(kind, whole, start, start + len(value))
        return whole

    def _substitute(self, kind: str, whole: str, start: int, end: int) -> str:
        secret = whole[start:end]
        if not secret or PLACEHOLDER.fullmatch(secret):
            return whole
        self.counts[kind] += 1
        return whole[:start] + self._placeholder(kind, secret) + whole[end:]


def redact(text: str, kinds: Iterable[str] | None = None) -> str:
    """``text`` with secrets and personal data replaced by placeholders (see :class:`Redactor`).

    Each call numbers its placeholders afresh, so the same text always redacts to the same result;
    use one :class:`Redactor` to keep numbers stable across several texts or to reverse them.
    """
    return Redactor(kinds).redact(text)
