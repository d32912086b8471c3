"""What kind of fault a log message reports, and the category of cause it points to.

These are facts of how systems fail, true of logs in general: a refused connection, a DNS failure,
an expired certificate, the kernel's OOM killer, a full disk, an exhausted pool. A message matching
none of them is still counted as an error pattern; it just says nothing about the kind of cause.
"""

from __future__ import annotations

import re

import attrs

from incident_flow import Category

__all__ = ["STEMS", "Fault", "classify"]


@attrs.frozen
class Fault:
    kind: str
    category: Category
    #: Whether the message blames a peer (the dependency it names) rather than its own component.
    names_peer: bool


# The patterns are written in lower case and matched against the lowered text: one lowering per
# record, then a single combined pass that most records fail, instead of eleven case-folding scans.
_PATTERNS: tuple[tuple[str, Fault], ...] = tuple(
    (pattern, fault)
    for pattern, fault in (
        (
            r"\b(name or service not known|nxdomain|could not resolve|no such host|temporary failure in name "
            r"resolution|unknownhostexception|dns|eai_again|enotfound|getaddrinfo|server misbehaving)\b",
            Fault("dns failure", Category.INFRASTRUCTURE, True),
        ),
        (
            r"\b(certificate|x509|ssl|tls)\b.*\b(expired|verify|invalid|unknown|handshake|failed|error)\b|"
            r"\bcertificate has expired\b",
            Fault("tls error", Category.INFRASTRUCTURE, True),
        ),
        (
            r"\b(connection refused|econnrefused|connection reset|econnreset|broken pipe|no route to host|"
            r"network is unreachable|host is unreachable|ehostunreach|connection closed by peer)\b",
            Fault("connection failure", Category.INFRASTRUCTURE, True),
        ),
        (
            r"\b(connect(ion)? timed out|connect timeout|read timed out|timed out|timeout|deadline exceeded|"
            r"etimedout|upstream timed out)\b",
            Fault("timeout", Category.INFRASTRUCTURE, True),
        ),
        (
            r"\b(out of memory|oom|killed process|memoryerror|outofmemoryerror|cannot allocate memory|"
            r"memory limit)\b",
            Fault("out of memory", Category.INFRASTRUCTURE, False),
        ),
        (
            r"\b(no space left on device|disk full|enospc|disk quota exceeded|filesystem full)\b",
            Fault("disk full", Category.INFRASTRUCTURE, False),
        ),
        (
            # The kernel's block layer and filesystems, and programs whose writes failed under them
            # (EIO). Spring's "I/O error on GET request" wraps any network error, so it is not one.
            r"\b(input/output error|eio|buffer i/o error|i/o error,? dev|read-only file system|"
            r"remounting filesystem read-only|aborted journal)\b",
            Fault("disk i/o error", Category.INFRASTRUCTURE, False),
        ),
        (
            # kubelet (or an orchestrator) reporting that a container keeps dying: the container's
            # fault, witnessed by the node.
            r"\b(crashloopbackoff|back-off \S+ restarting failed container)\b",
            Fault("crash loop", Category.INFRASTRUCTURE, True),
        ),
        (
            r"\b(too many open files|emfile)\b",
            Fault("file descriptors exhausted", Category.INFRASTRUCTURE, False),
        ),
        (
            r"\b(pool (is )?exhausted|queuepool limit|too many connections|remaining connection slots|"
            r"connection pool|pool timeout|could not obtain connection)\b",
            Fault("connection pool exhausted", Category.PERFORMANCE, False),
        ),
        (
            r"\b(deadlock|lock wait timeout|could not obtain lock|lock timeout)\b",
            Fault("lock contention", Category.PERFORMANCE, False),
        ),
        (
            r"\b(rate limit\w*|too many requests|throttl\w*|(status|http|code)[ =:]*429)\b",
            Fault("throttled", Category.PERFORMANCE, True),
        ),
        (
            r"\b(segfault|segmentation fault|core dumped|panic|fatal error)\b",
            Fault("crash", Category.INFRASTRUCTURE, False),
        ),
    )
)


_RULES = tuple((re.compile(pattern), fault) for pattern, fault in _PATTERNS)
_ANY = re.compile("|".join(f"(?:{pattern})" for pattern, _ in _PATTERNS))
#: Plain substrings at least one of which is in every text the patterns match (a test checks it
#: on texts generated from the patterns): a dozen ``in`` tests cost a tenth of the combined regex,
#: which most lines would fail anyway.
STEMS = (
    "not known", "nxdomain", "resol", "such host", "unknownhost", "dns", "eai_again", "enotfound",
    "getaddrinfo", "misbehav", "certificate", "x509", "ssl", "tls", "refused", "connection reset",
    "econnreset", "broken pipe", "no route", "unreach", "closed by peer", "timed out", "timeout",
    "etimedout", "deadline", "memory", "oom", "killed process", "no space", "disk", "enospc",
    "filesystem full", "i/o", "input/output", "eio", "read-only", "aborted journal", "crashloop",
    "restarting failed", "open files", "emfile", "pool", "too many", "connection slots", "obtain",
    "deadlock", "rate limit", "throttl", "429", "segfault", "segmentation", "core dumped", "panic",
    "fatal error",
)  # fmt: skip


def classify(message: str) -> Fault | None:
    """The first fault kind the message reports, or None."""
    lowered = message.lower()
    if not any(stem in lowered for stem in STEMS) or not _ANY.search(lowered):
        return None
    for pattern, fault in _RULES:
        if pattern.search(lowered):
            return fault
    return None
