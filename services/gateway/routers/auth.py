"""Who am I, stream tokens for EventSource URLs, and the configured token names (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.gateway import views
from services.gateway.deps import Admin, GatewayDep, Viewer, unversioned

router = APIRouter(prefix="/auth", tags=["auth"])


class StreamTokenRequest(BaseModel):
    path: str | None = Field(None, max_length=512, pattern=r"^/api/",
                             description="bind the token to this one URL path")
    ttl_s: float | None = Field(None, gt=0, le=86400, description="shorter than the default, if set")


@router.get("/whoami", response_model=views.WhoAmI,
            summary="The name and role of the calling token")
async def whoami(who: Viewer) -> dict[str, Any]:
    return {"name": who.name, "role": who.role.name, "via": who.via}


@router.post("/stream-token", response_model=views.StreamToken,
             summary="A short-lived token for SSE and log URLs (?stream_token=)")
async def stream_token(who: Viewer, gw: GatewayDep,
                       body: StreamTokenRequest | None = None) -> dict[str, Any]:
    body = body or StreamTokenRequest()
    token, exp = gw.stream_tokens.issue(who, path=unversioned(body.path), ttl_s=body.ttl_s)
    return {"stream_token": token, "expires_at": exp, "path": body.path,
            "use": "append ?stream_token=<token> to /api/v1/jobs/{id}/events, /api/v1/events or "
                   "/api/v1/jobs/{id}/logs"}


@router.get("/tokens", response_model=views.Tokens,
            summary="Configured tokens: names and roles, never the secrets")
async def tokens(who: Admin, gw: GatewayDep) -> dict[str, Any]:
    return {"tokens": gw.tokens.names()}
