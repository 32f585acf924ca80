"""The one client against a real lab: submit, follow the live log, resume mid-stream by
Last-Event-ID (also after the connection breaks), read the typed result; the async twin
sees the same stream."""

from __future__ import annotations

import asyncio

import pytest

from services.client import AsyncClient, Client, GatewayError, GatewayUnreachableError
from services.natsserver import free_port
from services.client.retry import Backoff
from tests.client.conftest import QUICK, RUN_POOL
from tests.client.faulty_proxy import FaultyProxy
from tests.stack import TOKENS

pytestmark = pytest.mark.timeout(120)
QUICK_RECONNECTS = Backoff(first_s=0.05, max_s=0.2, budget_s=5.0)
STREAMING = {**QUICK, "log_lines_per_second": 200, "log_duration_s": 1.0}


def test_submit_follow_and_read_the_typed_result(operator, experiment):
    done = operator.submit("system_check", STREAMING, pool=RUN_POOL, experiment=experiment)
    assert done.job_type == "system_check" and not done.duplicate
    events = list(operator.follow(done.job_id))
    end = events[-1]
    assert end.kind == "end" and end.data["status"] == "succeeded"
    kinds = [e.kind for e in events]
    assert kinds.index("submitted") < kinds.index("started") < kinds.index("finished")
    lines = [text for e in events for text in e.lines]
    assert len(lines) > 50 and "system_check: inventory" in lines
    seqs = [e.seq for e in events[:-1]]
    assert seqs == sorted(set(seqs))  # in order, none twice
    job = operator.job(done.job_id, min_seq=end.data["seq"]).job
    assert job.status == "succeeded" and job.ended and job.experiment == experiment
    figures = operator.results(done.job_id).figures()
    assert figures, "a succeeded system check records a result"
    assert all(r.job_id == done.job_id for r in operator.results(done.job_id).rows)
    listed = operator.jobs(experiment=experiment)
    assert [j.job_id for j in listed.rows] == [done.job_id] and listed.total == 1


def test_resume_mid_stream_by_last_event_id_equals_one_read(operator, client_lab):
    done = operator.submit("system_check", STREAMING, pool=RUN_POOL)
    operator.wait(done.job_id, 60)
    whole = list(operator.events(done.job_id, follow=False))
    assert whole[-1].kind == "end"
    pieces, after = [], None
    for size in (3, 7, 1, 10_000):
        taken = len(pieces)
        stream = operator.events(done.job_id, follow=False, after=after)
        for event in stream:
            pieces.append(event)
            if event.kind == "end" or len(pieces) == taken + size:
                break
        stream.close()  # drops the connection, as a crash would
        after = next((e.seq for e in reversed(pieces) if e.seq is not None), after)
        if pieces[-1].kind == "end":
            break
    assert [(e.seq, e.kind, e.data) for e in pieces] == [(e.seq, e.kind, e.data) for e in whole]


def test_a_stream_cut_mid_way_reconnects_and_resumes_with_nothing_lost_or_repeated(
        operator, client_lab):
    done = operator.submit("system_check", {**STREAMING, "log_lines_per_second": 2000,
                                            "log_line_length": 200}, pool=RUN_POOL)
    operator.wait(done.job_id, 60)
    whole = list(operator.events(done.job_id, follow=False))
    reconnects = []
    with FaultyProxy(client_lab.gateway.port, ["cut", "drop", "cut"]) as proxy, \
            Client(proxy.url, TOKENS["viewer"], stream_backoff=QUICK_RECONNECTS) as client:
        got = list(client.events(done.job_id, follow=False,
                                 on_reconnect=lambda n, why: reconnects.append(n)))
    assert proxy.applied == ["cut", "drop", "cut"] and reconnects == [1, 2, 3]
    assert [(e.seq, e.kind, e.data) for e in got] == [(e.seq, e.kind, e.data) for e in whole]


def test_the_async_client_reads_the_same_history(client_lab, operator):
    done = operator.submit("system_check", QUICK, pool=RUN_POOL)
    outcome = operator.wait(done.job_id, 60)
    assert outcome.finished and outcome.status == "succeeded"
    sync_seqs = [e.seq for e in operator.events(done.job_id, follow=False)]

    async def read():
        async with AsyncClient(client_lab.url, TOKENS["viewer"]) as lab:
            head = []
            async for e in lab.events(done.job_id, follow=False):
                head.append(e)
                if len(head) == 2:
                    break
            rest = [e async for e in lab.events(done.job_id, follow=False, after=head[-1].seq)]
            detail = await lab.job(done.job_id)
            return head + rest, detail

    events, detail = asyncio.run(read())
    assert [e.seq for e in events] == sync_seqs
    assert detail.job.status == "succeeded"


def test_errors_name_the_field_and_say_who_refused(operator, client_lab):
    with pytest.raises(GatewayError) as err:
        operator.submit("system_check", {"matmul_size": 99999}, pool="nowhere")
    assert err.value.status == 422
    [problem] = err.value.field_errors
    assert problem["field"] == "matmul_size" and problem["got"] == 99999
    assert "16384" in problem["allowed"] and "matmul_size" in err.value.describe()
    with Client(client_lab.url, TOKENS["viewer"]) as viewer, pytest.raises(GatewayError) as err:
        viewer.submit("system_check", QUICK, pool="nowhere")
    assert err.value.status == 403
    with Client(f"http://127.0.0.1:{free_port()}", "x", timeout=1) as nobody, \
            pytest.raises(GatewayUnreachableError):
        nobody.jobs()
