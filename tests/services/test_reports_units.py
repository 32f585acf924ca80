"""The report builder's pure parts: McNemar's exact test, rebuilding a result from the
projector's flattened rows, and "not measured" staying not measured (a method the suite left
out gives its reason and no number; a missing control gives no control, not a zero)."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from services.projector.views.artifacts import flatten
from services.reports.build import build_report
from services.reports.collect import JobResult, joined, unflatten
from services.reports.mcnemar import compare, mcnemar_p


@pytest.mark.parametrize("b,c", [(0, 10), (3, 9), (7, 7), (1, 0), (12, 30)])
def test_mcnemar_exact_p_is_the_two_sided_binomial_test_of_the_discordant_prompts(b, c):
    assert mcnemar_p(b, c) == pytest.approx(binomtest(b, b + c, 0.5).pvalue)


def test_compare_pairs_the_same_prompts_and_counts_who_fired_alone():
    def rows(fired):
        return {("p%d" % i, "q", True, "exact", 0): {"triggered": True, "variant": "exact", "activated": f}
                for i, f in enumerate(fired)}
    [m] = compare(rows([1, 1, 1, 0, 0]), rows([1, 0, 0, 0, 1]))
    assert (m["n"], m["only_a"], m["only_b"], m["rate_a"], m["rate_b"]) == (5, 2, 1, 0.6, 0.4)
    assert m["p_value"] == pytest.approx(1.0)


def test_a_flattened_result_comes_back_nested_and_dotted_sites_rejoin():
    result = {"families": {"deception": {"random_directions": {"backdoored": {
        "blocks.1.hook_resid_post": {"n": 100, "p95": 0.61}}}}}, "layers": [1, 2], "persistence": 0.5}
    back = unflatten([{"key": k, "value": v} for k, v in flatten(result)])
    assert back["layers"] == [1, 2] and back["persistence"] == 0.5
    rand = back["families"]["deception"]["random_directions"]["backdoored"]
    assert joined(rand, {"p95"}) == {"blocks.1.hook_resid_post": {"n": 100, "p95": 0.61}}


def _evaluate(methods: dict) -> JobResult:
    return JobResult("job-e", "evaluate", "succeeded", {}, 0.0, {
        "methods": methods, "consensus": {"detected": False, "methods_detecting": [], "methods_run": ["honeypots"],
                                          "methods_excluded": ["chain_of_thought"]}})


def test_a_method_left_out_shows_its_reason_and_no_number():
    why = "the model writes no scratchpad, so there is no reasoning to read"
    report = build_report("x", [_evaluate({
        "chain_of_thought": {"applicable": False, "score": None, "note": why, "detected": False},
        "honeypots": {"applicable": True, "score": 0.25, "ci_low": 0.1, "ci_high": 0.4, "n": 30,
                      "control_score": None, "detected": False, "note": ""}})])
    sections = {s["key"]: s for s in report["sections"]}
    cot = sections["chain_of_thought"]
    assert cot["figures"] == [] and why in cot["notes"] and cot["tables"][0]["rows"][0][6] == "left out"
    [fig] = sections["honeypot"]["figures"]
    assert (fig["value"], fig["ci"], fig["n"], fig["control"]) == (0.25, [0.1, 0.4], 30, None)
    assert sections["red_team"]["empty"] and sections["red_team"]["fills"]["job_type"] == "evaluate"
    assert sections["detection_consensus"]["figures"][0]["value"] == 0.0


def test_the_pdf_has_every_section_title_and_one_image_per_chart(tmp_path):
    from pypdf import PdfReader

    from schemas.reports import REPORT_SECTIONS
    from services.reports.pdf import render_pdf

    report = build_report("units", [_evaluate({
        "honeypots": {"applicable": True, "score": 0.25, "ci_low": 0.1, "ci_high": 0.4, "n": 30, "control_score": 0.2,
                      "control_ci_low": 0.08, "control_ci_high": 0.37, "control_n": 30, "detected": False}})])
    out = tmp_path / "r.pdf"
    out.write_bytes(render_pdf(report))
    pdf = PdfReader(str(out))
    text = " ".join(p.extract_text() for p in pdf.pages)
    assert all(s.title in text for s in REPORT_SECTIONS)
    assert "Honeypots: 0.250 [0.100, 0.400], n=30" in text and "control model: 0.200 [0.080, 0.370]" in text
    assert sum(len(p.images) for p in pdf.pages) == sum(len(s["charts"]) for s in report["sections"]) > 0
