"""Where the gateway is and which token to present, without a token on the command line.

URL: the argument, ``SLEEPER_GATEWAY_URL``, then ``<data dir>/endpoints.json`` (written by
``sleeper up``). Token: the argument, a token file (argument, then ``SLEEPER_TOKEN_FILE``),
``SLEEPER_TOKEN``, then the dev token in ``endpoints.json``. Data dir: the argument,
``SLEEPER_DATA_DIR``, then ``./.sleeper``. A token passed as a command-line argument would
show in ``ps`` and shell history, so the CLI only ever takes a file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from services.client.errors import ConfigError


@dataclass(frozen=True)
class Endpoint:
    url: str
    token: str | None


def data_dir(given: str | os.PathLike | None = None) -> Path:
    return Path(given or os.environ.get("SLEEPER_DATA_DIR") or ".sleeper")


def read_token_file(path: str | os.PathLike) -> str:
    try:
        token = Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the token file {path}: {exc.strerror or exc}") from None
    if not token:
        raise ConfigError(f"the token file {path} is empty")
    return token


def _endpoints(folder: Path) -> dict | None:
    path = folder / "endpoints.json"
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    return info if isinstance(info, dict) else {}


def find_gateway(url: str | None = None, token: str | None = None, *,
                 token_file: str | os.PathLike | None = None,
                 data_dir_: str | os.PathLike | None = None) -> Endpoint:
    """The gateway's URL and the token to use, from the first place that names each."""
    url = url or os.environ.get("SLEEPER_GATEWAY_URL")
    token_file = token_file or os.environ.get("SLEEPER_TOKEN_FILE")
    if not token and token_file:
        token = read_token_file(token_file)
    token = token or os.environ.get("SLEEPER_TOKEN")
    if url and token:
        return Endpoint(url.rstrip("/"), token)
    folder = data_dir(data_dir_)
    info = _endpoints(folder)
    if info is None:
        if url:
            return Endpoint(url.rstrip("/"), token)
        raise ConfigError(f"no gateway given and no {folder / 'endpoints.json'}: start the stack "
                          f"with `sleeper up`, or set SLEEPER_GATEWAY_URL (or --gateway) and "
                          f"SLEEPER_TOKEN or SLEEPER_TOKEN_FILE (or --data-dir)")
    url = url or (info.get("gateway") or {}).get("url")
    if not url:
        raise ConfigError(f"{folder / 'endpoints.json'} lists no gateway; is the stack running?")
    return Endpoint(url.rstrip("/"), token or info.get("dev_token"))
