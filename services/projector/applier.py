"""The batch applier: a list of stored messages in, one DuckDB transaction out.

One transaction holds every row a batch produces and the new ``applied_seq``, so a crash at
any point (kill -9 included) leaves the file at the end of the previous batch, and the
projector resumes right after it. Messages at or below ``applied_seq`` are dropped on entry
(a replayed message is a no-op), and resent events are skipped by identity (``dedupe``).

If a batch raises (a bug, a value DuckDB refuses), it is split in halves and retried down
to single messages; a single message that still fails becomes an ``apply_error`` dead letter
and the projector goes on. Storage errors (disk full, I/O) are not the message's fault and
propagate: the process exits and its supervisor restarts it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import duckdb

from services.projector import dedupe, schema, views
from services.projector.views import logs
from services.projector.batch import Batch
from services.projector.deadletters import DeadLetters, Raw, decode
from services.projector.faults import crash_point

log = logging.getLogger("projector")

_FATAL = (duckdb.IOException, duckdb.OutOfMemoryException, duckdb.FatalException,
          duckdb.InternalException, MemoryError)


@dataclass
class Stats:
    batches: int = 0
    messages: int = 0
    events: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    apply_s: float = 0.0


class Applier:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.applied_seq = schema.applied_seq(con)
        self.stats = Stats()
        # in memory, always equal to what the file holds (this process is its only writer)
        self.marks = dedupe.Marks(con)
        self.log_marks = logs.LogMarks(con)

    def apply(self, raws: list[Raw]) -> int:
        """Apply the messages above ``applied_seq``; returns the new ``applied_seq``."""
        raws = sorted((r for r in raws if r.seq > self.applied_seq), key=lambda r: r.seq)
        if not raws:
            return self.applied_seq
        started = time.perf_counter()
        try:
            self._apply(raws)
        except _FATAL:
            raise
        except Exception as exc:
            if len(raws) == 1:
                log.error("message %d could not be applied: %r; dead-lettered", raws[0].seq, exc)
                self._dead(raws[0], exc)
            else:
                log.warning("batch %d..%d failed (%r); splitting it", raws[0].seq, raws[-1].seq, exc)
                mid = len(raws) // 2
                self.apply(raws[:mid])
                self.apply(raws[mid:])
        self.stats.apply_s += time.perf_counter() - started
        return self.applied_seq

    def _apply(self, raws: list[Raw]) -> None:
        con = self.con
        dead = DeadLetters()
        items = decode(raws, dead)
        crash_point("decoded")
        last = raws[-1].seq
        pending_marks: dict = {}
        con.execute("BEGIN")
        try:
            items, dups = dedupe.split(con, items, self.marks, pending_marks)
            batch = Batch(items, dead, self.log_marks)
            for i, view in enumerate(views.ORDER):
                view.apply(con, batch)
                if i == 0:
                    crash_point("mid_write")
            dead.write(con)
            con.execute("UPDATE projector_state SET applied_seq = ?", [last])
            crash_point("before_commit")
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise
        self.marks.commit(pending_marks)
        self.log_marks.commit(batch.pending_log_marks)
        crash_point("after_commit")
        self.applied_seq = last
        s = self.stats
        s.batches += 1
        s.messages += len(raws)
        s.events += len(items)
        s.duplicates += len(dups)
        s.dead_letters += len(dead.rows)

    def _dead(self, raw: Raw, exc: BaseException) -> None:
        con = self.con
        dead = DeadLetters()
        dead.add(raw, "apply_error", f"{type(exc).__name__}: {exc}")
        con.execute("BEGIN")
        try:
            dead.write(con)
            con.execute("UPDATE projector_state SET applied_seq = ?", [raw.seq])
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise
        self.applied_seq = raw.seq
        self.stats.dead_letters += 1


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass
