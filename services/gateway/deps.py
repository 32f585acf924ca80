"""``Annotated`` dependency aliases: who is calling, and what the route may use."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from nats.js import JetStreamContext

from services import bus
from services.gateway.auth import Principal, Role, StreamTokenError
from services.gateway.errors import AuthError, EventLogUnavailableError, ForbiddenError
from services.gateway.runtime import Gateway
from services.gateway.settings import GatewaySettings
from services.queries import ProjectorClient

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer <token>`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def unversioned(path: str | None) -> str | None:
    """``/api/v1/x`` as ``/api/x``: a stream token bound to a path works under either prefix."""
    return "/api/" + path[len("/api/v1/"):] if path and path.startswith("/api/v1/") else path


def get_gateway(request: Request) -> Gateway:
    return request.app.state.gw


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def _from_bearer(gw: Gateway, creds: HTTPAuthorizationCredentials | None) -> Principal:
    if creds is None or not creds.credentials:
        raise AuthError("missing API token: send the header 'Authorization: Bearer <token>'")
    principal = gw.tokens.lookup(creds.credentials)
    if principal is None:
        raise AuthError("API token not recognised")
    return principal


def require(role: Role):
    async def dependency(request: Request, gw: GatewayDep, creds: Credentials) -> Principal:
        principal = _from_bearer(gw, creds)
        if principal.role < role:
            raise ForbiddenError(f"{principal.name!r} has the {principal.role.name} role; this "
                                 f"action needs {role.name} or above", needs=role.name,
                                 has=principal.role.name)
        request.state.principal = principal
        return principal

    dependency.__name__ = f"require_{role.name}"
    return dependency


async def stream_viewer(request: Request, gw: GatewayDep, creds: Credentials,
                        stream_token: Annotated[str | None, Query(
                            max_length=2048,
                            description="A stream token from POST /api/auth/stream-token, for "
                                        "clients that cannot send headers (EventSource)")] = None,
                        ) -> Principal:
    if creds is not None and creds.credentials:
        return _from_bearer(gw, creds)
    if stream_token:
        try:
            principal = gw.stream_tokens.verify(stream_token, unversioned(request.url.path))
        except StreamTokenError as exc:
            raise AuthError(str(exc)) from None
        request.state.principal = principal
        return principal
    raise AuthError("missing API token: send 'Authorization: Bearer <token>' or ?stream_token=")


Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Operator = Annotated[Principal, Depends(require(Role.operator))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
StreamViewer = Annotated[Principal, Depends(stream_viewer)]


def get_settings(gw: GatewayDep) -> GatewaySettings:
    return gw.settings


def get_jetstream(gw: GatewayDep) -> JetStreamContext:
    if gw.js is None or gw.nc is None or not gw.nc.is_connected:
        raise EventLogUnavailableError("not connected to NATS JetStream (the event log); "
                                       "retry in a moment")
    return gw.js


def get_publisher(gw: GatewayDep, js: Annotated[JetStreamContext, Depends(get_jetstream)]) -> bus.Publisher:
    return gw.publisher


def get_projector(gw: GatewayDep, js: Annotated[JetStreamContext, Depends(get_jetstream)]) -> ProjectorClient:
    return gw.projector  # queries travel over the same NATS connection


Settings = Annotated[GatewaySettings, Depends(get_settings)]
JetStream = Annotated[JetStreamContext, Depends(get_jetstream)]
Publisher = Annotated[bus.Publisher, Depends(get_publisher)]
Projector = Annotated[ProjectorClient, Depends(get_projector)]
