"""Mask the variable parts of a log message so that the messages of one event look alike.

One compiled pattern does all the work in a single left-to-right pass, so a value is replaced once
and never re-scanned (an IP inside a URL does not leave half a URL behind), and the cost per message
is one ``re.sub``. Every rule is about the shape of values in logs in general, never about a
particular log. Masked, each as one ``<*>``:

- URLs (``scheme://...``) and file paths (``/a/b``, ``./a``, ``~/a``, ``C:\\a``);
- UUIDs; colon-separated hex groups holding a digit: IPv6 addresses, MAC addresses, times of day;
- endpoints: IPv4 with an optional port, Java's ``host/1.2.3.4:80``, ``db-1.example.com:5432``;
- ISO dates and timestamps, and dates written with names (``Sun Jul 10 03:55:15 2005``);
- hex numbers (``0x1f``);
- quantities with a separate abbreviated unit (``16.0 KB``, ``350 ms``, ``<1 sec``): human-readable
  sizes and durations change their unit with the value;
- quoted words (``'x'``, ``"x"``; the quotes stay) and values in escaped quotes (``\\042x\\042``);
- an empty value in brackets standing alone (``from 10.0.0.1 () at``);
- any other token that holds a digit: numbers, signed, decimal, with units (``12ms``, ``10KB``),
  identifiers such as ``blk_-42`` or ``node-17``; a digit is the most reliable single sign of a
  variable in log messages. Except a name that carries one digit (``ssh2``, ``eth0``): the miner
  decides those by whether they vary.

Each value becomes its own ``<*>`` (``delete b1 b2 b3`` gives three); the miner, not the mask, lets
lists of values vary in length.
"""

from __future__ import annotations

import re

WILDCARD = "<*>"
"""The text that stands for a variable in masked messages and templates."""

# Characters that end a token. A variable starts right after one of these (or at the start).
_DELIMS = r"\s=:,;()\[\]{}<>|\"'"
# A variable starts a token: at the start, after a delimiter or after a run of dots (``depth....4``).
_START = rf"(?:(?<![^{_DELIMS}])|(?<=\.\.)(?!\.))"
_END = rf"(?=[{_DELIMS}]|\.?(?:\s|$)|$)"  # a delimiter, a sentence's full stop, or the end

_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_DAYS = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
_HEX4 = "[0-9A-Fa-f]{1,4}"

# Rules: (name, regex, must end at a token boundary). Order matters: at one position the first rule
# that matches wins. The first group is tried at every token start; the second only at a token that
# holds a digit, a slash or a backslash, or is followed by ':' (a cheap look-ahead settles that, so
# the common plain word costs one scan instead of one per rule).
_ANYWHERE: tuple[tuple[str, str, bool], ...] = (
    # A quoted word is a value (the quotes stay); quoted text with spaces is a phrase, such as an HTTP
    # request line, and is left to the other rules.
    (
        "quoted",
        r"(?:(?<=[\s=:(\[{,]')|(?<=^'))[^'\s]+(?='(?:[\s,;:.)\]}]|$))"
        r'|(?:(?<=[\s=:(\[{,]")|(?<=^"))[^"\s]+(?="(?:[\s,;:.)\]}]|$))',
        False,
    ),
    # An empty value in brackets that stand alone (``from 10.0.0.1 () at``), unlike a call ``f()``.
    ("empty", r"(?<=\s\()(?=\))|(?<=\s\[)(?=\])", False),
)
_VALUES: tuple[tuple[str, str, bool], ...] = (
    # Whole values with inner structure (':' '/' '.' would otherwise cut them in pieces).
    ("url", r"[A-Za-z][A-Za-z0-9+.\-]{0,31}://[^\s\"'<>()\[\]{},;]+", False),
    ("uuid", r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}", True),
    (
        "timestamp",
        r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[T\s-]\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:[.,]\d+)?)?"
        r"(?:Z|[+-]\d{2}:?\d{2})?",
        True,
    ),
    # Colon-separated hex groups holding a digit: IPv6 (also with '::'), MAC addresses, times of day.
    (
        "hexgroups",
        rf"(?=[0-9A-Fa-f:]{{0,48}}\d)(?:{_HEX4}(?::{{1,2}}{_HEX4}){{2,15}}(?:::)?"
        rf"|{_HEX4}::(?:{_HEX4}(?::{_HEX4})*)?|::{_HEX4}(?::{_HEX4})*)",
        True,
    ),
    # An endpoint is one value: IPv4 with its port, Java's ``host/1.2.3.4:80``, ``db-1.example:5432``.
    ("ipv4", r"(?:[\w.\-]{0,64}/)?(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?", True),
    ("hostport", r"(?:[A-Za-z0-9\-]+\.)+[A-Za-z0-9\-]+:\d{1,5}|[A-Za-z\-]*\d[\w\-]*:\d{1,5}", True),
    ("path", r"(?:~|\.{1,2})?/[^\s\"'<>()\[\]{},;:=|]+|[A-Za-z]:\\[^\s\"'<>()\[\]{},;|]+", False),
    ("hex", r"0[xX][0-9A-Fa-f]+", True),
    # Escaped quotes (``\"x\"``, octal ``\042x\042`` as C and syslog print them) go with the value.
    ("escaped-quoted", r'\\042(?:(?!\\042)[^\n])*?\\042|\\"[^"\n]*?\\"', False),
    # A quantity and its abbreviated unit are one value: human-readable formatters change the unit
    # with the magnitude (``512 B`` / ``16.0 KB``, ``350 ms`` / ``1.2 s``); a bound sign goes with it.
    # A unit written in full (``for 60 seconds``) is the sentence's own word and stays.
    ("quantity", r"[<>~]?[-+]?\d+(?:\.\d+)?\s(?:[KMGTPE]i?B|B|[nuµm]?s|secs?|mins?|h|hrs?)(?!\w)", False),
    # Any other token holding a digit; a trailing full stop stays outside. Not a name that merely
    # carries one digit (ssh2, eth0, Slf4jLogger, utf8): those are more often constants, and the
    # miner's statistics make them variables when they do vary.
    (
        "digits",
        rf"(?![A-Za-z]{{2,}}\d[A-Za-z]*{_END})(?:[^{_DELIMS}.]|\.(?!\.))*?\d(?:[^{_DELIMS}.]|\.(?![.\s]|$))*",
        False,
    ),
)
# A date written with names (syslog, ctime): the only variable that starts with a plain word.
_NAMED_TIME = (
    "named-timestamp",
    rf"(?:(?:{_DAYS}),?\s+)?(?:{_MONTHS})[a-z]*\.?\s+\d{{1,2}},?\s+(?:\d{{4}}\s+)?"
    rf"\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?:[.,]\d+)?(?:\s+\d{{4}})?",
    True,
)
_RULES = (*_ANYWHERE, *_VALUES, _NAMED_TIME)


def _alternation(rules: tuple[tuple[str, str, bool], ...]) -> str:
    return "|".join(f"(?:{rx}){_END if bounded else ''}" for _, rx, bounded in rules)


def _compile() -> re.Pattern[str]:
    """One pattern for all rules, so a message is masked in a single pass."""
    value_token = rf"(?=[<>~]?(?:[^{_DELIMS}.]|\.(?!\.))*[\d/\\:])"  # up to the token's end or a '..'
    body = (
        f"{_alternation(_ANYWHERE)}|{value_token}(?:{_alternation(_VALUES)})|{_alternation((_NAMED_TIME,))}"
    )
    # Every variable starts a token: the lookbehind makes positions inside a token fail at once,
    # which keeps the pass linear in the length of the message.
    return re.compile(rf"{_START}(?:{body})")


_MASK = _compile()
_SPACES = re.compile(r"\s+")

# Kept for readers and tests: the rules by name.
RULE_NAMES: tuple[str, ...] = tuple(name for name, _, _ in _RULES)


def mask(message: str) -> str:
    """Return ``message`` with every variable replaced by ``<*>`` and white space normalised.

    Runs of white space become one space and the ends are trimmed: layout is not meaning.
    """
    masked = _MASK.sub(WILDCARD, message)
    masked = _SPACES.sub(" ", masked).strip()
    return masked
