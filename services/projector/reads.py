"""The answers to the queries of ``services/queries.py``: plain functions over a DuckDB cursor.

They run in the query server's threads, each on its own cursor (a DuckDB connection of its
own: reads see the last committed batch and never wait for the writer). Values that depend
on the time of asking (executor state, a running job's elapsed time) are computed here.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

import msgspec

from services.projector import schema
from services.projector.jsonutil import loads
from services.projector.views import executors as executors_view
from services.projector.views.jobs import norm_path
from services.queries import JobFilter

MAX_LIMIT = 1000
MAX_LOG_LIMIT = 10_000
MAX_SERIES = 20_000
METRICS_IN_JOB = 4000  # jobs.get: the latest points (a reply must fit in one NATS message)
GPU_RAW_IN_JOB = 1000
LOG_REPLY_BYTES = 600_000  # logs.get / logs.search stop adding lines past about this size

JOB_JSON = ("params", "retry_on", "models_used", "gpus", "latest_metrics", "result_summary")
JOB_COLUMNS = [c for c in schema.JOBS.names]
SORTABLE = {"submitted_at", "started_at", "finished_at", "claimed_at", "duration_s", "status",
            "job_type", "pool", "priority", "progress_pct", "job_id", "submit_seq", "last_seq",
            "updated_at", "experiment", "submitted_by", "executor_id", "attempt"}
ACTIVE = ("claimed", "running")


class BadRequest(ValueError):
    code = "bad_request"


class NotFound(LookupError):
    code = "not_found"


def _rows(cur, sql: str, params: list | None = None) -> list[dict[str, Any]]:
    cur.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _int(body: dict, key: str, default: int | None, lo: int = 0, hi: int | None = None) -> int | None:
    value = body.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{key} must be an integer")
    if value < lo or (hi is not None and value > hi):
        raise BadRequest(f"{key} must be between {lo} and {hi}" if hi is not None
                         else f"{key} must be >= {lo}")
    return value


def _str(body: dict, key: str, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise BadRequest(f"{key} is required")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    return value


def _placeholders(n: int) -> str:
    return ", ".join("?" * n)


# --- jobs ------------------------------------------------------------------------------


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
        for row in _rows(cur, f"SELECT {schema.JOBS.select_list()} FROM jobs "
                              f"WHERE job_id IN ({_placeholders(len(missing))})", missing):
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


def _add_model_parents(cur, jobs: list[dict[str, Any]]) -> None:
    ids = [j["job_id"] for j in jobs if j.get("models_used")]
    if not ids:
        return
    found: dict[str, list[str]] = {}
    for job_id, producer in cur.execute(
            f"SELECT DISTINCT u.job_id, m.job_id FROM model_uses u JOIN models m ON m.path = u.path "
            f"WHERE u.job_id IN ({_placeholders(len(ids))}) AND m.job_id <> u.job_id ORDER BY ALL",
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
            where.append(f"{key} IN ({_placeholders(len(values))})")
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
        _add_model_parents(cur, jobs)
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    cur.execute("COMMIT")
    return {"rows": jobs, "total": int(total)}


def _gpu_rows(cur, job_id: str) -> list[dict[str, Any]]:
    out = []
    for r in _rows(cur, "SELECT * FROM gpu_minutes WHERE job_id = ? ORDER BY minute, gpu_index",
                   [job_id]):
        def avg(short: str) -> float | None:
            n = r[f"{short}_n"]
            return float(r[f"{short}_sum"]) / n if n else None
        out.append({"kind": "minute", "ts": r["minute"], "gpu_index": r["gpu_index"],
                    "gpu_name": r["gpu_name"], "samples": r["samples"],
                    "util_pct": avg("util"), "util_min": r["util_min"], "util_max": r["util_max"],
                    "mem_used_mb": avg("mem"), "mem_used_max": r["mem_max"],
                    "mem_total_mb": r["mem_total_mb"], "power_w": avg("power"),
                    "power_max": r["power_max"], "temp_c": avg("temp"), "temp_max": r["temp_max"],
                    "cpu_pct": avg("cpu"), "ram_used_mb": avg("ram")})
    raw = _rows(cur, f"SELECT * FROM (SELECT * FROM gpu_samples WHERE job_id = ? ORDER BY seq DESC, "
                     f"gpu_index LIMIT {GPU_RAW_IN_JOB}) ORDER BY seq, gpu_index", [job_id])
    for r in raw:
        out.append({"kind": "raw", "ts": r["ts"], "attempt": r["attempt"],
                    "gpu_index": r["gpu_index"], "gpu_name": r["gpu_name"], "samples": 1,
                    "util_pct": r["util_pct"], "mem_used_mb": r["mem_used_mb"],
                    "mem_total_mb": r["mem_total_mb"], "power_w": r["power_w"],
                    "temp_c": r["temp_c"], "cpu_pct": r["cpu_pct"],
                    "ram_used_mb": r["ram_used_mb"], "ram_total_mb": r["ram_total_mb"]})
    return out


def _audit_out(r: dict[str, Any]) -> dict[str, Any]:
    r["detail"] = loads(r["detail"], {})
    r["kind"] = r.pop("actor_kind")
    return r


def jobs_get(cur, body: dict[str, Any], now: float | None = None, cache: JobCache | None = None
             ) -> dict[str, Any]:
    now = time.time() if now is None else now
    job_id = _str(body, "job_id", required=True)
    keys = cur.execute("SELECT job_id, last_seq FROM jobs WHERE job_id = ?", [job_id]).fetchall()
    rows = job_rows(cur, keys, cache)
    if not rows:
        raise NotFound(f"no job {job_id!r}")
    job = job_out(rows[0], now)
    _add_model_parents(cur, [job])
    attempts = _rows(cur, "SELECT * FROM attempts WHERE job_id = ? ORDER BY attempt", [job_id])
    for a in attempts:
        a["gpus"] = loads(a["gpus"])
        a["command"] = loads(a["command"])
    artifacts = _rows(cur, "SELECT * FROM artifacts WHERE job_id = ? ORDER BY seq", [job_id])
    for a in artifacts:
        a["metadata"] = loads(a["metadata"], {})
    metrics = _rows(cur, f"SELECT * FROM (SELECT attempt, name, step, value, ts, seq FROM metrics "
                         f"WHERE job_id = ? ORDER BY seq DESC, name LIMIT {METRICS_IN_JOB + 1}) "
                         f"ORDER BY seq, name", [job_id])
    metrics_cut = len(metrics) > METRICS_IN_JOB
    metrics = metrics[1:] if metrics_cut else metrics
    results = [_result_out(r) for r in _rows(
        cur, "SELECT * FROM results WHERE job_id = ? ORDER BY seq, key", [job_id])]
    audit = [_audit_out(r) for r in _rows(
        cur, "SELECT * FROM audit WHERE job_id = ? ORDER BY seq, action", [job_id])]
    produced = [r[0] for r in cur.execute(
        "SELECT path FROM models WHERE job_id = ? ORDER BY path", [job_id]).fetchall()]
    children = [r[0] for r in cur.execute(
        "SELECT job_id FROM jobs WHERE parent_job_id = ? UNION SELECT u.job_id FROM model_uses u "
        "JOIN models m ON m.path = u.path WHERE m.job_id = ? AND u.job_id <> ? ORDER BY 1",
        [job_id, job_id, job_id]).fetchall()]
    log_lines = {str(a): n for a, n in cur.execute(
        "SELECT attempt, lines FROM log_marks WHERE job_id = ? ORDER BY attempt", [job_id]).fetchall()}
    return {"job": job, "attempts": attempts, "artifacts": artifacts, "metrics": metrics,
            "results": results, "audit": audit, "gpu": _gpu_rows(cur, job_id),
            "models_produced": produced, "children": children, "log_lines": log_lines,
            "truncated": {"metrics": metrics_cut}}


# --- logs --------------------------------------------------------------------------------

_LINE_COLS = "attempt, n, ts, stream, level, text"


def _fit(lines: list[dict[str, Any]], from_end: bool = False) -> tuple[list[dict[str, Any]], bool]:
    """The first (or last) lines that fit in a reply; a page cut short says so (``truncated``)."""
    size = 0
    order = range(len(lines) - 1, -1, -1) if from_end else range(len(lines))
    for i in order:
        size += len(lines[i]["text"]) + 80
        if size > LOG_REPLY_BYTES:
            return (lines[i + 1:] if from_end else lines[:i]), True
    return lines, False


def logs_get(cur, body: dict[str, Any]) -> dict[str, Any]:
    job_id = _str(body, "job_id", required=True)
    limit = _int(body, "limit", 1000, 1, MAX_LOG_LIMIT)
    tail = _int(body, "tail", None, 0, MAX_LOG_LIMIT)
    after = _int(body, "after_line", None, 0)
    level = _str(body, "level")
    marks = cur.execute("SELECT attempt, lines FROM log_marks WHERE job_id = ? ORDER BY attempt",
                        [job_id]).fetchall()
    attempts = [a for a, _ in marks]
    attempt = body.get("attempt")
    if attempt is None:
        attempt = attempts[-1] if attempts else None
    elif attempt != "all" and (isinstance(attempt, bool) or not isinstance(attempt, int)):
        raise BadRequest("attempt must be an integer or \"all\"")
    where = ["job_id = ?"]
    params: list[Any] = [job_id]
    if attempt is None:
        return {"lines": [], "total": 0, "attempt": None, "attempts": attempts}
    if attempt != "all":
        where.append("attempt = ?")
        params.append(attempt)
        total = sum(n for a, n in marks if a == attempt)
    else:
        total = sum(n for _, n in marks)
    if level:
        where.append("level = ?")
        params.append(level)
        total = cur.execute(f"SELECT count(*) FROM logs WHERE {' AND '.join(where)}",
                            params).fetchall()[0][0]
    if after is not None:
        where.append("n > ?")
        params.append(after)
    cond = " AND ".join(where)
    if tail is not None:
        sql = (f"SELECT * FROM (SELECT {_LINE_COLS} FROM logs WHERE {cond} ORDER BY attempt DESC, "
               f"n DESC LIMIT ?) ORDER BY attempt, n")
        params.append(tail)
    else:
        sql = f"SELECT {_LINE_COLS} FROM logs WHERE {cond} ORDER BY attempt, n LIMIT ?"
        params.append(limit)
    lines, cut = _fit(_rows(cur, sql, params), from_end=tail is not None)
    return {"lines": lines, "total": int(total), "attempt": attempt, "attempts": attempts,
            "next_line": lines[-1]["n"] if lines else after, "truncated": cut}


def logs_search(cur, body: dict[str, Any]) -> dict[str, Any]:
    q = _str(body, "q", required=True)
    if not q:
        raise BadRequest("q must not be empty")
    limit = _int(body, "limit", 200, 1, MAX_LOG_LIMIT)
    where = ["contains(lower(text), ?)"]
    params: list[Any] = [q.lower()]
    job_id = _str(body, "job_id")
    if job_id:
        where.append("job_id = ?")
        params.append(job_id)
    level = _str(body, "level")
    if level:
        where.append("level = ?")
        params.append(level)
    lines, cut = _fit(_rows(cur, f"SELECT job_id, {_LINE_COLS} FROM logs WHERE {' AND '.join(where)} "
                               f"ORDER BY seq DESC, n DESC LIMIT ?", params + [limit]))
    return {"lines": lines, "truncated": cut}


# --- executors, queue ---------------------------------------------------------------------


def executors(cur, body: dict[str, Any], now: float | None = None, online_s: float | None = None,
              stale_s: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    current: dict[str, list[str]] = {}
    for executor_id, job_id in cur.execute(
            "SELECT executor_id, job_id FROM jobs WHERE status IN ('claimed', 'running') "
            "AND executor_id IS NOT NULL ORDER BY executor_id, job_id").fetchall():
        current.setdefault(executor_id, []).append(job_id)
    rows = []
    for r in _rows(cur, "SELECT * FROM executors ORDER BY executor_id"):
        state, age = executors_view.state(r, now, online_s or executors_view.ONLINE_S,
                                          stale_s or executors_view.STALE_S)
        r["gpus"] = loads(r["gpus"], [])
        r["versions"] = loads(r["versions"], {})
        r["running"] = loads(r["running"], [])
        r["current_jobs"] = current.get(r["executor_id"], [])
        r["state"] = state
        r["heartbeat_age_s"] = age
        rows.append(r)
    pool = _str(body, "pool")
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


def _models_out(cur, where: str = "TRUE", params: list | None = None) -> list[dict[str, Any]]:
    rows = _rows(cur, f"SELECT m.*, j.experiment, j.job_type FROM models m LEFT JOIN jobs j "
                      f"USING (job_id) WHERE {where} ORDER BY m.path", params)
    if not rows:
        return rows
    used: dict[str, list[str]] = {}
    paths = [r["path"] for r in rows]
    for path, job_id in cur.execute(
            f"SELECT path, job_id FROM model_uses WHERE path IN ({_placeholders(len(paths))}) "
            f"GROUP BY ALL ORDER BY ALL", paths).fetchall():
        used.setdefault(path, []).append(job_id)
    for r in rows:
        r["metadata"] = loads(r["metadata"], {})
        r["used_by"] = used.get(r["path"], [])
    return rows


def models(cur, body: dict[str, Any]) -> dict[str, Any]:
    where, params = [], []
    for key, col in (("experiment", "j.experiment"), ("job_id", "m.job_id"),
                     ("base_model", "m.base_model"), ("backdoor_type", "m.backdoor_type")):
        value = _str(body, key)
        if value:
            where.append(f"{col} = ?")
            params.append(value)
    return {"rows": _models_out(cur, " AND ".join(where) or "TRUE", params)}


def experiments_list(cur, body: dict[str, Any]) -> dict[str, Any]:
    rows = _rows(cur, """
        SELECT j.experiment AS name, count(*) AS jobs,
               (SELECT count(*) FROM models m JOIN jobs p USING (job_id)
                WHERE p.experiment = j.experiment) AS models,
               min(submitted_at) AS first_at, max(coalesce(finished_at, updated_at)) AS last_at,
               count(*) FILTER (WHERE status IN ('queued', 'claimed', 'running')) AS active,
               count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
               count(*) FILTER (WHERE status IN ('failed', 'lost', 'cancelled', 'rejected')) AS unsuccessful
        FROM jobs j WHERE experiment IS NOT NULL GROUP BY j.experiment ORDER BY first_at DESC, name""")
    return {"rows": rows}


def experiments_get(cur, body: dict[str, Any], now: float | None = None,
                    cache: JobCache | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    name = _str(body, "name", required=True)
    keys = cur.execute("SELECT job_id, last_seq FROM jobs WHERE experiment = ? "
                       "ORDER BY submitted_at, job_id", [name]).fetchall()
    jobs = [job_out(r, now) for r in job_rows(cur, keys, cache)]
    if not jobs:
        raise NotFound(f"no experiment {name!r}")
    _add_model_parents(cur, jobs)
    ids = [j["job_id"] for j in jobs]
    ph = _placeholders(len(ids))
    lineage = [{"parent": p, "child": c, "via": "parent_job_id", "model": None}
               for c, p in ((j["job_id"], j["parent_job_id"]) for j in jobs) if p]
    for child, parent, path in cur.execute(
            f"SELECT u.job_id, m.job_id, m.path FROM model_uses u JOIN models m ON m.path = u.path "
            f"WHERE (u.job_id IN ({ph}) OR m.job_id IN ({ph})) AND u.job_id <> m.job_id "
            f"GROUP BY ALL ORDER BY ALL", ids + ids).fetchall():
        lineage.append({"parent": parent, "child": child, "via": "model", "model": path})
    return {"name": name, "jobs": jobs, "models": _models_out(cur, "j.experiment = ?", [name]),
            "lineage": lineage}


# --- audit, results -----------------------------------------------------------------------


def audit(cur, body: dict[str, Any]) -> dict[str, Any]:
    limit = _int(body, "limit", 200, 1, MAX_LIMIT)
    offset = _int(body, "offset", 0, 0)
    where, params = [], []
    for key in ("job_id", "executor_id", "actor", "action"):
        value = _str(body, key)
        if value:
            where.append(f"{key} = ?")
            params.append(value)
    kind = _str(body, "kind")
    if kind:
        where.append("actor_kind = ?")
        params.append(kind)
    rows = _rows(cur, f"SELECT * FROM audit WHERE {' AND '.join(where) or 'TRUE'} "
                      f"ORDER BY seq DESC, action LIMIT ? OFFSET ?", params + [limit, offset])
    return {"rows": [_audit_out(r) for r in rows]}


def _result_out(r: dict[str, Any]) -> dict[str, Any]:
    r["value"] = loads(r["value"])
    return r


def results(cur, body: dict[str, Any]) -> dict[str, Any]:
    where, params = [], []
    for key in ("job_id", "kind", "key"):
        value = _str(body, key)
        if value:
            where.append(f"{key} = ?")
            params.append(value)
    limit = _int(body, "limit", 2000, 1, MAX_SERIES)
    offset = _int(body, "offset", 0, 0)
    rows = _rows(cur, f"SELECT job_id, attempt, kind, key, value, value_num, value_text, seq, ts "
                      f"FROM results WHERE {' AND '.join(where) or 'TRUE'} "
                      f"ORDER BY seq, key LIMIT ? OFFSET ?", params + [limit, offset])
    return {"rows": [_result_out(r) for r in rows]}


def counts(cur) -> dict[str, int]:
    row = cur.execute("SELECT (SELECT count(*) FROM dead_letters), (SELECT count(*) FROM duplicates), "
                      "(SELECT count(*) FROM events), (SELECT count(*) FROM jobs)").fetchall()[0]
    return {"dead_letters": row[0], "duplicates": row[1], "events": row[2], "jobs": row[3]}


def dead_letters(cur, body: dict[str, Any]) -> dict[str, Any]:
    limit = _int(body, "limit", 100, 1, MAX_LIMIT)
    rows = _rows(cur, "SELECT seq, subject, reason, error, type, schema_version, stream_ts, data "
                      "FROM dead_letters ORDER BY seq DESC LIMIT ?", [limit])
    for r in rows:
        r["data"] = bytes(r["data"]).decode("utf-8", "replace")[:4000]
    return {"rows": rows}


def decode_filter(body: dict[str, Any]) -> JobFilter:
    try:
        return msgspec.convert(body, JobFilter)
    except msgspec.ValidationError as exc:
        raise BadRequest(str(exc)) from None
