-- Purchases per customer and category as of getvariable('as_of') (default today): net spend and order counts over the last 10, 30, 60 and 365 days, days since the last purchase, average basket
SELECT
    po.customer_id,
    pp.category,
    coalesce(sum(CASE WHEN po.status = 'returned' THEN 0 ELSE pi.quantity * pi.unit_price END) FILTER (WHERE po.order_ts >= CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP) - INTERVAL 10 DAY), 0) AS spend_10d,
    coalesce(sum(CASE WHEN po.status = 'returned' THEN 0 ELSE pi.quantity * pi.unit_price END) FILTER (WHERE po.order_ts >= CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP) - INTERVAL 30 DAY), 0) AS spend_30d,
    coalesce(sum(CASE WHEN po.status = 'returned' THEN 0 ELSE pi.quantity * pi.unit_price END) FILTER (WHERE po.order_ts >= CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP) - INTERVAL 60 DAY), 0) AS spend_60d,
    sum(CASE WHEN po.status = 'returned' THEN 0 ELSE pi.quantity * pi.unit_price END) AS spend_365d,
    count(DISTINCT po.order_id) FILTER (WHERE po.order_ts >= CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP) - INTERVAL 10 DAY) AS orders_10d,
    count(DISTINCT po.order_id) FILTER (WHERE po.order_ts >= CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP) - INTERVAL 30 DAY) AS orders_30d,
    count(DISTINCT po.order_id) FILTER (WHERE po.order_ts >= CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP) - INTERVAL 60 DAY) AS orders_60d,
    count(DISTINCT po.order_id) AS orders_365d,
    CAST(coalesce(getvariable('as_of'), current_date) AS DATE) - CAST(max(po.order_ts) AS DATE) AS days_since_last_purchase,
    sum(CASE WHEN po.status = 'returned' THEN 0 ELSE pi.quantity * pi.unit_price END) / count(DISTINCT po.order_id) AS avg_basket_365d
FROM shop.orders AS po
JOIN shop.order_items AS pi ON pi.order_id = po.order_id
JOIN shop.products AS pp ON pp.product_id = pi.product_id
-- orders strictly before as_of and at most 365 days before it; cancelled ones do not count,
-- returned ones count as orders but add nothing to the spend
WHERE po.order_ts < CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP)
  AND po.order_ts >= CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP) - INTERVAL 365 DAY
  AND po.status <> 'cancelled'
GROUP BY po.customer_id, pp.category
