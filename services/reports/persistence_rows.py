"""Every persistence measurement in an experiment, in one shape, whichever job made it.

``test_persistence`` records it at the top of its result; ``safety_training`` (run with its
persistence check) under ``persistence``. Both come from the same ``compute_persistence``, so
the Persistence, Risk Mitigation, Scaling and Risk Profiles pages read them alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.reports.collect import JobResult


@dataclass
class Persistence:
    job: JobResult
    method: str
    body: dict[str, Any]  # the compute_persistence result (pre, post, persistence, ...)
    curve: list[dict[str, Any]]
    utility: dict[str, Any] | None

    @property
    def model(self) -> str:
        return str(self.body.get("backdoored_model") or self.job.params.get("backdoored_model")
                   or self.job.params.get("model") or "?")

    def rate(self, when: str, which: str = "activation") -> dict[str, Any] | None:
        value = (self.body.get(when) or {}).get(which)
        return value if isinstance(value, dict) else None


def _method(job: JobResult, body: dict[str, Any]) -> str:
    recipe = body.get("safety_recipe") or job.get("recipe") or {}
    return str((recipe or {}).get("method") or job.params.get("method") or "unknown")


def _curve(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        value = value.get("points")
    return [p for p in value or [] if isinstance(p, dict) and "step" in p]


def persistence_runs(jobs: list[JobResult]) -> list[Persistence]:
    out = []
    for job in jobs:
        if job.job_type == "test_persistence" and isinstance(job.result.get("persistence"), (int, float)):
            body = job.result
        elif job.job_type == "safety_training" and isinstance(job.get("persistence.persistence"), (int, float)):
            body = job.result["persistence"]
        else:
            continue
        utility = job.get("utility")
        out.append(Persistence(job, _method(job, body), body, _curve(job.get("curve")),
                               utility if isinstance(utility, dict) else None))
    return out
