"""What every read shares: the two request errors, row fetching and argument checks.

The query server turns ``BadRequest`` / ``NotFound`` into the reply's error code; anything
else a read raises is the projector's own fault (``internal``).
"""

from __future__ import annotations

from typing import Any

MAX_LIMIT = 1000
MAX_LOG_LIMIT = 10_000
MAX_SERIES = 20_000


class BadRequest(ValueError):
    code = "bad_request"


class NotFound(LookupError):
    code = "not_found"


def fetch_rows(cur, sql: str, params: list | None = None) -> list[dict[str, Any]]:
    cur.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def int_arg(body: dict, key: str, default: int | None, lo: int = 0, hi: int | None = None
            ) -> int | None:
    value = body.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{key} must be an integer")
    if value < lo or (hi is not None and value > hi):
        raise BadRequest(f"{key} must be between {lo} and {hi}" if hi is not None
                         else f"{key} must be >= {lo}")
    return value


def str_arg(body: dict, key: str, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise BadRequest(f"{key} is required")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    return value


def placeholders(n: int) -> str:
    return ", ".join("?" * n)
