"""The dashboard's glue to the one gateway client (``services.client``).

What the dashboard needs beyond the client: each call made with the *logged-in user's*
token on one shared connection pool (so ``client.jobs(token, ...)``), answers as plain
JSON for tables and session state, and the gateway's URL as the *browser* reaches it
(``public``), which can differ from the server-side one behind a proxy. Everything else,
errors included, is the client's own.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel

from services.client import Client, calls
from services.client.errors import GatewayError, GatewayUnreachableError  # noqa: F401
from services.client.retry import Backoff

# a person waits at a form: give a submission a few seconds of retries, not half a minute
FORM_SUBMIT_BACKOFF = Backoff(first_s=0.2, max_s=1.0, budget_s=4.0)


def plain(answer: Any) -> Any:
    return answer.model_dump(mode="json") if isinstance(answer, BaseModel) else answer


class GatewayClient:
    def __init__(self, base_url: str, public_url: str = "", timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self.public_url = (public_url or self.base_url).rstrip("/")
        self.shared = Client(self.base_url, timeout=timeout, transport=transport,
                             submit_backoff=FORM_SUBMIT_BACKOFF)

    def user(self, token: str | None) -> Client:
        return self.shared.with_token(token)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        """``client.<call>(token, *args)``: the client's call as that user, as plain JSON."""
        if name.startswith("_") or not callable(getattr(Client, name, None)):
            raise AttributeError(name)

        def as_user(token: str | None, *args: Any, **kwargs: Any) -> Any:
            return plain(getattr(self.user(token), name)(*args, **kwargs))

        return as_user

    def healthz(self) -> dict[str, Any]:
        return self.shared.healthz()

    def readyz(self) -> dict[str, Any]:
        return self.shared.readyz()

    def public(self, path: str, **params: Any) -> str:
        """A URL of the gateway as the browser reaches it."""
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.public_url}{path}" + (f"?{query}" if query else "")


def job_events_path(job_id: str) -> str:
    return calls.job_events_path(job_id)


def job_logs_path(job_id: str) -> str:
    return calls.job_logs_path(job_id)
