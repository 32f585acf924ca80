"""The lab's machinery: executors with their state computed at the time of asking, queue
depth per pool, the projector's own counts and the events it could not apply."""

from __future__ import annotations

import time
from typing import Any

from services.projector.jsonutil import loads
from services.projector.reads.common import MAX_LIMIT, int_arg, fetch_rows, str_arg
from services.projector.views import executors as executors_view

def executors(cur, body: dict[str, Any], now: float | None = None, online_s: float | None = None,
              stale_s: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    current: dict[str, list[str]] = {}
    for executor_id, job_id in cur.execute(
            "SELECT executor_id, job_id FROM jobs WHERE status IN ('claimed', 'running') "
            "AND executor_id IS NOT NULL ORDER BY executor_id, job_id").fetchall():
        current.setdefault(executor_id, []).append(job_id)
    rows = []
    for r in fetch_rows(cur, "SELECT * FROM executors ORDER BY executor_id"):
        state, age = executors_view.state(r, now, online_s or executors_view.ONLINE_S,
                                          stale_s or executors_view.STALE_S)
        r["gpus"] = loads(r["gpus"], [])
        r["versions"] = loads(r["versions"], {})
        r["running"] = loads(r["running"], [])
        r["current_jobs"] = current.get(r["executor_id"], [])
        r["state"] = state
        r["heartbeat_age_s"] = age
        rows.append(r)
    pool = str_arg(body, "pool")
    if pool:
        rows = [r for r in rows if r["pool"] == pool]
    return {"rows": rows}


def queue(cur, body: dict[str, Any]) -> dict[str, Any]:
    pools: dict[str, int] = {}
    running: dict[str, int] = {}
    for (pool,) in cur.execute("SELECT DISTINCT pool FROM executors WHERE pool IS NOT NULL "
                               "ORDER BY pool").fetchall():
        pools[pool] = 0
        running[pool] = 0
    for pool, status, n in cur.execute(
            "SELECT pool, status, count(*) FROM jobs WHERE pool IS NOT NULL AND NOT archived "
            "AND status IN ('queued', 'claimed', 'running') GROUP BY ALL ORDER BY ALL").fetchall():
        pools.setdefault(pool, 0)
        running.setdefault(pool, 0)
        if status == "queued":
            pools[pool] += n
        else:
            running[pool] += n
    return {"pools": pools, "running": running}


# --- experiments, models, lineage ---------------------------------------------------------


def counts(cur) -> dict[str, int]:
    row = cur.execute("SELECT (SELECT count(*) FROM dead_letters), (SELECT count(*) FROM duplicates), "
                      "(SELECT count(*) FROM events), (SELECT count(*) FROM jobs)").fetchall()[0]
    return {"dead_letters": row[0], "duplicates": row[1], "events": row[2], "jobs": row[3]}


def dead_letters(cur, body: dict[str, Any]) -> dict[str, Any]:
    limit = int_arg(body, "limit", 100, 1, MAX_LIMIT)
    rows = fetch_rows(cur, "SELECT seq, subject, reason, error, type, schema_version, stream_ts, data "
                      "FROM dead_letters ORDER BY seq DESC LIMIT ?", [limit])
    for r in rows:
        r["data"] = bytes(r["data"]).decode("utf-8", "replace")[:4000]
    return {"rows": rows}

