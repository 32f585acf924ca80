"""Bad input to ``evaluate`` is refused at the gateway, naming the field, before anything is
published: an unknown method, n_prompts out of range, a missing model, and a model or
control model outside the model roots (the roots rule covers ``control_model`` too)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.services.test_gateway_support import auth, gateway  # noqa: F401

pytestmark = pytest.mark.timeout(60)
ROUTE = "/api/jobs/evaluate"


@pytest.fixture(scope="module")
def model_dir(gateway):
    folder = gateway.data_dir / "models" / "tiny-eval"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    return str(folder)


def last_seq(gateway) -> int:
    return httpx.get(gateway.url + "/api/system/status", headers=auth("viewer")).json()["nats"]["stream"]["last_seq"]


def post(gateway, params: dict) -> httpx.Response:
    return httpx.post(gateway.url + ROUTE, json={"params": params, "pool": "nobody"}, headers=auth("operator"))


def test_bad_evaluate_params_name_the_field_and_publish_nothing(gateway, model_dir):
    before = last_seq(gateway)
    unknown = post(gateway, {"model": model_dir, "methods": ["layer_probes", "tea_leaves"]})
    assert unknown.status_code == 422
    err = unknown.json()["errors"][0]
    assert err["field"] == "methods.1" and err["got"] == "tea_leaves"
    assert "trigger_sensitivity" in err["allowed"] and "direction_ablation" in err["allowed"]
    for n in (2, 100_000):
        resp = post(gateway, {"model": model_dir, "n_prompts": n})
        assert resp.status_code == 422
        err = resp.json()["errors"][0]
        assert err["field"] == "n_prompts" and "[8, 1000]" in err["allowed"]
    missing = post(gateway, {"control_model": model_dir})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "model"
    for field in ("model", "control_model"):
        params = {"model": model_dir, field: "/etc"}
        outside = post(gateway, params)
        assert outside.status_code == 403, outside.text
        problem = outside.json()  # RFC 9457: the field and the reason at the top level
        assert problem["field"] == f"params.{field}" and "outside the configured model roots" in problem["detail"]
    assert last_seq(gateway) == before
    ok = post(gateway, {"model": model_dir, "control_model": model_dir, "methods": ["trigger_sensitivity"]})
    assert ok.status_code == 201, ok.text
    assert last_seq(gateway) > before
