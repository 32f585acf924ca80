"""The log command: a job's whole log, its tail, what came after a sequence, or live."""

from __future__ import annotations

import argparse
import sys

from services.client.cli import Command, print_json
from services.client.commands.follow import follow_job
from services.client.sync import Client


def _logs_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("job_id")
    p.add_argument("--follow", "-f", action="store_true", help="keep following until the job ends")
    p.add_argument("--after", type=int, help="only events after this stream sequence")
    p.add_argument("--tail", type=int, help="only the last N lines")


def logs(client: Client, args: argparse.Namespace) -> int:
    if args.follow and not args.json:
        return follow_job(client, args.job_id, after=args.after, logs_only=True)
    if args.follow or args.after is not None:
        lines = [{"seq": e.seq, "text": text}
                 for e in client.events(args.job_id, after=args.after, kinds="log", follow=args.follow)
                 for text in e.lines]
        if args.json:
            print_json({"job_id": args.job_id, "lines": lines})
        else:
            sys.stdout.writelines(line["text"] + "\n" for line in lines)
        return 0
    text = client.logs(args.job_id, tail=args.tail)
    if args.json:
        print_json({"job_id": args.job_id, "lines": [{"text": t} for t in text.splitlines()]})
    else:
        sys.stdout.write(text)
    return 0


COMMANDS = [Command("logs", "print (or follow) a job's log", _logs_args, logs)]
