"""Job lists: a page of jobs filtered and sorted, served from a cache of decoded rows.

Also the JobRow every jobs reply carries (``job_out``) and the parents a job has through
the models it used, which the lineage and detail reads share.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from services.projector import schema
from services.projector.jsonutil import loads
from services.projector.reads.common import MAX_LIMIT, BadRequest, placeholders, fetch_rows
from services.projector.views.jobs import norm_path
from schemas.queries import JobFilter

JOB_JSON = ("params", "retry_on", "models_used", "gpus", "latest_metrics", "result_summary")
SORTABLE = {"submitted_at", "started_at", "finished_at", "claimed_at", "duration_s", "status",
            "job_type", "pool", "priority", "progress_pct", "job_id", "submit_seq", "last_seq",
            "updated_at", "experiment", "submitted_by", "executor_id", "attempt"}
ACTIVE = ("claimed", "running")

class JobCache:
    """Decoded job rows keyed by job id, valid while the row's ``last_seq`` is unchanged
    (every change to a job's row moves it). A page of jobs then costs one narrow query
    (ids and ``last_seq``, sorted and limited) plus a fetch of the rows that changed, instead
    of sorting every wide row. Shared by the query threads; bounded (least recently used)."""

    def __init__(self, size: int = 50_000):
        self.size = size
        self._rows: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, job_id: str, last_seq: int) -> dict[str, Any] | None:
        with self._lock:
            row = self._rows.get(job_id)
            if row is None or row["last_seq"] != last_seq:
                self.misses += 1
                return None
            self._rows.move_to_end(job_id)
            self.hits += 1
            return row

    def put(self, row: dict[str, Any]) -> None:
        with self._lock:
            self._rows[row["job_id"]] = row
            self._rows.move_to_end(row["job_id"])
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    for c in JOB_JSON:
        row[c] = loads(row.get(c))
    return row


def job_rows(cur, keys: list[tuple[str, int]], cache: JobCache | None) -> list[dict[str, Any]]:
    """Full, decoded job rows for (job_id, last_seq) pairs, in the order given."""
    found: dict[str, dict[str, Any]] = {}
    missing = []
    for job_id, last_seq in keys:
        row = cache.get(job_id, last_seq) if cache is not None else None
        if row is None:
            missing.append(job_id)
        else:
            found[job_id] = row
    if missing:
        for row in fetch_rows(cur, f"SELECT {schema.JOBS.select_list()} FROM jobs "
                              f"WHERE job_id IN ({placeholders(len(missing))})", missing):
            row = _decoded(row)
            found[row["job_id"]] = row
            if cache is not None:
                cache.put(row)
    return [found[j] for j, _ in keys if j in found]


def job_out(row: dict[str, Any], now: float) -> dict[str, Any]:
    """A reply's JobRow from a decoded row (a copy: cached rows are shared)."""
    out = dict(row)
    if out["status"] in ACTIVE and out["started_at"] is not None:
        out["duration_s"] = max(0.0, now - out["started_at"])
    out["parents"] = [out["parent_job_id"]] if out.get("parent_job_id") else []
    return out


def add_model_parents(cur, jobs: list[dict[str, Any]]) -> None:
    ids = [j["job_id"] for j in jobs if j.get("models_used")]
    if not ids:
        return
    found: dict[str, list[str]] = {}
    for job_id, producer in cur.execute(
            f"SELECT DISTINCT u.job_id, m.job_id FROM model_uses u JOIN models m ON m.path = u.path "
            f"WHERE u.job_id IN ({placeholders(len(ids))}) AND m.job_id <> u.job_id ORDER BY ALL",
            ids).fetchall():
        found.setdefault(job_id, []).append(producer)
    for j in jobs:
        for p in found.get(j["job_id"], []):
            if p not in j["parents"]:
                j["parents"].append(p)


def jobs_list(cur, f: JobFilter, now: float | None = None, cache: JobCache | None = None
              ) -> dict[str, Any]:
    now = time.time() if now is None else now
    where: list[str] = []
    params: list[Any] = []
    for key in ("status", "job_type"):
        values = getattr(f, key)
        if values:
            where.append(f"{key} IN ({placeholders(len(values))})")
            params += list(values)
    for key in ("pool", "executor_id", "experiment", "submitted_by"):
        value = getattr(f, key)
        if value is not None:
            where.append(f"{key} = ?")
            params.append(value)
    if f.since is not None:
        where.append("submitted_at >= ?")
        params.append(f.since)
    if f.until is not None:
        where.append("submitted_at < ?")
        params.append(f.until)
    if f.model:
        path = norm_path(f.model)
        where.append("(job_id IN (SELECT job_id FROM model_uses WHERE path = ?) OR job_id IN "
                     "(SELECT job_id FROM artifacts WHERE kind = 'model' AND rtrim(path, '/') = ?))")
        params += [path, path]
    if f.text:
        where.append("job_id IN (SELECT job_id FROM logs WHERE contains(lower(text), ?))")
        params.append(f.text.lower())
    if not f.include_archived:
        where.append("NOT archived")
    if f.sort not in SORTABLE:
        raise BadRequest(f"sort must be one of {', '.join(sorted(SORTABLE))}")
    if f.order not in ("asc", "desc"):
        raise BadRequest("order must be asc or desc")
    if not 0 <= f.limit <= MAX_LIMIT or f.offset < 0:
        raise BadRequest(f"limit must be 0..{MAX_LIMIT} and offset >= 0")
    cond = " AND ".join(where) or "TRUE"
    direction = f.order.upper()
    sql = (f"SELECT job_id, last_seq, count(*) OVER () FROM jobs "
           f"WHERE {cond} ORDER BY \"{f.sort}\" {direction} NULLS LAST, job_id {direction} "
           f"LIMIT ? OFFSET ?")
    cur.execute("BEGIN")  # one snapshot for the page and its rows
    try:
        page = cur.execute(sql, params + [f.limit, f.offset]).fetchall()
        if page:
            total = page[0][2]
        else:
            total = cur.execute(f"SELECT count(*) FROM jobs WHERE {cond}", params).fetchall()[0][0]
        jobs = [job_out(r, now) for r in job_rows(cur, [(j, s) for j, s, _ in page], cache)]
        add_model_parents(cur, jobs)
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    cur.execute("COMMIT")
    return {"rows": jobs, "total": int(total)}


