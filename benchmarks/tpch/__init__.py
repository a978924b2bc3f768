"""Federated TPC-H (``benchmarks/tpch_federated.py``), one concept per module.

``schema`` the eight tables and their sources · ``data`` generation and file formats ·
``deployment`` where the sources are (and the benchmark's own logins and Azurite) ·
``load`` loading what a source lacks · ``catalog`` the c360 catalog · ``peer`` the DuckDB peer ·
``queries`` the 22 queries, qualified by source · ``answers`` checking an answer ·
``proxy`` and ``wire`` counting bytes and rows on the wire · ``run`` the timed runs ·
``report`` the tables and summary · ``extensions`` DuckDB extensions from their offline wheels.
"""
