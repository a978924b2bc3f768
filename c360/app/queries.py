"""Each panel's SQL: fixed text with ``?``/``:name`` parameters, never a value formatted into it.

Panels read from as few sources as they need, so a source that is down fails only the panels that
read it: the profile reads the CRM alone, enrichment the partner files, orders the shop, browsing
and the live windows the clickstream; RFM and the predictions need the views (CRM and shop, and for
predictions every source). ``getvariable('as_of')`` is the date the page asks about (see
:meth:`c360.app.db.Database.run`), the views' own convention; a panel that filters on that date itself takes it
as a parameter too (its midnight, :func:`as_of_start`), so its statement is a plain lookup the engine runs
straight on an accelerated copy (a value computed from a variable or a parameter is planned again each time).
"""

from __future__ import annotations

import datetime as dt

#: How far past the wall clock the live panel's hour folders reach (a writer's clock a little ahead).
LIVE_AHEAD = dt.timedelta(hours=1)



def as_of_start(day: dt.date) -> dt.datetime:
    """The timestamp the panels compare with for the date ``day``: its midnight (``CAST(day AS TIMESTAMP)``)."""
    return dt.datetime.combine(day, dt.time())


def live_start(since: dt.datetime) -> dt.datetime:
    """The first hour folder the live panel reads for windows since ``since``: ``date_trunc('hour', since)``."""
    return since.replace(minute=0, second=0, microsecond=0)

#: Customers matching ``:q`` by id, email, phone digits or name, case- and accent-blind, best first.
#: ``lookalikes`` counts other customers with the same normalised name and birth date (a duplicate-looking
#: person). ``contains``/``starts_with`` take the text literally: ``%`` and ``_`` are not wildcards here.
SEARCH = """
SELECT s.customer_id, s.first_name, s.last_name, s.email, s.phone, s.city, s.country, s.birth_date, s.score,
       s.lookalikes
FROM (
    SELECT c.customer_id, c.first_name, c.last_name, c.email, c.phone, c.city, c.country, c.birth_date,
        CASE
            WHEN c.customer_id = TRY_CAST(trim(:q) AS BIGINT) THEN 100
            WHEN lower(c.email) = lower(trim(:q)) THEN 90
            WHEN length(regexp_replace(:q, '[^0-9]', '', 'g')) >= 6
                 AND contains(regexp_replace(c.phone, '[^0-9]', '', 'g'), regexp_replace(:q, '[^0-9]', '', 'g')) THEN 80
            WHEN strip_accents(lower(trim(c.first_name) || ' ' || trim(c.last_name))) = strip_accents(lower(trim(:q)))
                 THEN 70
            WHEN starts_with(strip_accents(lower(trim(c.first_name) || ' ' || trim(c.last_name))),
                             strip_accents(lower(trim(:q))))
                 OR starts_with(strip_accents(lower(trim(c.last_name))), strip_accents(lower(trim(:q)))) THEN 50
            WHEN contains(strip_accents(lower(trim(c.first_name) || ' ' || trim(c.last_name) || ' ' ||
                                              coalesce(c.email, ''))), strip_accents(lower(trim(:q)))) THEN 30
            ELSE 0
        END AS score,
        count(*) OVER (PARTITION BY strip_accents(lower(trim(c.first_name) || ' ' || trim(c.last_name))),
                       c.birth_date) - 1 AS lookalikes
    FROM crm.customers AS c
) AS s
WHERE s.score > 0 AND length(trim(:q)) > 0
ORDER BY s.score DESC, s.last_name, s.first_name, s.customer_id
LIMIT 25
"""

PROFILE = """
SELECT c.customer_id, c.first_name, c.last_name, c.email, c.phone, c.gender, c.birth_date, c.income_band,
       c.household_size, c.head_of_household, c.city, c.state, c.country, c.signup_date, c.marketing_opt_in
FROM crm.customers AS c
WHERE c.customer_id = ?
"""

#: Parameters: the customer, :func:`as_of_start` of the page's date.
ENRICHMENT = """
SELECT pe.partner, pe.interests, pe.social.followers AS social_followers, pe.social.sentiment AS social_sentiment,
       pe.survey.nps AS survey_nps, pe.survey.responded_at AS survey_responded_at, pe.influencer_tier, pe.updated_at
FROM partners.enrichment AS pe
WHERE pe.customer_id = ? AND pe.updated_at < ?
ORDER BY pe.updated_at DESC, pe.partner
"""

RFM = """
SELECT r.recency_days, r.frequency, r.monetary, r.r_score, r.f_score, r.m_score, r.rfm_score, r.segment
FROM rfm AS r
WHERE r.customer_id = ?
"""

#: From ``queries/order_history.sql`` (one row per order), so one accelerated copy keyed by customer serves it.
#: Parameters: the customer, :func:`as_of_start` of the page's date.
ORDERS = """
SELECT o.order_id, o.order_ts, o.channel, o.status, o.items, o.amount, o.categories
FROM order_history AS o
WHERE o.customer_id = ? AND o.order_ts < ?
ORDER BY o.order_ts DESC, o.order_id DESC
LIMIT 50
"""

BROWSING = """
SELECT b.category, b.seconds_30d, b.page_views_30d, b.seconds_7d, b.page_views_7d, b.seconds_1d, b.last_seen
FROM browsing_features AS b
WHERE b.customer_id = ?
ORDER BY b.seconds_30d DESC, b.category
"""

#: The newest stream windows since the last ``?`` (UTC, wall clock): what the customer is browsing right now.
#: Parameters: the customer, :func:`live_start` of that time, now + :data:`LIVE_AHEAD`, that time. The hour
#: folders are bounded on both sides, so only those folders are listed, not the whole history (a one-sided bound
#: lists every folder).
LIVE = """
SELECT w.window_start, w.window_end, w.category, w.page_views, w.seconds
FROM clicks.browsing AS w
WHERE w.customer_id = ? AND w.partition_hour >= ? AND w.partition_hour <= ? AND w.window_start >= ?
ORDER BY w.window_end DESC, w.category
LIMIT 10
"""


def predictions(categories: list[str], features: list[str]) -> str:
    """The customer's predictions (``p_<category>`` per category) and the model's inputs (for reasons)."""
    shown = ["p_purchase_30d", "predicted_category", *(f"p_{name.lower()}" for name in categories), "model_version",
             "segment", "top_browsed_category_30d", "top_purchased_category_365d"]
    columns = ", ".join(f"v.{name}" for name in dict.fromkeys([*shown, *features]))
    return f"SELECT {columns}\nFROM customer_360 AS v\nWHERE v.customer_id = ?"


SEGMENTS = """
SELECT r.segment, count(*) AS customers, sum(r.monetary) AS revenue, avg(r.monetary) AS revenue_per_customer
FROM rfm AS r
GROUP BY r.segment
ORDER BY revenue DESC, r.segment
"""

HEATMAP = """
SELECT v.segment, v.predicted_category, count(*) AS customers, avg(v.p_purchase_30d) AS mean_p_purchase_30d
FROM customer_360 AS v
GROUP BY v.segment, v.predicted_category
ORDER BY v.segment, v.predicted_category
"""

#: Every customer's segment as of the session's date; the movement panel runs it twice (two as-of dates).
SEGMENT_OF = """
SELECT r.customer_id, r.segment
FROM rfm AS r
"""

TOP = """
SELECT v.customer_id, v.first_name, v.last_name, v.email, v.segment, v.p_purchase_30d, v.predicted_category,
       v.monetary
FROM customer_360 AS v
WHERE v.segment = ?
ORDER BY v.p_purchase_30d DESC, v.customer_id
LIMIT ?
"""
