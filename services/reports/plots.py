"""The report's charts drawn with matplotlib (for the PDF), from the same chart data the
dashboard draws with plotly: measured series solid, controls grey, baselines dashed,
published points as hollow markers, intervals as error bars."""

from __future__ import annotations

import io
from typing import Any

COLORS = {"measured": "#4e79a7", "control": "#9c9c9c", "baseline": "#59a14f", "published": "#e15759"}


def _err(points: list[dict[str, Any]]) -> list[list[float]] | None:
    if not any(p.get("lo") is not None for p in points):
        return None
    return [[max(0.0, p["y"] - p["lo"]) if p.get("lo") is not None else 0.0 for p in points],
            [max(0.0, p["hi"] - p["y"]) if p.get("hi") is not None else 0.0 for p in points]]


def render_png(chart: dict[str, Any], width_in: float = 7.0, height_in: float = 3.2) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width_in, height_in), dpi=110)
    try:
        if chart["kind"] == "bars":
            cats = list(dict.fromkeys(str(p["x"]) for s in chart["series"] for p in s["points"]))
            width = 0.8 / max(1, len(chart["series"]))
            for i, s in enumerate(chart["series"]):
                pts = {str(p["x"]): p for p in s["points"]}
                xs = [cats.index(c) + (i - (len(chart["series"]) - 1) / 2) * width for c in pts]
                ax.bar(xs, [p["y"] for p in pts.values()], width, yerr=_err(list(pts.values())), capsize=3,
                       label=s["label"], color=COLORS.get(s["style"], "#4e79a7"),
                       hatch="//" if s["style"] == "baseline" else None)
            ax.set_xticks(range(len(cats)))
            ax.set_xticklabels(cats, rotation=20 if len(cats) > 4 else 0, fontsize=7)
        else:
            for s in chart["series"]:
                pts = sorted(s["points"], key=lambda p: p["x"])
                style = s["style"]
                ax.errorbar([p["x"] for p in pts], [p["y"] for p in pts], yerr=_err(pts), capsize=3,
                            label=s["label"], color=COLORS.get(style, "#4e79a7"),
                            linestyle="--" if style == "baseline" else ("none" if style == "published" else "-"),
                            marker="o", markersize=4 if style != "published" else 7,
                            markerfacecolor="none" if style == "published" else None)
            if chart.get("log_x"):
                ax.set_xscale("log")
        if chart.get("y_range"):
            ax.set_ylim(chart["y_range"][0], chart["y_range"][1] * 1.05)
        ax.set_xlabel(chart.get("x_label") or "", fontsize=8)
        ax.set_ylabel(chart.get("y_label") or "", fontsize=8)
        ax.set_title(chart["title"], fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
