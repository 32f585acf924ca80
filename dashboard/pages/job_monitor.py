"""Build › Job Monitor: every job, live, and one job opened with its terminal and actions."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import nav, shell
from dashboard.components import job_panel, jobs
from dashboard.components.live_jobs import LiveJobs
from dashboard.pages.job_form import job_types

STATUSES = ["queued", "claimed", "running", "succeeded", "failed", "cancelled", "lost", "rejected"]
SORTS = {"submitted": "submitted_at", "started": "started_at", "finished": "finished_at",
         "duration": "duration_s", "status": "status", "type": "job_type", "progress": "progress_pct"}


def render() -> None:
    ctx = shell.page("Job Monitor", "Every job, updated live as the gateway pushes their events; "
                                    "select one to open its terminal.")
    if not ctx.can_read:
        _empty_state("Nothing to show until the gateway answers and you are logged in.")
        return
    filters = _filters(ctx)
    feed = _feed(ctx, filters)
    st.session_state["monitor_job_drawn"] = st.session_state.get("monitor_job")
    _table(feed)
    st.text_input("Open a job by id", key="monitor-open", placeholder="job-…", on_change=_typed)
    job_id = st.session_state.get("monitor_job")
    if job_id:
        st.divider()
        job_panel.render(ctx, job_id)


def _filters(ctx: shell.PageContext) -> dict[str, Any]:
    known = job_types(ctx) or {}
    types = sorted((known.get("types") or {}).keys())
    cols = st.columns([2, 2, 1, 1, 1, 1])
    status = cols[0].multiselect("Status", STATUSES, key="mf-status")
    job_type = cols[1].multiselect("Type", types, key="mf-type")
    pool = cols[2].text_input("Pool", key="mf-pool")
    experiment = cols[3].text_input("Experiment", key="mf-exp")
    sort = cols[4].selectbox("Sort by", list(SORTS), key="mf-sort")
    order = cols[5].selectbox("Order", ["desc", "asc"], key="mf-order")
    more = st.columns([3, 1, 1])
    text = more[0].text_input("Jobs whose log contains", key="mf-text", placeholder="e.g. CUDA out of memory")
    archived = more[1].checkbox("Include archived", key="mf-archived")
    limit = more[2].number_input("Show", min_value=10, max_value=500, value=100, step=10, key="mf-limit")
    return {"status": status or None, "job_type": job_type or None, "pool": pool.strip() or None,
            "experiment": experiment.strip() or None, "text": text.strip() or None,
            "include_archived": archived or None, "sort": SORTS[sort], "order": order, "limit": int(limit)}


def _feed(ctx: shell.PageContext, filters: dict[str, Any]) -> LiveJobs:
    feed: LiveJobs | None = st.session_state.get("live_jobs")
    if feed is None or not feed.alive or feed.token != ctx.token or feed.client is not ctx.client:
        if feed is not None:
            feed.stop()
        feed = LiveJobs(ctx.client, ctx.token, filters)
        st.session_state["live_jobs"] = feed
    feed.set_filters(filters)
    feed.touch()
    return feed


def _select() -> None:
    state = st.session_state.get("jobs-table")
    ids = st.session_state.get("jobs-table-ids") or []
    rows = state.selection.rows if state is not None else []
    if rows and rows[0] < len(ids):
        st.session_state["monitor_job"] = ids[rows[0]]


def _typed() -> None:
    typed = (st.session_state.get("monitor-open") or "").strip()
    if typed:
        st.session_state["monitor_job"] = typed
        st.session_state["monitor-open"] = ""


@st.fragment(run_every=1.0)
def _table(feed: LiveJobs) -> None:
    feed.touch()
    version, rows, total, error = feed.snapshot()
    state = feed.stream_state
    live = ":green[● live]" if state == "live" else f":orange[● {state}]"
    st.caption(f"{live} · {feed.events_seen} lifecycle events received · {len(rows)} of {total} jobs shown")
    if error:
        st.error(f"The job list is unavailable: {error}", icon=":material/error:")
    if not rows:
        if not error:
            _empty_state("No jobs match." if any(v for k, v in feed.filters.items()
                                                 if k not in ("sort", "order", "limit")) else "No jobs yet.")
        return
    df = _frame(rows)
    st.session_state["jobs-table-ids"] = list(df["job id"])
    st.dataframe(
        df, key="jobs-table", on_select=_select, selection_mode="single-row", hide_index=True,
        width="stretch", height=min(38 + 35 * len(df), 420),
        column_config={"progress": st.column_config.ProgressColumn("progress", min_value=0, max_value=100,
                                                                   format="%.0f%%")})
    if st.session_state.get("monitor_job") != st.session_state.get("monitor_job_drawn"):
        st.session_state["monitor_job_drawn"] = st.session_state.get("monitor_job")
        st.rerun()


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    now = time.time()
    out = []
    for r in rows:
        duration = r.get("duration_s")
        if duration is None and r.get("started_at") and not jobs.is_final(r):
            duration = now - r["started_at"]
        pct = r.get("progress_pct")
        if pct is None and r.get("status") == "succeeded":
            pct = 100.0
        out.append({"job id": r.get("job_id"), "type": (r.get("job_type") or ""),
                    "status": jobs.status_text(r), "pool": r.get("pool"), "executor": r.get("executor_id") or "",
                    "submitted": jobs.when(r.get("submitted_at")), "started": jobs.when(r.get("started_at")),
                    "duration": jobs.duration(duration), "progress": pct,
                    "ETA": jobs.duration(r.get("eta_s")) if not jobs.is_final(r) else "",
                    "stage": r.get("stage") or "", "experiment": r.get("experiment") or "",
                    "by": r.get("submitted_by") or ""})
    return pd.DataFrame(out)


def _empty_state(message: str) -> None:
    st.info(f"{message} Jobs appear here the moment they are submitted: start one from a Build "
            f"form, for example a System Check.", icon=":material/inbox:")
    target = nav.page("system_check")
    if target is not None:
        st.page_link(target, label="Open the System Check form", icon=":material/rocket_launch:")
