"""Claim fencing against a real nats-server: the lease and the attempt counter."""

import asyncio

import pytest

from services.executor.lease import Attempts, Expired, Fenced, LeaseHolder, Leases
from tests.services.executor_helpers import new_id

pytestmark = pytest.mark.timeout(60)


async def lapsed(leases: Leases, job: str, timeout: float = 5.0) -> float:
    """Seconds until the lease key is gone (the server drops it when its TTL passes)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while (await leases.current(job))[1] is not None:
        assert loop.time() - start < timeout, "the lease never lapsed"
        await asyncio.sleep(0.05)
    return loop.time() - start


def holder(name: str) -> LeaseHolder:
    return LeaseHolder(executor_id=name, producer=f"{name}.boot")


async def test_one_holder_at_a_time_and_a_lapsed_holder_is_fenced_off(js):
    leases = Leases(js, ttl=1)
    await leases.setup()
    job = new_id()
    a = await leases.acquire(job, holder("a"))
    assert a is not None
    assert await leases.acquire(job, holder("b")) is None  # held
    a = await leases.renew(a)  # the holder renews fine
    assert 0.5 < await lapsed(leases, job) < 3  # a is partitioned: no renewal past the TTL
    b = await leases.acquire(job, holder("b"))
    assert b is not None and b.revision > a.revision
    with pytest.raises(Fenced):
        await leases.renew(a)  # a comes back: someone else holds the job now
    assert not await leases.release(a)  # and it cannot release b's lease
    assert await leases.release(b)
    c = await leases.acquire(job, holder("c"))  # a released lease is free at once
    assert c is not None


async def test_a_lapsed_lease_nobody_took_reports_expired(js):
    leases = Leases(js, ttl=1)
    await leases.setup()
    job = new_id()
    a = await leases.acquire(job, holder("a"))
    await lapsed(leases, job)
    with pytest.raises(Expired):
        await leases.renew(a)


async def test_attempt_counter_moves_only_from_the_revision_read(js):
    attempts = Attempts(js)
    await attempts.setup()
    job = new_id()
    assert await attempts.get(job) == (0, 0)
    rev = await attempts.advance(job, 1, 0)
    assert rev and (await attempts.get(job)) == (1, rev)
    assert await attempts.advance(job, 1, 0) is None  # a stale writer loses
    assert await attempts.advance(job, 2, rev)
    assert (await attempts.get(job))[0] == 2
