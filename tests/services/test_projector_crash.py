"""kill -9 the projector (a real process) in the middle of batches, at several points, and
restart it: the file ends equal to a rebuild from zero, with no duplicate rows."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from services import bus
from services.projector import faults, schema
from tests.services import projector_histories as synthetic
from services.projector.main import Projector

pytestmark = pytest.mark.timeout(180)


async def publish(url: str) -> int:
    nc = await bus.connect(url, name="history")
    js = nc.jetstream()
    await bus.ensure_stream(js)
    h = synthetic.History(js, "k-")
    await synthetic.mixed(h)
    await synthetic.many_jobs(h, 80)
    await synthetic.bulk_logs(h, 3000, jobs=3, per_chunk=100)
    await nc.close()
    return h.last_seq


def command(url: str, db, *extra: str) -> list[str]:
    return [sys.executable, "-m", "services.cli", "projector", "--nats", url, "--db", str(db),
            "--once", "--no-serve", "--batch-rows", "40", "--fetch", "8", *extra]


def run(url: str, db, crash: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != faults.ENV}
    if crash:
        env[faults.ENV] = crash
    return subprocess.run(command(url, db, "--log-level", "WARNING"), env=env, timeout=90,
                          capture_output=True, text=True)


def applied(db) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return schema.applied_seq(con)
    finally:
        con.close()


def dump(db) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return schema.dump(con)
    finally:
        con.close()


def test_kill_9_at_any_point_then_restart_equals_a_rebuild(own_nats, tmp_path):
    last_seq = asyncio.run(publish(own_nats.url))
    db = tmp_path / "views.duckdb"
    positions = []
    for crash in ("decoded:2", "mid_write:3", "before_commit:2", "after_commit:3",
                  "mid_write:1,before_commit:4"):
        done = run(own_nats.url, db, crash)
        assert done.returncode == -signal.SIGKILL, (crash, done.returncode, done.stdout, done.stderr)
        positions.append(applied(db))
    assert positions == sorted(positions) and positions[-1] < last_seq, positions

    # and once from outside, at whatever moment the process is in after a few flushes
    env = {k: v for k, v in os.environ.items() if k != faults.ENV}
    proc = subprocess.Popen(command(own_nats.url, db, "--log-level", "DEBUG"), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        flushed = 0
        deadline = time.monotonic() + 60
        while flushed < 4 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            flushed += "flushed" in line
        assert flushed == 4, "the projector did not flush"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert applied(db) >= positions[-1]

    final = run(own_nats.url, db)
    assert final.returncode == 0, final.stdout + final.stderr
    assert applied(db) == last_seq

    rebuilt = tmp_path / "rebuilt.duckdb"
    asyncio.run(Projector(own_nats.url, rebuilt, serve=False, rebuild=True).run(until_caught_up=True))
    a, b = dump(db), dump(rebuilt)
    for table in b:
        assert a[table] == b[table], f"table {table} differs after the crashes"
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table, key in (("logs", "job_id, attempt, n"), ("events", "seq"),
                           ("metrics", "seq, name"), ("audit", "seq, action"), ("jobs", "job_id"),
                           ("attempts", "job_id, attempt"), ("dead_letters", "seq"),
                           ("log_marks", "job_id, attempt")):
            dupes = con.execute(f"SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY {key} "
                                f"HAVING count(*) > 1)").fetchall()[0][0]
            assert dupes == 0, table
        assert con.execute("SELECT count(*) FROM logs").fetchall()[0][0] > 3000
    finally:
        con.close()


def test_the_projector_follows_the_log_across_a_nats_restart(own_nats, tmp_path):
    async def more(url: str, prefix: str) -> int:
        nc = await bus.connect(url, name="more")
        js = nc.jetstream()
        await bus.ensure_stream(js)
        h = synthetic.History(js, prefix)
        await synthetic.many_jobs(h, 10)
        await nc.close()
        return h.last_seq

    first = asyncio.run(more(own_nats.url, "r1-"))
    running = synthetic.ProjectorThread(own_nats.url, tmp_path / "v.duckdb", serve=False)
    try:
        running.wait_applied(first)
        own_nats.restart()
        running.wait_applied(asyncio.run(more(own_nats.url, "r2-")), timeout=30)
    finally:
        running.stop()
    con = duckdb.connect(str(tmp_path / "v.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM jobs").fetchall()[0][0] == 20
    finally:
        con.close()
