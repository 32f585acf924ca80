"""Start-up shared by every service: wait for NATS with backoff, then connect; log settings.

Services start in any order (``sleeper up``, compose, systemd), so one that finds NATS not
up yet waits for it instead of crashing. nats-py's own first connect would retry every
0.25 s forever and log a traceback each time; instead the server's TCP port is probed with
exponential backoff (one log line per try, the delay doubling to ``max_delay``), and the
client connects once the port answers. A stop event (SIGTERM) ends the wait.

Each service logs the settings it runs with, once, with secrets masked (``masked``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

from nats.aio.client import Client as NATS
from pydantic import BaseModel, SecretStr

from services import bus

SECRET_WORDS = ("token", "secret", "password", "creds", "key")


def server_addresses(url: str | list[str]) -> list[tuple[str, int]]:
    urls = url if isinstance(url, list) else [u.strip() for u in url.split(",") if u.strip()]
    out = []
    for u in urls:
        parts = urlsplit(u if "://" in u else f"nats://{u}")
        out.append((parts.hostname or "127.0.0.1", parts.port or 4222))
    return out


async def _reachable(addresses: list[tuple[str, int]], timeout: float) -> bool:
    for host, port in addresses:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, asyncio.TimeoutError):
            continue
        writer.close()
        return True
    return False


async def wait_for_nats(url: str | list[str], *, log: logging.Logger,
                        stop: asyncio.Event | None = None, first_delay: float = 0.25,
                        max_delay: float = 5.0, deadline_s: float | None = None) -> bool:
    """True once a NATS server's port answers; False if ``stop`` was set or the deadline
    passed first. The delay between tries doubles from ``first_delay`` to ``max_delay``."""
    addresses = server_addresses(url)
    loop = asyncio.get_running_loop()
    give_up = None if deadline_s is None else loop.time() + deadline_s
    delay, tries = first_delay, 0
    while not (stop is not None and stop.is_set()):
        if await _reachable(addresses, timeout=min(2.0, max_delay)):
            if tries:
                log.info("NATS at %s answers after %d tries", url, tries + 1)
            return True
        tries += 1
        if give_up is not None and loop.time() + delay > give_up:
            return False
        log.warning("NATS at %s is not up yet (try %d); next try in %.2fs", url, tries, delay)
        try:
            await asyncio.wait_for(stop.wait() if stop is not None else asyncio.sleep(delay), delay)
        except asyncio.TimeoutError:
            pass
        delay = min(delay * 2, max_delay)
    return False


async def connect(url: str, *, name: str, log: logging.Logger, stop: asyncio.Event | None = None,
                  deadline_s: float | None = None, **options: Any) -> NATS | None:
    """Wait for NATS (backoff), then connect with ``bus.connect``; None if stopped first.
    Raises ``TimeoutError`` when ``deadline_s`` passes without a server."""
    while True:
        if not await wait_for_nats(url, log=log, stop=stop, deadline_s=deadline_s):
            if stop is not None and stop.is_set():
                return None
            raise TimeoutError(f"no NATS server answered at {url} within {deadline_s}s")
        try:
            return await bus.connect(url, name=name, **options)
        except Exception as exc:  # the port answered but the handshake failed: back to waiting
            log.warning("NATS at %s answered but the connection failed: %r", url, exc)
            if stop is not None and stop.is_set():
                return None
            await asyncio.sleep(0.5)


def _secret(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_WORDS)


def masked(settings: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """The settings as a dict with every secret-looking value replaced by ``***``."""
    values = settings.model_dump() if isinstance(settings, BaseModel) else dict(settings)
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            out[key] = [masked(v) for v in value]  # e.g. token entries: names shown, secrets not
        elif isinstance(value, SecretStr) or (_secret(key) and isinstance(value, str) and value):
            out[key] = "***"
        else:
            out[key] = value
    return out


def log_settings(log: logging.Logger, service: str, settings: BaseModel | dict[str, Any]) -> None:
    shown = ", ".join(f"{k}={v!r}" for k, v in masked(settings).items())
    log.info("%s settings: %s", service, shown)
