"""The differential fuzzer in CI: a few hundred generated queries, c360 against the DuckDB oracle.

A failure prints the seed, the SQL, both answers, the statements each source received and a test
to paste (see docs/fuzzing.md). The seeds are fixed so CI is repeatable; long runs with fresh seeds
are ``python -m tests.fuzz --queries N --seed S``.
"""

from __future__ import annotations

from tests.fuzz.check import run_for

#: the CI run: these seeds, stopping early past the time budget so the suite stays quick
SEEDS = range(1, 601)
BUDGET_SECONDS = 75


def test_generated_queries_agree_with_the_oracle(fuzz_world):
    outcomes, failures = run_for(fuzz_world, SEEDS, BUDGET_SECONDS)
    invalid = [o for o in outcomes if o.status == "invalid"]
    assert not failures, f"{len(failures)} of {len(outcomes)} queries differ:\n\n" + "\n\n".join(failures[:5])
    assert len(outcomes) >= 150, f"only {len(outcomes)} queries ran within {BUDGET_SECONDS} s"
    assert len(invalid) <= len(outcomes) // 10, "the generator writes too many queries DuckDB rejects:\n" + \
        "\n".join(f"{o.seed}: {o.report}" for o in invalid[:5])
