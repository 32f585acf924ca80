"""A job's log budget: how many bytes and lines of its output the event log stores.

Without one, a single job can fill the store's disk (a system check asked for a million
1,000-character lines a second grew the stream by ~60 MB/s). The budget is the executor's
(``--log-budget-mb``, ``--log-budget-lines``; one executor serves one pool, so it is set per
pool). Lines are sized as the batcher sizes them (text + ``LINE_OVERHEAD``, more than
they take encoded) and each chunk's envelope as ``CHUNK_OVERHEAD``, so an attempt's stored
log stays under the budget in bytes (plus the one line that says it was cut).

When the budget is reached the attempt's log gets one last line saying so, and a
``LogTruncated`` event; the job goes on, and its further lines are counted, not stored; a
final ``LogTruncated`` at the attempt's end carries the counts.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate

from schemas import events as ev
from services.executor.logs import LINE_OVERHEAD

CHUNK_OVERHEAD = 320  # a chunk's envelope: type, producer, job, attempt, seq, time

MARKER = ("[sleeper] log truncated: budget reached ({kept_lines} lines, {kept_bytes} bytes of "
          "the {budget_lines} lines / {budget_bytes} bytes allowed); further output is counted, "
          "not stored")


class LogBudget:
    def __init__(self, max_bytes: int, max_lines: int):
        self.max_bytes = max_bytes
        self.max_lines = max_lines
        self.kept_bytes = self.kept_lines = 0
        self.dropped_bytes = self.dropped_lines = 0
        self.reached = False

    def admit(self, lines: list[ev.LogLine]) -> tuple[list[ev.LogLine], bool]:
        """The lines that fit, and whether this call used the budget up."""
        if self.reached:
            self._drop(lines)
            return [], False
        sizes = list(accumulate((len(line.text) + LINE_OVERHEAD for line in lines),
                                initial=CHUNK_OVERHEAD))[1:]
        fit = min(bisect_right(sizes, self.max_bytes - self.kept_bytes),
                  self.max_lines - self.kept_lines)
        kept = lines[:fit]
        if kept:
            self.kept_lines += len(kept)
            self.kept_bytes += sizes[len(kept) - 1]
        if fit >= len(lines):
            return kept, False
        self.reached = True
        self._drop(lines[fit:])
        return kept, True

    def _drop(self, lines: list[ev.LogLine]) -> None:
        self.dropped_lines += len(lines)
        self.dropped_bytes += sum(len(line.text) for line in lines)

    def marker(self, ts: float) -> ev.LogLine:
        """The line that tells a reader of the log why it stops (numbered after the last kept,
        which is the count kept: the kept lines are the attempt's first ones)."""
        return ev.LogLine(self.kept_lines + 1, ts, "stderr", MARKER.format(
            kept_lines=self.kept_lines, kept_bytes=self.kept_bytes,
            budget_lines=self.max_lines, budget_bytes=self.max_bytes))

    def event(self, final: bool) -> ev.LogTruncated:
        return ev.LogTruncated(budget_bytes=self.max_bytes, budget_lines=self.max_lines,
                               kept_lines=self.kept_lines, kept_bytes=self.kept_bytes,
                               dropped_lines=self.dropped_lines, dropped_bytes=self.dropped_bytes,
                               final=final)
