"""Wire statements are translated once per shape, and a translation that read its values is never reused."""

from __future__ import annotations

import pytest

from c360 import postgres
from c360.server.translations import TranslationCache

LOOKUP = "SELECT first_name FROM customer_360 WHERE customer_id = $1"


@pytest.fixture
def translations(monkeypatch):
    """The cache, and the statements the real translator was asked for."""
    asked = []
    real = postgres.translate

    def counting(sql, params=None, **kwargs):
        asked.append((sql, list(params or [])))
        return real(sql, params, **kwargs)

    monkeypatch.setattr(postgres, "translate", counting)
    return TranslationCache(), asked


def test_a_lookup_is_translated_for_its_first_value_and_one_other_then_reused(translations):
    cache, asked = translations
    results = [cache.translate(LOOKUP, [value], schema=None, version=1) for value in (1, 2, 3, 4, 2)]
    assert [params for _, params in asked] == [[1], [2]]  # the second checks that another value changes nothing
    assert len({r.sql for r in results}) == 1
    assert [r.params for r in results] == [[1], [2], [3], [4], [2]]
    cache.translate(LOOKUP, ["5"], schema=None, version=1)  # another type: its own shape
    cache.translate(LOOKUP, [5], schema=None, version=2)  # the catalog's column types were rebuilt
    assert len(asked) == 4


def test_an_array_parameter_spread_into_values_is_translated_every_time(translations):
    cache, asked = translations
    sql = "SELECT first_name FROM customer_360 WHERE customer_id = ANY($1)"
    two = cache.translate(sql, ["{1,2}"], schema=None, version=1)
    three = cache.translate(sql, ["{1,2,3}"], schema=None, version=1)
    again = cache.translate(sql, ["{7}"], schema=None, version=1)
    assert len(asked) == 3
    assert two.params[1:] == ["1", "2"] and three.params[1:] == ["1", "2", "3"] and again.params[1:] == ["7"]
    assert two.sql != three.sql


def test_null_and_list_values_are_never_cached(translations):
    cache, asked = translations
    for value in (None, None, [1, 2], [3]):
        cache.translate(LOOKUP if not isinstance(value, list) else LOOKUP.replace("= $1", "= ANY($1)"), [value],
                        schema=None, version=1)
    assert len(asked) == 4
