"""Experiments: named groups of jobs and the models they produced (from the projector)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from services.gateway.deps import Projector, Viewer
from services.gateway.responses import Projected, reply_model

router = APIRouter(prefix="/experiments", tags=["experiments"])


@router.get("", response_model=reply_model("experiments.list"),
            summary="Every experiment with its job and model counts")
async def list_experiments(who: Viewer, projector: Projector) -> dict[str, Any]:
    return Projected(await projector.ask("experiments.list", {}))


@router.get("/{name}", response_model=reply_model("experiments.get"),
            summary="One experiment's jobs and models")
async def get_experiment(name: Annotated[str, Path(min_length=1, max_length=128)], who: Viewer,
                         projector: Projector) -> dict[str, Any]:
    return Projected(await projector.ask("experiments.get", {"name": name}))
