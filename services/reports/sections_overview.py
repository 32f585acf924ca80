"""Risk Profiles (each model's measured figures side by side) and Tested Territory (which
backdoors, triggers, methods and layers have been run in the experiment, and which not:
the "not" comes from the job types' own parameter choices, so it stays in step with them)."""

from __future__ import annotations

import typing
from typing import Any

from schemas.params.safety_training import SafetyTrainingParams
from schemas.params.train_probes import TrainProbesParams
from schemas.params.validate import ValidateParams
from services.reports import figures as f
from services.reports.collect import JobResult
from services.reports.persistence_rows import persistence_runs
from services.reports.sections_detection import INTERNAL, METHOD_TITLES


def choices(model: Any, field: str) -> list[str]:
    """The string literals a params field allows (``list[Literal[...]]`` or ``Literal[...] | None``)."""
    found: list[str] = []

    def walk(tp: Any) -> None:
        for arg in typing.get_args(tp):
            if isinstance(arg, str):
                found.append(arg)
            else:
                walk(arg)
    walk(model.model_fields[field].annotation)
    return list(dict.fromkeys(found))


PROFILE_COLUMNS = ["model", "triggered", "triggered 95% CI", "clean", "persistence", "persistence 95% CI", "jobs"]


def _model_of(job: JobResult) -> str | None:
    return job.get("model") or job.params.get("model") or job.params.get("backdoored_model")


def risk_profiles(jobs: list[JobResult]) -> dict[str, Any]:
    models: dict[str, dict[str, Any]] = {}
    for job in jobs:
        if job.job_type == "validate" and isinstance(job.get("activation"), dict):
            m = models.setdefault(str(_model_of(job)), {})
            m["activation"], m["clean"], m["validate"] = job.get("activation"), job.get("false_activation"), job
    for run in persistence_runs(jobs):
        models.setdefault(run.model, {})["persistence"] = run
    if not models:
        return {}
    names = sorted(models)
    short = {n: f.model_name(n) for n in names}
    rows, ids = [], []
    for n in names:
        m = models[n]
        a, c, p = m.get("activation") or {}, m.get("clean") or {}, m.get("persistence")
        rows.append([short[n], f.text(a.get("rate")), f.interval(f._ci(a.get("ci95"))), f.text(c.get("rate")),
                     f.text(p.body.get("persistence") if p else None),
                     f.interval(f._ci(p.body.get("persistence_ci95"))) if p else "not measured",
                     ", ".join(x.job_id for x in (m.get("validate"), p.job if p else None) if x)])
        ids += [x.job_id for x in (m.get("validate"), p.job if p else None) if x]
    chart = f.chart("bars", "Each model's measured backdoor", [
        f.series("triggered activation", [f.point(short[n], (models[n].get("activation") or {}).get("rate"),
                                                  (models[n].get("activation") or {}).get("ci95"),
                                                  (models[n].get("activation") or {}).get("n")) for n in names]),
        f.series("clean-prompt activation (control)", [
            f.point(short[n], (models[n].get("clean") or {}).get("rate"), (models[n].get("clean") or {}).get("ci95"),
                    (models[n].get("clean") or {}).get("n")) for n in names], "control"),
        f.series("persistence", [f.point(short[n], models[n]["persistence"].body.get("persistence"),
                                         models[n]["persistence"].body.get("persistence_ci95"))
                                 for n in names if models[n].get("persistence")])],
        x_label="model", y_label="rate", job_ids=ids, y_range=None,
        caption="Validation rates (Wilson 95%) and persistence (paired bootstrap 95%) per model.")
    first = next((models[n] for n in names if models[n].get("validate")), None)
    fig = None if first is None else f.figure(
        f"Triggered activation, {short[str(_model_of(first['validate']))]}",
        f.from_rate("triggered", first["activation"]), f.from_rate("clean prompts", first["clean"]),
        job=first["validate"],
        meaning="How reliably the backdoor fires on held-out triggered prompts, beside clean prompts.")
    return {"figures": [fig], "charts": [chart],
            "tables": [f.table("Risk profile per model", PROFILE_COLUMNS, rows, ids)]}


def tested_territory(jobs: list[JobResult]) -> dict[str, Any]:
    if not jobs:
        return {}
    ran: dict[str, dict[str, list[str]]] = {}

    def mark(area: str, item: Any, job: JobResult) -> None:
        if item is not None:
            ran.setdefault(area, {}).setdefault(str(item), []).append(job.job_id)
    layers_total = 0
    for job in jobs:
        info = job.get("backdoor") or {}
        if isinstance(info, dict):
            mark("backdoor type", info.get("backdoor_type"), job)
            mark("trigger", info.get("trigger"), job)
        for v in (job.get("trigger_variants") or {}) if job.job_type in ("validate", "rescore") else ():
            mark("trigger variant", v, job)
        if job.job_type == "evaluate":
            for name, e in (job.get("methods") or {}).items():
                if isinstance(e, dict) and e.get("applicable") is not False:
                    mark("detection method", name, job)
        if job.job_type == "train_probes":
            for m in job.get("methods") or []:
                mark("probe method", m, job)
            for layer in job.get("layers") or []:
                mark("layer", layer, job)
            layers_total = max(layers_total, int(job.get("n_blocks") or 0))
    for run in persistence_runs(jobs):
        mark("safety method", run.method, run.job)
    universe = {"backdoor type": choices(ValidateParams, "backdoor_type"),
                "detection method": list(METHOD_TITLES), "probe method": choices(TrainProbesParams, "methods"),
                "safety method": choices(SafetyTrainingParams, "method"),
                "layer": [str(i) for i in range(layers_total)]}
    rows, done, total = [], 0, 0
    for area in ("backdoor type", "trigger", "trigger variant", "detection method", "probe method", "layer",
                 "safety method"):
        items = list(dict.fromkeys(universe.get(area, []) + sorted(ran.get(area, {}))))
        for item in items:
            jobs_ = sorted(set(ran.get(area, {}).get(item, [])))
            rows.append([area, METHOD_TITLES.get(item, item) if area == "detection method" else item,
                         "run" if jobs_ else "not run", ", ".join(jobs_[:3])])
            if area in universe:
                total += 1
                done += bool(jobs_)
    ids = sorted({j for area in ran.values() for js in area.values() for j in js})
    if not ids:
        return {}
    fig = f.figure("Share of the known territory run", f.side("run", done / total if total else None, None, total),
                   None, job=next(j for j in jobs if j.job_id == ids[0]),
                   meaning=f"{done} of {total} known backdoor types, detection methods ({len(INTERNAL)} of them "
                           "internal), probe methods, layers and safety methods have been run here at least once; "
                           "everything not run is listed as such.")
    return {"figures": [fig], "tables": [f.table("Tested territory", ["area", "item", "state", "jobs"], rows, ids)]}
