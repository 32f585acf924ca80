"""What can go wrong talking to the gateway, as exceptions a caller can tell apart.

- ``GatewayUnreachableError``: nothing answered (refused, reset, timed out).
- ``GatewayError``: the gateway answered with an error; ``code``, ``message`` and the
  per-field problems of a 422 are read from today's ``{"detail": {...}}`` bodies and from
  RFC 9457 ``application/problem+json`` alike, so the client survives the switch.
- ``SubmissionUnknownError``: a submission was sent but no answer came back even after
  retries with the same Idempotency-Key; the job may or may not exist. Submitting again
  with ``error.idempotency_key`` settles it (the gateway returns the job it created).
"""

from __future__ import annotations

from typing import Any

import httpx


class ClientError(RuntimeError):
    """Base of every error this client raises."""


class ConfigError(ClientError):
    """No gateway URL or token could be found, or a token file cannot be read."""


class GatewayUnreachableError(ClientError):
    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"the gateway at {url} is unreachable ({reason})")


class GatewayError(ClientError):
    def __init__(self, status: int, code: str, message: str, detail: dict | None = None):
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail or {}
        super().__init__(message)

    @property
    def field_errors(self) -> list[dict[str, Any]]:
        """The per-field problems of a 422 (``field``, ``message``, ``allowed``, ``got``)."""
        for key in ("errors", "invalid_params", "invalid-params"):
            errors = self.detail.get(key)
            if isinstance(errors, list):
                return [_field_problem(e) for e in errors if isinstance(e, dict)]
        return []

    def describe(self) -> str:
        """The message, then one line per offending field with what it allows."""
        lines = [self.message]
        for e in self.field_errors:
            allowed = f" (allowed: {e['allowed']})" if e.get("allowed") else ""
            lines.append(f"  {e['field']}: {e['message']}{allowed}")
        return "\n".join(lines)


class SubmissionUnknownError(ClientError):
    def __init__(self, job_type: str, idempotency_key: str, reason: str, attempts: int):
        self.job_type = job_type
        self.idempotency_key = idempotency_key
        self.reason = reason
        self.attempts = attempts
        super().__init__(
            f"the outcome of submitting {job_type} is unknown after {attempts} attempts "
            f"({reason}): the job may or may not exist; submit again with Idempotency-Key "
            f"{idempotency_key} to settle it (the gateway answers a repeated key with its job)")


def _field_problem(e: dict[str, Any]) -> dict[str, Any]:
    field = e.get("field") or e.get("name") or e.get("pointer") or ".".join(
        str(p) for p in e.get("loc", [])[1:]) or "(request)"
    return {"field": str(field), "message": e.get("message") or e.get("msg") or e.get("reason")
            or "invalid", "allowed": e.get("allowed") or "", "got": e.get("got", e.get("input"))}


def error_from(resp: httpx.Response) -> GatewayError:
    """A ``GatewayError`` from an error response of whatever shape the gateway sent."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "title" in body and not isinstance(body.get("detail"), (dict, list)):
        code = body.get("code") or str(body.get("type") or "").rstrip("/").rsplit("/", 1)[-1]
        message = str(body.get("detail") or body.get("title"))
        return GatewayError(resp.status_code, code or f"http_{resp.status_code}", message, body)
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        return GatewayError(resp.status_code, str(detail.get("code", "error")),
                            str(detail.get("message", resp.reason_phrase)), detail)
    if isinstance(detail, list):  # FastAPI's own request validation errors
        errors = [_field_problem(d) for d in detail if isinstance(d, dict)]
        message = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return GatewayError(resp.status_code, "invalid_request", message, {"errors": errors})
    text = (resp.text or resp.reason_phrase or "").strip()[:300]
    return GatewayError(resp.status_code, f"http_{resp.status_code}", text or "error")
