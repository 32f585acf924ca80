"""Log lines: one row per (job, attempt, line number), with a level derived from the text.

Lines go to DuckDB as one Arrow table per batch; the level is computed by DuckDB during the
``INSERT ... SELECT`` (``loglevel.sql``). Line-level deduplication (the same line resent in a
differently numbered event) has a fast path: ``log_marks`` keeps the highest line number per
(job, attempt), and a chunk whose lines are all above it, and above every line of the batch
so far, with no repeats, is new. Anything else sends the whole batch through the exact path
(first occurrence in the batch, not already stored), which a normal history never takes.
"""

from __future__ import annotations

import pyarrow as pa

from schemas import events as ev
from services.projector import loglevel, schema
from services.projector.batch import Batch

_LEVEL = loglevel.sql("text")
_BATCH_SCHEMA = pa.schema([("job_id", pa.string()), ("attempt", pa.int32()), ("n", pa.int64()),
                           ("ts", pa.float64()), ("stream", pa.string()), ("text", pa.string()),
                           ("seq", pa.int64())])


class LogMarks:
    """(highest line number, line count) per (job, attempt), as committed; kept in memory by
    the applier (the only writer) so a batch needs no lookup for its fast path."""

    def __init__(self, con):
        self.committed: dict[tuple[str, int], tuple[int, int]] = {
            (j, a): (n, c) for j, a, n, c in con.execute(
                "SELECT job_id, attempt, max_n, lines FROM log_marks").fetchall()}

    def commit(self, pending: dict[tuple[str, int], tuple[int, int]]) -> None:
        self.committed.update(pending)


def apply(con, batch: Batch) -> None:
    items = batch.of(ev.LogChunkEmitted)
    if not items:
        return
    committed = batch.log_marks.committed
    pending = batch.pending_log_marks

    def mark(key: tuple[str, int]) -> tuple[int, int]:
        found = pending.get(key)
        return found if found is not None else committed.get(key, (0, 0))

    hi: dict[tuple[str, int], int] = {}
    exact = False
    job_col: list[str] = []
    att_col: list[int] = []
    seq_col: list[int] = []
    n_col: list[int] = []
    ts_col: list[float] = []
    stream_col: list[str] = []
    text_col: list[str] = []
    for it in items:
        lines = it.env.event.lines
        if not lines:
            continue
        key = (it.env.job_id, it.env.attempt)
        ns = [line.n for line in lines]
        lo, top = min(ns), max(ns)
        high = hi.get(key)
        if high is None:
            high = hi[key] = mark(key)[0]
        if lo <= high or len(set(ns)) != len(ns):
            exact = True
        if top > high:
            hi[key] = top
        count = len(lines)
        job_col += [key[0]] * count
        att_col += [key[1]] * count
        seq_col += [it.seq] * count
        n_col += ns
        ts_col += [line.ts for line in lines]
        stream_col += [line.stream for line in lines]
        text_col += [line.text for line in lines]
    if not n_col:
        return
    table = pa.table([job_col, att_col, n_col, ts_col, stream_col, text_col, seq_col],
                     schema=_BATCH_SCHEMA)
    name = "_lines"
    con.register(name, table)
    try:
        if exact:
            source = "_new_lines"
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {source} AS SELECT * FROM {name} b "
                f"WHERE NOT EXISTS (SELECT 1 FROM logs l WHERE l.job_id = b.job_id "
                f"AND l.attempt = b.attempt AND l.n = b.n) "
                f"QUALIFY row_number() OVER (PARTITION BY job_id, attempt, n ORDER BY seq) = 1")
        else:
            source = name
        con.execute(f"INSERT INTO logs SELECT job_id, attempt, n, ts, stream, {_LEVEL}, text, seq "
                    f"FROM {source}")
        counts = con.execute(f"SELECT job_id, attempt, max(n), count(*) FROM {source} "
                             f"GROUP BY ALL ORDER BY ALL").fetchall()
        if exact:
            con.execute(f"DROP TABLE {source}")
    finally:
        con.unregister(name)
    rows = []
    for j, a, n, c in counts:
        old_n, old_c = mark((j, a))
        pending[(j, a)] = (max(n, old_n), old_c + c)
        rows.append({"job_id": j, "attempt": a, "max_n": max(n, old_n), "lines": old_c + c})
    schema.replace(con, schema.LOG_MARKS, "job_id", rows, extra_key="attempt")
