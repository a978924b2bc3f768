"""The server fixtures' own promises: private databases and logins, cleaned up, even after a crash."""

from __future__ import annotations

import os

import pymysql
import pytest

from tests import servers

DEAD_PID = 4_194_304  # pids stay below pid_max, which is 4194304 at most (PID_MAX_LIMIT)


def test_mariadb_session_user_reaches_its_own_database_over_tcp_with_a_password():
    server = servers.start_mariadb_session()
    try:
        assert server.host == "127.0.0.1" and server.password
        assert server.query("SELECT DATABASE(), CURRENT_USER()")[0][0] == server.database
        with pytest.raises(pymysql.err.OperationalError):
            pymysql.connect(host=server.host, port=server.port, user=server.user, password="wrong", connect_timeout=5)
    finally:
        servers.end_mariadb_session(server)
    root = servers._mariadb_root()
    with root.cursor() as cursor:
        exists = "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s"
        assert cursor.execute(exists, (server.database,)) == 0
        assert cursor.execute("SELECT 1 FROM mysql.user WHERE User = %s", (server.user,)) == 0
    root.close()


def test_mariadb_session_drops_what_a_killed_session_left_behind():
    root = servers._mariadb_root()
    stale = f"c360_t{DEAD_PID}_deadbeef"
    live = f"c360_t{os.getpid()}_alive000"
    with root.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{stale}`")
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{live}`")
    try:
        server = servers.start_mariadb_session()
        servers.end_mariadb_session(server)
        with root.cursor() as cursor:
            cursor.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (%s, %s)",
                           (stale, live))
            assert [row[0] for row in cursor.fetchall()] == [live]
    finally:
        with root.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{stale}`")
            cursor.execute(f"DROP DATABASE IF EXISTS `{live}`")
        root.close()


def test_postgres_session_has_an_odbc_connection_string_for_the_unicode_driver():
    import pyodbc

    server = servers.start_postgres_session()
    try:
        assert "Driver={PostgreSQL Unicode}" in server.odbc
        connection = pyodbc.connect(server.odbc, autocommit=True)
        assert tuple(connection.execute("SELECT current_database(), current_user, ?", "é").fetchone()) == (
            server.database, server.user, "é"
        )
        connection.close()
    finally:
        servers.end_postgres_session(server)
    admin = servers._postgres_admin()
    assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (server.database,)).fetchall() == []
    assert admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (server.user,)).fetchall() == []
    admin.close()


def test_postgres_session_drops_what_a_killed_session_left_behind():
    admin = servers._postgres_admin()
    stale = f"c360_t{DEAD_PID}_deadbeef"
    admin.execute(f'CREATE ROLE "{stale}"')
    admin.execute(f'CREATE DATABASE "{stale}"')
    try:
        servers.end_postgres_session(servers.start_postgres_session())
        assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (stale,)).fetchall() == []
        assert admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (stale,)).fetchall() == []
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{stale}"')
        admin.execute(f'DROP ROLE IF EXISTS "{stale}"')
        admin.close()


def test_child_databases_belong_to_the_session_user_and_go_with_the_session():
    mariadb = servers.start_mariadb_session()
    postgres = servers.start_postgres_session()
    try:
        mysql_child = mariadb.child("extra")
        mysql_child.execute("CREATE TABLE only_here (id INT)")
        assert mysql_child.query("SELECT DATABASE()") == [(f"{mariadb.database}_extra",)]
        assert mariadb.query("SHOW TABLES") == []
        pg_child = postgres.child("extra")
        pg_child.execute("CREATE TABLE only_here (id INT)")
        expected = [(f"{postgres.database}_extra", postgres.user)]
        assert pg_child.query("SELECT current_database(), current_user") == expected
    finally:
        servers.end_mariadb_session(mariadb)
        servers.end_postgres_session(postgres)
    root = servers._mariadb_root()
    with root.cursor() as cursor:
        exists = "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s"
        assert cursor.execute(exists, (mysql_child.database,)) == 0
    root.close()
    admin = servers._postgres_admin()
    assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (pg_child.database,)).fetchall() == []
    admin.close()
