"""Backoff, and the rules for retrying a submission without ever creating two jobs.

A submission carries an Idempotency-Key, so sending it again is safe: the gateway answers a
repeated key with the job it created. It is retried when the outcome is unknown or the
gateway could not take it yet: a connection error, a timeout, or 502/503/504 (a 503
``event_log_unavailable`` may still have been published, which is why the key matters).
When the retries run out, a submission that may have been sent raises
``SubmissionUnknownError``; one that certainly was not (the connection was refused every
time) raises ``GatewayUnreachableError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import httpx

from services.client.errors import GatewayUnreachableError, SubmissionUnknownError, error_from

RETRY_STATUS = frozenset({502, 503, 504})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)  # the request never left this process


@dataclass(frozen=True)
class Backoff:
    """Delays that double from ``first_s`` up to ``max_s``, until ``budget_s`` is spent."""

    first_s: float = 0.2
    max_s: float = 5.0
    budget_s: float = 30.0

    def delays(self) -> Iterator[float]:
        delay, spent = self.first_s, 0.0
        while spent + delay <= self.budget_s:
            yield delay
            spent += delay
            delay = min(delay * 2, self.max_s)


SUBMIT_BACKOFF = Backoff(budget_s=30.0)
STREAM_BACKOFF = Backoff(budget_s=120.0)


class SubmitTries:
    """The bookkeeping of one submission's attempts; sync and async clients share it."""

    def __init__(self, url: str, job_type: str, key: str, backoff: Backoff):
        self.url, self.job_type, self.key = url, job_type, key
        self.delays = backoff.delays()
        self.attempts = 0
        self.maybe_sent = False
        self.reason = ""

    def answered(self, resp: httpx.Response) -> bool:
        """True when ``resp`` is the outcome; False when it asks for another try."""
        self.attempts += 1
        if resp.status_code not in RETRY_STATUS:
            return True
        self.maybe_sent = True
        err = error_from(resp)
        self.reason = f"{resp.status_code} {err.code}: {err.message}"
        return False

    def failed(self, exc: httpx.TransportError) -> None:
        self.attempts += 1
        self.maybe_sent = self.maybe_sent or not isinstance(exc, NOT_SENT)
        self.reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    def next_delay(self) -> float:
        """Seconds to wait before the next try, or the error that ends the submission."""
        delay = next(self.delays, None)
        if delay is not None:
            return delay
        if self.maybe_sent:
            raise SubmissionUnknownError(self.job_type, self.key, self.reason, self.attempts)
        raise GatewayUnreachableError(self.url, self.reason)
