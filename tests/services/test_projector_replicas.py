"""Read-side replicas: two projectors, each with its own DuckDB file, answer the gateway's
queries as one queue group. One is killed (SIGKILL) while queries run and events keep coming;
no query fails once the client's backoff has retried it, and the survivor's views equal a
rebuild from sequence 1."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time

import pytest

from services import bus
from services.client import GatewayError
from services.client.retry import Backoff
from services.projector.main import Projector
from tests.services import projector_histories as synthetic
from tests.services.test_projector_crash import applied, dump
from tests.stack import ROOT, Stack, _stop_group, child_env, wait_for

RETRY = Backoff(first_s=0.1, max_s=1.0, budget_s=10.0)


async def publish(url: str, prefix: str, jobs: int) -> int:
    nc = await bus.connect(url, name=f"history-{prefix}")
    h = synthetic.History(nc.jetstream(), prefix)
    await synthetic.many_jobs(h, jobs)
    await synthetic.bulk_logs(h, 2000, jobs=2, per_chunk=100)
    await nc.close()
    return h.last_seq


def start_replica(stack: Stack, name: str) -> subprocess.Popen:
    log = open(stack.root / f"projector-{name}.log", "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", "projector", "--nats", stack.nats.url,
         "--db", str(stack.root / f"{name}.duckdb"), "--name", name], cwd=ROOT,
        env=child_env("projector"),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


class Reader(threading.Thread):
    """Asks the jobs query over and over, retrying a 502/503/504 with the client's backoff;
    records every answer and every query that still failed after its retries."""

    def __init__(self, stack: Stack):
        super().__init__(daemon=True)
        self.client = stack.client()
        self.answers = self.retried = 0
        self.failed: list[str] = []
        self.stop = threading.Event()

    def ask(self) -> None:
        delays = RETRY.delays()
        while True:
            try:
                self.client.jobs(status=["succeeded"], limit=20, sort="job_id")
                self.answers += 1
                return
            except GatewayError as exc:
                delay = next(delays, None) if exc.status in (502, 503, 504) else None
                if delay is None:
                    self.failed.append(f"{exc.status} {exc.code}: {exc.message}")
                    return
                self.retried += 1
                time.sleep(delay)

    def run(self) -> None:
        while not self.stop.is_set():
            self.ask()


def served_by(stack: Stack) -> str:
    return stack.status()["projector"].get("name", "")


@pytest.mark.timeout(180)
def test_a_replica_killed_under_load_loses_no_query_and_the_survivor_equals_a_rebuild(tmp_path):
    stack = Stack(tmp_path, projector=False).start()
    replicas = {name: start_replica(stack, name) for name in ("replica-a", "replica-b")}
    reader = Reader(stack)
    try:
        asyncio.run(publish(stack.nats.url, "before-", 200))
        seen = set()
        wait_for(lambda: seen.add(served_by(stack)) or seen >= set(replicas), 60,
                 "both replicas to answer queries")

        reader.start()
        more = threading.Thread(target=lambda: asyncio.run(publish(stack.nats.url, "during-", 400)))
        more.start()
        time.sleep(1.0)
        answered_before_kill = reader.answers
        replicas["replica-a"].send_signal(signal.SIGKILL)
        replicas["replica-a"].wait(10)
        more.join(120)
        wait_for(lambda: reader.answers >= answered_before_kill + 10 or reader.failed, 60,
                 "queries after the kill")
        reader.stop.set()
        reader.join(30)
        assert reader.failed == []
        assert answered_before_kill > 0
        assert {served_by(stack) for _ in range(10)} == {"replica-b"}

        def caught_up():
            health = stack.status()["projector"]
            return health.get("lag") == 0 and health["applied_seq"] > 0 and health

        last = wait_for(caught_up, 60, "the survivor to catch up")["applied_seq"]
        _stop_group(replicas["replica-b"])  # SIGTERM: it drains and closes its file
        survivor = tmp_path / "replica-b.duckdb"
        rebuilt = tmp_path / "rebuilt.duckdb"
        asyncio.run(Projector(stack.nats.url, rebuilt, serve=False, rebuild=True)
                    .run(until_caught_up=True))
        assert applied(survivor) == applied(rebuilt) == last
        views, expected = dump(survivor), dump(rebuilt)
        for table in expected:
            assert views[table] == expected[table], f"table {table} differs from a rebuild"
    finally:
        reader.stop.set()
        for proc in replicas.values():
            _stop_group(proc)
        stack.stop()

