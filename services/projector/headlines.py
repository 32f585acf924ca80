"""Job headlines on the read side: each job's recorded result through its result view.

The projector stores a result flattened to rows; the figures a person reads (estimate,
interval, n, control, verdict) are derived from those rows by ``schemas.headlines``, here,
so that every reply that carries a job (``jobs.get``, ``experiments.get``) carries the same
figures and no client recomputes them.
"""

from __future__ import annotations

from typing import Any

from schemas.headlines import headline_for
from schemas.results import result_from_rows, to_detail
from services.projector.jsonutil import loads


def headline_fields(job_type: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``result_view``, ``headline`` (figures), ``verdict`` and ``headline_details``."""
    return to_detail(headline_for(job_type, result_from_rows(rows)))


def add_headlines(cur, jobs: list[dict[str, Any]]) -> None:
    """Give each job dict (``job_id``, ``job_type``) its headline fields, in one query."""
    if not jobs:
        return
    ids = [j["job_id"] for j in jobs]
    found: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    cur.execute(f"SELECT job_id, attempt, seq, key, value FROM results WHERE job_id IN "
                f"({', '.join('?' * len(ids))}) ORDER BY seq, key", ids)
    for job_id, attempt, seq, key, value in cur.fetchall():
        found[job_id].append({"attempt": attempt, "seq": seq, "key": key, "value": loads(value)})
    for j in jobs:
        j.update(headline_fields(j.get("job_type") or "", found[j["job_id"]]))
