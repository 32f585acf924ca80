"""One job in full: its row, attempts, artifacts, metrics, results, audit, GPU samples and
the jobs it led to. Series are cut to their latest points so a reply fits one NATS message."""

from __future__ import annotations

import time
from typing import Any

from services.projector.headlines import headline_fields
from services.projector.jsonutil import loads
from services.projector.reads.common import NotFound, fetch_rows, str_arg
from services.projector.reads.jobs import JobCache, add_model_parents, job_out, job_rows
from services.projector.reads.records import audit_out, result_out

METRICS_IN_JOB = 4000  # the latest points (a reply must fit in one NATS message)
GPU_RAW_IN_JOB = 1000

def _gpu_rows(cur, job_id: str) -> list[dict[str, Any]]:
    out = []
    for r in fetch_rows(cur, "SELECT * FROM gpu_minutes WHERE job_id = ? ORDER BY minute, gpu_index",
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
    raw = fetch_rows(cur, f"SELECT * FROM (SELECT * FROM gpu_samples WHERE job_id = ? ORDER BY seq DESC, "
                     f"gpu_index LIMIT {GPU_RAW_IN_JOB}) ORDER BY seq, gpu_index", [job_id])
    for r in raw:
        out.append({"kind": "raw", "ts": r["ts"], "attempt": r["attempt"],
                    "gpu_index": r["gpu_index"], "gpu_name": r["gpu_name"], "samples": 1,
                    "util_pct": r["util_pct"], "mem_used_mb": r["mem_used_mb"],
                    "mem_total_mb": r["mem_total_mb"], "power_w": r["power_w"],
                    "temp_c": r["temp_c"], "cpu_pct": r["cpu_pct"],
                    "ram_used_mb": r["ram_used_mb"], "ram_total_mb": r["ram_total_mb"]})
    return out


def jobs_get(cur, body: dict[str, Any], now: float | None = None, cache: JobCache | None = None
             ) -> dict[str, Any]:
    now = time.time() if now is None else now
    job_id = str_arg(body, "job_id", required=True)
    keys = cur.execute("SELECT job_id, last_seq FROM jobs WHERE job_id = ?", [job_id]).fetchall()
    rows = job_rows(cur, keys, cache)
    if not rows:
        raise NotFound(f"no job {job_id!r}")
    job = job_out(rows[0], now)
    add_model_parents(cur, [job])
    attempts = fetch_rows(cur, "SELECT * FROM attempts WHERE job_id = ? ORDER BY attempt", [job_id])
    for a in attempts:
        a["gpus"] = loads(a["gpus"])
        a["command"] = loads(a["command"])
    artifacts = fetch_rows(cur, "SELECT * FROM artifacts WHERE job_id = ? ORDER BY seq", [job_id])
    for a in artifacts:
        a["metadata"] = loads(a["metadata"], {})
    metrics = fetch_rows(cur, f"SELECT * FROM (SELECT attempt, name, step, value, ts, seq FROM metrics "
                         f"WHERE job_id = ? ORDER BY seq DESC, name LIMIT {METRICS_IN_JOB + 1}) "
                         f"ORDER BY seq, name", [job_id])
    metrics_cut = len(metrics) > METRICS_IN_JOB
    metrics = metrics[1:] if metrics_cut else metrics
    results = [result_out(r) for r in fetch_rows(
        cur, "SELECT * FROM results WHERE job_id = ? ORDER BY seq, key", [job_id])]
    audit = [audit_out(r) for r in fetch_rows(
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
            **headline_fields(job.get("job_type") or "", results), "results": results,
            "audit": audit, "gpu": _gpu_rows(cur, job_id),
            "models_produced": produced, "children": children, "log_lines": log_lines,
            "truncated": {"metrics": metrics_cut}}


# --- logs --------------------------------------------------------------------------------
