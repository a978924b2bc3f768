-- Browsing per customer and category as of getvariable('as_of') (default today): seconds and page views over the last 1, 7 and 30 days, and last_seen
SELECT
    bw.customer_id,
    bw.category,
    coalesce(sum(bw.seconds) FILTER (WHERE bw.window_start >= CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP) - INTERVAL 1 DAY), 0) AS seconds_1d,
    coalesce(sum(bw.seconds) FILTER (WHERE bw.window_start >= CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP) - INTERVAL 7 DAY), 0) AS seconds_7d,
    sum(bw.seconds) AS seconds_30d,
    coalesce(sum(bw.page_views) FILTER (WHERE bw.window_start >= CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP) - INTERVAL 1 DAY), 0) AS page_views_1d,
    coalesce(sum(bw.page_views) FILTER (WHERE bw.window_start >= CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP) - INTERVAL 7 DAY), 0) AS page_views_7d,
    sum(bw.page_views) AS page_views_30d,
    max(bw.window_end) AS last_seen
FROM clicks.browsing AS bw
-- the partition bounds prune the hour folders outside the window; the window_start bounds keep
-- the answer exact whatever folder a window was written to
WHERE bw.partition_hour >= CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP) - INTERVAL 30 DAY
  AND bw.partition_hour < CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP)
  AND bw.window_start >= CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP) - INTERVAL 30 DAY
  AND bw.window_start < CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP)
GROUP BY bw.customer_id, bw.category
