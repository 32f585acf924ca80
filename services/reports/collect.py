"""Gather an experiment's job results from the projector and give each back its shape.

The projector keeps a result as flattened ``(job, kind, key)`` rows (nested objects give
dotted keys). The report needs the nested result again, so ``unflatten`` rebuilds it; keys
that themselves hold dots (activation sites such as ``blocks.1.hook_resid_post``) come back
nested one level per dot, which ``joined`` undoes where a section needs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.queries import ProjectorClient

RESULT_ROWS = 20_000


@dataclass
class JobResult:
    """One finished job of the experiment and its result, nested as the job returned it."""

    job_id: str
    job_type: str
    status: str
    params: dict[str, Any]
    finished_at: float | None
    result: dict[str, Any] = field(default_factory=dict)

    def get(self, path: str, default: Any = None) -> Any:
        """The value at a dotted ``path`` of the result, or ``default`` when not recorded."""
        node: Any = self.result
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node


def unflatten(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in rows:
        parts = str(row["key"]).split(".")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = row["value"]
    return out


def joined(tree: Any, leaf_keys: set[str], prefix: str = "") -> dict[str, Any]:
    """Re-join dotted keys: every dict holding one of ``leaf_keys`` becomes one entry named by
    the path that led to it (``{"blocks": {"1": {"hook_resid_post": {"p95": ..}}}}`` ->
    ``{"blocks.1.hook_resid_post": {"p95": ..}}``)."""
    if not isinstance(tree, dict):
        return {}
    if prefix and leaf_keys & set(tree):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(joined(value, leaf_keys, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _result_for(job_type: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The job's own result (kind = its type); other kinds it recorded sit under ``_kinds``."""
    by_kind: dict[str, list[dict]] = {}
    for row in rows:
        by_kind.setdefault(str(row.get("kind") or ""), []).append(row)
    own = by_kind.pop(job_type, None)
    if own is None and len(by_kind) == 1:
        own = by_kind.pop(next(iter(by_kind)))
    result = unflatten(own or [])
    if by_kind:
        result["_kinds"] = {k: unflatten(v) for k, v in by_kind.items()}
    return result


async def experiment_results(projector: ProjectorClient, experiment: str) -> list[JobResult]:
    """Every succeeded job of ``experiment`` with its result, oldest first."""
    answer = await projector.ask("experiments.get", {"name": experiment})
    jobs = sorted(answer.get("jobs") or [], key=lambda j: (j.get("submitted_at") or 0, j["job_id"]))
    out = []
    for job in jobs:
        if job.get("status") != "succeeded":
            continue
        rows = (await projector.ask("results", {"job_id": job["job_id"], "limit": RESULT_ROWS}))["rows"]
        out.append(JobResult(job["job_id"], job["job_type"], job["status"], job.get("params") or {},
                             job.get("finished_at"), _result_for(job["job_type"], rows)))
    return out
