"""A job's stdout/stderr as numbered log lines in chunks, and carriage-return bars as progress.

``LineSplitter`` turns the raw bytes of one stream into lines: a carriage return overwrites
the line (what a terminal shows is what is kept), so a tqdm bar becomes progress updates and
only its final state, if it ends with a newline, becomes a log line. An over-long line is
cut with a visible marker, and the splitter never holds more than a bounded prefix of it.

``LogBatcher`` numbers lines 1, 2, 3... across both streams of an attempt and hands them
out as chunks: after ``flush_interval`` seconds (counted from the chunk's first line) or
as soon as the chunk reaches ``max_bytes``, whichever comes first.
"""

from __future__ import annotations

import asyncio
import re
import time
from bisect import bisect_right
from collections import deque
from itertools import accumulate, repeat
from typing import Callable, Literal

import msgspec

from schemas import events as ev

Stream = Literal["stdout", "stderr"]

DEFAULT_LINE_CAP = 16 * 1024  # characters kept of one line
DEFAULT_CHUNK_BYTES = 256 * 1024  # a chunk's lines, estimated encoded size
DEFAULT_FLUSH_INTERVAL = 0.05  # seconds a line may wait in a chunk
LINE_OVERHEAD = 64  # JSON around one line's text: {"n":..,"ts":..,"stream":"stdout","text":""}
MAX_CHUNK_ENCODED = 900 * 1024  # stay under the stream's 1 MiB message limit
CUT_MARKER = "…[cut {n} chars]"

# tqdm: "desc:  45%|####5     | 45/100 [00:01<00:01, 44.12it/s]" and "45it [00:01, 44.1it/s]"
_TQDM = re.compile(
    r"(?:(?P<desc>[^\r\n|]*?):\s*)?(?:(?P<pct>\d{1,3})%\|[^|]*\|\s*)?"
    r"(?P<n>\d+(?:\.\d+)?[kMGT]?)(?:/(?P<total>\d+(?:\.\d+)?[kMGT]?))?\s*(?P<unit>[A-Za-z/]*)\s*"
    r"\[(?P<elapsed>[\d:]+)(?:<(?P<eta>[\d:?]+))?"
    r"(?:,\s*(?P<rate>[\d.]+|\?)(?P<rate_unit>[^\]/,]*)/s)?"
)
_SCALE = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def _number(text: str) -> float:
    if text[-1] in _SCALE:
        return float(text[:-1]) * _SCALE[text[-1]]
    return float(text)


def _seconds(clock: str) -> float | None:
    if "?" in clock:
        return None
    total = 0.0
    for part in clock.split(":"):
        total = total * 60 + float(part)
    return total


def parse_progress_bar(text: str) -> ev.ProgressReported | None:
    """A tqdm-style bar as progress, or None when ``text`` is not one."""
    m = _TQDM.search(text)
    if not m or (m.group("total") is None and m.group("pct") is None and not m.group("unit")):
        return None
    try:
        step = int(_number(m.group("n")))
        total = int(_number(m.group("total"))) if m.group("total") else None
        eta = _seconds(m.group("eta")) if m.group("eta") else None
        rate = float(m.group("rate")) if m.group("rate") and m.group("rate") != "?" else None
    except (ValueError, IndexError):
        return None
    unit = (m.group("rate_unit") or m.group("unit") or "it").strip() or "it"
    return ev.ProgressReported(step=step, total=total, stage=(m.group("desc") or "").strip(),
                               eta_s=eta, rate=rate, unit=unit)


def cut_line(text: str, cap: int, dropped: int = 0) -> str:
    """``text`` kept to ``cap`` characters, with a marker naming how many were cut."""
    extra = max(len(text) - cap, 0) + dropped
    if extra <= 0:
        return text
    return text[:cap] + CUT_MARKER.format(n=extra)


class LineSplitter:
    """Bytes of one stream in, complete lines (and progress-bar updates) out.

    ``on_lines(stream, texts, ts)`` gets the lines completed by one read, all stamped with
    the read's time. The common case (no carriage return, no over-long line) is handled a
    whole read at a time: one decode, one split.
    """

    def __init__(self, stream: Stream, on_lines: Callable[[Stream, list[str], float], None],
                 on_progress: Callable[[ev.ProgressReported], None] | None = None,
                 line_cap: int = DEFAULT_LINE_CAP):
        self.stream = stream
        self.on_lines = on_lines
        self.on_progress = on_progress
        self.line_cap = line_cap
        self._hold = line_cap * 4 + 4  # bytes of an unfinished line kept (UTF-8 is <= 4 per char)
        self._partial = b""
        self._dropped = 0  # bytes dropped from the current (over-long) line

    def feed(self, data: bytes, ts: float | None = None) -> None:
        ts = time.time() if ts is None else ts
        texts: list[str] = []
        if self._dropped:
            end = data.find(b"\n")
            if end < 0:
                self._dropped += len(data)
                return
            self._dropped += end
            self._line(self._partial, texts)
            self._partial, data = b"", data[end + 1:]
        buf = self._partial + data if self._partial else data
        end = buf.rfind(b"\n")
        if end >= 0:
            complete, partial = buf[:end], buf[end + 1:]
            if b"\r" in complete:
                for raw in complete.split(b"\n"):
                    self._line(raw, texts)
            else:
                lines = complete.decode("utf-8", "replace").split("\n")
                if max(map(len, lines)) > self.line_cap:
                    lines = [cut_line(t, self.line_cap) for t in lines]
                if texts:
                    texts.extend(lines)
                else:
                    texts = lines
        else:
            partial = buf
        if texts:
            self.on_lines(self.stream, texts, ts)
        if b"\r" in partial:
            segments = partial.split(b"\r")
            partial = segments.pop()
            if self.on_progress is not None:
                self._progress(segments + [partial])
        if len(partial) > self._hold:
            self._dropped = len(partial) - self._hold
            partial = partial[:self._hold]
        self._partial = partial

    def close(self, ts: float | None = None) -> None:
        """End of stream: an unfinished last line is still a line (unless it is blank)."""
        texts: list[str] = []
        if self._partial.strip() or self._dropped:
            self._line(self._partial, texts)
        if texts:
            self.on_lines(self.stream, texts, time.time() if ts is None else ts)
        self._partial, self._dropped = b"", 0

    def _progress(self, segments: list[bytes]) -> None:
        for seg in reversed(segments):
            if seg.strip():
                p = parse_progress_bar(seg.decode("utf-8", "replace"))
                if p is not None:
                    self.on_progress(p)
                return

    def _line(self, raw: bytes, out: list[str]) -> None:
        if b"\r" in raw:
            segments = raw.split(b"\r")
            if self.on_progress is not None:
                self._progress(segments)
            raw = next((s for s in reversed(segments) if s), b"")
            if not raw.strip() and not self._dropped:
                return  # a bar erased with "\r   \r" and then a newline: nothing to show
        text = raw.decode("utf-8", "replace")
        if self._dropped or len(text) > self.line_cap:
            text = cut_line(text, self.line_cap, self._dropped)
            self._dropped = 0
        out.append(text)


class LogBatcher:
    """Numbers lines across an attempt's streams and emits them in bounded, timely chunks."""

    def __init__(self, emit: Callable[[list[ev.LogLine], int], None], *,
                 flush_interval: float = DEFAULT_FLUSH_INTERVAL,
                 max_bytes: int = DEFAULT_CHUNK_BYTES, stderr_tail: int = 50,
                 loop: asyncio.AbstractEventLoop | None = None):
        self._emit = emit
        self.flush_interval = flush_interval
        self.max_bytes = max_bytes
        self.n = 0  # number of the last line
        self.stderr_tail: deque[str] = deque(maxlen=stderr_tail)
        self._lines: list[ev.LogLine] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._loop = loop

    def add(self, stream: Stream, text: str, ts: float) -> None:
        self.add_lines(stream, [text], ts)

    def add_lines(self, stream: Stream, texts: list[str], ts: float) -> None:
        if not texts:
            return
        first = self.n + 1
        self.n += len(texts)
        self._lines.extend(map(ev.LogLine, range(first, self.n + 1), repeat(ts), repeat(stream),
                               texts))
        self._size += sum(map(len, texts)) + LINE_OVERHEAD * len(texts)
        if stream == "stderr":
            self.stderr_tail.extend(texts[-(self.stderr_tail.maxlen or 0):])
        if self._size >= self.max_bytes:
            self._flush_full()
        if self._lines and self._timer is None and self.flush_interval is not None:
            loop = self._loop or asyncio.get_running_loop()
            self._timer = loop.call_later(self.flush_interval, self.flush)

    def _flush_full(self) -> None:
        """Emit every full chunk (up to ``max_bytes`` each); keep the rest for the timer."""
        lines = self._lines
        sizes = list(accumulate(len(l.text) + LINE_OVERHEAD for l in lines))
        start, base = 0, 0
        while sizes[-1] - base >= self.max_bytes:
            cut = max(bisect_right(sizes, base + self.max_bytes, lo=start), start + 1)
            self._emit(lines[start:cut], sizes[cut - 1] - base)
            base, start = sizes[cut - 1], cut
            if start == len(lines):
                break
        self._lines = lines[start:]
        self._size = sizes[-1] - base if self._lines else 0
        if not self._lines and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lines:
            lines, size, self._lines, self._size = self._lines, self._size, [], 0
            self._emit(lines, size)

    def close(self) -> None:
        self.flush()


class ProgressThrottle:
    """At most one progress event per ``interval`` seconds; the latest is never lost."""

    def __init__(self, emit: Callable[[ev.ProgressReported], None], interval: float = 0.25,
                 loop: asyncio.AbstractEventLoop | None = None):
        self._emit = emit
        self.interval = interval
        self._last = 0.0
        self._pending: ev.ProgressReported | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._loop = loop

    def report(self, progress: ev.ProgressReported) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval and self._timer is None:
            self._last = now
            self._emit(progress)
            return
        self._pending = progress
        if self._timer is None:
            loop = self._loop or asyncio.get_running_loop()
            self._timer = loop.call_later(max(self.interval - (now - self._last), 0.0), self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending is not None:
            progress, self._pending = self._pending, None
            self._last = time.monotonic()
            self._emit(progress)


_chunk_encoder = msgspec.json.Encoder()


def split_for_size(lines: list[ev.LogLine], limit: int = MAX_CHUNK_ENCODED
                   ) -> list[tuple[ev.LogChunkEmitted, int]]:
    """Chunks of ``lines`` whose encoded size stays under ``limit`` (escaping can grow text)."""
    chunk = ev.LogChunkEmitted(lines=lines)
    size = len(_chunk_encoder.encode(chunk))
    if size <= limit or len(lines) == 1:
        return [(chunk, size)]
    mid = len(lines) // 2
    return split_for_size(lines[:mid], limit) + split_for_size(lines[mid:], limit)
