"""The event log against a real nats-server: order, dedup, idempotent stream, restarts."""

import asyncio

import pytest

from schemas import events as ev
from schemas import subjects
from services import bus

pytestmark = pytest.mark.timeout(60)


def chunk(n: int) -> ev.LogChunkEmitted:
    return ev.LogChunkEmitted(lines=[ev.LogLine(n=n, ts=0.0, stream="stdout", text=f"line {n}")])


async def publish_job(js, job_id, count=20):
    pub = bus.Publisher(js, producer="test-producer")
    await pub.publish(ev.JobSubmitted(job_type="system_check", params={}), job_id=job_id)
    seqs = []
    for n in range(1, count + 1):
        seqs.append((await pub.publish(chunk(n), job_id=job_id, attempt=1)).seq)
    await pub.publish(ev.JobFinished(status="succeeded"), job_id=job_id, attempt=1)
    return seqs


async def test_replay_from_start_and_from_sequence_n_keeps_order_without_gaps(js, job_id, nc):
    other = job_id + "x"
    await publish_job(js, other, 5)  # interleaved noise from another job
    seqs = await publish_job(js, job_id, 20)
    history = await bus.job_history(js, job_id)
    lines = [l.n for e in history if isinstance(e.envelope.event, ev.LogChunkEmitted)
             for l in e.envelope.event.lines]
    assert lines == list(range(1, 21))
    assert [e.seq for e in history] == sorted(e.seq for e in history)
    assert all(e.envelope.job_id == job_id for e in history)
    assert history[0].kind == subjects.SUBMITTED and history[-1].kind == subjects.FINISHED

    after = seqs[9]  # resume after the 10th line
    rest = await bus.job_history(js, job_id, after=after)
    rest_lines = [l.n for e in rest if isinstance(e.envelope.event, ev.LogChunkEmitted)
                  for l in e.envelope.event.lines]
    assert rest_lines == list(range(11, 21))
    assert rest[0].seq > after


async def test_replay_of_an_unknown_job_is_empty(js):
    assert await bus.job_history(js, "no-such-job") == []


async def test_same_event_published_twice_is_stored_once(js, job_id):
    pub = bus.Publisher(js, producer="dup-test")
    env = pub.seal(chunk(1), job_id=job_id, attempt=1)
    first = await pub.send(env)
    second = await pub.send(env)
    assert not first.duplicate and second.duplicate
    assert second.seq == first.seq
    assert len(await bus.job_history(js, job_id)) == 1


async def test_follow_delivers_events_published_later(js, job_id):
    received = []

    async def follower():
        async for e in bus.replay(js, subjects.job_all(job_id), follow=True):
            received.append(e.envelope.event)
            if isinstance(e.envelope.event, ev.JobFinished):
                return

    task = asyncio.create_task(follower())
    await asyncio.sleep(0.2)
    await publish_job(js, job_id, 3)
    await asyncio.wait_for(task, 10)
    assert isinstance(received[0], ev.JobSubmitted) and len(received) == 5


async def test_undecodable_bytes_come_back_as_errors_not_exceptions(js, job_id):
    await js.publish(subjects.job(job_id, subjects.LOG), b"\xff not json")
    (stored,) = await bus.job_history(js, job_id)
    assert stored.envelope is None and stored.error


async def test_stream_creation_is_idempotent_and_survives_restart(own_nats, job_id):
    nc = await bus.connect(own_nats.url, name="restart-test")
    js = nc.jetstream()
    first = await bus.ensure_stream(js)
    again = await bus.ensure_stream(js)
    assert first.config.name == again.config.name == subjects.STREAM
    assert again.config.duplicate_window == bus.DUPLICATE_WINDOW_S
    assert again.config.max_msgs_per_subject == bus.MAX_MSGS_PER_SUBJECT
    await publish_job(js, job_id, 50)
    await nc.close()

    own_nats.kill()  # kill -9: acknowledged events must still be there
    own_nats.start()
    nc = await bus.connect(own_nats.url, name="restart-test-2")
    js = nc.jetstream()
    await bus.ensure_stream(js)
    history = await bus.job_history(js, job_id)
    await nc.close()
    lines = [l.n for e in history if isinstance(e.envelope.event, ev.LogChunkEmitted)
             for l in e.envelope.event.lines]
    assert lines == list(range(1, 51)) and len(history) == 52


async def test_per_subject_limit_bounds_the_log_not_lifecycle(js, job_id):
    info = await js.stream_info(subjects.STREAM)
    # one subject per job and kind: the cap applies to a job's log chunks, while
    # submitted/claimed/finished subjects hold a handful of events each
    assert info.config.max_msgs_per_subject == bus.MAX_MSGS_PER_SUBJECT
    assert subjects.job(job_id, subjects.LOG) != subjects.job(job_id, subjects.FINISHED)
