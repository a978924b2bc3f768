-- Every order with its lines summed (items, amount, the sorted categories), for the app's order history; no as_of: filter order_ts
SELECT
    o.customer_id,
    o.order_id,
    o.order_ts,
    o.channel,
    o.status,
    count(i.line_no) AS items,
    sum(i.quantity * i.unit_price) AS amount,
    array_sort(array_agg(DISTINCT p.category) FILTER (WHERE p.category IS NOT NULL)) AS categories
FROM shop.orders AS o
LEFT JOIN shop.order_items AS i ON i.order_id = o.order_id
LEFT JOIN shop.products AS p ON p.product_id = i.product_id
GROUP BY o.customer_id, o.order_id, o.order_ts, o.channel, o.status
