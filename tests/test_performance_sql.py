"""Reading a normalised statement for the index suggestion: tables, aliases, filtered columns."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from incident_flow_performance.sql import Predicate, read_statement


def test_a_single_table_filter() -> None:
    shape = read_statement("SELECT id, total FROM orders WHERE customer_ref = $1")
    assert shape.tables == ((None, "orders"),)
    assert shape.predicates == (Predicate(table=None, column="customer_ref", equality=True),)


def test_aliases_schemas_and_joins_resolve() -> None:
    shape = read_statement(
        "select o.id from public.orders o join customers as c on c.id = o.customer_id "
        "where c.email = $1 and o.created_at > $2 order by o.id limit $3"
    )
    assert shape.tables == (("public", "orders"), (None, "customers"))
    assert shape.predicates == (
        Predicate(table=(None, "customers"), column="email", equality=True),
        Predicate(table=("public", "orders"), column="created_at", equality=False),
    )


def test_updates_deletes_in_lists_and_quoted_names() -> None:
    assert read_statement("UPDATE accounts SET balance = balance + $1 WHERE id = $2").predicates == (
        Predicate(table=None, column="id", equality=True),
    )
    shape = read_statement('DELETE FROM "Events" WHERE "At" < $1 AND kind IN ($2, $3)')
    assert shape.tables == ((None, "Events"),)
    assert [p.column for p in shape.predicates] == ["At", "kind"]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT count(*) FROM orders WHERE lower(email) = $1",  # an expression: no plain index helps
        "SELECT 1",
        "BEGIN",
        "SELECT * FROM orders -- WHERE customer_ref = 1",
        "SELECT * FROM orders WHERE note = 'a = b'",
    ],
)
def test_what_a_plain_index_cannot_help_has_no_usable_predicate(query: str) -> None:
    columns = [p.column for p in read_statement(query).predicates]
    assert "customer_ref" not in columns and "email" not in columns and "a" not in columns


@given(st.text(max_size=300))
def test_reading_is_total(query: str) -> None:
    shape = read_statement(query)
    assert all(p.column for p in shape.predicates)
