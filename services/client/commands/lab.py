"""Commands on the lab: results, experiments, executors, types."""

from __future__ import annotations

import argparse
import json

from services.client.cli import Command, print_json, table
from services.client.sync import Client


def _nothing(p: argparse.ArgumentParser) -> None:
    pass


def _results_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("job_id")
    p.add_argument("--kind", help="only results of this kind")


def results(client: Client, args: argparse.Namespace) -> int:
    found = client.results(args.job_id, kind=args.kind)
    if args.json:
        print_json(found)
        return 0
    rows = [{"kind": r.kind, "key": r.key,
             "value": r.value if isinstance(r.value, (int, float, str)) else json.dumps(r.value)}
            for r in found.rows]
    print(table(rows, ("kind", "key", "value")) if rows else f"no results for {args.job_id} (yet)")
    return 0


def experiments(client: Client, args: argparse.Namespace) -> int:
    found = client.experiments()
    if args.json:
        print_json(found)
    else:
        print(table([r.model_dump() for r in found.rows],
                    ("name", "jobs", "active", "succeeded", "unsuccessful", "models")))
    return 0


def _executors_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pool", help="only executors of this pool")


def executors(client: Client, args: argparse.Namespace) -> int:
    found = client.executors(args.pool)
    if args.json:
        print_json(found)
        return 0
    rows = [{**e.model_dump(), "jobs": ",".join(e.current_jobs) or None,
             "heartbeat": None if e.heartbeat_age_s is None else f"{e.heartbeat_age_s:.0f}s ago"}
            for e in found.rows]
    print(table(rows, ("executor_id", "pool", "state", "host", "slots", "free_slots", "heartbeat",
                       "jobs")))
    return 0


def types(client: Client, args: argparse.Namespace) -> int:
    found = client.job_types()
    if args.json:
        print_json(found)
    else:
        print(table([{"type": t.key, "title": t.title or ""} for t in found.job_types],
                    ("type", "title")))
    return 0


COMMANDS = [
    Command("results", "a job's result values", _results_args, results),
    Command("experiments", "experiments with their job counts", _nothing, experiments),
    Command("executors", "executors, their pools, slots and heartbeats", _executors_args, executors),
    Command("types", "the registered job types with their titles", _nothing, types),
]
