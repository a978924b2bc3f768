"""The purchase-propensity model: features (:mod:`.features`) and their matrix (:mod:`.matrix`, read
in one compiled pass by :mod:`.encode`), training (:mod:`.training`), evaluation against baselines
(:mod:`.evaluation`), the card (:mod:`.card`), the compiled trees (:mod:`.trees`), the scorer UDF
(:mod:`.scorer`) and its plain-SQL export (:mod:`.export_sql`)."""
