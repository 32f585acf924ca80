"""The job monitor's live list: the gateway pushes every job's lifecycle events over SSE
(``/api/events``); each event makes this reader fetch the listed rows again from
``/api/jobs`` with ``min_seq`` set to that event, so the table shows the projector's view
including that change, never a half-applied guess. While jobs run, their progress (which is
not a lifecycle event) is refreshed every few seconds.

One reader per browser session, in a daemon thread; it stops by itself when the page has
not looked at it for a while.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from dashboard.client import GatewayClient, GatewayError, GatewayUnreachableError

IDLE_STOP_S = 120.0
PROGRESS_REFRESH_S = 3.0


class LiveJobs:
    def __init__(self, client: GatewayClient, token: str, filters: dict[str, Any]):
        self.client = client
        self.token = token
        self.filters = dict(filters)
        self.rows: list[dict[str, Any]] = []
        self.total = 0
        self.version = 0
        self.error: str | None = None
        self.stream_state = "connecting"
        self.last_seq = 0
        self.events_seen = 0
        self._wanted_seq = 0
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._touched = time.monotonic()
        self._threads = [threading.Thread(target=self._refresher, daemon=True, name="jobs-refresh"),
                         threading.Thread(target=self._reader, daemon=True, name="jobs-events")]
        self.refresh()  # the first rows, before the page draws
        for t in self._threads:
            t.start()

    # --- what the page calls --------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return not self._stop.is_set()

    def touch(self) -> None:
        self._touched = time.monotonic()

    def set_filters(self, filters: dict[str, Any]) -> None:
        if filters != self.filters:
            self.filters = dict(filters)
            self._wake.set()

    def snapshot(self) -> tuple[int, list[dict[str, Any]], int, str | None]:
        with self._lock:
            return self.version, list(self.rows), self.total, self.error

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    # --- the threads ---------------------------------------------------------------------

    def refresh(self) -> None:
        query = {**self.filters, "min_seq": self._wanted_seq or None}
        try:
            answer = self.client.jobs(self.token, **query)
        except (GatewayError, GatewayUnreachableError) as exc:
            with self._lock:
                self.error = str(exc)
                self.version += 1
            return
        with self._lock:
            self.rows = answer.get("rows") or []
            self.total = int(answer.get("total") or len(self.rows))
            self.error = None
            self.version += 1
            if not self.last_seq:
                self.last_seq = int(answer.get("applied_seq") or 0)

    def _idle(self) -> bool:
        if time.monotonic() - self._touched > IDLE_STOP_S:
            self._stop.set()
        return self._stop.is_set()

    def _refresher(self) -> None:
        while not self._idle():
            running = any(r.get("status") in ("running", "claimed", "queued") for r in self.rows)
            self._wake.wait(PROGRESS_REFRESH_S if running else 30.0)
            if self._stop.is_set():
                return
            self._wake.clear()
            self.refresh()

    def _opened(self) -> None:
        self.stream_state = "live"

    def _reader(self) -> None:
        backoff = 0.5
        while not self._idle():
            try:
                for event in self.client.user(self.token).lab_events(
                        after=self.last_seq, follow=True, resume=False, read_timeout=60.0,
                        stop=self._idle, on_open=self._opened):
                    self.stream_state = "live"
                    backoff = 0.5
                    if event.seq is not None:
                        self.last_seq = max(self.last_seq, event.seq)
                        self._wanted_seq = self.last_seq
                        self.events_seen += 1
                        self._wake.set()
                self.stream_state = "reconnecting"
            except (GatewayError, GatewayUnreachableError) as exc:
                self.stream_state = f"reconnecting ({exc})"
            except Exception as exc:  # a broken stream must not end the reader; say why, retry
                self.stream_state = f"reconnecting ({type(exc).__name__}: {exc})"
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)
