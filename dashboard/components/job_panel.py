"""One job, opened: its state, actions, parameters, live terminal, attempts, metrics, audit."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import nav, shell
from dashboard.client import GatewayError, GatewayUnreachableError, job_logs_path
from dashboard.components import charts, jobs, result_view
from dashboard.components import terminal as term
from services.client.capsule import capsule_lines


def render(ctx: shell.PageContext, job_id: str, *, show_actions: bool = True) -> dict[str, Any] | None:
    try:
        detail = ctx.client.job(ctx.token, job_id, min_seq=term.min_seq(job_id))
    except (GatewayError, GatewayUnreachableError) as exc:
        st.error(f"Could not load job {job_id}: {exc}", icon=":material/error:")
        if isinstance(exc, GatewayError) and exc.status == 503:
            # the read side is down; the event log and its live streams still work
            st.markdown(f"#### {job_id}")
            st.caption("Its live terminal still follows the event log:")
            term.terminal(ctx, job_id)
        return None
    job = jobs.normal(detail.get("job") or {})
    _header(job)
    if show_actions:
        _actions(ctx, job)
    result_view.headline_card(detail)
    with st.expander("Parameters", expanded=False, icon=":material/tune:"):
        params = job.get("params") or {}
        if params:
            st.dataframe(pd.DataFrame({"parameter": list(params), "value": [_cell(v) for v in params.values()]}),
                         hide_index=True, width="stretch")
        else:
            st.caption("This job type takes no parameters, or all are defaults.")
        st.caption("Run options: " + ", ".join(f"{k} = {job.get(k)}" for k in
                                              ("pool", "priority", "experiment", "max_runtime_s", "max_retries")
                                              if job.get(k) is not None))
        if detail.get("capsule"):  # code, packages, hardware, seeds and digests that produced it
            st.code("\n".join(capsule_lines(detail["capsule"])), language=None)
    st.markdown("##### Terminal")
    term.terminal(ctx, job_id, finished=jobs.is_final(job))
    _tabs(ctx, job, detail)
    return job


def _metrics(job_id: str, metrics: list[dict[str, Any]]) -> None:
    """Step series as charts with labelled axes; a metric recorded once as a number."""
    if not metrics:
        st.caption("No metrics recorded: training and evaluation jobs record loss, rates and scores here.")
        return
    series, single = charts.split_series(metrics)
    if single:
        cols = st.columns(min(len(single), 4))
        for i, (name, value) in enumerate(sorted(single.items())):
            cols[i % len(cols)].metric(name, f"{value:.4g}")
    fig = charts.overlay({job_id: [m for m in metrics if m.get("name") in series]}, names=series)
    if fig is not None:
        st.plotly_chart(fig, width="stretch", key=f"metrics-{job_id}")


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _header(job: dict[str, Any]) -> None:
    st.markdown(f"#### {job.get('job_id')} · `{(job.get('job_type') or '')}` · "
                f"{jobs.status_text(job)}")
    # progress has one figure, the terminal's live bar: a second one here, drawn when the
    # page was, would disagree with it while the job runs
    cols = st.columns(4)
    cols[0].metric("Pool", job.get("pool") or "–")
    cols[1].metric("Executor", job.get("executor_id") or "–")
    cols[2].metric("Attempt", job.get("attempt") if job.get("attempt") is not None else "–")
    cols[3].metric("Duration", jobs.duration(job.get("duration_s")) or "–")
    bits = [f"submitted {jobs.when(job.get('submitted_at'))} by {job.get('submitted_by') or '?'}"]
    if job.get("experiment"):
        bits.append(f"experiment **{job['experiment']}**")
    if job.get("parent_job_id"):
        bits.append(f"retry of {job['parent_job_id']}")
    if job.get("message"):
        bits.append(f"message: {job['message']}")
    if job.get("archived"):
        bits.append("archived")
    if job.get("chain") == "broken":  # the hash chain of its events (services/chain.py)
        bits.append(f":red-badge[history altered at seq {job.get('chain_break_seq')}]")
    elif job.get("chain") == "ok":
        bits.append(":green-badge[history verified]")
    st.caption(" · ".join(bits))


def _actions(ctx: shell.PageContext, job: dict[str, Any]) -> None:
    job_id = job["job_id"]
    final = jobs.is_final(job)
    operator, admin = ctx.can("operator"), ctx.can("admin")
    cols = st.columns(6)
    if cols[0].button("Cancel", key=f"cancel-{job_id}", icon=":material/stop_circle:",
                      disabled=final or not operator,
                      help="Ask the executor to stop this job" if operator else "needs an operator token"):
        if shell.call(ctx.client.cancel, ctx.token, job_id, "cancelled from the dashboard",
                      what="cancel the job") is not None:
            st.toast(f"Cancel requested for {job_id}")
    if cols[1].button("Retry", key=f"retry-{job_id}", icon=":material/replay:", disabled=not operator,
                      help="A new job with the same parameters, linked to this one"):
        answer = shell.call(ctx.client.retry, ctx.token, job_id, what="retry the job")
        if answer is not None:
            nav.open_job(answer["job_id"])
    if cols[2].button("Clone and edit", key=f"clone-{job_id}", icon=":material/edit:",
                      disabled=nav.page(job.get("job_type", "")) is None,
                      help="Open this job type's form filled with these parameters"):
        nav.clone(job)
    if cols[3].button("Archive", key=f"archive-{job_id}", icon=":material/archive:",
                      disabled=not admin or bool(job.get("archived")),
                      help="Hide from lists (the event log keeps everything)" if admin else "needs an admin token"):
        if shell.call(ctx.client.archive, ctx.token, job_id, what="archive the job") is not None:
            st.toast(f"{job_id} archived")
    logs_token = shell.stream_token(ctx, job_logs_path(job_id))
    if logs_token:
        cols[4].link_button("Download logs", ctx.client.public(job_logs_path(job_id),
                                                               stream_token=logs_token, gzip="true"),
                            icon=":material/download:")
    with cols[5].popover("Command", icon=":material/terminal:"):
        st.caption("The same job from a terminal (the copy icon copies it):")
        st.code(jobs.command(job), language="bash", wrap_lines=True)


def _tabs(ctx: shell.PageContext, job: dict[str, Any], detail: dict[str, Any]) -> None:
    names = ["Attempts", "Metrics history", "Results", "Artifacts", "Audit trail", "Search the full log"]
    tabs = st.tabs(names, default="Results" if result_view.has_result(detail) else None)
    with tabs[0]:
        rows = detail.get("attempts") or []
        if rows:
            df = jobs.frame(rows)
            for col in ("claimed_at", "started_at", "finished_at"):
                if col in df:
                    df[col] = df[col].map(jobs.when)
            keep = [c for c in ("attempt", "executor_id", "host", "gpus", "claimed_at", "started_at",
                                "finished_at", "status", "cause", "exit_code", "message", "redelivered")
                    if c in df]
            st.dataframe(df[keep], hide_index=True, width="stretch")
        else:
            st.caption("No attempt yet: the job is waiting for an executor of its pool.")
    with tabs[1]:
        _metrics(job["job_id"], detail.get("metrics") or [])
    with tabs[2]:
        result_view.render(detail)
    with tabs[3]:
        artifacts = detail.get("artifacts") or []
        if artifacts:
            st.dataframe(jobs.frame(artifacts), hide_index=True, width="stretch")
        else:
            st.caption("No artifacts: models, datasets and reports a job writes are listed here.")
    with tabs[4]:
        audit = detail.get("audit")
        if audit is None:
            answer = shell.call(ctx.client.audit, ctx.token, job["job_id"], what="load the audit trail")
            audit = (answer or {}).get("rows") or []
        if audit:
            df = jobs.frame(audit)
            if "ts" in df:
                df["ts"] = df["ts"].map(jobs.when)
            st.dataframe(df, hide_index=True, width="stretch")
        else:
            st.caption("No recorded actions for this job.")
    with tabs[5]:
        q = st.text_input("Search every line of this job's log", key=f"search-{job['job_id']}",
                          placeholder="text to find (the terminal's filter covers only the lines it holds)")
        if q:
            answer = shell.call(ctx.client.search_logs, ctx.token, job["job_id"], q, what="search the log")
            lines = (answer or {}).get("lines") or []
            st.caption(f"{len(lines)} matching lines" + (" (first 200)" if len(lines) >= 200 else ""))
            if lines:
                st.dataframe(jobs.frame(lines), hide_index=True, width="stretch")
