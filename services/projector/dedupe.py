"""Event-level deduplication: a resent event is applied once.

An event's identity is its ``Nats-Msg-Id``: (producer, job, attempt, producer seq).
JetStream drops a resend inside its duplicate window; a resend after it (an executor that
was cut off longer) is stored again under a new stream sequence, and this module skips it.

Fast path: producers number their events 1, 2, 3..., so an event whose producer seq is above
the highest applied for its (producer, job, attempt) is new, with no lookup. Those marks
live in memory (``Marks``: built from ``events`` at start, advanced only after a commit).
Slow path, only for an event at or below its mark (a resend, or a producer publishing out of
order): look the identity up in ``events``. Whether an event is a duplicate depends only on
what came before it in the log, never on how the log was cut into batches.
"""

from __future__ import annotations

from typing import Any

from schemas import events as ev
from services.projector import schema
from services.projector.deadletters import Item

Key = tuple[str, str, int]  # producer, job key ('-' for none), attempt


class Marks:
    """Highest applied producer seq per (producer, job, attempt), for committed batches."""

    def __init__(self, con):
        self.committed: dict[Key, int] = {
            (p, j, a): m for p, j, a, m in con.execute(
                "SELECT producer, coalesce(job_id, '-'), attempt, max(pseq) FROM events "
                "GROUP BY ALL").fetchall()}

    def get(self, key: Key) -> int:
        return self.committed.get(key, 0)

    def commit(self, pending: dict[Key, int]) -> None:
        self.committed.update(pending)


def _key(env: ev.Envelope) -> Key:
    return (env.producer, env.job_id or "-", env.attempt)


def split(con, items: list[Item], marks: Marks, pending: dict[Key, int]
          ) -> tuple[list[Item], list[dict[str, Any]]]:
    """(events to apply, duplicate rows); writes ``events`` and ``duplicates``, and the new
    marks into ``pending`` (the caller commits them to ``marks`` after the transaction)."""
    if not items:
        return [], []
    first_seen: dict[tuple[Key, int], int] = {}
    accepted: list[Item] = []
    suspects: list[Item] = []
    dups: list[tuple[Item, tuple[Key, int]]] = []
    for it in items:
        k = _key(it.env)
        p = it.env.seq
        ident = (k, p)
        mark = pending.get(k)
        if mark is None:
            mark = marks.get(k)
        if p > mark:
            pending[k] = p
            first_seen[ident] = it.seq
            accepted.append(it)
        elif ident in first_seen:
            dups.append((it, ident))
        else:
            first_seen[ident] = it.seq
            suspects.append(it)
            accepted.append(it)
    if suspects:
        idents = sorted({(*_key(it.env), it.env.seq) for it in suspects})
        view = schema.register_keys(con, ["p", "j", "a", "s"],
                                    ["VARCHAR", "VARCHAR", "INTEGER", "BIGINT"], idents)
        try:
            found = {((p, j, a), s): seq for p, j, a, s, seq in con.execute(
                f"SELECT e.producer, coalesce(e.job_id, '-'), e.attempt, e.pseq, min(e.seq) "
                f"FROM events e JOIN {view} k ON e.producer = k.p AND coalesce(e.job_id, '-') = k.j "
                f"AND e.attempt = k.a AND e.pseq = k.s GROUP BY ALL").fetchall()}
        finally:
            con.unregister(view)
        if found:
            dropped = set()
            for it in suspects:
                ident = (_key(it.env), it.env.seq)
                if ident in found:
                    first_seen[ident] = found[ident]
                    dups.append((it, ident))
                    dropped.add(id(it))
            accepted = [it for it in accepted if id(it) not in dropped]

    schema.insert(con, schema.EVENTS, {
        "seq": [it.seq for it in accepted],
        "type": [ev.type_name(it.env.event) for it in accepted],
        "producer": [it.env.producer for it in accepted],
        "pseq": [it.env.seq for it in accepted],
        "job_id": [it.env.job_id for it in accepted],
        "attempt": [it.env.attempt for it in accepted],
        "ts": [it.env.ts for it in accepted],
        "stream_ts": [it.stream_ts for it in accepted],
    })
    dup_rows = [{"seq": it.seq, "msg_id": it.env.msg_id, "first_seq": first_seen[ident],
                 "type": ev.type_name(it.env.event)} for it, ident in dups]
    dup_rows.sort(key=lambda r: r["seq"])
    schema.insert_rows(con, schema.DUPLICATES, dup_rows)
    return accepted, dup_rows
