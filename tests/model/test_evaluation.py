"""Metrics computed by hand on tiny examples, and the baselines' lookup tables."""

from __future__ import annotations

import math

import numpy as np
import pytest

from c360.model.evaluation import (
    LookupBaseline,
    calibration,
    lift_top_decile,
    log_loss,
    metrics,
    recency_bucket,
    roc_auc,
)


def test_roc_auc_counts_correctly_ordered_pairs_with_ties_as_half():
    # positives 0.8, 0.4; negatives 0.4, 0.1 -> pairs: (0.8>0.4) 1, (0.8>0.1) 1, (0.4=0.4) 0.5, (0.4>0.1) 1
    assert roc_auc(np.array([1, 1, 0, 0]), np.array([0.8, 0.4, 0.4, 0.1])) == pytest.approx(3.5 / 4)
    assert roc_auc(np.array([0, 1]), np.array([0.9, 0.1])) == 0.0
    assert math.isnan(roc_auc(np.array([1, 1]), np.array([0.2, 0.3])))


def test_log_loss_is_the_mean_negative_log_of_the_true_class_probability():
    p = np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]])
    assert log_loss(np.array([0, 1]), p) == pytest.approx(-(math.log(0.5) + math.log(0.8)) / 2)


def test_top_decile_lift_is_the_top_tenth_rate_over_the_overall_rate():
    bought = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], dtype=float)
    score = np.array([0.9, 0.1, 0.2, 0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.05])
    assert lift_top_decile(bought, score) == pytest.approx(1.0 / 0.2)


def test_calibration_splits_by_score_into_deciles():
    score = np.linspace(0, 1, 20)
    bought = (score > 0.5).astype(float)
    table = calibration(bought, score)
    assert [row["rows"] for row in table] == [2] * 10
    assert table[0]["observed"] == 0.0 and table[-1]["observed"] == 1.0
    assert table[0]["predicted"] == pytest.approx((score[0] + score[1]) / 2)


def test_category_metrics_are_computed_over_buyers_only():
    y = np.array([0, 1, 2, 2])
    p = np.array([[0.9, 0.05, 0.05], [0.2, 0.6, 0.2], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    result = metrics(y, p)
    assert result["accuracy_category"] == pytest.approx(2 / 3)
    assert result["auc_any"] == 1.0


def test_lookup_baseline_smooths_each_group_toward_the_overall_distribution():
    baseline = LookupBaseline(["a", "a", "b", "b"], np.array([0, 0, 1, 1]), 2, strength=2.0)
    prior = np.array([3 / 6, 3 / 6])
    assert baseline.prior == pytest.approx(prior)
    assert baseline.predict(["a"])[0] == pytest.approx((np.array([2, 0]) + 2 * prior) / 4)
    assert baseline.predict(["unseen"])[0] == pytest.approx(prior)


def test_recency_buckets_name_the_window():
    assert recency_bucket(None) == "no purchase in 365 days"
    assert recency_bucket(3) == "<= 7 days"
    assert recency_bucket(45) == "<= 60 days"
