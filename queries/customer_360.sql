-- One row per customer as of getvariable('as_of') (default today): CRM profile, partner enrichment flattened, RFM segment, browsing and purchase totals
SELECT
    scored.* EXCLUDE (c360_prediction),
    -- predictions of models/ (virtual: computed only when referenced); regenerate with `c360 model view-columns`
    scored.c360_prediction.p_purchase_30d AS p_purchase_30d,
    scored.c360_prediction.probabilities[1] AS p_apparel,
    scored.c360_prediction.probabilities[2] AS p_cosmetics,
    scored.c360_prediction.probabilities[3] AS p_home,
    scored.c360_prediction.probabilities[4] AS p_sports,
    scored.c360_prediction.probabilities[5] AS p_technology,
    ['Apparel', 'Cosmetics', 'Home', 'Sports', 'Technology'][scored.c360_prediction.predicted_position] AS predicted_category,
    scored.c360_prediction.model_version AS model_version
FROM (
    SELECT base.*, c360_predict(struct_pack(recency_days := base.recency_days, frequency := base.frequency, monetary := base.monetary, r_score := base.r_score, f_score := base.f_score, m_score := base.m_score, segment := base.segment, days_since_first_order := base.days_since_first_order, days_since_signup := base.days_since_signup, mean_days_between_orders := base.mean_days_between_orders, days_between_last_orders := base.days_between_last_orders, browse_seconds_1d := base.browse_seconds_1d, browse_seconds_7d := base.browse_seconds_7d, browse_seconds_30d := base.browse_seconds_30d, page_views_7d := base.page_views_7d, page_views_30d := base.page_views_30d, browsed_categories_30d := base.browsed_categories_30d, top_browsed_category_30d := base.top_browsed_category_30d, spend_10d := base.spend_10d, spend_30d := base.spend_30d, spend_60d := base.spend_60d, spend_365d := base.spend_365d, purchased_categories_365d := base.purchased_categories_365d, top_purchased_category_365d := base.top_purchased_category_365d, days_since_last_purchase := base.days_since_last_purchase, avg_basket_365d := base.avg_basket_365d, income_band := base.income_band, gender := base.gender, birth_date := base.birth_date, household_size := base.household_size)) AS c360_prediction
    FROM (
-- the view without predictions (edit this part) --
-- One row per customer as of getvariable('as_of') (default today): CRM profile, partner enrichment flattened, RFM segment, browsing and purchase totals
SELECT
    c.customer_id,
    c.first_name,
    c.last_name,
    c.email,
    c.phone,
    c.gender,
    c.birth_date,
    c.income_band,
    c.household_size,
    c.head_of_household,
    c.city,
    c.state,
    c.country,
    c.signup_date,
    c.marketing_opt_in,
    -- partner enrichment: every partner's record updated before as_of, folded into one row
    e.partners,
    e.interests,
    e.social_followers,
    e.social_sentiment,
    e.survey_nps,
    e.survey_responded_at,
    e.influencer_tier,
    e.enrichment_updated_at,
    -- RFM
    rf.recency_days,
    rf.frequency,
    rf.monetary,
    rf.r_score,
    rf.f_score,
    rf.m_score,
    rf.rfm_score,
    rf.segment,
    rf.days_since_first_order,
    rf.days_since_signup,
    rf.mean_days_between_orders,
    rf.days_between_last_orders,
    -- browsing, all categories together (per category: the browsing_features view)
    coalesce(bt.browse_seconds_1d, 0) AS browse_seconds_1d,
    coalesce(bt.browse_seconds_7d, 0) AS browse_seconds_7d,
    coalesce(bt.browse_seconds_30d, 0) AS browse_seconds_30d,
    coalesce(bt.page_views_1d, 0) AS page_views_1d,
    coalesce(bt.page_views_7d, 0) AS page_views_7d,
    coalesce(bt.page_views_30d, 0) AS page_views_30d,
    coalesce(bt.browsed_categories_30d, 0) AS browsed_categories_30d,
    bt.top_browsed_category_30d,
    bt.last_seen,
    -- purchases, all categories together (per category: the purchase_features view)
    coalesce(pt.spend_10d, 0) AS spend_10d,
    coalesce(pt.spend_30d, 0) AS spend_30d,
    coalesce(pt.spend_60d, 0) AS spend_60d,
    coalesce(pt.spend_365d, 0) AS spend_365d,
    coalesce(pt.purchased_categories_365d, 0) AS purchased_categories_365d,
    pt.top_purchased_category_365d,
    pt.days_since_last_purchase,
    rf.monetary / nullif(rf.frequency, 0) AS avg_basket_365d
FROM crm.customers AS c
LEFT JOIN (
    SELECT
        pe.customer_id,
        list_sort(list_distinct(list(pe.partner))) AS partners,
        list_sort(list_distinct(flatten(list(pe.interests)))) AS interests,
        (list(pe.social.followers ORDER BY pe.updated_at DESC, pe.partner) FILTER (WHERE pe.social.followers IS NOT NULL))[1] AS social_followers,
        (list(pe.social.sentiment ORDER BY pe.updated_at DESC, pe.partner) FILTER (WHERE pe.social.sentiment IS NOT NULL))[1] AS social_sentiment,
        (list(pe.survey.nps ORDER BY pe.survey.responded_at DESC, pe.partner) FILTER (WHERE pe.survey.nps IS NOT NULL))[1] AS survey_nps,
        max(pe.survey.responded_at) AS survey_responded_at,
        (list(pe.influencer_tier ORDER BY pe.updated_at DESC, pe.partner) FILTER (WHERE pe.influencer_tier IS NOT NULL))[1] AS influencer_tier,
        max(pe.updated_at) AS enrichment_updated_at
    FROM partners.enrichment AS pe
    WHERE pe.updated_at < CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP)
    GROUP BY pe.customer_id
) AS e ON e.customer_id = c.customer_id
LEFT JOIN rfm AS rf ON rf.customer_id = c.customer_id
LEFT JOIN (
    SELECT
        bf.customer_id,
        sum(bf.seconds_1d) AS browse_seconds_1d,
        sum(bf.seconds_7d) AS browse_seconds_7d,
        sum(bf.seconds_30d) AS browse_seconds_30d,
        sum(bf.page_views_1d) AS page_views_1d,
        sum(bf.page_views_7d) AS page_views_7d,
        sum(bf.page_views_30d) AS page_views_30d,
        count(*) AS browsed_categories_30d,
        (list(bf.category ORDER BY bf.seconds_30d DESC, bf.category))[1] AS top_browsed_category_30d,
        max(bf.last_seen) AS last_seen
    FROM browsing_features AS bf
    GROUP BY bf.customer_id
) AS bt ON bt.customer_id = c.customer_id
LEFT JOIN (
    SELECT
        pf.customer_id,
        sum(pf.spend_10d) AS spend_10d,
        sum(pf.spend_30d) AS spend_30d,
        sum(pf.spend_60d) AS spend_60d,
        sum(pf.spend_365d) AS spend_365d,
        count(*) AS purchased_categories_365d,
        (list(pf.category ORDER BY pf.spend_365d DESC, pf.category))[1] AS top_purchased_category_365d,
        min(pf.days_since_last_purchase) AS days_since_last_purchase
    FROM purchase_features AS pf
    GROUP BY pf.customer_id
) AS pt ON pt.customer_id = c.customer_id
-- customers who had signed up by as_of (a missing signup date counts as signed up)
WHERE c.signup_date IS NULL OR c.signup_date < CAST(coalesce(getvariable('as_of'), current_date) AS DATE)
-- end of the view without predictions --
    ) AS base
) AS scored
