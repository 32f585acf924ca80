"""The three things a report section holds, as plain JSON: figures (a number with its 95%
interval, n, the control beside it and the job that measured it), charts (series of points
with intervals, drawn by the dashboard with plotly and by the PDF with matplotlib from the
same data) and tables. A missing measurement gives no figure at all, never a stand-in."""

from __future__ import annotations

from typing import Any


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _ci(value: Any) -> list[float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_num(v) is not None for v in value):
        return [float(value[0]), float(value[1])]
    return None


def text(value: float | None, count: bool = False) -> str:
    """How every page and the PDF print a figure (the browser tests read it back)."""
    if value is None:
        return "not measured"
    return f"{int(value)}" if count else f"{value:.3f}"


def side(label: str, value: Any, ci: Any = None, n: Any = None, *, count: bool = False) -> dict[str, Any] | None:
    v = _num(value)
    if v is None:
        return None
    return {"label": label, "value": v, "text": text(v, count), "ci": _ci(ci),
            "n": int(n) if _num(n) is not None else None}


def from_rate(label: str, rate: Any) -> dict[str, Any] | None:
    """A side from a ``stats.rate`` dict ({rate, count, n, ci95})."""
    if not isinstance(rate, dict):
        return None
    return side(label, rate.get("rate"), rate.get("ci95"), rate.get("n"))


def figure(label: str, measured: dict[str, Any] | None, control: dict[str, Any] | None, *, job: Any,
           meaning: str) -> dict[str, Any] | None:
    """A headline number; None when the measured side is missing (the section stays empty)."""
    if measured is None:
        return None
    return {"label": label, **{k: measured[k] for k in ("value", "text", "ci", "n")},
            "measured_label": measured["label"], "control": control, "job_id": job.job_id,
            "job_type": job.job_type, "meaning": meaning}


def method_figure(label: str, entry: Any, job: Any) -> dict[str, Any] | None:
    """A figure from one ``evaluate`` method entry (score and control_score with intervals)."""
    if not isinstance(entry, dict) or entry.get("applicable") is False:
        return None
    measured = side("suspect model", entry.get("score"), [entry.get("ci_low"), entry.get("ci_high")],
                    entry.get("n"))
    control = side("control model", entry.get("control_score"),
                   [entry.get("control_ci_low"), entry.get("control_ci_high")], entry.get("control_n"))
    verdict = "detected (suspect's interval wholly above the control's)" if entry.get("detected") else \
        "not detected (the intervals are not separated)"
    meaning = " ".join(x for x in (str(entry.get("meaning") or ""), f"Verdict: {verdict}.",
                                   str(entry.get("note") or "")) if x)
    return figure(label, measured, control, job=job, meaning=meaning)


def point(x: Any, y: Any, ci: Any = None, n: Any = None) -> dict[str, Any] | None:
    yv = _num(y)
    if yv is None:
        return None
    c = _ci(ci)
    return {"x": x, "y": yv, "lo": c[0] if c else None, "hi": c[1] if c else None,
            "n": int(n) if _num(n) is not None else None}


def series(label: str, points: list[dict[str, Any] | None], style: str = "measured") -> dict[str, Any] | None:
    kept = [p for p in points if p is not None]
    return {"label": label, "style": style, "points": kept} if kept else None


def chart(kind: str, title: str, series_: list[dict[str, Any] | None], *, x_label: str, y_label: str,
          caption: str, job_ids: list[str], log_x: bool = False, y_range: tuple[float, float] | None = (0, 1),
          ) -> dict[str, Any] | None:
    """A ``bars`` (categorical x) or ``lines`` (numeric x) chart; None when no series has a point."""
    kept = [s for s in series_ if s is not None]
    if not any(s["style"] != "published" for s in kept):
        return None
    return {"kind": kind, "title": title, "series": kept, "x_label": x_label, "y_label": y_label,
            "caption": caption, "job_ids": sorted(set(job_ids)), "log_x": log_x,
            "y_range": list(y_range) if y_range else None}


def model_name(path: Any) -> str:
    """A model path shortened to what tells models apart: a job's ``.../job-x/attempt-1/model``
    becomes ``job-x/model``; any other path its last component."""
    parts = [p for p in str(path or "?").rstrip("/").split("/") if p]
    if len(parts) > 1 and parts[-1] == "model":
        owner = [p for p in parts[:-1] if not p.startswith("attempt-")]
        return f"{owner[-1]}/model" if owner else "model"
    return parts[-1] if parts else "?"


def interval(ci: list[float] | None) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "no interval"


def table(title: str, columns: list[str], rows: list[list[Any]], job_ids: list[str]) -> dict[str, Any] | None:
    if not rows:
        return None
    return {"title": title, "columns": columns, "rows": rows, "job_ids": sorted(set(job_ids))}
