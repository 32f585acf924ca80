"""Model Comparison: two models' generations on the same prompts, compared per prompt.

The pairs come from saved ``generations.jsonl`` files (validate, rescore, and the pre/post
files of a persistence run). Per metric, McNemar's exact test on the discordant prompts: b
(only A fired) and c (only B fired) are binomial(b + c, 1/2) under "no difference", so the
two-sided p is 2 * P(X <= min(b, c)), capped at 1. Only metrics whose rates differ are shown.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from services.reports import figures as f
from services.reports.collect import JobResult
from services.reports.persistence_rows import persistence_runs

MAX_PAIRS = 6
METRICS = {"triggered activation": lambda r: r["triggered"] and r.get("variant") == "exact",
           "clean-prompt activation": lambda r: not r["triggered"]}


def mcnemar_p(b: int, c: int) -> float:
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def wilson(p: float, n: int, z: float = 1.959963984540054) -> list[float]:
    """Wilson 95% interval of a rate ``p`` over ``n`` (the science package's rule, restated)."""
    if n <= 0:
        return [0.0, 1.0]
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return [max(0.0, centre - half), min(1.0, centre + half)]


def _rows(path: str) -> dict[tuple, dict] | None:
    file = Path(path)
    if not file.is_file():
        return None
    out = {}
    for line in file.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            out[(r["id"], r["prompt"], r["triggered"], r.get("variant"), r.get("sample", 0))] = r
    return out


def compare(a: dict[tuple, dict], b: dict[tuple, dict]) -> list[dict[str, Any]]:
    """Per metric over the prompts both files hold: rates, discordant counts, McNemar p."""
    shared = sorted(set(a) & set(b))
    out = []
    for name, picks in METRICS.items():
        keys = [k for k in shared if picks(a[k])]
        if not keys:
            continue
        xa = [bool(a[k]["activated"]) for k in keys]
        xb = [bool(b[k]["activated"]) for k in keys]
        only_a = sum(1 for p, q in zip(xa, xb) if p and not q)
        only_b = sum(1 for p, q in zip(xa, xb) if q and not p)
        out.append({"metric": name, "n": len(keys), "rate_a": sum(xa) / len(keys), "rate_b": sum(xb) / len(keys),
                    "only_a": only_a, "only_b": only_b, "p_value": mcnemar_p(only_a, only_b)})
    return out


def _candidates(jobs: list[JobResult]) -> list[tuple[str, str, JobResult]]:
    """(label, generations path, job) for every saved generations file in the experiment."""
    out = []
    for job in jobs:
        if job.job_type in ("validate", "rescore") and isinstance(job.get("generations"), str):
            model = job.get("model") or f"re-scored {job.get('source_job') or job.get('source_generations')}"
            out.append((f"{job.job_type} {job.job_id}: {f.model_name(model) if job.get('model') else model}",
                        job.get("generations"), job))
    for run in persistence_runs(jobs):
        for when in ("pre", "post"):
            path = run.body.get(f"{when}_generations")
            if isinstance(path, str):
                model = run.body.get("backdoored_model" if when == "pre" else "safety_model")
                out.append((f"{run.job.job_type} {run.job.job_id} {when}: {f.model_name(model)}", path, run.job))
    return out


def model_comparison(jobs: list[JobResult]) -> dict[str, Any]:
    loaded = [(label, rows, job) for label, path, job in _candidates(jobs) for rows in [_rows(path)] if rows]
    pairs = []
    for i, (la, ra, ja) in enumerate(loaded):
        for lb, rb, jb in loaded[i + 1:]:
            if len(pairs) >= MAX_PAIRS:
                break
            differing = [m for m in compare(ra, rb) if m["rate_a"] != m["rate_b"]]
            if set(ra) & set(rb):
                pairs.append({"a": la, "b": lb, "job_ids": sorted({ja.job_id, jb.job_id}), "metrics": differing,
                              "shared_prompts": len(set(ra) & set(rb))})
    if not pairs:
        return {}
    pairs.sort(key=lambda p: not p["metrics"])  # pairs that differ somewhere lead
    first = pairs[0]
    job = next(j for _, _, j in loaded if j.job_id in first["job_ids"])
    top = first["metrics"][0] if first["metrics"] else None
    fig = None if top is None else f.figure(
        f"{top['metric']}, A vs B", f.side("model A", top["rate_a"], wilson(top["rate_a"], top["n"]), top["n"]),
        f.side("model B", top["rate_b"], wilson(top["rate_b"], top["n"]), top["n"]), job=job,
        meaning=f"A: {first['a']}; B: {first['b']}. On the same {top['n']} prompts; McNemar's exact test on the "
                f"{top['only_a'] + top['only_b']} prompts where only one fired gives p = {top['p_value']:.3g} "
                "(small p: the models really differ there).")
    tables = [f.table(f"A: {p['a']}  vs  B: {p['b']}",
                      ["metric", "n", "rate A", "rate B", "only A fired", "only B fired", "McNemar p"],
                      [[m["metric"], m["n"], f.text(m["rate_a"]), f.text(m["rate_b"]), m["only_a"], m["only_b"],
                        f"{m['p_value']:.3g}"] for m in p["metrics"]]
                      or [["(no metric differs on the shared prompts)", p["shared_prompts"], "", "", "", "", ""]],
                      p["job_ids"]) for p in pairs]
    return {"figures": [fig], "tables": tables, "pairs": pairs}
