"""Every gateway request the client makes, described once: method, path, query, body and
the model its answer decodes to. ``Client`` and ``AsyncClient`` only send these.

``API_BASE`` is the one place the API's root is named.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from services.client import models as m

API_BASE = "/api/v1"


def api(path: str) -> str:
    return API_BASE + path


def new_key() -> str:
    return uuid.uuid4().hex


def snake(job_type: str) -> str:
    """The registry's spelling of a job type (the API also accepts kebab-case)."""
    return job_type.replace("-", "_")


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "", [], ())}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    answer: Any = dict  # a model class, dict (plain JSON), str (text) or bytes
    params: dict[str, Any] | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None


def healthz() -> Call:
    return Call("GET", "/healthz", timeout=2.0)


def readyz() -> Call:
    return Call("GET", "/readyz", timeout=2.0)


def whoami() -> Call:
    return Call("GET", api("/auth/whoami"))


def stream_token(path: str | None) -> Call:
    return Call("POST", api("/auth/stream-token"), body={"path": path} if path else {})


def job_types() -> Call:
    return Call("GET", api("/job-types"), m.JobTypes)


def submit(job_type: str, params: dict[str, Any] | None, key: str, options: dict[str, Any]) -> Call:
    body = {"params": params or {}, **_present(options)}
    return Call("POST", api(f"/jobs/{quote(snake(job_type))}"), m.Submitted, body=body,
                headers={"Idempotency-Key": key})


def jobs(filters: dict[str, Any]) -> Call:
    return Call("GET", api("/jobs"), m.JobList, params=_present(filters), timeout=60.0)


def job(job_id: str, min_seq: int | None = None) -> Call:
    return Call("GET", api(f"/jobs/{quote(job_id)}"), m.JobDetail,
                params=_present({"min_seq": min_seq}), timeout=60.0)


def wait(job_id: str, timeout_s: float) -> Call:
    return Call("GET", api(f"/jobs/{quote(job_id)}/wait"), m.WaitOutcome,
                params={"timeout_s": timeout_s}, timeout=timeout_s + 30.0)


def cancel(job_id: str, reason: str = "") -> Call:
    return Call("DELETE", api(f"/jobs/{quote(job_id)}"), m.Published,
                params=_present({"reason": reason}))


def retry(job_id: str, key: str) -> Call:
    return Call("POST", api(f"/jobs/{quote(job_id)}/retry"), m.Submitted,
                headers={"Idempotency-Key": key})


def archive(job_id: str) -> Call:
    return Call("POST", api(f"/jobs/{quote(job_id)}/archive"), m.Published)


def results(job_id: str | None, kind: str | None = None, key: str | None = None) -> Call:
    return Call("GET", api("/results"), m.Results,
                params=_present({"job_id": job_id, "kind": kind, "key": key}))


def log_text(job_id: str, tail: int | None = None) -> Call:
    return Call("GET", job_logs_path(job_id), str, params=_present({"tail": tail}),
                timeout=60.0)


def log_lines(job_id: str, **query: Any) -> Call:
    return Call("GET", api(f"/jobs/{quote(job_id)}/logs/lines"), m.LogPage, params=_present(query))


def search_logs(job_id: str, q: str, limit: int = 200) -> Call:
    return Call("GET", api(f"/jobs/{quote(job_id)}/logs/search"), params={"q": q, "limit": limit})


def executors(pool: str | None = None) -> Call:
    return Call("GET", api("/executors"), m.Executors, params=_present({"pool": pool}))


def experiments() -> Call:
    return Call("GET", api("/experiments"), m.Experiments)


def experiment(name: str) -> Call:
    return Call("GET", api(f"/experiments/{quote(name, safe='')}"))


def report(name: str) -> Call:
    """Experiment ``name``'s fifteen Reporting sections (built from its jobs' results)."""
    return Call("GET", api(f"/reports/{quote(name, safe='')}"), timeout=60.0)


def report_pdf(name: str) -> Call:
    return Call("GET", api(f"/reports/{quote(name, safe='')}/pdf"), bytes, timeout=300.0)


def system_status() -> Call:
    return Call("GET", api("/system/status"), timeout=5.0)


def lab_models() -> Call:
    return Call("GET", api("/system/models"))


def audit(job_id: str | None = None, limit: int = 100) -> Call:
    return Call("GET", api("/audit"), params=_present({"job_id": job_id, "limit": limit}))


def job_events_path(job_id: str) -> str:
    return api(f"/jobs/{quote(job_id)}/events")


def job_logs_path(job_id: str) -> str:
    return api(f"/jobs/{quote(job_id)}/logs")


def lab_events_path() -> str:
    return api("/events")


def stream_params(follow: bool, kinds: str | None) -> dict[str, Any]:
    return {"follow": "true" if follow else "false", **_present({"kinds": kinds})}
