"""The differential fuzzer: random queries over awkward multi-source data, c360 against a DuckDB oracle.

See docs/fuzzing.md. ``python -m tests.fuzz --queries N --seed S`` for long runs; ``test_fuzz.py`` runs a
few hundred in CI.
"""
