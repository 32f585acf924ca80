"""Log lines of a job (paged forward or tailed) and a search across every job's lines.

A page stops adding lines at about ``LOG_REPLY_BYTES`` and says so (``truncated``), since a
reply must fit one NATS message; the caller asks again from ``next_line``.
"""

from __future__ import annotations

from typing import Any

from services.projector.reads.common import MAX_LOG_LIMIT, BadRequest, int_arg, fetch_rows, str_arg

LOG_REPLY_BYTES = 600_000

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
    job_id = str_arg(body, "job_id", required=True)
    limit = int_arg(body, "limit", 1000, 1, MAX_LOG_LIMIT)
    tail = int_arg(body, "tail", None, 0, MAX_LOG_LIMIT)
    after = int_arg(body, "after_line", None, 0)
    level = str_arg(body, "level")
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
    lines, cut = _fit(fetch_rows(cur, sql, params), from_end=tail is not None)
    return {"lines": lines, "total": int(total), "attempt": attempt, "attempts": attempts,
            "next_line": lines[-1]["n"] if lines else after, "truncated": cut}


def logs_search(cur, body: dict[str, Any]) -> dict[str, Any]:
    q = str_arg(body, "q", required=True)
    if not q:
        raise BadRequest("q must not be empty")
    limit = int_arg(body, "limit", 200, 1, MAX_LOG_LIMIT)
    where = ["contains(lower(text), ?)"]
    params: list[Any] = [q.lower()]
    job_id = str_arg(body, "job_id")
    if job_id:
        where.append("job_id = ?")
        params.append(job_id)
    level = str_arg(body, "level")
    if level:
        where.append("level = ?")
        params.append(level)
    lines, cut = _fit(fetch_rows(cur, f"SELECT job_id, {_LINE_COLS} FROM logs WHERE {' AND '.join(where)} "
                               f"ORDER BY seq DESC, n DESC LIMIT ?", params + [limit]))
    return {"lines": lines, "truncated": cut}


# --- executors, queue ---------------------------------------------------------------------
