"""Submit a system check, print its log as it runs, then its result's figures.

    python examples/submit_and_follow.py [--pool default] [--matmul-size 256]

The gateway and token come from the environment (SLEEPER_GATEWAY_URL, SLEEPER_TOKEN or
SLEEPER_TOKEN_FILE) or from the endpoints.json of a stack started with `sleeper up`.
"""

import argparse
import sys

from services.client import Client

p = argparse.ArgumentParser()
p.add_argument("--pool", default="default")
p.add_argument("--matmul-size", type=int, default=256)
args = p.parse_args()

with Client.from_env() as lab:
    job = lab.submit("system_check", {"matmul_size": args.matmul_size, "include_torch": False},
                     pool=args.pool)
    print(f"submitted {job.job_id}")
    for event in lab.follow(job.job_id):  # reconnects by Last-Event-ID if the link drops
        for line in event.lines:
            print(line)
        if event.kind == "end":
            status = event.data["status"]
    lab.wait(job.job_id)  # also makes sure the read side has the job's end
    print(f"{job.job_id} {status}")
    for key, value in lab.results(job.job_id).figures().items():
        print(f"  {key} = {value}")
    sys.exit(0 if status == "succeeded" else 1)
