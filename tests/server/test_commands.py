"""Telling the server's own commands (SET, SHOW, cursors, COPY, transactions) from queries."""

from __future__ import annotations

import pytest

from c360.errors import NotSupportedError
from c360.server.commands import classify


@pytest.mark.parametrize(
    "sql, name, value",
    [
        ("SET application_name = 'psql'", "application_name", "psql"),
        ("set search_path to shop, public", "search_path", "shop, public"),
        ("SET SESSION TIME ZONE 'UTC'", "timezone", "UTC"),
        ("SET extra_float_digits = 3", "extra_float_digits", "3"),
        ('SET "DateStyle" TO \'ISO\'', "DateStyle", "ISO"),
    ],
)
def test_set_statements_give_name_and_value(sql, name, value):
    command = classify(sql)
    assert (command.kind, command.name, command.value) == ("set", name, value)


def test_show_with_spaces_maps_to_the_setting_name():
    assert classify("SHOW TRANSACTION ISOLATION LEVEL").name == "transaction_isolation"


@pytest.mark.parametrize(
    "sql, count",
    [("FETCH FORWARD 100 FROM \"c_1\"", 100), ("FETCH 5 IN c", 5), ("FETCH ALL FROM c", None), ("FETCH NEXT FROM c", 1), ("MOVE 3 c", 3)],
)
def test_fetch_and_move_counts(sql, count):
    command = classify(sql)
    assert command.kind == "fetch" and command.count == count


def test_backward_fetch_is_refused():
    with pytest.raises(NotSupportedError, match="forward only"):
        classify("FETCH BACKWARD 2 FROM c")


def test_declare_keeps_the_query_and_options():
    command = classify('DECLARE "Cur" BINARY NO SCROLL CURSOR WITH HOLD FOR SELECT * FROM shop.orders')
    assert (command.kind, command.name, command.binary, command.value) == ("declare", "Cur", True, "WITH")
    assert command.sql == "SELECT * FROM shop.orders"


def test_copy_to_stdout_reads_format_header_and_delimiter():
    command = classify("COPY shop.orders (order_id, status) TO STDOUT WITH (FORMAT csv, HEADER true, DELIMITER ';')")
    assert command.sql == "SELECT order_id, status FROM shop.orders"
    assert command.copy == {"csv": True, "header": True, "delimiter": ";", "null": ""}


def test_copy_from_is_refused_as_read_only():
    with pytest.raises(NotSupportedError, match="read-only"):
        classify("COPY shop.orders FROM STDIN")


@pytest.mark.parametrize("sql, kind", [("BEGIN", "transaction"), ("commit", "transaction"), ("DISCARD ALL", "noop"),
                                       ("SELECT * FROM pg_catalog.pg_class", "catalog"), ("SELECT 1", "query"),
                                       ("-- nothing\n", "empty")])
def test_statement_kinds(sql, kind):
    assert classify(sql).kind == kind
