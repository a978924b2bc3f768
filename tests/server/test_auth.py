"""SCRAM-SHA-256 with real clients, and where users come from."""

from __future__ import annotations

import psycopg
import pytest

from c360.errors import InterfaceError, MissingSecretError
from c360.server.auth import ScramExchange, Users, Verifier
from tests.server.conftest import PASSWORD


def test_the_right_password_logs_in_with_scram(scram_server):
    with psycopg.connect(scram_server.dsn(user="analyst", password=PASSWORD), autocommit=True) as connection:
        assert connection.execute("SELECT count(*) FROM shop.orders").fetchall() == [(4,)]


def test_a_wrong_password_is_refused_with_28P01_and_others_carry_on(scram_server):
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "analyst"'):
        psycopg.connect(scram_server.dsn(user="analyst", password="wrong"))
    with psycopg.connect(scram_server.dsn(user="analyst", password=PASSWORD), autocommit=True) as connection:
        assert connection.execute("SELECT 1").fetchall() == [(1,)]
    log = scram_server.log.read_text()
    assert 'refused: password authentication failed for user "analyst"' in log
    assert "wrong" not in log and PASSWORD not in log


def test_an_unknown_user_is_refused_like_a_wrong_password(scram_server):
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "mallory"'):
        psycopg.connect(scram_server.dsn(user="mallory", password=PASSWORD))


def test_no_password_at_all_is_refused(scram_server):
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(scram_server.dsn(user="analyst"))


def test_verifier_text_round_trips_and_never_shows_keys_in_repr():
    verifier = Verifier.from_password("pw", salt=b"0123456789abcdef")
    assert Verifier.parse(str(verifier)) == verifier
    assert str(verifier).startswith("SCRAM-SHA-256$4096:")
    assert repr(verifier) == "Verifier(***)"


def test_users_file_takes_env_references_and_verifiers(tmp_path, monkeypatch):
    monkeypatch.setenv("C360_TEST_ANALYST_PW", "pw1")
    verifier = Verifier.from_password("pw2")
    file = tmp_path / "users.yaml"
    file.write_text(f"users:\n  analyst: ${{ENV:C360_TEST_ANALYST_PW}}\n  bi: \"{verifier}\"\n")
    users = Users.load(file, environ={})
    assert set(users.verifiers) == {"analyst", "bi"}
    assert users.get("bi") == verifier


def test_users_file_refuses_plain_passwords(tmp_path):
    file = tmp_path / "users.yaml"
    file.write_text("users:\n  analyst: hunter2\n")
    with pytest.raises(InterfaceError, match="not a plain password") as raised:
        Users.load(file, environ={})
    assert "hunter2" not in str(raised.value)


def test_users_file_names_a_missing_environment_variable(tmp_path):
    file = tmp_path / "users.yaml"
    file.write_text("users:\n  analyst: ${ENV:C360_TEST_UNSET_PASSWORD_VAR}\n")
    with pytest.raises(MissingSecretError, match="C360_TEST_UNSET_PASSWORD_VAR"):
        Users.load(file, environ={})


def test_environment_user_needs_both_variables():
    with pytest.raises(InterfaceError, match="both C360_SERVE_USER and C360_SERVE_PASSWORD"):
        Users.load(None, environ={"C360_SERVE_USER": "x"})


def test_scram_exchange_rejects_channel_binding_requests():
    with pytest.raises(InterfaceError, match="channel binding"):
        ScramExchange(Verifier.from_password("pw")).first(b"p=tls-server-end-point,,n=u,r=abc")
