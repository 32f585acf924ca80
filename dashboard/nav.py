"""The app's pages, so one page can open another (Clone and edit opens the job type's form)."""

from __future__ import annotations

from typing import Any

import streamlit as st

_PAGES: dict[str, Any] = {}  # name -> st.Page ("monitor", "history", or a job type)


def register(name: str, page: Any) -> Any:
    _PAGES[name] = page
    return page


def page(name: str) -> Any | None:
    return _PAGES.get(name)


def open_job(job_id: str) -> None:
    """Show ``job_id`` in the Job Monitor."""
    st.session_state["monitor_job"] = job_id
    target = page("monitor")
    if target is not None:
        st.switch_page(target)


def clone(job: dict[str, Any]) -> None:
    """Open the job's form filled with its parameters and run options."""
    job_type = job.get("job_type", "")
    prefill = st.session_state.setdefault("prefill", {})
    prefill[job_type] = {"params": job.get("params") or {}, "options": {
        k: job.get(k) for k in ("pool", "priority", "experiment", "max_runtime_s", "max_retries")
        if job.get(k) is not None}}
    target = page(job_type)
    if target is not None:
        st.switch_page(target)
