"""Run one dashboard page in Streamlit's AppTest, logged in or not, with the lab's tokens."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from dashboard.session import KEY, Login
from tests.stack import NAMES, TOKENS

LOGINS = {role: Login(TOKENS[role], NAMES[role], role) for role in TOKENS}
_OPENED: list[AppTest] = []


def _page(name: str) -> None:
    import importlib

    from dashboard import shell
    from dashboard.pages import job_form
    from schemas.jobtypes import REGISTRY

    shell.sidebar()
    if name.startswith("report:"):  # a Reporting page, drawn from schemas/reports.py
        from dashboard.pages import reporting
        from schemas.reports import BY_KEY

        reporting.render_section(BY_KEY[name.split(":", 1)[1]])
    elif name in REGISTRY:  # a job type's form, drawn from the registry
        job_form.render_type(name)
    else:
        importlib.import_module(f"dashboard.pages.{name}").render()


def page(name: str, login: str | None = None, state: dict | None = None) -> AppTest:
    at = AppTest.from_function(_page, args=(name,), default_timeout=30)
    _OPENED.append(at)
    if login:
        at.session_state[KEY] = LOGINS[login]
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return at.run()


def close_all() -> None:
    """Stop the live job readers the pages started (a browser session's end does the same)."""
    while _OPENED:
        at = _OPENED.pop()
        try:
            feed = at.session_state["live_jobs"]
        except KeyError:
            continue
        feed.stop()
