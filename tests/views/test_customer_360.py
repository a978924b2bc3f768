"""``queries/customer_360.sql`` on the fixed world: one row per customer, every source folded in
(values worked out by hand from :mod:`tests.views.world`), the front doors, and what each source
received for ``WHERE customer_id = 42``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from decimal import Decimal as D

import pytest

import c360
from tests.views.world import AS_OF, EARLIER, REPO


def profile(connection, customer_id: int) -> dict:
    cursor = connection.execute("SELECT * FROM customer_360 WHERE customer_id = ?", [customer_id])
    rows = cursor.fetchall()
    assert len(rows) == 1
    return dict(zip([d[0] for d in cursor.description], rows[0]))


def test_one_row_per_customer_who_had_signed_up_by_the_as_of_date(as_of):
    def ids(date):
        return [r[0] for r in as_of(date).execute("SELECT customer_id FROM customer_360 ORDER BY 1")]

    # 42 has two partner records and eleven source rows, and is still one row; 8 signs up on 06-20.
    assert ids(AS_OF) == [1, 2, 3, 4, 5, 6, 7, 8, 42]
    assert ids(EARLIER) == [1, 2, 3, 4, 5, 6, 7, 42]


def test_customer_42_as_of_june_30_folds_crm_partners_rfm_browsing_and_purchases(as_of):
    row = profile(as_of(AS_OF), 42)
    assert (row["first_name"], row["city"], row["signup_date"]) == ("Ivy", "Portland", dt.date(2024, 6, 1))
    # Partners: acme_data (updated 05-01, has sentiment and survey) and socialscope (updated 06-15, the later
    # one, so its 250 followers win; it has no sentiment, so acme's 0.5 stays).
    assert row["partners"] == ["acme_data", "socialscope"]
    assert row["interests"] == ["cooking", "gadgets", "gaming"]
    assert (row["social_followers"], row["social_sentiment"]) == (250, 0.5)
    assert (row["survey_nps"], row["survey_responded_at"]) == (9, dt.datetime(2026, 1, 10))
    assert row["influencer_tier"] == "micro"
    assert row["enrichment_updated_at"] == dt.datetime(2026, 6, 15)
    # RFM as in test_rfm.
    assert [row[k] for k in ("recency_days", "frequency", "monetary", "rfm_score", "segment")] == [
        2, 2, D("50.00"), "434", "Potential Loyalist"]
    # Browsing: Technology 90.5 s today-ish + 100 s on 06-05; Home 40 s on 06-25.
    assert [row[k] for k in ("browse_seconds_1d", "browse_seconds_7d", "browse_seconds_30d")] == [90.5, 130.5, 230.5]
    assert [row[k] for k in ("page_views_1d", "page_views_7d", "page_views_30d")] == [4, 6, 11]
    assert (row["browsed_categories_30d"], row["top_browsed_category_30d"]) == (2, "Technology")
    assert row["last_seen"] == dt.datetime(2026, 6, 29, 20, 2)
    # Purchases: 06-28 Technology 30 and 06-21 Home 20, both within 10 days.
    assert [row[k] for k in ("spend_10d", "spend_30d", "spend_60d", "spend_365d")] == [D("50")] * 4
    assert (row["purchased_categories_365d"], row["top_purchased_category_365d"]) == (2, "Technology")
    assert row["days_since_last_purchase"] == 2
    assert row["avg_basket_365d"] == pytest.approx(25.0)


def test_customer_1_as_of_june_30_sums_purchases_across_categories(as_of):
    row = profile(as_of(AS_OF), 1)
    # Technology 20 (06-29) + 10 (06-05); Home 20 (06-05) + 20 (05-01 10:00, inside 60 days from 05-01 00:00).
    assert [row[k] for k in ("spend_10d", "spend_30d", "spend_60d", "spend_365d")] == [
        D("20"), D("50"), D("70"), D("70")]
    assert (row["top_purchased_category_365d"], row["days_since_last_purchase"]) == ("Home", 1)
    assert row["avg_basket_365d"] == pytest.approx(70 / 3)
    assert (row["segment"], row["top_browsed_category_30d"], row["browse_seconds_7d"]) == ("Champions", "Home", 10.0)
    assert (row["partners"], row["social_sentiment"], row["survey_nps"]) == (["acme_data"], -0.2, None)


def test_partner_records_updated_on_or_after_the_as_of_date_are_not_seen(as_of):
    earlier = as_of(EARLIER)
    row = profile(earlier, 42)  # socialscope's record is from 06-15: the future on 06-10
    assert (row["partners"], row["interests"], row["social_followers"]) == (["acme_data"], ["cooking", "gadgets"], 100)
    assert (row["influencer_tier"], row["enrichment_updated_at"]) == (None, dt.datetime(2026, 5, 1))
    assert (row["segment"], row["browse_seconds_30d"], row["spend_365d"]) == ("Lost", 214.0, D("10"))
    assert profile(earlier, 1)["partners"] is None  # acme's record for 1 is from 06-20


@pytest.mark.parametrize("customer_id", [2, 3])
def test_a_customer_with_no_orders_browsing_or_partner_data_has_a_full_row_of_zeros_and_nulls(as_of, customer_id):
    # 2 only ever cancelled; 3 never ordered, never browsed and is in no partner file.
    row = profile(as_of(AS_OF), customer_id)
    assert row["partners"] is None and row["interests"] is None and row["social_followers"] is None
    assert (row["frequency"], row["monetary"], row["r_score"], row["segment"]) == (0, D("0"), None, "Lost")
    assert (row["browse_seconds_30d"], row["page_views_30d"], row["last_seen"]) == (0, 0, None)
    assert (row["spend_365d"], row["days_since_last_purchase"], row["avg_basket_365d"]) == (0, None, None)


def test_where_customer_id_reaches_every_source_and_only_the_hour_folders_of_30_days_are_read(as_of):
    connection = as_of(AS_OF)
    whole = {r[0]: r for r in connection.execute("SELECT * FROM customer_360").fetchall()}
    cursor = connection.execute("SELECT * FROM customer_360 WHERE customer_id = 42")
    assert cursor.fetchall() == [whole[42]]  # the filter changes no score
    scans = {}
    for scan in cursor.scans:
        scans.setdefault(f"{scan.source}.{scan.table}", []).append(scan.sent)
    # The CRM (the profile, and rfm's customer list) and the partner files get the customer.
    assert scans["crm.customers"] and all('"customer_id" = 42' in s for s in scans["crm.customers"])
    assert len(scans["partners.enrichment"]) == 1 and '"customer_id" = 42' in scans["partners.enrichment"][0]
    # Orders: purchase_features' scan gets the customer; rfm's must not, since quintiles need every buyer.
    # (each is one statement joining orders with its order lines, and with products for purchase_features)
    # rfm's tenure reads the customer's orders of the whole history (orders "rh", not joined with lines).
    orders = sorted([sent for name, sents in scans.items() if name.startswith("shop.orders") for sent in sents],
                    key=lambda s: ('"rh"' in s, '"customer_id" = 42' in s))
    assert len(orders) == 3 and not any(name.startswith("shop.order_items") for name in scans)
    assert '"customer_id" = 42' not in orders[0] and '"customer_id" = 42' in orders[1]
    for sent in orders[:2]:
        assert "\"order_ts\" < '2026-06-30 00:00:00'" in sent and "\"order_ts\" >= '2025-06-30 00:00:00'" in sent
    assert '"rh"."customer_id" = 42' in orders[2] and "\"order_ts\" >=" not in orders[2]
    # Clicks: the 30-day hour folders only (the blob files hold other customers' rows too).
    folders = ["2026/06/05/09", "2026/06/22/23", "2026/06/23/00", "2026/06/25/10", "2026/06/29/20"]
    [clicks] = scans["clicks.browsing"]
    files = ", ".join(f"browsing/{f}/history-0000.jsonl" for f in folders)
    assert clicks.split("; SQL per group")[0] == "5 files: " + files
    assert '"customer_id" = 42' in clicks  # and the rows of other customers are dropped while reading


def test_the_views_answer_the_same_from_the_cli_and_the_db_api(catalog):
    # The CLI has no SET VARIABLE, so both evaluate as of today; customers 2 and 3 are "Lost" on any date.
    sql = "SELECT customer_id, frequency, segment, rfm_score FROM rfm ORDER BY customer_id"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "c360", "query", sql, "--catalog", str(catalog), "--format", "csv"],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    from_cli = [(int(r["customer_id"]), int(r["frequency"]), r["segment"], r["rfm_score"] or None)
                for r in csv.DictReader(io.StringIO(done.stdout))]
    with c360.connect(catalog) as connection:
        from_dbapi = connection.execute(sql).fetchall()
    assert from_cli == from_dbapi
    assert [r[0] for r in from_cli] == [1, 2, 3, 4, 5, 6, 7, 8, 42]
    assert from_cli[1][1:3] == (0, "Lost") and from_cli[2][1:3] == (0, "Lost")
