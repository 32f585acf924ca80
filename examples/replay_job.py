"""Replay a finished job from the event log: every line, progress tick and state change in
the order it happened, exactly as a live follower saw it.

    python examples/replay_job.py JOB_ID [--after SEQ]
"""

import argparse

from services.client import Client

p = argparse.ArgumentParser()
p.add_argument("job_id")
p.add_argument("--after", type=int, help="start after this stream sequence")
args = p.parse_args()

with Client.from_env() as lab:
    for event in lab.events(args.job_id, after=args.after, follow=False):
        if event.kind == "log":
            for line in event.lines:
                print(f"{event.seq:>8}  {line}")
        elif event.kind == "progress":
            tick = event.payload
            print(f"{event.seq:>8}  [progress] {tick.get('stage') or ''} {tick['step']}/{tick.get('total')}")
        elif event.kind == "end":
            print(f"{'':>8}  [end: {event.data.get('status') or event.data['reason']}]")
        else:
            print(f"{event.seq:>8}  [{event.kind}]")
