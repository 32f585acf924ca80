"""Model paths are confined to the configured model roots, with a clear refusal."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from services.gateway import modelpaths
from services.gateway.errors import ModelPathError
from tests.services.test_gateway_support import auth, gateway  # noqa: F401

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def tiny_model(gateway) -> Path:
    folder = gateway.data_dir / "models" / "tiny-llama"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 64}))
    (folder / "model.safetensors").write_bytes(b"\0" * 1000)
    (gateway.data_dir / "models" / "escape").symlink_to("/etc")
    return folder


def get(gateway, route: str, **params) -> httpx.Response:
    return httpx.get(gateway.url + route, params=params, headers=auth("viewer"))


def test_models_in_the_roots_are_listed_and_inspected(gateway, tiny_model):
    listing = get(gateway, "/api/system/models").json()
    assert str(gateway.data_dir.resolve() / "models") in listing["roots"]
    local = {m["name"]: m for m in listing["local"]}
    assert local["tiny-llama"]["kind"] == "model" and local["tiny-llama"]["size_bytes"] > 1000
    for path in (str(tiny_model), "tiny-llama"):
        info = get(gateway, "/api/system/models/inspect", path=path).json()
        assert info["config"]["model_type"] == "llama"
        assert {f["name"] for f in info["listing"]} == {"config.json", "model.safetensors"}


@pytest.mark.parametrize("path,why", [
    ("/etc/passwd", "outside the configured model roots"),
    ("/tmp", "outside the configured model roots"),
    ("tiny-llama/../../../etc", "contains '..'"),
    ("../models/tiny-llama", "contains '..'"),
    ("escape", "outside the configured model roots"),
])
def test_paths_outside_the_roots_are_refused_with_a_clear_message(gateway, tiny_model, path, why):
    resp = get(gateway, "/api/system/models/inspect", path=path)
    assert resp.status_code == 403, resp.text
    detail = resp.json()
    assert detail["code"] == "path_outside_model_roots" and why in detail["detail"]
    assert str(gateway.data_dir.resolve() / "models") in detail["detail"]  # names the roots


def test_a_missing_model_is_404(gateway, tiny_model):
    resp = get(gateway, "/api/system/models/inspect", path="no-such-model")
    assert resp.status_code == 404 and "no-such-model" in resp.json()["detail"]


def test_job_params_naming_a_model_are_checked_before_publishing(tmp_path):
    roots = [tmp_path.resolve()]
    schema = {"properties": {"model_path": {"type": "string"}, "adapter_dir": {"type": "string"},
                             "prompt": {"type": "string"}, "weights": {"type": "string", "x-model-path": True}}}
    assert modelpaths.path_fields(schema) == {"model_path", "adapter_dir", "weights"}
    modelpaths.check_params({"model_path": str(tmp_path / "m"), "prompt": "/etc/passwd",
                             "weights": "Qwen/Qwen2.5-0.5B"}, schema, roots)
    with pytest.raises(ModelPathError, match="params.model_path: '/etc' is outside"):
        modelpaths.check_params({"model_path": "/etc"}, schema, roots)
    with pytest.raises(ModelPathError, match=r"params.adapter_dir: .* contains '\.\.'"):
        modelpaths.check_params({"adapter_dir": "a/../../b"}, schema, roots)


def test_a_submit_naming_a_model_outside_the_roots_is_refused_and_not_published(gateway, tiny_model):
    types = httpx.get(gateway.url + "/api/job-types", headers=auth("viewer")).json()["job_types"]
    with_model = [t for t in types if "model" in t["params_schema"].get("properties", {})]
    if not with_model:
        pytest.skip("no job type with a model parameter in this build")
    route = with_model[0]["submit"]

    def last_seq() -> int:
        return get(gateway, "/api/system/status").json()["nats"]["stream"]["last_seq"]

    before = last_seq()
    refused = httpx.post(gateway.url + route, json={"params": {"model": "/etc"}},
                         headers=auth("operator"))
    assert refused.status_code == 403, refused.text
    detail = refused.json()
    assert detail["field"] == "params.model" and "outside the configured model roots" in detail["detail"]
    assert last_seq() == before
    inside = httpx.post(gateway.url + route, json={"params": {"model": str(tiny_model)}, "pool": "nobody"},
                        headers=auth("operator"))
    assert inside.status_code == 201, inside.text
