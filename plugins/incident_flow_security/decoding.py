"""Decode a request value the way the application will, before looking for attacks in it.

Attackers hide payloads behind encodings that a naive match never sees: ``%27`` for a quote,
``%252e%252e%252f`` (encoded twice) for ``../``, ``%u003c`` (IIS's Unicode escape) or the overlong
UTF-8 ``%c0%af`` for ``/``, ``+`` for a space, HTML entities, ``\\x3c`` escapes, fullwidth letters
that Unicode normalisation folds to ASCII (``＜script＞``). The OWASP Core Rule Set runs its rules after
transformations of this kind (``urlDecodeUni``, ``htmlEntityDecode``, ``jsDecode``, ``utf8toUnicode``,
``removeNulls``, ``compressWhitespace``, ``lowercase``); :func:`decode` does the same, and records
which evasions it undid, since using one is itself a sign of attack.

It never raises: any ``str`` decodes to some text.
"""

from __future__ import annotations

import html
import re
import unicodedata

import attrs

__all__ = ["MAX_LENGTH", "Decoded", "decode", "percent_decode"]

MAX_LENGTH = 8192
"""Longer values are cut here: a rule needs the payload, not megabytes of padding around it."""

_ESCAPES = re.compile(
    r"(?P<bytes>(?:%[0-9A-Fa-f]{2})+)|%[uU](?P<unicode>[0-9A-Fa-f]{4})|(?P<hexbytes>(?:\\x[0-9A-Fa-f]{2})+)"
    r"|\\u(?P<jsunicode>[0-9A-Fa-f]{4})|\\u\{(?P<jsbrace>[0-9A-Fa-f]{1,6})\}"
)
_STILL_ENCODED = re.compile(r"%(?:[0-9A-Fa-f]{2}|[uU][0-9A-Fa-f]{4})")
_STILL_ESCAPED = re.compile(r"\\(?:x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|u\{[0-9A-Fa-f]{1,6}\})")
_ENTITY = re.compile(r"&(?:#[0-9]{1,8}|#[xX][0-9A-Fa-f]{1,8}|[A-Za-z][A-Za-z0-9]{1,31});?")
_PLAIN = re.compile(r"[A-Za-z0-9_.,:/=\-]*")
_HORIZONTAL_SPACE = re.compile(r"[ \t\x0b\x0c\xa0]+")
_CONTROL = re.compile(r"[\x01-\x08\x0e-\x1f\x7f]")


@attrs.frozen
class Decoded:
    """A value after decoding: ``text`` is what the rules read; ``flags`` name the evasions undone.

    Flags: ``multiple_encoding`` (still encoded after one round), ``unicode_escape`` (``%uXXXX``),
    ``overlong_utf8``, ``null_byte``, ``html_entities``, ``js_escape``, ``fullwidth`` (Unicode
    compatibility forms folded by NFKC), ``newline`` (a line break inside a value).
    """

    raw: str
    text: str
    flags: frozenset[str] = frozenset()


def _continuation(data: bytes, start: int, count: int) -> bool:
    return start + count <= len(data) and all(0x80 <= data[start + k] <= 0xBF for k in range(count))


def _utf8_lenient(data: bytes, flags: set[str]) -> str:
    """Bytes as text: UTF-8 where it is UTF-8 (overlong forms included, as old decoders accepted
    them), Latin-1 for any other byte, so ``%F1`` in a Spanish form still reads as ``ñ``."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    out: list[str] = []
    i = 0
    n = len(data)
    while i < n:
        b0 = data[i]
        if b0 < 0x80:
            out.append(chr(b0))
            i += 1
            continue
        if 0xC0 <= b0 <= 0xDF and _continuation(data, i + 1, 1):
            cp = ((b0 & 0x1F) << 6) | (data[i + 1] & 0x3F)
            if cp < 0x80:
                flags.add("overlong_utf8")
            out.append(chr(cp))
            i += 2
            continue
        if 0xE0 <= b0 <= 0xEF and _continuation(data, i + 1, 2):
            cp = ((b0 & 0x0F) << 12) | ((data[i + 1] & 0x3F) << 6) | (data[i + 2] & 0x3F)
            if cp < 0x800:
                flags.add("overlong_utf8")
            out.append("\ufffd" if 0xD800 <= cp <= 0xDFFF else chr(cp))
            i += 3
            continue
        if 0xF0 <= b0 <= 0xF7 and _continuation(data, i + 1, 3):
            cp = (
                ((b0 & 0x07) << 18)
                | ((data[i + 1] & 0x3F) << 12)
                | ((data[i + 2] & 0x3F) << 6)
                | (data[i + 3] & 0x3F)
            )
            if cp < 0x10000:
                flags.add("overlong_utf8")
            out.append("\ufffd" if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF else chr(cp))
            i += 4
            continue
        out.append(chr(b0))  # Latin-1
        i += 1
    return "".join(out)


def _code_point(hex_digits: str) -> str:
    value = int(hex_digits, 16)
    if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        return "\ufffd"
    return chr(value)


def percent_decode(text: str, flags: set[str] | None = None) -> str:
    """One round of URL decoding (``%XX`` as UTF-8 bytes, ``%uXXXX``), plus ``\\xXX`` and ``\\uXXXX``.

    ``+`` is left alone: whether it means a space depends on where the value came from.
    """
    seen = flags if flags is not None else set()

    def replace(match: re.Match[str]) -> str:
        group = match.lastgroup
        token = match.group()
        if group == "bytes":
            return _utf8_lenient(bytes.fromhex(token.replace("%", "")), seen)
        if group == "hexbytes":
            return _utf8_lenient(bytes.fromhex(token.replace("\\x", "").replace("\\X", "")), seen)
        if group == "unicode":
            seen.add("unicode_escape")
            return _code_point(match.group("unicode"))
        seen.add("js_escape")
        return _code_point(match.group("jsunicode") or match.group("jsbrace"))

    return _ESCAPES.sub(replace, text)


def decode(value: str, *, plus_as_space: bool = True, rounds: int = 3) -> Decoded:
    """Decode ``value`` (a path, a query parameter, a header) into the lower-case text rules read.

    ``plus_as_space`` is right for query strings and form bodies; ``rounds`` bounds repeated URL
    decoding (an attacker who encodes ten times gains nothing: three rounds already flag it).
    """
    raw = value[:MAX_LENGTH]
    if raw.isascii() and _PLAIN.fullmatch(raw):
        # Nothing to decode (the common case): letters, digits and harmless punctuation.
        return Decoded(raw=raw, text=raw.lower(), flags=frozenset())
    flags: set[str] = set()
    text = raw.replace("+", " ") if plus_as_space else raw
    text = percent_decode(text, flags)
    for _ in range(max(rounds - 1, 0)):
        encoded = _STILL_ENCODED.search(text) is not None
        if not encoded and not _STILL_ESCAPED.search(text):
            break
        again = percent_decode(text, flags)
        if again == text:
            break
        if encoded:
            flags.add("multiple_encoding")
        text = again
    if "&" in text:
        for _ in range(2):  # &amp;lt; is two layers
            if not _ENTITY.search(text):
                break
            unescaped = html.unescape(text)
            if unescaped == text:
                break
            flags.add("html_entities")
            text = unescaped
    normalised = unicodedata.normalize("NFKC", text)
    if normalised != text and any(0xFF00 <= ord(c) <= 0xFFEF for c in text):
        flags.add("fullwidth")
    text = normalised
    if "\x00" in text:
        flags.add("null_byte")
        text = text.replace("\x00", "")
    if "\n" in text or "\r" in text:
        flags.add("newline")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub(" ", text)
    text = _HORIZONTAL_SPACE.sub(" ", text).lower()
    return Decoded(raw=raw, text=text, flags=frozenset(flags))
