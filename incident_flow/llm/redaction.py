"""The one gate every string passes before it is put in a request to the model.

It is :class:`~incident_flow.analysis.redact.Redactor` (cloud keys, tokens, JWTs, private keys,
passwords in URLs and connection strings, card numbers, e-mail addresses), plus IP addresses when
``redact_ips`` asks for them. IP redaction lives here rather than in the shared redactor because only
the model layer needs it and only as an option: the investigators' own evidence keeps addresses,
which an attack investigation needs to show.

One :class:`SafeText` serves a whole run, so a secret gets the same placeholder in every agent's
conversation, and the mapping stays on this machine: a placeholder the model quotes back (in a query
or in its findings) is restored locally with :meth:`SafeText.restore`.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from incident_flow.analysis.redact import PLACEHOLDER, Redactor

__all__ = ["SafeText"]

# Candidates only; ipaddress decides. IPv6 needs "::" or at least five colons, so clock times
# (14:02:12) and most ids never reach the parser, and MAC addresses fail it.
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f:]*::?[0-9A-Fa-f:.]*[0-9A-Fa-f](?![\w:])")


def _is_ip(text: str) -> bool:
    if ":" in text and "::" not in text and text.count(":") < 5:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class SafeText:
    """Redacts with stable, reversible placeholders; counts what it replaced, never logs it."""

    def __init__(self, *, redact_ips: bool = False) -> None:
        self._redactor = Redactor()
        self._redact_ips = redact_ips
        self._ip_by_value: dict[str, str] = {}
        self._ip_by_placeholder: dict[str, str] = {}
        self._ip_counts: Counter[str] = Counter()

    @property
    def counts(self) -> Mapping[str, int]:
        """How many secrets of each kind were replaced (repeats included), for the audit trail."""
        merged: Counter[str] = Counter(self._redactor.counts)
        merged.update(self._ip_counts)
        return dict(sorted(merged.items()))

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by its placeholder."""
        if not text:
            return text
        text = self._redactor.redact(text)
        if self._redact_ips:
            text = _IPV4.sub(self._ip, text)
            text = _IPV6.sub(self._ip, text)
        return text

    def redact_value(self, value: Any) -> Any:
        """Every string inside ``value`` (dicts, lists, tuples) redacted; other values as they are.

        Strings are redacted one by one *before* they are serialised: redacting JSON text would let
        a rule match across an escaped quote and leave half a secret behind.
        """
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {str(k): self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_value(v) for v in value]
        return value

    def restore(self, text: str) -> str:
        """Put back the originals of the placeholders this run made (for local use only)."""
        if not text or "[REDACTED-" not in text:
            return text
        text = PLACEHOLDER.sub(lambda m: self._ip_by_placeholder.get(m.group(), m.group()), text)
        return self._redactor.restore(text)

    def _ip(self, match: re.Match[str]) -> str:
        value = match.group()
        if PLACEHOLDER.fullmatch(value) or not _is_ip(value):
            return value
        placeholder = self._ip_by_value.get(value)
        if placeholder is None:
            placeholder = f"[REDACTED-IP_ADDRESS-{len(self._ip_by_value) + 1}]"
            self._ip_by_value[value] = placeholder
            self._ip_by_placeholder[placeholder] = value
        self._ip_counts["IP_ADDRESS"] += 1
        return placeholder
