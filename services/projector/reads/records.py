"""The audit trail (who did what, newest first) and job results as flattened rows."""

from __future__ import annotations

from typing import Any

from services.projector.jsonutil import loads
from services.projector.reads.common import MAX_LIMIT, MAX_SERIES, int_arg, fetch_rows, str_arg

def audit_out(r: dict[str, Any]) -> dict[str, Any]:
    r["detail"] = loads(r["detail"], {})
    r["kind"] = r.pop("actor_kind")
    return r



def audit(cur, body: dict[str, Any]) -> dict[str, Any]:
    limit = int_arg(body, "limit", 200, 1, MAX_LIMIT)
    offset = int_arg(body, "offset", 0, 0)
    where, params = [], []
    for key in ("job_id", "executor_id", "actor", "action"):
        value = str_arg(body, key)
        if value:
            where.append(f"{key} = ?")
            params.append(value)
    kind = str_arg(body, "kind")
    if kind:
        where.append("actor_kind = ?")
        params.append(kind)
    rows = fetch_rows(cur, f"SELECT * FROM audit WHERE {' AND '.join(where) or 'TRUE'} "
                      f"ORDER BY seq DESC, action LIMIT ? OFFSET ?", params + [limit, offset])
    return {"rows": [audit_out(r) for r in rows]}


def result_out(r: dict[str, Any]) -> dict[str, Any]:
    r["value"] = loads(r["value"])
    return r


def results(cur, body: dict[str, Any]) -> dict[str, Any]:
    where, params = [], []
    for key in ("job_id", "kind", "key"):
        value = str_arg(body, key)
        if value:
            where.append(f"{key} = ?")
            params.append(value)
    limit = int_arg(body, "limit", 2000, 1, MAX_SERIES)
    offset = int_arg(body, "offset", 0, 0)
    rows = fetch_rows(cur, f"SELECT job_id, attempt, kind, key, value, value_num, value_text, seq, ts "
                      f"FROM results WHERE {' AND '.join(where) or 'TRUE'} "
                      f"ORDER BY seq, key LIMIT ? OFFSET ?", params + [limit, offset])
    return {"rows": [result_out(r) for r in rows]}

