"""A session's settings without a socket: SET/RESET/SHOW/DISCARD ALL and statement_timeout's units."""

from __future__ import annotations

import pytest

from c360.errors import InterfaceError, ProgrammingError
from c360.server.session_settings import SessionValues, UnknownSetting, timeout_seconds


def test_set_reports_what_clients_track_and_reset_goes_back_to_the_default():
    values = SessionValues()
    assert values.set("application_name", "bi") == ("application_name", "bi")
    assert values.set("work_mem", "64MB") is None and values.get("work_mem") == "64MB"
    assert values.set("search_path", '"$user", shop, c360') is None and values.search_path == ["shop", "c360"]
    assert values.set("timezone", None) == ("TimeZone", values.get("timezone"))
    assert values.show("work_mem").to_pylist() == [{"work_mem": "64MB"}]
    with pytest.raises(UnknownSetting):
        values.show("no_such_setting")
    with pytest.raises(InterfaceError, match="UTF8 only"):
        values.set("client_encoding", "LATIN1")


def test_discard_all_keeps_only_the_start_up_application_name():
    values = SessionValues()
    values.set("application_name", "pool")
    values.set("statement_timeout", "5s")
    values.set("search_path", "shop")
    values.discard()
    assert values.settings == {"application_name": "pool"} and values.search_path == ["public"]
    assert values.statement_timeout() == 0


def test_statement_timeout_units_are_postgresqls():
    assert timeout_seconds("5000") == 5 and timeout_seconds("1min") == 60 and timeout_seconds(" 700ms ") == pytest.approx(0.7)
    with pytest.raises(ProgrammingError, match="statement_timeout"):
        SessionValues().set("statement_timeout", "soon")


def test_start_up_settings_come_from_parameters_and_options_with_options_last():
    from c360.server.session_settings import startup_settings

    found = startup_settings({"user": "u", "statement_timeout": "5s", "DateStyle": "ISO",
                              "options": r"-c statement_timeout=700 --search-path=shop,c360 -csearch_path=a\ b"})
    assert found == [("statement_timeout", "5s"), ("statement_timeout", "700"), ("search_path", "shop,c360"),
                     ("search_path", "a b")]
    assert startup_settings({"user": "u", "options": "-c geqo=off"}) == []  # not one c360 keeps
