"""Liveness, readiness and Prometheus metrics (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi import Response
from fastapi.responses import JSONResponse, PlainTextResponse

from schemas import subjects
from services.gateway.deps import GatewayDep
from services.gateway.metrics import CONTENT_TYPE

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Connected to NATS and the event log's stream exists")
async def readyz(gw: GatewayDep):
    checks = {"nats": bool(gw.nc and gw.nc.is_connected), "stream": False, "tokens": len(gw.tokens) > 0}
    if checks["nats"]:
        try:
            await gw.js.stream_info(subjects.STREAM)
            checks["stream"] = True
        except Exception:  # reported as not ready
            pass
    ready = all(checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
async def metrics(gw: GatewayDep) -> Response:
    return Response(gw.metrics.render(), media_type=CONTENT_TYPE)
