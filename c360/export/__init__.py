"""Exports of the project (catalog, ``queries/*.sql``, ``models/``) to other engines.

:mod:`c360.export.trino` writes Trino catalog files and ``CREATE VIEW`` statements
(``c360 export trino --out DIR``; docs/trino.md).
"""
