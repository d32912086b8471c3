"""Just enough SQL reading to suggest an index: which tables a statement reads, filtered on what.

``pg_stat_statements`` gives normalised text (``WHERE customer_ref = $1``). A missing index shows as
a statement that is slow, a table it reads with sequential scans over most of its rows, and a
column it filters on that no index starts with. This module finds the tables (with their aliases)
and the filtered columns; the database tells which columns exist and which indexes there are.
It is a heuristic on purpose: the DDL it leads to is a proposal a person reviews, never run.
"""

from __future__ import annotations

import re

import attrs

__all__ = ["Predicate", "StatementShape", "read_statement"]

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_NAME = rf"{_IDENT}(?:\s*\.\s*{_IDENT})?"
_KEYWORDS = {
    "where",
    "join",
    "on",
    "left",
    "right",
    "inner",
    "outer",
    "full",
    "cross",
    "natural",
    "lateral",
    "group",
    "order",
    "limit",
    "offset",
    "fetch",
    "for",
    "set",
    "using",
    "union",
    "intersect",
    "except",
    "having",
    "window",
    "returning",
    "values",
    "select",
    "only",
    "tablesample",
    "and",
    "or",
    "not",
    "as",
}
_TABLE_LIST = re.compile(
    rf"\b(from|join|update|into)\s+(?:only\s+)?(?P<rest>{_NAME}(?:\s*(?:as\s+)?{_IDENT})?)", re.I
)
_FROM_ITEM = re.compile(rf"\s*(?P<name>{_NAME})(?:\s+(?:as\s+)?(?P<alias>{_IDENT}))?\s*", re.I)
_WHERE = re.compile(
    r"\bwhere\b(?P<body>.*?)(?=\bgroup\s+by\b|\border\s+by\b|\blimit\b|\boffset\b|\bfor\s+update\b|"
    r"\breturning\b|\bunion\b|\bhaving\b|\bwindow\b|$)",
    re.I | re.S,
)
_PREDICATE = re.compile(
    rf"(?<![\w.$\"])(?:(?P<qualifier>{_IDENT})\s*\.\s*)?(?P<column>{_IDENT})\s*"
    r"(?P<op>=|<>|!=|<=|>=|<|>|\bin\b|\blike\b|\bilike\b|\bbetween\b|\bis\b|\bany\b)",
    re.I,
)
_STRING = re.compile(r"'(?:[^']|'')*'")
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)


def _unquote(name: str) -> str:
    name = name.strip()
    if name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('""', '"')
    return name.lower()


def _split_name(name: str) -> tuple[str | None, str]:
    parts = re.findall(_IDENT, name)
    if len(parts) == 2:
        return _unquote(parts[0]), _unquote(parts[1])
    return None, _unquote(parts[0])


@attrs.frozen
class Predicate:
    """A column a statement filters on: ``equality`` for ``=``/``IN``, else a range or a pattern."""

    table: tuple[str | None, str] | None
    column: str
    equality: bool


@attrs.frozen
class StatementShape:
    """The tables a statement names (schema or None, table) and the columns its WHERE filters on."""

    tables: tuple[tuple[str | None, str], ...]
    predicates: tuple[Predicate, ...]


def read_statement(query: str) -> StatementShape:
    """Tables (with aliases resolved) and WHERE predicates of a normalised statement."""
    text = _COMMENT.sub(" ", query)
    text = _STRING.sub("''", text)
    aliases: dict[str, tuple[str | None, str]] = {}
    tables: list[tuple[str | None, str]] = []
    for match in _TABLE_LIST.finditer(text):
        start = match.start("rest")
        items = [text[start:]]
        if match.group(1).lower() == "from":
            # A FROM list: ``FROM a x, b y WHERE``: up to the next keyword or parenthesis.
            clause = re.split(
                r"\b(?:where|join|group|order|limit|on|union|having|window|returning)\b|[()]",
                text[start:],
                maxsplit=1,
                flags=re.I,
            )[0]
            items = clause.split(",")
        for item in items:
            found = _FROM_ITEM.match(item)
            if found is None:
                continue
            name = _split_name(found.group("name"))
            if name[1] in _KEYWORDS or name[1].startswith("$"):
                continue
            if name not in tables:
                tables.append(name)
            aliases[name[1]] = name
            alias = found.group("alias")
            if alias and _unquote(alias) not in _KEYWORDS:
                aliases[_unquote(alias)] = name
    predicates: list[Predicate] = []
    for where in _WHERE.finditer(text):
        for found in _PREDICATE.finditer(where.group("body")):
            column = _unquote(found.group("column"))
            if column in _KEYWORDS or column.isdigit():
                continue
            qualifier = found.group("qualifier")
            table = aliases.get(_unquote(qualifier)) if qualifier else None
            op = found.group("op").lower()
            predicate = Predicate(table=table, column=column, equality=op in ("=", "in", "any", "is"))
            if predicate not in predicates:
                predicates.append(predicate)
    return StatementShape(tables=tuple(tables), predicates=tuple(predicates))
