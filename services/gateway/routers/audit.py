"""The audit view: who submitted, cancelled, retried and archived what, and when; and
what the system did (claims, redeliveries, ends)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from services.gateway.deps import Projector, Viewer
from services.gateway.responses import Projected, reply_model

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=reply_model("audit"),
            summary="User actions, newest first (needs the projector)")
async def audit(who: Viewer, projector: Projector,
                job_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
                executor_id: Annotated[str | None, Query(max_length=64)] = None,
                actor: Annotated[str | None, Query(max_length=64)] = None,
                action: Annotated[str | None, Query(max_length=64)] = None,
                kind: Literal["human", "system"] | None = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> dict[str, Any]:
    body = {"limit": limit, "offset": offset, "job_id": job_id, "executor_id": executor_id,
            "actor": actor, "action": action, "kind": kind}
    return Projected(await projector.ask("audit", {k: v for k, v in body.items() if v is not None}))
