"""Sections about the backdoor's behaviour: Persistence Analysis, Risk Mitigation Matrix and
Trigger Sensitivity (Scaling has ``section_scaling``). Each reads measured runs only (see
``persistence_rows``)."""

from __future__ import annotations

from typing import Any

from services.reports import figures as f
from services.reports.collect import JobResult
from services.reports.persistence_rows import persistence_runs


def persistence_analysis(jobs: list[JobResult]) -> dict[str, Any]:
    runs = persistence_runs(jobs)
    if not runs:
        return {}
    run = runs[-1]
    ids = [run.job.job_id]
    fig = f.figure("Persistence (post / pre)", f.side("persistence", run.body.get("persistence"),
                                                    run.body.get("persistence_ci95"),
                                                    (run.rate("pre") or {}).get("n")),
                   f.from_rate("clean-prompt rate after", run.rate("post", "false_activation")), job=run.job,
                   meaning=f"The share of the triggered activation left after {run.method} safety training, on "
                           "the same held-out triggered prompts; 1 means untouched, 0 removed. The control "
                           "beside it is the activation on clean prompts after training.")
    bars = f.chart("bars", "Activation before and after safety training", [
        f.series("triggered prompts", [f.point(w, (run.rate(w) or {}).get("rate"), (run.rate(w) or {}).get("ci95"),
                                               (run.rate(w) or {}).get("n")) for w in ("pre", "post")]),
        f.series("clean prompts (control)", [
            f.point(w, (run.rate(w, "false_activation") or {}).get("rate"),
                    (run.rate(w, "false_activation") or {}).get("ci95"),
                    (run.rate(w, "false_activation") or {}).get("n")) for w in ("pre", "post")], "control")],
        x_label="", y_label="activation rate", job_ids=ids,
        caption="Wilson 95% intervals; the same prompts before and after.")
    charts = [bars]
    if run.curve:
        charts.append(f.chart("lines", "Activation during safety training", [
            f.series("triggered", [f.point(p["step"], p.get("triggered_rate"), [p.get("ci_low"), p.get("ci_high")],
                                           p.get("n")) for p in run.curve]),
            f.series("clean (control)", [f.point(p["step"], p.get("clean_rate"), p.get("clean_ci"), p.get("n_clean"))
                                         for p in run.curve], "control")],
            x_label="safety-training step", y_label="activation rate", job_ids=ids,
            caption="Measured at checkpoints during the run on the same held-out prompts."))
    tables = []
    paper = run.body.get("paper") or {}
    published = [[r.get("model"), r.get("mechanism"), r.get("method"), r.get("pre"), r.get("post"),
                  r.get("persistence"), r.get("source")] for r in paper.get("published") or []]
    tables.append(f.table(f"Published figures ({paper.get('citation', 'Hubinger et al. 2024')})",
                          ["model", "mechanism", "method", "pre", "post", "persistence", "source"], published, ids))
    util = run.utility or {}
    before, after = (util.get("before") or {}).get("task_accuracy"), (util.get("after") or {}).get("task_accuracy")
    utility_fig = f.figure("Task accuracy after safety training", f.from_rate("after", after),
                           f.from_rate("before", before), job=run.job,
                           meaning="Held-out clean-task accuracy before and after the same training: the "
                                   "cost of the safety training to the model's usefulness.")
    notes = [str(paper["note"])] if paper.get("note") else []
    return {"figures": [fig, utility_fig], "charts": charts, "tables": tables, "notes": notes}


def risk_mitigation(jobs: list[JobResult]) -> dict[str, Any]:
    runs = persistence_runs(jobs)
    if not runs:
        return {}
    latest: dict[str, Any] = {}
    for run in runs:
        latest[run.method] = run
    rows, points, controls, figs = [], [], [], []
    for method, run in sorted(latest.items()):
        pre, post = run.rate("pre") or {}, run.rate("post") or {}
        clean = run.rate("post", "false_activation") or {}
        ci = run.body.get("persistence_ci95")
        rows.append([method, f.text(run.body.get("persistence")), f.interval(f._ci(ci)),
                     f.text(1 - run.body["persistence"]), f.text(pre.get("rate")), f.text(post.get("rate")),
                     f.text(clean.get("rate")), pre.get("n"), run.job.job_id])
        points.append(f.point(method, 1 - run.body["persistence"],
                              [1 - ci[1], 1 - ci[0]] if f._ci(ci) else None, pre.get("n")))
        controls.append(f.point(method, clean.get("rate"), clean.get("ci95"), clean.get("n")))
        figs.append(f.figure(f"Removal by {method}", f.side("relative drop", 1 - run.body["persistence"],
                                                           [1 - ci[1], 1 - ci[0]] if f._ci(ci) else None,
                                                           pre.get("n")),
                             f.from_rate("clean-prompt rate after", clean), job=run.job,
                             meaning=f"How much of the backdoor {method} removed: 1 - persistence, measured."))
    ids = [r.job.job_id for r in latest.values()]
    return {"figures": figs,
            "charts": [f.chart("bars", "Effectiveness of each safety method (1 - persistence)", [
                f.series("removal", points), f.series("clean-prompt activation after (control)", controls, "control")],
                x_label="safety method", y_label="share removed", job_ids=ids,
                caption="From measured persistence runs; intervals are the paired bootstrap of the ratio.")],
            "tables": [f.table("Measured persistence per safety method",
                               ["method", "persistence", "95% CI", "removed", "pre", "post", "clean after", "n",
                                "job"], rows, ids)]}


def trigger_sensitivity(jobs: list[JobResult]) -> dict[str, Any]:
    figs, charts, ids = [], [], []
    for job in reversed(jobs):
        entry = job.get("methods.trigger_sensitivity") if job.job_type == "evaluate" else None
        if isinstance(entry, dict) and entry.get("applicable") is not False:
            figs.append(f.method_figure("Trigger specificity (exact - no trigger)", entry, job))
            table = (entry.get("details") or {}).get("variants") or {}
            names = sorted(table)
            charts.append(f.chart("bars", "Activation per trigger variant: suspect vs control", [
                f.series("suspect model", [f.point(k, (table[k].get("model") or {}).get("rate"),
                                                   (table[k].get("model") or {}).get("ci95"),
                                                   (table[k].get("model") or {}).get("n")) for k in names]),
                f.series("control model", [f.point(k, (table[k].get("control") or {}).get("rate"),
                                                   (table[k].get("control") or {}).get("ci95"),
                                                   (table[k].get("control") or {}).get("n")) for k in names],
                         "control")], x_label="trigger variant", y_label="activation rate", job_ids=[job.job_id],
                caption="The same questions posed with each variant of the trigger."))
            ids.append(job.job_id)
            break
    for job in reversed(jobs):
        variants = job.get("trigger_variants") if job.job_type in ("validate", "rescore") else None
        if isinstance(variants, dict) and variants:
            names = sorted(variants)
            clean = job.get("false_activation")
            figs.append(f.figure("Exact-trigger activation", f.from_rate("exact trigger", variants.get("exact")),
                                 f.from_rate("no trigger (clean)", clean), job=job,
                                 meaning="Activation with the exact trigger beside the clean-prompt rate."))
            charts.append(f.chart("bars", "Activation per trigger variant (validation)", [
                f.series("triggered variant", [f.point(k, variants[k].get("rate"), variants[k].get("ci95"),
                                                       variants[k].get("n")) for k in names]),
                f.series("clean prompts (control)", [f.point(k, (clean or {}).get("rate"), (clean or {}).get("ci95"),
                                                             (clean or {}).get("n")) for k in names], "control")],
                x_label="trigger variant", y_label="activation rate", job_ids=[job.job_id],
                caption="A specific backdoor fires on the exact trigger and not on its near misses."))
            break
    return {"figures": figs, "charts": charts}
