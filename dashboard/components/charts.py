"""Plotly charts of what the projector holds: metric histories, comparisons, a timeline."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

STATUS_COLORS = {"succeeded": "#2f9e44", "failed": "#e03131", "cancelled": "#868e96",
                 "lost": "#f08c00", "rejected": "#ae3ec9", "running": "#1c7ed6",
                 "queued": "#74c0fc", "claimed": "#4dabf7"}


def _x(row: dict[str, Any], t0: float | None) -> float | None:
    if row.get("step") is not None:
        return row["step"]
    if row.get("ts") is not None and t0 is not None:
        return row["ts"] - t0
    return None


def metric_names(rows: list[dict[str, Any]]) -> list[str]:
    seen: list[str] = []
    for r in rows:
        if r.get("name") not in seen:
            seen.append(r.get("name"))
    return seen


def split_series(rows: list[dict[str, Any]]) -> tuple[list[str], dict[str, float]]:
    """Metric names recorded at more than one point (drawn as charts) and the value of each
    recorded once (shown as a number: a one-point sparkline has no meaningful range)."""
    points: dict[str, list[float]] = {}
    for r in rows:
        if r.get("name") and r.get("value") is not None:
            points.setdefault(r["name"], []).append(r["value"])
    series = sorted(n for n, v in points.items() if len(v) > 1)
    return series, {n: v[0] for n, v in points.items() if len(v) == 1}


def overlay(series: dict[str, list[dict[str, Any]]], names: list[str] | None = None,
            height_per: int = 220) -> go.Figure | None:
    """One panel per metric name, one line per job (``series``: label -> metric rows)."""
    names = names or sorted({r.get("name") for rows in series.values() for r in rows if r.get("name")})
    if not names:
        return None
    fig = make_subplots(rows=len(names), cols=1, subplot_titles=names, shared_xaxes=False,
                        vertical_spacing=min(0.08, 0.4 / max(len(names), 1)))
    palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1"]
    for j, (label, rows) in enumerate(series.items()):
        t0 = min((r["ts"] for r in rows if r.get("ts") is not None), default=None)
        for i, name in enumerate(names, start=1):
            pts = [(x, r.get("value")) for r in rows if r.get("name") == name
                   for x in [_x(r, t0)] if x is not None and r.get("value") is not None]
            if not pts:
                continue
            pts.sort()
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers",
                                     name=label, legendgroup=label, showlegend=i == 1,
                                     line={"color": palette[j % len(palette)]}, marker={"size": 4}),
                          row=i, col=1)
    for i, name in enumerate(names, start=1):
        fig.update_xaxes(title_text="step", row=i, col=1)
        fig.update_yaxes(title_text=name, row=i, col=1)
    fig.update_layout(height=max(260, height_per * len(names)), margin={"l": 40, "r": 10, "t": 40, "b": 30},
                      legend={"orientation": "h"})
    return fig


def timeline(jobs: list[dict[str, Any]]) -> go.Figure | None:
    """Jobs as bars from start (or submission) to finish (or now), grouped by experiment."""
    now = datetime.now(timezone.utc).timestamp()
    fig = go.Figure()
    shown = set()
    for job in jobs:
        start = job.get("started_at") or job.get("submitted_at")
        if start is None:
            continue
        end = job.get("finished_at") or now
        status = job.get("status") or "?"
        lane = job.get("experiment") or "(no experiment)"
        fig.add_trace(go.Bar(
            x=[(end - start) * 1000], base=[datetime.fromtimestamp(start, timezone.utc)], y=[lane],
            orientation="h", name=status, legendgroup=status, showlegend=status not in shown,
            marker={"color": STATUS_COLORS.get(status, "#adb5bd")},
            hovertext=f"{job.get('job_id')} · {job.get('job_type')} · {status}", hoverinfo="text"))
        shown.add(status)
    if not fig.data:
        return None
    fig.update_layout(barmode="overlay", xaxis={"type": "date"}, height=140 + 28 * len({t.y[0] for t in fig.data}),
                      margin={"l": 10, "r": 10, "t": 30, "b": 30},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.02})
    return fig
