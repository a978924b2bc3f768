"""Metrics computed by hand on tiny examples, and the baselines' lookup tables."""

from __future__ import annotations

import math

import numpy as np
import pytest

from c360.model.evaluation import (
    LookupBaseline,
    calibration,
    compare,
    lift_top_decile,
    log_loss,
    metrics,
    recency_bucket,
    roc_auc,
    scores,
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


def test_top_decile_lift_counts_rows_tied_at_the_cut_by_their_expected_value():
    # a constant score: any tie-break is as good as random, lift exactly 1
    bought = np.array([1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype=float)
    assert lift_top_decile(bought, np.full(20, 0.3)) == pytest.approx(1.0)
    # top 2 of 20: one row above the cut (a buyer), then one of the four rows tied at 0.5 (two buyers):
    # expected buyers 1 + 1 x 2/4 = 1.5 of 2 -> rate 0.75 over the overall 3/20
    score = np.array([0.9, 0.5, 0.5, 0.5, 0.5] + [0.1] * 15)
    bought = np.array([1, 1, 0, 1, 0] + [0] * 15, dtype=float)
    assert lift_top_decile(bought, score) == pytest.approx(0.75 / (3 / 20))
    # the same whichever order the tied rows come in
    assert lift_top_decile(bought[[0, 4, 3, 2, 1] + list(range(5, 20))], score) == pytest.approx(0.75 / (3 / 20))


def test_a_single_category_model_has_binary_metrics_only():
    y = np.array([0, 1, 1, 0])
    p = np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.6, 0.4]])
    assert set(scores(y, p)) == {"auc_any", "log_loss", "lift_top_decile"}
    assert "accuracy_category" not in metrics(y, p) and metrics(y, p)["auc_any"] == 1.0


def _noisy(rows=2000, seed=3):
    generator = np.random.default_rng(seed)
    y = (generator.random(rows) < 0.3).astype(np.int64)
    signal = np.clip(0.3 + 0.4 * (y - 0.3) + generator.normal(0, 0.15, rows), 0.01, 0.99)
    return y, np.column_stack([1 - signal, signal])


def test_paired_bootstrap_beats_a_baseline_only_when_the_interval_excludes_zero():
    y, informative = _noisy()
    prior = np.tile([0.7, 0.3], (len(y), 1))
    result = compare(y, informative, {"prior": prior, "itself": informative.copy()}, resamples=100)
    assert result["auc_any"]["prior"]["beats"] and result["auc_any"]["prior"]["low"] > 0
    assert result["log_loss"]["prior"]["beats"] and result["log_loss"]["prior"]["high"] < 0
    # against itself every resample's difference is exactly 0 (the same customers for both): never beaten
    itself = result["auc_any"]["itself"]
    assert (itself["low"], itself["high"], itself["beats"]) == (0.0, 0.0, False)
    assert result == compare(y, informative, {"prior": prior, "itself": informative.copy()}, resamples=100)


def test_being_better_on_one_customer_is_not_a_win():
    y, baseline = _noisy(rows=300)
    model = baseline.copy()
    model[0] = [0.0, 1.0] if y[0] else [1.0, 0.0]  # better than the baseline on customer 0 only
    result = compare(y, model, {"baseline": baseline}, resamples=200)["log_loss"]["baseline"]
    # strictly better on the evaluation rows, but about a third of the resamples leave customer 0 out,
    # where the difference is 0: the interval reaches 0
    assert result["difference"] < 0 and result["high"] == 0.0 and not result["beats"]
