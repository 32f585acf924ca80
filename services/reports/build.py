"""The report of one experiment: fifteen sections, one per Reporting page and PDF section.

The sections are declared once in ``schemas/reports.py`` (the dashboard builds its pages
from the same list); ``BUILDERS`` gives each its builder here. A section with no figure,
chart or table is empty and carries ``fills``: the job type that would fill it and parameters to open its form with.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from schemas.reports import REPORT_SECTIONS, ReportSection
from services.reports import figures as f
from services.reports import mcnemar, sections_behaviour as behaviour, sections_detection as detection
from services.reports import section_scaling, sections_overview as overview, sections_probes as probes
from services.reports.collect import JobResult

Builder = Callable[[list[JobResult]], dict[str, Any]]


def _summary(_: list[JobResult]) -> dict[str, Any]:
    return {}  # filled from the other sections in ``build_report``


BUILDERS: dict[str, Builder] = {
    "executive_summary": _summary,
    "internal_state": detection.internal_state,
    "detection_consensus": detection.consensus,
    "risk_mitigation": behaviour.risk_mitigation,
    "persistence_analysis": behaviour.persistence_analysis,
    "trigger_sensitivity": behaviour.trigger_sensitivity,
    "chain_of_thought": detection.one_method("chain_of_thought", "Chain-of-thought"),
    "red_team": detection.one_method("red_team", "Red team"),
    "honeypot": detection.one_method("honeypots", "Honeypots"),
    "persona": detection.one_method("persona", "Persona"),
    "detection_analysis": probes.detection_analysis,
    "model_comparison": mcnemar.model_comparison,
    "scaling": section_scaling.scaling,
    "risk_profiles": overview.risk_profiles,
    "tested_territory": overview.tested_territory,
}
SECTIONS = REPORT_SECTIONS
SUMMARY_FROM = ("risk_profiles", "persistence_analysis", "detection_consensus", "internal_state")


def _clean(part: dict[str, Any]) -> dict[str, Any]:
    out = {k: [x for x in part.get(k) or [] if x is not None] for k in ("figures", "charts", "tables")}
    out["notes"] = [str(n) for n in part.get("notes") or [] if n]
    out.update({k: v for k, v in part.items() if k not in out})
    return out


def _summary_part(built: dict[str, dict[str, Any]]) -> dict[str, Any]:
    figs = [next(iter(built[k]["figures"]), None) for k in SUMMARY_FROM]
    rows = [[s.title, "measured" if not built[s.key]["empty"] else "not measured",
             ", ".join(built[s.key]["job_ids"][:4]) or f"run {s.fills}"] for s in SECTIONS[1:]]
    return {"figures": figs, "tables": [f.table("What each page holds", ["page", "state", "jobs"], rows, [])]
            if any(not built[s.key]["empty"] for s in SECTIONS[1:]) else None}


def _prefill(section: ReportSection, jobs: list[JobResult], experiment: str) -> dict[str, Any]:
    """Parameters to open the filling job's form with: the experiment's latest backdoored model."""
    from schemas.params import model_for

    model = next((j.get("model") for j in reversed(jobs)
                  if j.job_type == "train_backdoor" and j.get("model") and not j.get("control")), None)
    try:
        fields = model_for(section.fills).model_fields
    except KeyError:  # a job type this build does not have yet (UnknownJobTypeError): the form opens empty
        fields = {}
    params: dict[str, Any] = {k: model for k in ("model", "backdoored_model") if k in fields and model}
    if "experiment" in fields:  # a job type with its own experiment field shows that one box
        params["experiment"] = experiment
    return {"job_type": section.fills, "why": section.why, "params": params, "options": {"experiment": experiment}}


def build_report(experiment: str, jobs: list[JobResult]) -> dict[str, Any]:
    built: dict[str, dict[str, Any]] = {}
    for s in SECTIONS[1:] + SECTIONS[:1]:
        error = None
        try:
            part = _clean(_summary_part(built) if s.key == "executive_summary" else BUILDERS[s.key](jobs))
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OSError) as exc:
            # a result of a shape this builder does not know must not take the other pages down
            part, error = _clean({}), f"{type(exc).__name__}: {exc}"
        ids = {i for x in part["figures"] for i in [x["job_id"]]}
        ids |= {i for x in part["charts"] + part["tables"] for i in x["job_ids"]}
        empty = not (part["figures"] or part["charts"] or part["tables"])
        built[s.key] = {"key": s.key, "title": s.title, "intro": s.intro, **part, "job_ids": sorted(ids),
                        "empty": empty, "error": error,
                        "fills": _prefill(s, jobs, experiment)}
    return {"experiment": experiment, "generated_at": time.time(),
            "jobs": [{"job_id": j.job_id, "job_type": j.job_type, "finished_at": j.finished_at} for j in jobs],
            "sections": [built[s.key] for s in SECTIONS]}
