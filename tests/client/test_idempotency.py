"""Every submission carries an Idempotency-Key and is retried with it, so an answer lost on
the way back (a dropped connection, a 503 after the gateway acted) never makes two jobs;
when no answer ever comes, the error says the outcome is unknown and how to settle it."""

from __future__ import annotations

import pytest

from services.client import Client, GatewayUnreachableError, SubmissionUnknownError
from services.client.retry import Backoff
from services.natsserver import free_port
from tests.client.conftest import QUICK
from tests.client.faulty_proxy import FaultyProxy
from tests.stack import TOKENS

pytestmark = pytest.mark.timeout(120)
QUICK_RETRIES = Backoff(first_s=0.05, max_s=0.2, budget_s=5.0)


def jobs_in(lab, experiment: str, min_seq: int) -> list[str]:
    return [j.job_id for j in lab.client().jobs(experiment=experiment, min_seq=min_seq).rows]


def test_a_retried_submission_with_the_same_key_yields_one_job(client_lab, experiment):
    with FaultyProxy(client_lab.gateway.port, ["drop", "503"]) as proxy, \
            Client(proxy.url, TOKENS["operator"], submit_backoff=QUICK_RETRIES) as client:
        done = client.submit("system_check", QUICK, pool="nowhere", experiment=experiment)
    assert proxy.applied == ["drop", "503"]  # the gateway took the first try; its answer was lost
    assert done.duplicate  # the third try got the job the first one created
    assert jobs_in(client_lab, experiment, done.seq) == [done.job_id]


def test_an_answer_that_never_comes_is_reported_unknown_and_settled_by_the_key(client_lab, experiment):
    with FaultyProxy(client_lab.gateway.port, ["drop"] * 100) as proxy, \
            Client(proxy.url, TOKENS["operator"],
                   submit_backoff=Backoff(first_s=0.05, max_s=0.1, budget_s=0.3)) as client:
        with pytest.raises(SubmissionUnknownError) as err:
            client.submit("system_check", QUICK, pool="nowhere", experiment=experiment)
    assert "unknown" in str(err.value) and err.value.idempotency_key in str(err.value)
    assert err.value.attempts == len(proxy.applied) > 1
    with Client(client_lab.url, TOKENS["operator"]) as client:
        settled = client.submit("system_check", QUICK, pool="nowhere", experiment=experiment,
                                idempotency_key=err.value.idempotency_key)
    assert settled.duplicate
    assert jobs_in(client_lab, experiment, settled.seq) == [settled.job_id]


def test_a_refused_connection_is_unreachable_not_unknown():
    with Client(f"http://127.0.0.1:{free_port()}", "token",
                submit_backoff=Backoff(first_s=0.05, max_s=0.1, budget_s=0.2)) as client:
        with pytest.raises(GatewayUnreachableError):
            client.submit("system_check", QUICK)
