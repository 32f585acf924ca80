"""Compare jobs by their results: every headline figure of every job in one long table,
grouped by what it measures, one chart per group with a legend naming each job and the 95%
interval drawn on each point. A figure whose value is the same in every job that reports it
is hidden when asked (it says nothing about what differs). The table is also the CSV export.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from schemas.results import headline_of

COLUMNS = ["job_id", "job", "group", "figure", "unit", "value", "ci_low", "ci_high", "n", "control",
           "control_label"]
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"]


def job_label(job: dict[str, Any]) -> str:
    return f"{job.get('job_id')} · {(job.get('job_type') or '')}"


def figure_table(details: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (job, headline figure), from job details that carry a headline."""
    rows = []
    for d in details:
        job = d.get("job") or {}
        if not isinstance(d.get("headline"), list):
            continue
        for f in headline_of(d).figures:
            rows.append({"job_id": job.get("job_id"), "job": job_label(job), "group": f.group or f.unit,
                         "figure": f.label, "unit": f.unit, "value": f.value, "ci_low": f.ci_low,
                         "ci_high": f.ci_high, "n": f.n, "control": f.control,
                         "control_label": f.control_label})
    return pd.DataFrame(rows, columns=COLUMNS)


def differing(df: pd.DataFrame) -> pd.DataFrame:
    """Drop figures whose value is identical in every job that reports it (when two or more do)."""
    if df.empty:
        return df
    values = df.groupby("figure")["value"]
    reported = values.transform("size")
    distinct = values.transform(lambda s: s.astype(float).round(9).nunique(dropna=False))
    return df[(reported < 2) | (distinct > 1)]


def chart(df: pd.DataFrame, height_per: int = 260) -> go.Figure | None:
    """One panel per group; within it, each figure on the x axis and one marker per job with
    its interval; one legend entry per job, shared across panels."""
    if df.empty:
        return None
    groups = list(dict.fromkeys(df["group"]))
    units = {g: df[df["group"] == g]["unit"].iloc[0] for g in groups}
    fig = make_subplots(rows=len(groups), cols=1, vertical_spacing=min(0.15, 0.75 / len(groups)),
                        subplot_titles=[g[:1].upper() + g[1:] for g in groups])
    jobs = list(dict.fromkeys(df["job"]))
    for j, job in enumerate(jobs):
        for i, group in enumerate(groups, start=1):
            part = df[(df["job"] == job) & (df["group"] == group)]
            if part.empty:
                continue
            v, lo, hi = part["value"], part["ci_low"], part["ci_high"]
            fig.add_trace(go.Scatter(
                x=[wrap(f) for f in part["figure"]], y=v, mode="markers", name=job, legendgroup=job,
                showlegend=job not in {t.name for t in fig.data},
                marker={"size": 11, "color": PALETTE[j % len(PALETTE)]},
                error_y={"type": "data", "symmetric": False, "array": (hi - v).fillna(0).tolist(),
                         "arrayminus": (v - lo).fillna(0).tolist()},
                hovertext=[f"{job}: {r.figure} = {r.value:.4g}" + (f" [{r.ci_low:.4g}, {r.ci_high:.4g}]"
                                                                   if pd.notna(r.ci_low) else "")
                           + (f", n = {int(r.n)}" if pd.notna(r.n) else "")
                           for r in part.itertuples() if pd.notna(r.value)] or None,
                hoverinfo="text"), row=i, col=1)
        for i, group in enumerate(groups, start=1):
            fig.update_yaxes(title_text=_axis(units[group]), row=i, col=1)
            fig.update_xaxes(tickangle=0, row=i, col=1)
    fig.update_layout(height=120 + height_per * len(groups), margin={"l": 60, "r": 10, "t": 60, "b": 30},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0 + 40 / (120 + height_per * len(groups)),
                              "title": {"text": "job"}}, scattermode="group")
    return fig


def wrap(label: str, width: int = 30) -> str:
    """A figure's label over several lines, so that labels side by side do not overlap."""
    lines, line = [], ""
    for word in label.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "<br>".join(lines + [line])


def _axis(unit: str) -> str:
    return {"rate": "rate (95% CI)", "difference": "difference (95% CI)", "auroc": "AUROC (95% CI)",
            "ratio": "ratio (95% CI)", "tflops": "TFLOP/s", "loss": "loss", "score": "score (95% CI)"
            }.get(unit, unit)
