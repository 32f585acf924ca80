"""Build › Experiment History: a timeline of experiments and jobs, exports of their full
event history, side-by-side comparison against a base job, and Reproduce."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time as dtime, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import nav, shell
from dashboard.components import charts, compare, jobs, model_picker
from dashboard.pages.job_form import job_types
from dashboard.pages.job_monitor import STATUSES

MAX_COMPARE = 10  # the demo experiment holds nine jobs


def render() -> None:
    ctx = shell.page("Experiment History", "Experiments and their jobs over time; compare runs "
                                           "against a base job, export their history, reproduce one.")
    if not ctx.can_read:
        st.info("Nothing to show until the gateway answers and you are logged in.", icon=":material/inbox:")
        return
    filters = _filters(ctx)
    answer = shell.call(ctx.client.jobs, ctx.token, limit=500, include_archived=True, **filters,
                        what="load the jobs")
    rows = [jobs.normal(r) for r in (answer or {}).get("rows") or []]
    experiments = (shell.call(ctx.client.experiments, ctx.token, what="load the experiments") or {}).get("rows") or []
    if answer is None:
        return
    if not rows:
        st.info("No jobs match these filters. Jobs submitted with an experiment name are grouped "
                "here; widen the date range or submit one from a Build form.", icon=":material/inbox:")
        return
    st.markdown("#### Timeline")
    fig = charts.timeline(rows)
    if fig is not None:
        st.plotly_chart(fig, width="stretch", key="timeline")
    _experiments(ctx, experiments)
    _compare(ctx, rows)


def _filters(ctx: shell.PageContext) -> dict[str, Any]:
    known = job_types(ctx) or {}
    cols = st.columns([2, 2, 2, 3])
    today = date.today()
    picked = cols[0].date_input("Date range", value=(today - timedelta(days=30), today), key="eh-dates")
    job_type = cols[1].multiselect("Type", sorted((known.get("types") or {}).keys()), key="eh-type")
    status = cols[2].multiselect("Status", STATUSES, key="eh-status")
    models, _ = model_picker.options(ctx)
    model = cols[3].selectbox("Model (used or produced)", ["(any)", *[p for p, _ in models]], key="eh-model",
                              format_func=lambda p: dict(models).get(p, p))
    since = until = None
    if isinstance(picked, (tuple, list)) and picked:
        since = datetime.combine(picked[0], dtime.min).timestamp()
        if len(picked) > 1:
            until = datetime.combine(picked[1], dtime.max).timestamp()
    return {"since": since, "until": until, "job_type": job_type or None, "status": status or None,
            "model": None if model == "(any)" else model}


def _experiments(ctx: shell.PageContext, experiments: list[dict[str, Any]]) -> None:
    st.markdown("#### Experiments")
    if not experiments:
        st.caption("No named experiments yet: set an experiment name in a form's run options to group jobs.")
        return
    df = pd.DataFrame(experiments)
    for col in ("first_at", "last_at"):
        if col in df:
            df[col] = df[col].map(jobs.when)
    st.dataframe(df, hide_index=True, width="stretch")
    cols = st.columns([2, 1, 2])
    name = cols[0].selectbox("Export an experiment", [e.get("name") for e in experiments], key="eh-export")
    if cols[1].button("Prepare export", key="eh-prepare", icon=":material/inventory_2:"):
        with st.spinner(f"Reading every event of {name}…"):
            data = _export(ctx, name)
        if data is not None:
            st.session_state["eh-export-data"] = (name, data)
    ready = st.session_state.get("eh-export-data")
    if ready and ready[0] == name:
        cols[2].download_button(f"Download {name}.jsonl ({len(ready[1]) / 1024:.0f} KiB)", ready[1],
                                file_name=f"{name}.jsonl", mime="application/x-ndjson", key="eh-download",
                                icon=":material/download:")


def _export(ctx: shell.PageContext, name: str) -> bytes | None:
    """The experiment's metadata, then every job's row and full event history, as JSON lines."""
    meta = shell.call(ctx.client.experiment, ctx.token, name, what=f"load experiment {name}")
    if meta is None:
        return None
    lines = [json.dumps({"record": "experiment", **meta}, default=str)]
    for job in meta.get("jobs") or []:
        lines.append(json.dumps({"record": "job", **job}, default=str))
        try:
            for event in ctx.client.user(ctx.token).events(job["job_id"], follow=False,
                                                            read_timeout=120.0):
                if event.kind == "end":
                    break
                lines.append(json.dumps({"record": "event", "job_id": job["job_id"],
                                         "stream_seq": event.seq, "kind": event.kind,
                                         "envelope": event.data}))
        except Exception as exc:  # the export says what it could not read instead of failing
            lines.append(json.dumps({"record": "error", "job_id": job["job_id"], "error": str(exc)}))
    return ("\n".join(lines) + "\n").encode()


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value if isinstance(value, (str, int, float, bool)) or value is None else json.dumps(value)


def fields(job: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": job.get("job_type"), "status": jobs.status_text(job),
                           "experiment": job.get("experiment"), "pool": job.get("pool"),
                           "duration": jobs.duration(job.get("duration_s"))}
    _flat("params", job.get("params") or {}, out)
    _flat("result", job.get("result_summary") or {}, out)
    _flat("metric", job.get("latest_metrics") or {}, out)
    return out


def comparison(selected: list[dict[str, Any]], base_id: str, hide_identical: bool) -> pd.DataFrame:
    table = {j["job_id"]: fields(j) for j in selected}
    names: list[str] = []
    for f in table.values():
        names += [n for n in f if n not in names]
    df = pd.DataFrame({jid: [table[jid].get(n) for n in names] for jid in table}, index=names)
    df = df[[base_id] + [c for c in df.columns if c != base_id]]
    if hide_identical and len(df.columns) > 1:
        same = df.apply(lambda row: len({json.dumps(v, default=str) for v in row}) == 1, axis=1)
        df = df[~same]
    return df.map(lambda v: "" if v is None or v != v else str(v))


def _compare(ctx: shell.PageContext, rows: list[dict[str, Any]]) -> None:
    st.markdown("#### Compare runs")
    by_id = {r["job_id"]: r for r in rows}
    labels = {r["job_id"]: f"{r['job_id']} · {(r.get('job_type') or '')} · "
                           f"{r.get('status')} · {jobs.when(r.get('submitted_at'))}" for r in rows}
    picked = st.multiselect(f"Jobs to compare (2 to {MAX_COMPARE})", list(by_id), key="eh-compare",
                            format_func=labels.get, max_selections=MAX_COMPARE)
    if len(picked) < 2:
        st.caption("Pick two or more jobs, then a base job: every other job is shown against it.")
        return
    cols = st.columns([2, 1, 1])
    base = cols[0].selectbox("Base job", picked, key="eh-base", format_func=labels.get)
    hide = cols[1].checkbox("Hide identical fields", value=True, key="eh-hide")
    if cols[2].button("Reproduce the base job", key="eh-reproduce", icon=":material/replay:",
                      disabled=not ctx.can("operator"), help="Submit the same parameters as a new job"):
        _reproduce(ctx, by_id[base])
    df = comparison([by_id[j] for j in picked], base, hide)
    if df.empty:
        st.caption("These jobs are identical in every recorded field.")
    else:
        base_col = df[base]
        styled = df.style.apply(lambda col: ["" if col.name == base or v == b else "background-color: rgba(255, 196, 0, 0.25)"
                                             for v, b in zip(col, base_col)], axis=0)
        st.dataframe(styled, width="stretch", height=min(38 + 35 * len(df), 400))
        st.caption("Highlighted: differs from the base job.")
    details = [d for d in (shell.call(ctx.client.job, ctx.token, job_id, what=f"load {job_id}")
                           for job_id in [base] + [j for j in picked if j != base]) if d]
    _compare_results(details, hide)
    series = {d["job"]["job_id"]: d["metrics"] for d in details if d.get("metrics")}
    names = sorted({n for rows in series.values() for n in charts.split_series(rows)[0]})
    with st.expander(f"Training curves ({len(names)} step series)", icon=":material/show_chart:"):
        fig = charts.overlay(series, names=names) if names else None
        if fig is not None:
            st.plotly_chart(fig, width="stretch", key="eh-overlay")
        else:
            st.caption("None of these jobs recorded a metric over steps (training jobs do).")


def _compare_results(details: list[dict[str, Any]], hide: bool) -> None:
    """The jobs' headline figures, grouped by what they measure, with intervals; CSV export."""
    st.markdown("##### Results")
    table = compare.figure_table(details)
    shown = compare.differing(table) if hide else table
    if table.empty:
        st.caption("None of these jobs has recorded a result yet.")
        return
    hidden = sorted(set(table["figure"]) - set(shown["figure"]))
    fig = compare.chart(shown)
    if fig is not None:
        st.plotly_chart(fig, width="stretch", key="eh-results")
    if hidden:
        st.caption(f"Hidden, identical in every job: {', '.join(hidden)}.")
    st.download_button("Export the figures as CSV", table.to_csv(index=False).encode(), key="eh-csv",
                       file_name="comparison.csv", mime="text/csv", icon=":material/download:")


def _reproduce(ctx: shell.PageContext, job: dict[str, Any]) -> None:
    options = {k: job.get(k) for k in ("pool", "priority", "experiment", "max_runtime_s", "max_retries")
               if job.get(k) is not None}
    answer = shell.call(ctx.client.submit, ctx.token, job["job_type"], job.get("params") or {},
                        idempotency_key=uuid.uuid4().hex, **options, what="reproduce the job")
    if answer is not None:
        st.success(f"Reproduced as {answer['job_id']}")
        nav.open_job(answer["job_id"])
