"""The hostile statements every front door must refuse, and a project with something to steal.

Each attack names ``{secret}`` (a file beside the catalog whose content must never
come back) and ``{target}`` (a path that must never be created). :func:`armed`
fills them in for one test's files. The list is the issue's findings and their
variants: quoted, commented, upper/lower case, nested in CTEs and subqueries,
under EXPLAIN ANALYZE, several statements in one string.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from tests.projects import shop_project

READS = [
    "SELECT * FROM read_csv('{secret}', header=false) LIMIT 3",
    "select * from READ_CSV_AUTO('{secret}')",
    "SELECT * FROM read_text('{secret}')",
    "SELECT content FROM read_blob('{secret}')",
    "SELECT * FROM glob('{folder}/*')",
    "SELECT * FROM read_parquet('{folder}/*.parquet')",
    "SELECT * FROM read_json('{secret}')",
    "SELECT * FROM '{secret}'",
    'SELECT * FROM "{secret}"',
    "WITH s AS (SELECT * FROM read_text('{secret}')) SELECT * FROM s",
    "SELECT (SELECT content FROM read_text('{secret}')) AS x",
    "SELECT * FROM shop.orders WHERE order_id IN (SELECT length(content) FROM read_text('{secret}'))",
    "SELECT * FROM (SELECT 1) t, LATERAL read_csv('{secret}')",
    "/* harmless */ SELECT * FROM read_text('{secret}') -- comment",
    "EXPLAIN SELECT * FROM read_text('{secret}')",
    "EXPLAIN ANALYZE SELECT * FROM read_text('{secret}')",
    "SELECT * FROM sqlite_scan('{folder}/shop.sqlite', 'orders')",
    "SELECT * FROM query('SELECT * FROM read_text(''{secret}'')')",
    "SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')",
    "SELECT getenv('HOME')",
]

WRITES = [
    "COPY (SELECT 1 AS a) TO '{target}'",
    "copy (select * from shop.orders) to '{target}' (FORMAT parquet)",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{target}'",
    "ATTACH '{target}' AS evil",
    "attach database '{target}' as evil (TYPE sqlite)",
    "EXPORT DATABASE '{target}'",
    "SELECT 1; COPY (SELECT 1) TO '{target}'",
    "/* x */ COPY (SELECT 1) TO '{target}'",
    "CREATE TABLE evil AS SELECT 1",
    "INSERT INTO shop.orders VALUES (1, 2, 3, '2026-01-01', 'x')",
]

ENGINE = [
    "INSTALL httpfs",
    "LOAD httpfs",
    "PRAGMA database_list",
    "CALL pragma_version()",
    "SET enable_external_access = true",
    "SET threads = 1",
    "RESET threads",
    "USE memory",
    "DETACH shop",
    "CHECKPOINT",
    "SELECT current_setting('temp_directory')",
]

ALL = READS + WRITES + ENGINE

#: a few of each kind, for the door that costs a process per statement (the CLI)
SAMPLE = [READS[0], READS[7], READS[9], READS[15], WRITES[0], WRITES[2], WRITES[3], WRITES[6], ENGINE[0]]


@dataclass
class Armory:
    """One test's files: the secret to protect, the folder it lives in, and a path that must stay absent."""

    root: Path
    catalog: Path
    secret: Path
    canary: str
    target: Path

    def arm(self, attack: str) -> str:
        return attack.format(secret=self.secret, folder=self.root, target=self.target)

    def assert_untouched(self, *outputs) -> None:
        """No answer carried the secret and nothing was written."""
        for output in outputs:
            assert self.canary not in str(output), "the secret file was read"
        assert not self.target.exists(), f"{self.target} was created"
        assert not (self.root / "evil").exists()


def armory(root: Path) -> Armory:
    catalog = shop_project(root, views={"paid": "SELECT order_id FROM shop.orders WHERE status = 'paid'\n"})
    canary = f"canary-{secrets.token_hex(8)}"
    secret = root / "secret.txt"
    secret.write_text(f"{canary}\n")
    return Armory(root, catalog, secret, canary, root / "written.out")
