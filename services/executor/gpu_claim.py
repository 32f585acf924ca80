"""A data-parallel job takes ``gpus`` GPUs of one host: the slot that fetched it plus as
many other free slots as it takes to hold that many GPUs, all busy until the job ends, so
no other job is handed a GPU it is using. On a host without GPUs the job runs its
processes on the CPU in the one slot."""

from __future__ import annotations

from typing import Any, Protocol


class SlotLike(Protocol):
    gpus: list[int]
    job_id: str | None


def gpus_wanted(params: dict[str, Any]) -> int:
    try:
        return max(1, int(params.get("gpus") or 1))
    except (TypeError, ValueError):
        return 1


def take_slots(slots: list[SlotLike], first: SlotLike, wanted: int) -> list[SlotLike] | None:
    """Free slots holding at least ``wanted`` GPUs, starting with ``first``; None when this
    host has not that many free now (the submission goes back for a later or larger host)."""
    if wanted <= 1 or not any(s.gpus for s in slots):
        return [first]
    chosen, held = [first], len(first.gpus)
    for s in slots:
        if held >= wanted:
            break
        if s is not first and s.job_id is None and s.gpus:
            chosen.append(s)
            held += len(s.gpus)
    return chosen if held >= wanted else None


def gpus_of(slots: list[SlotLike], wanted: int) -> list[int]:
    gpus = sorted({g for s in slots for g in s.gpus})
    return gpus[:wanted] if wanted > 1 else gpus
