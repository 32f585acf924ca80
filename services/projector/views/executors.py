"""Executors: what each announced, its latest heartbeat, and whether it stopped.

``last_seen_at`` is the stream (server) time of the executor's latest announcement or
heartbeat, so hosts with skewed clocks are judged by one clock. Online / stale / offline is
derived from its age when a query asks (``state``), never stored.
"""

from __future__ import annotations

from typing import Any

from schemas import events as ev
from services.projector import schema
from services.projector.batch import Batch
from services.projector.deadletters import Item
from services.projector.jsonutil import dumps

EVENTS = (ev.ExecutorAnnounced, ev.ExecutorHeartbeat, ev.ExecutorStopped)
ONLINE_S = 15.0  # a heartbeat younger than this: online
STALE_S = 60.0  # younger than this: stale; older, or stopped: offline


def state(row: dict[str, Any], now: float, online_s: float = ONLINE_S,
          stale_s: float = STALE_S) -> tuple[str, float | None]:
    """(online | stale | offline, heartbeat age in seconds)."""
    seen = row.get("last_seen_at")
    age = None if seen is None else max(0.0, now - seen)
    if row.get("stopped_at") is not None or age is None:
        return "offline", age
    if age <= online_s:
        return "online", age
    if age <= stale_s:
        return "stale", age
    return "offline", age


def _new(executor_id: str) -> dict[str, Any]:
    row = dict.fromkeys(schema.EXECUTORS.names)
    row.update(executor_id=executor_id, heartbeats=0, draining=False, running="[]")
    return row


def _seen(row: dict[str, Any], it: Item) -> None:
    if row["last_seen_at"] is None or it.stream_ts > row["last_seen_at"]:
        row["last_seen_at"] = it.stream_ts
    row["last_seq"] = it.seq


def apply(con, batch: Batch) -> None:
    items = batch.of(*EVENTS)
    if not items:
        return
    rows = {r["executor_id"]: r for r in schema.load(
        con, schema.EXECUTORS, "executor_id", {it.env.event.executor_id for it in items})}
    audit: list[dict[str, Any]] = []
    for it in items:
        e = it.env.event
        row = rows.get(e.executor_id)
        if row is None:
            row = rows[e.executor_id] = _new(e.executor_id)
        try:
            if isinstance(e, ev.ExecutorAnnounced):
                row.update(host=e.host, pool=e.pool, slots=e.slots,
                           gpus=dumps([{"index": g.index, "name": g.name,
                                        "mem_total_mb": g.mem_total_mb} for g in e.gpus]),
                           versions=dumps(e.versions), announced_at=it.env.ts, stopped_at=None,
                           stop_reason=None, draining=False, free_slots=e.slots)
                _seen(row, it)
                audit.append(_audit(it, "executor_announced", host=e.host, pool=e.pool,
                                    slots=e.slots, gpus=len(e.gpus)))
            elif isinstance(e, ev.ExecutorHeartbeat):
                row.update(running=dumps(e.running), free_slots=e.free_slots, draining=e.draining,
                           heartbeats=(row["heartbeats"] or 0) + 1)
                if row["last_heartbeat_at"] is None or it.stream_ts > row["last_heartbeat_at"]:
                    row["last_heartbeat_at"] = it.stream_ts
                if row["stopped_at"] is not None and it.env.ts > row["stopped_at"]:
                    row.update(stopped_at=None, stop_reason=None)  # it came back
                _seen(row, it)
            else:
                row.update(stopped_at=it.env.ts, stop_reason=e.reason or None, running="[]",
                           free_slots=0)
                row["last_seq"] = it.seq
                audit.append(_audit(it, "executor_stopped", reason=e.reason or None))
        except Exception as exc:
            batch.fail(it, exc)
    schema.replace(con, schema.EXECUTORS, "executor_id", [rows[k] for k in sorted(rows)])
    schema.insert_rows(con, schema.AUDIT, audit)


def _audit(it: Item, action: str, **detail: Any) -> dict[str, Any]:
    e = it.env.event
    return {"seq": it.seq, "ts": it.env.ts, "actor": e.executor_id, "actor_kind": "system",
            "action": action, "job_id": None, "executor_id": e.executor_id,
            "attempt": it.env.attempt,
            "detail": dumps({k: v for k, v in detail.items() if v is not None})}
