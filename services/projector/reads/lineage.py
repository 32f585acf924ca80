"""Experiments and models: what each experiment holds and how its jobs descend from each other
(a retry's parent, or the job that produced a model another job used)."""

from __future__ import annotations

import time
from typing import Any

from services.projector.headlines import add_headlines
from services.projector.jsonutil import loads
from services.projector.reads.common import NotFound, placeholders, fetch_rows, str_arg
from services.projector.reads.jobs import JobCache, add_model_parents, job_out, job_rows

def models_out(cur, where: str = "TRUE", params: list | None = None) -> list[dict[str, Any]]:
    rows = fetch_rows(cur, f"SELECT m.*, j.experiment, j.job_type FROM models m LEFT JOIN jobs j "
                      f"USING (job_id) WHERE {where} ORDER BY m.path", params)
    if not rows:
        return rows
    used: dict[str, list[str]] = {}
    paths = [r["path"] for r in rows]
    for path, job_id in cur.execute(
            f"SELECT path, job_id FROM model_uses WHERE path IN ({placeholders(len(paths))}) "
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
        value = str_arg(body, key)
        if value:
            where.append(f"{col} = ?")
            params.append(value)
    return {"rows": models_out(cur, " AND ".join(where) or "TRUE", params)}


def experiments_list(cur, body: dict[str, Any]) -> dict[str, Any]:
    rows = fetch_rows(cur, """
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
    name = str_arg(body, "name", required=True)
    keys = cur.execute("SELECT job_id, last_seq FROM jobs WHERE experiment = ? "
                       "ORDER BY submitted_at, job_id", [name]).fetchall()
    jobs = [job_out(r, now) for r in job_rows(cur, keys, cache)]
    if not jobs:
        raise NotFound(f"no experiment {name!r}")
    add_model_parents(cur, jobs)
    add_headlines(cur, jobs)
    ids = [j["job_id"] for j in jobs]
    ph = placeholders(len(ids))
    lineage = [{"parent": p, "child": c, "via": "parent_job_id", "model": None}
               for c, p in ((j["job_id"], j["parent_job_id"]) for j in jobs) if p]
    for child, parent, path in cur.execute(
            f"SELECT u.job_id, m.job_id, m.path FROM model_uses u JOIN models m ON m.path = u.path "
            f"WHERE (u.job_id IN ({ph}) OR m.job_id IN ({ph})) AND u.job_id <> m.job_id "
            f"GROUP BY ALL ORDER BY ALL", ids + ids).fetchall():
        lineage.append({"parent": parent, "child": child, "via": "model", "model": path})
    return {"name": name, "jobs": jobs, "models": models_out(cur, "j.experiment = ?", [name]),
            "lineage": lineage}


# --- audit, results -----------------------------------------------------------------------
