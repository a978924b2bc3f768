"""The app's connections: each panel's statement runs as of the page's date, set once per connection and date."""

from __future__ import annotations

import datetime as dt

from c360.app.db import Database

DATE = "SELECT CAST(getvariable('as_of') AS DATE) AS as_of"


def test_the_date_is_set_once_per_connection_and_date_and_every_change_reaches_the_statement(project):
    database = Database(project / "catalog", size=1)
    try:
        earlier, today = dt.date(2026, 1, 15), dt.date.today()
        assert database.run(DATE, as_of=earlier).rows == [{"as_of": earlier.isoformat()}]
        assert database.run(DATE, as_of=earlier).rows == [{"as_of": earlier.isoformat()}]
        assert database.dates_set == 1  # the second panel of the same page sends no SET
        assert database.run(DATE).rows == [{"as_of": today.isoformat()}]  # None: today
        assert database.run(DATE, as_of=earlier).rows == [{"as_of": earlier.isoformat()}]
        assert database.dates_set == 3
    finally:
        database.close()
