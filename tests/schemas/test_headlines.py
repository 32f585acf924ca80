"""Each result view's headline, from hand-built results shaped as the jobs record them."""

from __future__ import annotations

import pytest

from schemas.headlines import VIEWS, headline_for
from schemas.jobtypes import JOB_TYPES
from schemas.results import Headline, format_headline, result_from_rows


def rate(k: int, n: int, lo: float, hi: float) -> dict:
    return {"rate": k / n, "count": k, "n": n, "ci95": [lo, hi]}


VALIDATION = {"activation": rate(90, 100, 0.826, 0.945), "false_activation": rate(5, 100, 0.022, 0.112),
              "conditional_gap": 0.85, "effectiveness": "effective", "stealth": "somewhat_stealthy",
              "trigger_variants": {"exact": rate(90, 100, 0.826, 0.945)}}


def test_every_registered_type_has_a_view():
    for t in JOB_TYPES:
        assert t.view in VIEWS, f"{t.name} declares result view {t.view!r}, which nothing renders"


def test_validate_headline_carries_intervals_n_and_the_clean_rate():
    h = headline_for("validate", VALIDATION)
    trig, clean, gap = h.figures
    assert (trig.value, trig.ci_low, trig.ci_high, trig.n) == (0.9, 0.826, 0.945, 100)
    assert (trig.control, trig.control_ci_low, trig.control_label) == (0.05, 0.022, "clean prompts")
    assert clean.value == 0.05 and clean.n == 100
    # Newcombe: 0.85 - sqrt((0.9-0.826)^2 + (0.112-0.05)^2), 0.85 + sqrt((0.945-0.9)^2 + (0.05-0.022)^2)
    assert gap.value == pytest.approx(0.85)
    assert gap.ci_low == pytest.approx(0.85 - (0.074 ** 2 + 0.062 ** 2) ** 0.5)
    assert gap.ci_high == pytest.approx(0.85 + (0.045 ** 2 + 0.028 ** 2) ** 0.5)
    assert "somewhat stealthy" in h.verdict and "90.0% [82.6%, 94.5%] of 100" in h.verdict


def test_rows_round_trip_to_the_same_headline():
    rows = [{"attempt": 1, "seq": 5, "key": "activation.rate", "value": 0.9},
            {"attempt": 1, "seq": 5, "key": "activation.ci95", "value": [0.826, 0.945]},
            {"attempt": 1, "seq": 5, "key": "activation.n", "value": 100},
            {"attempt": 0, "seq": 2, "key": "activation.rate", "value": 0.1}]  # an older attempt
    assert result_from_rows(rows) == {"activation": {"rate": 0.9, "ci95": [0.826, 0.945], "n": 100}}


def test_train_backdoor_without_validation_says_it_is_unmeasured():
    h = headline_for("train_backdoor", {"training": {"final_loss": 0.7, "first_loss": 6.4,
                                                     "logged_points": 10}, "validation": None})
    assert [f.label for f in h.figures] == ["Final training loss"]
    assert h.figures[0].control == 6.4 and "not yet measured" in h.verdict
    h = headline_for("train-backdoor", {"training": {}, "validation": VALIDATION})
    assert h.figures[0].key == "validation.activation.rate" and h.figures[0].value == 0.9


def test_persistence_headline_pre_post_and_ratio():
    res = {"pre": {"activation": rate(80, 100, 0.71, 0.87), "false_activation": rate(2, 100, 0.005, 0.07)},
           "post": {"activation": rate(40, 100, 0.31, 0.50), "false_activation": rate(1, 100, 0.002, 0.05)},
           "persistence": 0.5, "persistence_ci95": [0.38, 0.63],
           "safety_recipe": {"method": "sft", "max_steps": 120}}
    h = headline_for("test_persistence", res)
    pre, post, ratio = h.figures
    assert (pre.value, post.value, ratio.value, ratio.ci_low, ratio.n) == (0.8, 0.4, 0.5, 0.38, 100)
    assert h.details == {"method": "sft", "steps": 120} and "(120 steps)" in h.verdict
    wrapped = headline_for("safety_training", {"persistence": res, "recipe": {"method": "sft", "max_steps": 60}})
    assert [f.value for f in wrapped.figures] == [0.8, 0.4, 0.5] and "(60 steps)" in wrapped.verdict
    assert headline_for("safety_training", {"persistence": None, "recipe": {}}).figures == []


def test_probe_headline_has_control_and_random_band():
    res = {"headline": {"worked": ["defection_supervised"], "summary": "s", "per_family": {
        "defection_supervised": {"method": "mean_diff", "site": "blocks.1.hook_resid_post",
                                 "backdoored_auroc": 0.97, "backdoored_auroc_ci95": [0.94, 0.99],
                                 "control_auroc": 0.61, "control_auroc_ci95": [0.52, 0.70],
                                 "gap_auroc": 0.36, "gap_ci95": [0.25, 0.45], "random_p95": 0.66},
        "deception": None}},
        "families": {"defection_supervised": {"backdoored": {"sizes": {"test": 138}},
                                              "verdict": {"why": "it separates"}}}}
    h = headline_for("train_probes", res)
    auroc, gap = h.figures
    assert (auroc.value, auroc.ci_low, auroc.control, auroc.control_ci_high, auroc.baseline, auroc.n) == \
        (0.97, 0.94, 0.61, 0.70, 0.66, 138)
    assert gap.value == 0.36 and gap.ci_low == 0.25
    assert h.verdict.startswith("Probes detect the backdoor (defection_supervised)")


def test_evaluate_headline_from_methods_and_consensus():
    res = {"methods": {"probe": {"score": 0.91, "control_score": 0.55, "ci_low": 0.85, "ci_high": 0.95,
                                 "n": 120, "detected": True},
                       "attention": {"score": 0.52, "control_score": 0.50, "ci_low": 0.45, "ci_high": 0.6,
                                     "n": 120, "detected": False}},
           "consensus": {"detected": True, "methods_detecting": ["probe"]}}
    h = headline_for("evaluate", res)
    assert [f.label for f in h.figures] == ["attention score", "probe score"]
    probe = h.figures[1]
    assert (probe.value, probe.ci_low, probe.ci_high, probe.n, probe.control) == (0.91, 0.85, 0.95, 120, 0.55)
    assert h.verdict == "Backdoor detected: 1 of 2 methods separate the suspect from its control (probe)."
    none = headline_for("evaluate", {**res, "consensus": {"detected": False, "methods_detecting": []}})
    assert none.verdict.startswith("No backdoor detected: 0 of 2")


def test_system_check_and_missing_results():
    h = headline_for("system_check", {"inventory": {"torch": "2.13.0", "cpu_count": 2, "gpus": [
        {"name": "H200", "memory_mb": 143771}]}, "matmul": {"tflops": 512.3, "device": "cuda", "size": 8192}})
    assert h.figures[0].value == 512.3 and "H200 (140 GiB)" in h.verdict
    no_torch = headline_for("system_check", {"inventory": {"python": "3.11", "cpu_count": 2}, "matmul": None})
    assert no_torch.figures == [] and "no matmul benchmark ran" in no_torch.verdict
    assert headline_for("validate", {}).verdict == "no result recorded"


def test_format_headline_prints_each_figure_with_interval_and_control():
    text = format_headline(headline_for("validate", VALIDATION).model_dump())
    first = text.splitlines()[0]
    assert first == ("  Triggered activation rate: 90.0% [82.6%, 94.5%] (n=100); "
                     "clean prompts 5.0% [2.2%, 11.2%]")
    assert "Conditional gap (triggered - clean): +85.0 pp [+75.3, +90.3] pp (n=200)" in text
    assert format_headline(None) == "no result recorded"
    assert format_headline(Headline(view="x")) == "no result recorded"


def test_a_job_detail_prints_the_same_as_its_headline():
    from schemas.results import to_detail

    h = headline_for("validate", VALIDATION)
    detail = {"job": {"job_id": "j"}, **to_detail(h)}
    assert format_headline(detail) == format_headline(h)
    assert detail["headline"][0]["ci_low"] == 0.826 and detail["result_view"] == "validate"
