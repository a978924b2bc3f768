"""The purchase-propensity model: features (:mod:`.features`), training (:mod:`.training`),
evaluation against baselines (:mod:`.evaluation`), the card (:mod:`.card`), the scorer UDF
(:mod:`.scorer`) and its plain-SQL export (:mod:`.export_sql`)."""
