-- RFM per customer as of getvariable('as_of') (default today): recency, frequency and net monetary over the 365 days before it, 1-5 quintile scores and a named segment; tenure (days since the first order and since sign-up) and the gaps between orders over the whole history
SELECT
    rc.customer_id,
    rs.recency_days,
    coalesce(rs.frequency, 0) AS frequency,
    coalesce(rs.monetary, 0) AS monetary,
    rs.r_score,
    rs.f_score,
    rs.m_score,
    CAST(rs.r_score AS VARCHAR) || CAST(rs.f_score AS VARCHAR) || CAST(rs.m_score AS VARCHAR) AS rfm_score,
    coalesce(rg.segment, 'Lost') AS segment,
    -- tenure and the rhythm of orders, over the whole history before as_of (not only 365 days)
    rt.days_since_first_order,
    CAST(coalesce(getvariable('as_of'), current_date) AS DATE) - CAST(rc.signup_date AS DATE) AS days_since_signup,
    rt.mean_days_between_orders,
    rt.days_between_last_orders
FROM crm.customers AS rc
LEFT JOIN (
    -- quintiles over the n customers who bought in the window, equal values sharing a score:
    -- score = 1 + floor(5 * w / n), w = how many of them have a strictly worse value (rank() - 1)
    SELECT
        rq.customer_id,
        rq.recency_days,
        rq.frequency,
        rq.monetary,
        1 + (5 * (rank() OVER (ORDER BY rq.recency_days DESC) - 1)) // count(*) OVER () AS r_score,
        1 + (5 * (rank() OVER (ORDER BY rq.frequency) - 1)) // count(*) OVER () AS f_score,
        1 + (5 * (rank() OVER (ORDER BY rq.monetary) - 1)) // count(*) OVER () AS m_score
    FROM (
        -- orders strictly before as_of and at most 365 days before it; cancelled ones do not count,
        -- returned ones count as orders but add nothing to the money
        SELECT
            ro.customer_id,
            CAST(coalesce(getvariable('as_of'), current_date) AS DATE) - CAST(max(ro.order_ts) AS DATE) AS recency_days,
            count(DISTINCT ro.order_id) AS frequency,
            coalesce(sum(CASE WHEN ro.status = 'returned' THEN 0 ELSE ri.quantity * ri.unit_price END), 0) AS monetary
        FROM shop.orders AS ro
        LEFT JOIN shop.order_items AS ri ON ri.order_id = ro.order_id
        WHERE ro.order_ts < CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP)
          AND ro.order_ts >= CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP) - INTERVAL 365 DAY
          AND ro.status <> 'cancelled'
        GROUP BY ro.customer_id
    ) AS rq
) AS rs ON rs.customer_id = rc.customer_id
LEFT JOIN (
    -- the segment mapping table: (r_score, f_score) ranges; each of the 25 pairs is covered exactly once
    VALUES
        ('Champions',          5, 5, 4, 5),
        ('Loyal',              3, 4, 4, 5),
        ('Potential Loyalist', 4, 5, 2, 3),
        ('New',                5, 5, 1, 1),
        ('Promising',          4, 4, 1, 1),
        ('Need Attention',     3, 3, 3, 3),
        ('About to Sleep',     3, 3, 1, 2),
        ('At Risk',            1, 2, 3, 4),
        ('Can''t Lose Them',   1, 2, 5, 5),
        ('Hibernating',        2, 2, 1, 2),
        ('Hibernating',        1, 1, 2, 2),
        ('Lost',               1, 1, 1, 1)
) AS rg(segment, r_low, r_high, f_low, f_high)
    ON rs.r_score BETWEEN rg.r_low AND rg.r_high AND rs.f_score BETWEEN rg.f_low AND rg.f_high
LEFT JOIN (
    -- every order strictly before as_of, however old; cancelled ones do not count, returned ones do.
    -- Gaps are in days between order dates: the mean over the whole history ((last - first) / (orders - 1))
    -- and the last one (last order - the one before it); NULL with fewer than two orders.
    -- One row per customer, its last order, carrying the first order, the count and the order before it:
    -- windows a SQL source computes itself, so only that row leaves it
    SELECT
        rl.customer_id,
        CAST(coalesce(getvariable('as_of'), current_date) AS DATE) - CAST(rl.first_ts AS DATE) AS days_since_first_order,
        (CAST(rl.order_ts AS DATE) - CAST(rl.first_ts AS DATE)) / nullif(rl.orders - 1, 0) AS mean_days_between_orders,
        CAST(rl.order_ts AS DATE) - CAST(rl.before_ts AS DATE) AS days_between_last_orders
    FROM (
        SELECT
            rh.customer_id,
            rh.order_ts,
            min(rh.order_ts) OVER (PARTITION BY rh.customer_id) AS first_ts,
            count(*) OVER (PARTITION BY rh.customer_id) AS orders,
            lead(rh.order_ts) OVER (PARTITION BY rh.customer_id ORDER BY rh.order_ts DESC, rh.order_id DESC) AS before_ts,
            row_number() OVER (PARTITION BY rh.customer_id ORDER BY rh.order_ts DESC, rh.order_id DESC) AS latest
        FROM shop.orders AS rh
        WHERE rh.order_ts < CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP)
          AND rh.status <> 'cancelled'
    ) AS rl
    WHERE rl.latest = 1
) AS rt ON rt.customer_id = rc.customer_id
WHERE rc.signup_date IS NULL OR rc.signup_date < CAST(coalesce(getvariable('as_of'), current_date) AS DATE)
