"""Child processes for the launcher: start, prefix their logs, check health, restart, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

ReadyCheck = Callable[[], bool]


def say(prefix: str, text: str) -> None:
    sys.stdout.write(f"[{prefix}] {text}\n")
    sys.stdout.flush()


@dataclass
class Child:
    name: str
    argv: list[str]
    ready: ReadyCheck = lambda: True
    url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    one_shot: bool = False  # a task (the demo) that is not restarted when it ends
    process: subprocess.Popen | None = None
    restarts: int = 0
    next_restart_at: float | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> None:
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        threading.Thread(target=self._pump, args=(self.process,), daemon=True).start()

    def _pump(self, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            say(self.name, raw.decode(errors="replace").rstrip("\n"))

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return False
            try:
                if self.ready():
                    return True
            except Exception:
                pass
            time.sleep(0.1)
        return False

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the child's process group, SIGKILL what is left after ``grace`` seconds."""
        if self.process is None:
            return
        pgid = self.process.pid
        if self.process.poll() is None:
            _signal_group(pgid, signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(pgid, signal.SIGKILL)  # stragglers in the group, if any
        if self.process.poll() is None:
            self.process.wait()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def backoff(restarts: int) -> float:
    return min(30.0, 0.5 * 2 ** restarts)
