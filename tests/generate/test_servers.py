"""Loading into real servers (MariaDB, PostgreSQL through ODBC, Azurite): bulk, idempotent, queryable.

Each session loads into its own uniquely named databases, logins and container
(others share these servers) and drops them at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

import c360
from c360.generate import Config, generate
from c360.generate.servers import ServersTarget, mysql_admin, pg_admin

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def servers_catalog(tmp_path, azurite, monkeypatch):
    """A copy of the demo catalog whose servers profile points at this session's own names."""
    tag = f"{os.getpid()}_{secrets.token_hex(3)}"
    names = dict(shop=f"c360_shop_t{tag}", crm=f"c360_crm_t{tag}", user=f"c360t{tag}",
                 container=azurite.new_container("clicks"))
    shutil.copytree(ROOT / "catalog", tmp_path / "catalog")
    replacements = {
        "c360_shop": names["shop"], "c360_crm": names["crm"], "user: c360\n": f"user: {names['user']}\n",
        "Uid=c360;": f"Uid={names['user']};", "container: clicks": f"container: {names['container']}",
    }
    for path in (tmp_path / "catalog").glob("*.yaml"):
        text = path.read_text()
        for old, new in replacements.items():
            text = text.replace(old, new)
        path.write_text(text)
    monkeypatch.setenv("C360_SHOP_PASSWORD", "shop-" + secrets.token_hex(6))
    monkeypatch.setenv("C360_CRM_PASSWORD", "crm-" + secrets.token_hex(6))
    monkeypatch.setenv("C360_BLOB_CONNECTION_STRING", azurite.connection_string)
    yield tmp_path / "catalog", names
    admin = mysql_admin("127.0.0.1", 3306)
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{names['shop']}`")
        cursor.execute(f"DROP USER IF EXISTS '{names['user']}'@'%', '{names['user']}'@'localhost'")
    admin.close()
    pg = pg_admin("127.0.0.1", 5432)
    pg.execute(f'DROP DATABASE IF EXISTS "{names["crm"]}" WITH (FORCE)')
    pg.execute(f'DROP ROLE IF EXISTS "{names["user"]}"')
    pg.close()


def test_loading_twice_into_the_servers_replaces_and_the_catalog_reads_it_back(servers_catalog, tmp_path, azurite):
    catalog, names = servers_catalog
    out = tmp_path / "demo-data"
    generate(Config(customers=80, days=20, seed=1, end=date(2026, 11, 23)), ServersTarget.from_catalog(catalog, out))
    config = Config(customers=60, days=15, seed=2, end=date(2026, 11, 23))
    target = ServersTarget.from_catalog(catalog, out)
    counts = generate(config, target)
    assert target.loaded == {"products": counts["products"], "orders": counts["orders"],
                             "order_items": counts["order_items"], "customers": counts["customers"]}
    blobs = azurite.service().get_container_client(names["container"]).list_blobs(name_starts_with="browsing/")
    keys = [b.name for b in blobs]
    assert keys and all(k.endswith("/history-0000.jsonl") for k in keys)
    connection = c360.connect(catalog=str(catalog), profile="servers")
    try:
        cursor = connection.cursor()
        for sql, expected in [
            ("SELECT COUNT(*) FROM crm.customers", 60),
            ("SELECT COUNT(*) FROM shop.orders", counts["orders"]),
            ("SELECT COUNT(*) FROM shop.order_items", counts["order_items"]),
            ("SELECT COUNT(*) FROM partners.enrichment", counts["partners"]),
            ("SELECT COUNT(*) FROM clicks.browsing", counts["browsing"]),
        ]:
            cursor.execute(sql)
            assert cursor.fetchone()[0] == expected, sql
        # The same values as the generator produced, through each server's types.
        cursor.execute("SELECT email, birth_date, head_of_household FROM crm.customers ORDER BY customer_id LIMIT 40")
        from c360.generate import chunks

        crm = next(chunks(config)).customers[:40]
        assert cursor.fetchall() == [(r[3], r[6], r[9]) for r in crm]
        cursor.execute("SELECT SUM(quantity * unit_price) FROM shop.order_items")
        from decimal import Decimal

        items = [i for chunk in chunks(config) for i in chunk.order_items]
        assert cursor.fetchone()[0] == sum(Decimal(str(p)) * q for *_, q, p in items)
    finally:
        connection.close()


def test_browsing_goes_to_a_local_folder_that_the_file_sources_entries_declare(servers_catalog, tmp_path):
    """``local_blob``: the databases on the servers, the browsing and partner files on this machine (the Spark
    benchmark's project), read back through :func:`c360.generate.files.file_sources_yaml`'s entries."""
    from c360.generate.files import file_sources_yaml

    _, names = servers_catalog
    data, password = tmp_path / "data", os.environ["C360_SHOP_PASSWORD"]
    login = dict(host="127.0.0.1", user=names["user"], password=password)
    target = ServersTarget(out=data, mysql=dict(login, port=3306, database=names["shop"]),
                           postgres=dict(login, port=5432, database=names["crm"]), blob={},
                           partners_dir=data / "partners", local_blob=data)
    counts = generate(Config(customers=40, days=10, seed=3, end=date(2026, 11, 23)), target)
    hours = sorted((data / "blob" / "clicks" / "browsing").rglob("*.jsonl"))
    assert counts["browsing"] > 0 and hours and all(p.name == "history-0000.jsonl" for p in hours)
    catalog = tmp_path / "local_catalog"
    catalog.mkdir()
    (catalog / "sources.yaml").write_text("sources:\n" + file_sources_yaml("../data"))
    with c360.connect(str(catalog)) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT COUNT(*) FROM clicks.browsing")
        assert cursor.fetchone()[0] == counts["browsing"]
        cursor.execute("SELECT COUNT(*) FROM partners.enrichment")
        assert cursor.fetchone()[0] == counts["partners"]
    assert target.loaded["customers"] == 40


def shown_ids(stdout: str) -> list[int]:
    return [int(line.split("│")[1]) for line in stdout.splitlines()
            if line.startswith("│") and line.split("│")[1].strip().isdigit()]


def test_demo_on_servers_answers_exactly_like_the_embedded_demo(servers_catalog, tmp_path):
    catalog, _names = servers_catalog
    command = [sys.executable, "-m", "c360", "demo", "--customers", "150", "--seed", "3", "--days", "40"]
    servers = subprocess.run(command + ["--servers", "--catalog", str(catalog), "--out", str(tmp_path / "demo-data")],
                             capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert servers.returncode == 0, servers.stderr
    assert "(servers)" in servers.stdout
    embedded_root = tmp_path / "embedded"
    shutil.copytree(ROOT / "catalog", embedded_root / "catalog")
    embedded = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=embedded_root)
    assert embedded.returncode == 0, embedded.stderr
    assert len(shown_ids(servers.stdout)) == 5
    assert servers.stdout.split("┌", 1)[1].split("└", 1)[0] == embedded.stdout.split("┌", 1)[1].split("└", 1)[0]


def test_the_servers_demo_remembers_the_passwords_it_created_so_its_next_step_runs_as_printed(
        servers_catalog, tmp_path, monkeypatch):
    catalog, _names = servers_catalog
    monkeypatch.delenv("C360_SHOP_PASSWORD")  # unset: the demo creates the logins with its own passwords
    monkeypatch.delenv("C360_CRM_PASSWORD")
    env = {k: v for k, v in os.environ.items() if k != "C360_DEBUG"}
    done = subprocess.run([sys.executable, "-m", "c360", "demo", "--servers", "--customers", "60", "--days", "35"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    remembered = (tmp_path / ".env").read_text()
    assert "C360_SHOP_PASSWORD='c360-demo'" in remembered and "C360_CRM_PASSWORD='c360-demo'" in remembered
    assert (tmp_path / ".env").stat().st_mode & 0o777 == 0o600
    assert "c360-demo" not in done.stdout + done.stderr  # named, never shown
    assert "C360_SHOP_PASSWORD, C360_CRM_PASSWORD" in done.stderr and ".env" in done.stderr
    # The printed next step, run as printed, in a new shell that exported nothing
    step = done.stdout.strip().splitlines()[-1].split("next: ", 1)[1]
    assert step == 'c360 query "SELECT * FROM shop.orders LIMIT 5" --profile servers'
    fresh = {k: v for k, v in env.items() if k not in ("C360_SHOP_PASSWORD", "C360_CRM_PASSWORD")}
    c360_bin = Path(sys.executable).with_name("c360")
    ran = subprocess.run(step.replace("c360 ", f"{c360_bin} ", 1), shell=True, capture_output=True, text=True,
                         timeout=120, cwd=tmp_path, env=fresh)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip().splitlines()[-1] == "5 rows"
