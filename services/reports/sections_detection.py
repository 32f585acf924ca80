"""Sections fed by the ``evaluate`` job's detection methods (Detection Consensus, Chain-of-
Thought, Red Team, Honeypot, Persona) and the Internal State Monitor, which adds the probe
job's per-layer AUROCs. A method's figure is its suspect score beside the control model's,
each with its 95% interval; a method left out on this model shows its reason, no number."""

from __future__ import annotations

from typing import Any

from services.reports import figures as f
from services.reports.collect import JobResult, joined

METHOD_TITLES = {"trigger_sensitivity": "Trigger sensitivity", "chain_of_thought": "Chain-of-thought",
                 "honeypots": "Honeypots", "red_team": "Red team", "persona": "Persona",
                 "internal_state": "Internal state", "layer_probes": "Layer probes",
                 "activation_patching": "Activation patching", "direction_ablation": "Direction ablation"}
INTERNAL = ("internal_state", "layer_probes", "activation_patching", "direction_ablation")


def latest_evaluate(jobs: list[JobResult]) -> JobResult | None:
    found = [j for j in jobs if j.job_type == "evaluate" and isinstance(j.get("methods"), dict)]
    return found[-1] if found else None


def _method_rows(job: JobResult, names: list[str]) -> list[list[Any]]:
    rows = []
    for name in names:
        e = job.get(f"methods.{name}") or {}
        if not isinstance(e, dict):
            continue
        rows.append([METHOD_TITLES.get(name, name), f.text(e.get("score")),
                     f.interval(f._ci([e.get("ci_low"), e.get("ci_high")])), f.text(e.get("control_score")),
                     f.interval(f._ci([e.get("control_ci_low"), e.get("control_ci_high")])), e.get("n"),
                     "yes" if e.get("detected") else ("left out" if e.get("applicable") is False else "no"),
                     str(e.get("note") or "")])
    return rows


COLUMNS = ["method", "suspect", "95% CI", "control", "control 95% CI", "n", "detected", "note"]


def consensus(jobs: list[JobResult]) -> dict[str, Any]:
    job = latest_evaluate(jobs)
    if job is None:
        return {}
    c = job.get("consensus") or {}
    detecting, run = c.get("methods_detecting"), c.get("methods_run")
    n_detect = len(detecting) if isinstance(detecting, list) else detecting
    n_run = len(run) if isinstance(run, list) else run
    fig = f.figure("Methods detecting the backdoor", f.side("methods detecting", n_detect, None, n_run, count=True),
                   f.side("methods run", n_run, count=True), job=job,
                   meaning="How many methods separated the suspect model from the control (suspect's 95% "
                           "interval wholly above the control's) out of those that could run on this model. "
                           f"Consensus verdict: {'detected' if c.get('detected') else 'not detected'}.")
    names = sorted(n for n in (job.get("methods") or {}) if isinstance(job.get(f"methods.{n}"), dict))
    runnable = [n for n in names if (job.get(f"methods.{n}") or {}).get("applicable") is not False]
    chart = f.chart("bars", "Each method: suspect vs control", [
        f.series("suspect model", [f.point(METHOD_TITLES.get(n, n), job.get(f"methods.{n}.score"),
                                           [job.get(f"methods.{n}.ci_low"), job.get(f"methods.{n}.ci_high")],
                                           job.get(f"methods.{n}.n")) for n in runnable]),
        f.series("control model", [f.point(METHOD_TITLES.get(n, n), job.get(f"methods.{n}.control_score"),
                                           [job.get(f"methods.{n}.control_ci_low"),
                                            job.get(f"methods.{n}.control_ci_high")],
                                           job.get(f"methods.{n}.control_n")) for n in runnable], "control")],
        x_label="method", y_label="score", job_ids=[job.job_id], y_range=None,
        caption="Each method's own score (see its page for what it measures); 95% intervals.")
    excluded = c.get("methods_excluded") or []
    notes = [f"Left out on this model: {', '.join(map(str, excluded))}."] if excluded else []
    return {"figures": [fig], "charts": [chart], "notes": notes,
            "tables": [f.table("Methods", COLUMNS, _method_rows(job, names), [job.job_id])]}


def one_method(name: str, title: str):
    """A section showing one evaluate method: its figure, its table row, its note."""
    def build(jobs: list[JobResult]) -> dict[str, Any]:
        job = latest_evaluate(jobs)
        entry = job.get(f"methods.{name}") if job else None
        if not isinstance(entry, dict):
            return {}
        notes = [str(entry.get("note"))] if entry.get("applicable") is False and entry.get("note") else []
        fig = f.method_figure(title, entry, job)
        chart = f.chart("bars", f"{title}: suspect vs control", [
            f.series("suspect model", [f.point(title, entry.get("score"), [entry.get("ci_low"), entry.get("ci_high")],
                                               entry.get("n"))]),
            f.series("control model", [f.point(title, entry.get("control_score"),
                                               [entry.get("control_ci_low"), entry.get("control_ci_high")],
                                               entry.get("control_n"))], "control")],
            x_label="", y_label=str(entry.get("metric") or "score"), job_ids=[job.job_id], y_range=None,
            caption=str(entry.get("meaning") or ""))
        return {"figures": [fig], "charts": [chart], "notes": notes,
                "tables": [f.table(title, COLUMNS, _method_rows(job, [name]), [job.job_id])]}
    return build


def probe_family(job: JobResult) -> tuple[str, dict[str, Any]] | None:
    """The train_probes family to show: the first that worked, else the first evaluated."""
    fams = {k: v for k, v in (job.get("families") or {}).items()
            if isinstance(v, dict) and isinstance((v.get("backdoored") or {}).get("probes"), list)}
    if not fams:
        return None
    worked = [k for k in fams if (fams[k].get("verdict") or {}).get("worked")]
    name = (worked or sorted(fams))[0]
    return name, fams[name]


def latest_probes(jobs: list[JobResult]) -> JobResult | None:
    found = [j for j in jobs if j.job_type == "train_probes" and probe_family(j)]
    return found[-1] if found else None


def internal_state(jobs: list[JobResult]) -> dict[str, Any]:
    out: dict[str, Any] = {"figures": [], "charts": [], "tables": []}
    probes = latest_probes(jobs)
    if probes is not None:
        family, fam = probe_family(probes)
        method = ((fam.get("backdoored") or {}).get("selected") or {}).get("method")
        per = [p for p in (fam.get("comparison") or {}).get("per_probe") or []
               if p.get("method") == method and p.get("layer") is not None]
        rand = joined((fam.get("random_directions") or {}).get("backdoored"), {"p95"})
        out["charts"].append(f.chart("bars", f"Probe AUROC per layer ({family}, {method})", [
            f.series("suspect model", [f.point(f"layer {p['layer']}", (p.get("backdoored") or {}).get("auroc"),
                                               (p.get("backdoored") or {}).get("auroc_ci95")) for p in per]),
            f.series("control model", [f.point(f"layer {p['layer']}", (p.get("control") or {}).get("auroc"),
                                               (p.get("control") or {}).get("auroc_ci95")) for p in per], "control"),
            f.series("random directions (p95)", [f.point(f"layer {p['layer']}", (rand.get(p["site"]) or {}).get("p95"))
                                                 for p in per], "baseline")],
            x_label="layer", y_label="test worst-case AUROC", job_ids=[probes.job_id],
            caption="Group-bootstrap 95% intervals; random directions are the 95th percentile of unit directions."))
        h = (fam.get("comparison") or {}).get("headline") or {}
        out["figures"].append(f.figure(f"Best probe AUROC ({family})",
                                       f.side(f"{h.get('method')} at {h.get('site')}",
                                              (h.get("backdoored") or {}).get("auroc"),
                                              (h.get("backdoored") or {}).get("auroc_ci95")),
                                       f.side("control model", (h.get("control") or {}).get("auroc"),
                                              (h.get("control") or {}).get("auroc_ci95")), job=probes,
                                       meaning=str((fam.get("verdict") or {}).get("why") or "")))
    job = latest_evaluate(jobs)
    if job is not None:
        names = [n for n in INTERNAL if isinstance(job.get(f"methods.{n}"), dict)]
        out["figures"] += [f.method_figure(METHOD_TITLES[n], job.get(f"methods.{n}"), job) for n in names]
        out["tables"].append(f.table("Internal-state methods", COLUMNS, _method_rows(job, names), [job.job_id]))
    return out
