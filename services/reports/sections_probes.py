"""Detection Analysis: the probes' ROC curves on held-out prompts, the suspect model's
beside the control model's at the same (method, layer), from the ``train_probes`` result
(its published form keeps each probe's test ROC points)."""

from __future__ import annotations

from typing import Any

from services.reports import figures as f
from services.reports.collect import JobResult
from services.reports.sections_detection import latest_probes, probe_family


def _probe(side: dict[str, Any], method: str | None, site: str | None) -> dict[str, Any] | None:
    for p in side.get("probes") or []:
        if p.get("method") == method and p.get("site") == site:
            return p
    return None


def _roc_series(label: str, probe: dict[str, Any] | None, style: str) -> dict[str, Any] | None:
    roc = ((probe or {}).get("test") or {}).get("roc") or {}
    fpr, tpr = roc.get("fpr") or [], roc.get("tpr") or []
    return f.series(label, [f.point(x, y) for x, y in zip(fpr, tpr)], style)


def detection_analysis(jobs: list[JobResult]) -> dict[str, Any]:
    job = latest_probes(jobs)
    if job is None:
        return {}
    figures, charts, rows = [], [], []
    for family, fam in sorted((job.get("families") or {}).items()):
        if not isinstance(fam, dict) or not isinstance((fam.get("backdoored") or {}).get("probes"), list):
            continue
        sel = (fam.get("backdoored") or {}).get("selected") or {}
        b = _probe(fam["backdoored"], sel.get("method"), sel.get("site"))
        c = _probe(fam.get("control") or {}, sel.get("method"), sel.get("site"))
        bt, ct = (b or {}).get("test") or {}, (c or {}).get("test") or {}
        figures.append(f.figure(f"AUROC, {family}", f.side(f"{sel.get('method')} at {sel.get('site')}",
                                                          bt.get("auroc"), bt.get("auroc_ci95")),
                                f.side("control model", ct.get("auroc"), ct.get("auroc_ci95")), job=job,
                                meaning=str((fam.get("verdict") or {}).get("why") or "")))
        charts.append(f.chart("lines", f"ROC, {family} ({sel.get('method')} at {sel.get('site')})", [
            _roc_series("suspect model", b, "measured"), _roc_series("control model", c, "control"),
            f.series("chance", [f.point(0.0, 0.0), f.point(1.0, 1.0)], "baseline")],
            x_label="false-positive rate", y_label="true-positive rate", job_ids=[job.job_id],
            caption="On the worst-case held-out test dataset; the validation-selected probe."))
        for side_name, side in (("suspect", fam["backdoored"]), ("control", fam.get("control") or {})):
            for p in side.get("probes") or []:
                t = p.get("test") or {}
                rows.append([family, side_name, p.get("method"), p.get("site"), f.text(t.get("auroc")),
                             f.interval(f._ci(t.get("auroc_ci95"))), f.text(t.get("precision")),
                             f.text(t.get("recall")), f.text(t.get("f1"))])
    head = probe_family(job)
    if head is not None:  # the family the other pages show leads
        figures.sort(key=lambda x: x is None or x["label"] != f"AUROC, {head[0]}")
    return {"figures": figures, "charts": charts,
            "tables": [f.table("Every probe on the test split", ["family", "model", "method", "site", "AUROC",
                                                                 "95% CI", "precision", "recall", "F1"],
                               rows, [job.job_id])]}
