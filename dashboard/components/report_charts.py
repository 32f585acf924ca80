"""The report's charts in plotly, from the chart data the gateway sends (the PDF draws the
same data with matplotlib): measured series in colour, the control in grey, baselines
dashed, published points as hollow markers; every point's 95% interval as an error bar."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

COLORS = {"measured": "#4e79a7", "control": "#9c9c9c", "baseline": "#59a14f", "published": "#e15759"}


def _errors(points: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not any(p.get("lo") is not None for p in points):
        return None
    return {"type": "data", "symmetric": False,
            "array": [(p["hi"] - p["y"]) if p.get("hi") is not None else 0 for p in points],
            "arrayminus": [(p["y"] - p["lo"]) if p.get("lo") is not None else 0 for p in points]}


def _hover(p: dict[str, Any]) -> str:
    ci = f" [{p['lo']:.3f}, {p['hi']:.3f}]" if p.get("lo") is not None else ""
    return f"{p['y']:.3f}{ci}" + (f", n={p['n']}" if p.get("n") else "")


def figure(chart: dict[str, Any]) -> go.Figure:
    fig = go.Figure()
    for s in chart["series"]:
        pts = s["points"] if chart["kind"] == "bars" else sorted(s["points"], key=lambda p: p["x"])
        color = COLORS.get(s["style"], "#4e79a7")
        common = {"x": [p["x"] for p in pts], "y": [p["y"] for p in pts], "name": s["label"],
                  "error_y": _errors(pts), "hovertext": [_hover(p) for p in pts], "hoverinfo": "text+name"}
        if chart["kind"] == "bars":
            fig.add_trace(go.Bar(marker={"color": color, "pattern": {"shape": "/" if s["style"] == "baseline" else ""}},
                                 **common))
        else:
            published = s["style"] == "published"
            fig.add_trace(go.Scatter(mode="markers" if published else "lines+markers",
                                     line={"color": color, "dash": "dash" if s["style"] == "baseline" else "solid"},
                                     marker={"color": color, "size": 11 if published else 6,
                                             "symbol": "circle-open" if published else "circle"}, **common))
    fig.update_layout(title=chart["title"], barmode="group", height=400, margin={"l": 50, "r": 10, "t": 50, "b": 90},
                      xaxis_title=chart.get("x_label") or None, yaxis_title=chart.get("y_label") or None,
                      legend={"orientation": "h", "yanchor": "top", "y": -0.25, "xanchor": "left", "x": 0})
    if chart.get("log_x"):
        fig.update_xaxes(type="log")
    if chart.get("y_range"):
        fig.update_yaxes(range=[chart["y_range"][0], chart["y_range"][1] * 1.05])
    return fig
