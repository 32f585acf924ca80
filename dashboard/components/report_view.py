"""One report section on a page: its figures (value, 95% interval, n, the control beside
it, what it means, a link to the job that measured it), charts, tables and notes; or, when
nothing has been measured, which job fills it and a button that opens that job's form."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import nav
from dashboard.components import report_charts


def _ci(ci: list[float] | None) -> str:
    return f"95% CI [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "no interval"


def _side(s: dict[str, Any]) -> str:
    return f"**{s['label']}** {s['text']} ({_ci(s.get('ci'))}" + (f", n={s['n']})" if s.get("n") else ")")


def figure(fig: dict[str, Any], key: str) -> None:
    with st.container(border=True, key=f"fig-{key}"):
        st.metric(fig["label"], fig["text"], help=fig.get("meaning") or None)
        measured = {"label": fig["measured_label"], "text": fig["text"], "ci": fig.get("ci"), "n": fig.get("n")}
        st.markdown(_side(measured))
        control = fig.get("control")
        st.markdown(f"Control: {_side(control)}" if control else "Control: none measured for this figure")
        if fig.get("meaning"):
            st.caption(fig["meaning"])
        if st.button(f"Open job {fig['job_id']}", key=f"open-{key}", icon=":material/open_in_new:",
                     help="Its live or replayed stream in the Job Monitor"):
            nav.open_job(fig["job_id"])


def table(t: dict[str, Any]) -> None:
    st.markdown(f"**{t['title']}**")
    rows = [["" if v is None else str(v) for v in row] for row in t["rows"]]
    st.dataframe(pd.DataFrame(rows, columns=t["columns"]), hide_index=True, width="stretch")


def provenance(job_ids: list[str], key: str) -> None:
    if not job_ids:
        return
    st.caption("Measured by: " + ", ".join(f"`{j}`" for j in job_ids))
    cols = st.columns(min(4, len(job_ids)))
    for i, job_id in enumerate(job_ids[:8]):
        if cols[i % len(cols)].button(job_id, key=f"prov-{key}-{job_id}", icon=":material/monitoring:"):
            nav.open_job(job_id)


def empty(fills: dict[str, Any], experiment: str | None, key: str) -> None:
    job_type = fills["job_type"]
    where = f" in experiment **{experiment}**" if experiment else ""
    st.info(f"Nothing measured here yet{where}. A **{job_type}** job fills this page: {fills['why']}",
            icon=":material/inbox:")
    present = nav.page(job_type) is not None
    if st.button(f"Open the {job_type} form", key=f"fill-{key}", icon=":material/play_arrow:", disabled=not present,
                 help=None if present else f"this build has no {job_type} form"):
        nav.clone({"job_type": job_type, "params": fills.get("params") or {},
                   **({"experiment": experiment} if experiment else {})})


def section(sec: dict[str, Any], experiment: str | None) -> None:
    key = sec["key"]
    if sec.get("error"):
        st.error(f"This page could not be read from the experiment's results ({sec['error']}); the jobs' "
                 "own results are in the Job Monitor.", icon=":material/error:")
    if sec["empty"]:
        empty(sec["fills"], experiment, key)
        return
    figs = sec["figures"]
    for start in range(0, len(figs), 3):
        cols = st.columns(3)
        for i, fig in enumerate(figs[start:start + 3]):
            with cols[i]:
                figure(fig, f"{key}-{start + i}")
    for i, chart in enumerate(sec["charts"]):
        st.plotly_chart(report_charts.figure(chart), width="stretch", key=f"chart-{key}-{i}")
        st.caption(f"{chart['caption']} Jobs: {', '.join(chart['job_ids'])}.")
    tables = sec["tables"]
    if key == "model_comparison" and len(tables) > 1:
        labels = [t["title"] for t in tables]
        pick = st.selectbox("Models to compare", range(len(tables)), format_func=labels.__getitem__,
                            key="compare-pair")
        tables = [tables[pick]]
    for t in tables:
        table(t)
    for note in sec["notes"]:
        st.caption(note)
    provenance(sec["job_ids"], key)
