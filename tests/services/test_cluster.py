"""deploy/nats/cluster.conf forms a 3-node JetStream cluster; killing one node while
publishing loses no acknowledged event."""

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from schemas import events as ev
from services import bus, credentials
from services.natsserver import binary, free_port
from tests.conftest import LAB_CREDENTIALS

pytestmark = pytest.mark.timeout(120)
CONF = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "cluster.conf"


def deploy_conf(folder: Path, users: list | None = None) -> Path:
    """cluster.conf copied to ``folder`` with the ``auth.conf`` it includes: the session's
    users (so this process's admin credentials work), or the ones ``sleeper credentials``
    wrote there."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(CONF, folder / "cluster.conf")
    if users is not None:
        (folder / "auth.conf").write_text(credentials.authorization_block(users))
    return folder / "cluster.conf"


class Node:
    def __init__(self, name, tmp, cluster_ports, index):
        self.name = name
        self.port, self.http = free_port(), free_port()
        self.env = {**os.environ, "NATS_NAME": name, "NATS_LISTEN": f"127.0.0.1:{self.port}",
                    "NATS_HTTP": f"127.0.0.1:{self.http}",
                    "NATS_STORE_DIR": str(tmp / name),
                    "NATS_CLUSTER_LISTEN": f"127.0.0.1:{cluster_ports[index]}"}
        for i, p in enumerate(cluster_ports, 1):
            self.env[f"NATS_ROUTE_{i}"] = f"nats://127.0.0.1:{p}"
        self.log = open(tmp / f"{name}.log", "ab")
        self.tmp = tmp
        self.proc = None

    def start(self):
        conf = deploy_conf(self.tmp / f"conf-{self.name}", list(LAB_CREDENTIALS.users.values()))
        self.proc = subprocess.Popen([binary(), "-c", str(conf)], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"


def test_deploy_config_parses_with_the_users_sleeper_credentials_writes(tmp_path):
    conf = deploy_conf(tmp_path / "conf")
    made = subprocess.run([sys.executable, "-m", "services.cli", "credentials", "--dir",
                           str(tmp_path / "creds"), "--conf", str(tmp_path / "conf" / "auth.conf"),
                           "--executor", "gpu-host-1", "--pool", "a100"],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stdout + made.stderr
    host = json.loads((tmp_path / "creds" / "executor-gpu-host-1.json").read_text())
    assert host["user"] == "sleeper-executor-gpu-host-1"
    auth = (tmp_path / "conf" / "auth.conf").read_text()
    assert "sleeper.executor.gpu-host-1.>" in auth and "executors-a100" in auth
    assert (tmp_path / "creds" / "admin.json").stat().st_mode & 0o777 == 0o600
    env = {**os.environ, "NATS_NAME": "n", "NATS_LISTEN": "127.0.0.1:4222", "NATS_HTTP": "127.0.0.1:8222",
           "NATS_STORE_DIR": "/tmp/x", "NATS_CLUSTER_LISTEN": "127.0.0.1:6222",
           "NATS_ROUTE_1": "nats://a:6222", "NATS_ROUTE_2": "nats://b:6222", "NATS_ROUTE_3": "nats://c:6222"}
    out = subprocess.run([binary(), "-t", "-c", str(conf)], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


async def _connect_when_ready(urls, deadline_s=60):
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while True:
        try:
            nc = await bus.connect(urls, name="cluster-test", max_reconnect_attempts=-1)
            js = nc.jetstream(timeout=10)
            await bus.ensure_stream(js, bus.stream_config(replicas=3))
            return nc, js
        except Exception:
            if loop.time() > end:
                raise
            try:
                await nc.close()
            except Exception:
                pass
            await asyncio.sleep(0.5)


async def test_killing_one_node_loses_no_acknowledged_event(tmp_path):
    cluster_ports = [free_port() for _ in range(3)]
    nodes = [Node(f"nats-{i + 1}", tmp_path, cluster_ports, i) for i in range(3)]
    for n in nodes:
        n.start()
    try:
        nc, js = await _connect_when_ready([n.url for n in nodes])
        pub = bus.Publisher(js, "cluster-test", timeout=10)
        acked: list[int] = []
        for i in range(1, 401):
            if i == 150:
                nodes[0].kill()  # a node dies mid-stream (possibly the stream leader)
            env = pub.seal(ev.LogChunkEmitted(lines=[ev.LogLine(i, 0.0, "stdout", f"l{i}")]),
                           job_id="cluster-job", attempt=1)
            for _ in range(60):  # retry the same message id until acked: leader election takes a moment
                try:
                    await pub.send(env)
                    acked.append(i)
                    break
                except Exception:
                    await asyncio.sleep(0.25)
        assert len(acked) == 400
        history = None
        for _ in range(60):  # right after a node dies, consumer creation may wait for a new meta leader
            try:
                history = await bus.job_history(js, "cluster-job")
                break
            except Exception:
                await asyncio.sleep(0.5)
        assert history is not None, "the cluster never served a replay after losing one node"
        lines = [l.n for e in history for l in e.envelope.event.lines]
        assert lines == list(range(1, 401)), "every acknowledged line, once, in order"
        info = await js.stream_info("SLEEPER")
        assert info.config.num_replicas == 3
        await nc.close()
    finally:
        for n in nodes:
            if n.proc and n.proc.poll() is None:
                n.kill()
