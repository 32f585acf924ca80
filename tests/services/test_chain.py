"""Hash chains: a history as written verifies; an inserted, altered or missing event is named."""

from __future__ import annotations

import msgspec

from schemas import events as ev
from services import bus, chain


def _history(job_id: str = "job-1") -> list[tuple[int, bytes, ev.Envelope]]:
    """A job as the gateway and one executor write it, with stream sequences 1, 2, ..."""
    gateway, executor = bus.Publisher(None, "gateway-1"), bus.Publisher(None, "ex-1.boot")
    submitted = ev.encode(gateway.seal(ev.JobSubmitted(job_type="system_check", params={}),
                                       job_id=job_id))
    executor.anchor(job_id, submitted)
    envs = [executor.seal(e, job_id=job_id, attempt=1) for e in (
        ev.JobClaimed(executor_id="ex-1"), ev.JobStarted(executor_id="ex-1", pid=7),
        ev.MetricRecorded(values={"loss": 1.0}), ev.ResultRecorded(kind="x", payload={"a": 1}),
        ev.JobFinished(status="succeeded"))]
    datas = [submitted] + [ev.encode(e) for e in envs]
    return [(i + 1, d, ev.decode(d)) for i, d in enumerate(datas)]


def test_a_history_as_written_verifies():
    state = chain.check(_history())
    assert state.status == chain.OK and state.chained == 5 and state.sealed_at == 6


def test_an_altered_event_is_named():
    events = _history()
    seq, data, env = events[3]
    forged = msgspec.structs.replace(env, event=ev.MetricRecorded(values={"loss": 0.01}))
    events[3] = (seq, ev.encode(forged), forged)
    state = chain.check(events)
    assert state.status == chain.BROKEN
    assert [b.seq for b in state.breaks] == [5]
    assert "seq 4 was altered" in state.breaks[0].problem


def test_a_missing_event_is_named():
    events = _history()
    del events[3]
    state = chain.check(events)
    assert [b.seq for b in state.breaks] == [5] and "missing" in state.breaks[0].problem


def test_an_inserted_event_is_named_however_it_links():
    events = _history()
    # a forger who copies the head it saw into its own event, before the real next one
    head = events[3][2]
    forged = msgspec.structs.replace(head, event=ev.MetricRecorded(values={"loss": 0.0}),
                                     prev=ev.digest(events[3][1]), seq=head.seq + 100)
    events.insert(4, (4.5, ev.encode(forged), forged))
    state = chain.check(events)
    assert any("skips seq 4.5" in b.problem and "inserted" in b.problem for b in state.breaks)
    # an event with no link, and one after the seal
    stray = ev.envelope(ev.LogChunkEmitted(lines=[]), producer="forger", seq=1, job_id="job-1")
    late = ev.envelope(ev.ResultRecorded(kind="x", payload={}), producer="ex-1.boot", seq=99,
                       job_id="job-1", prev=ev.digest(_history()[-1][1]))
    events = _history() + [(7, ev.encode(stray), stray), (8, ev.encode(late), late)]
    problems = {b.seq: b.problem for b in chain.check(events).breaks}
    assert "carries no link" in problems[7] and "after the job was sealed at seq 6" in problems[8]


def test_history_from_before_chains_is_unchained_not_broken():
    events = []
    for i, e in enumerate([ev.JobSubmitted(job_type="t", params={}),
                           ev.JobFinished(status="succeeded")]):
        env = ev.envelope(e, producer="old", seq=i + 1, job_id="j")
        events.append((i + 1, ev.encode(env), env))
    assert chain.check(events).status == chain.UNCHAINED


def test_capsule_digests_name_every_input_file(tmp_path):
    from services.executor import capsule

    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "config.json").write_text("{}")
    (model / "sub" / "weights.bin").write_bytes(b"\0" * 10)
    params = {"model": str(model), "seed": 3, "eval_seed": 4, "note": "no/such/path"}
    first = capsule.take(params, gpu_names=[], versions={})
    assert set(first.inputs) == {str(model)} and first.seeds == {"seed": 3, "eval_seed": 4}
    (model / "sub" / "weights.bin").write_bytes(b"\1" * 10)
    assert capsule.take(params, gpu_names=[], versions={}).inputs[str(model)] != first.inputs[str(model)]
    assert set(capsule.artifact_digests(model)) == {"config.json", "sub/weights.bin"}
