"""The executor's pieces without NATS: lines, bars, chunks, causes, slots, reports, outbox."""

import asyncio
import signal

import msgspec
import pytest

from schemas import events as ev
from services import bus
from services.executor import runner
from services.executor.claim import retry_allowed
from services.executor.config import slot_gpus
from services.executor.logs import (LineSplitter, LogBatcher, ProgressThrottle, parse_progress_bar,
                                    split_for_size)
from services.executor.outbox import Outbox
from services.executor.reports import ReportReader

pytestmark = pytest.mark.timeout(30)


def collect(**kw):
    lines, bars = [], []
    s = LineSplitter("stdout", lambda stream, texts, ts: lines.extend(texts), bars.append, **kw)
    return s, lines, bars


def test_lines_split_across_reads_and_unterminated_last_line_kept():
    s, lines, _ = collect()
    for part in (b"one\ntw", b"o\n", b"", b"thr", b"ee\nfour"):
        s.feed(part)
    assert lines == ["one", "two", "three"]
    s.close()
    assert lines == ["one", "two", "three", "four"]


def test_carriage_return_bar_becomes_progress_and_only_its_final_state_a_line():
    s, lines, bars = collect()
    for i in range(0, 101, 10):
        bar = f"train: {i:3d}%|{'#' * (i // 10):<10}| {i}/100 [00:0{i // 50}<00:01, 50.00it/s]"
        s.feed(("\r" + bar).encode())
    s.feed(b"\n")
    s.feed(b"after\n")
    assert lines[-1] == "after" and len(lines) == 2
    assert lines[0].startswith("train: 100%")
    assert bars, "no progress parsed from the bar"
    last = bars[-1]
    assert (last.step, last.total, last.stage, last.rate) == (100, 100, "train", 50.0)


def test_real_tqdm_output_parses():
    import io

    from tqdm import tqdm

    buf = io.StringIO()
    for _ in tqdm(range(7), desc="epoch", file=buf, mininterval=0, miniters=1):
        pass
    s, lines, bars = collect()
    s.feed(buf.getvalue().encode())
    s.close()
    assert bars[-1].step == 7 and bars[-1].total == 7 and bars[-1].stage == "epoch"
    assert len(lines) == 1 and "7/7" in lines[0]
    assert parse_progress_bar("just a line with 3/4 in it") is None


def test_over_long_line_is_cut_with_a_visible_marker_and_memory_stays_bounded():
    s, lines, _ = collect(line_cap=100)
    s.feed(b"a" * 150 + b"\nshort\n")
    assert lines == ["a" * 100 + "…[cut 50 chars]", "short"]
    for _ in range(100):  # a 1 MB line without newline, in pieces
        s.feed(b"b" * 10_000)
    assert len(s._partial) <= 100 * 4 + 4
    s.feed(b"b\nnext\n")
    assert lines[2] == "b" * 100 + f"…[cut {1_000_001 - 100} chars]"
    assert lines[3] == "next"


async def test_batcher_numbers_lines_and_flushes_on_time_and_size():
    chunks = []
    b = LogBatcher(lambda lines, size: chunks.append(lines), flush_interval=0.05, max_bytes=1000)
    b.add("stdout", "x", 1.0)
    b.add("stderr", "y", 1.0)
    assert chunks == []
    await asyncio.sleep(0.1)
    assert [[l.n for l in c] for c in chunks] == [[1, 2]]
    for _ in range(30):  # 30 * (20 + 64) bytes: size cap reached before the timer
        b.add("stdout", "z" * 20, 2.0)
    assert len(chunks) >= 2
    b.close()
    numbers = [l.n for c in chunks for l in c]
    assert numbers == list(range(1, 33))
    assert list(b.stderr_tail) == ["y"]


def test_a_chunk_that_would_encode_too_large_is_split():
    lines = [ev.LogLine(i, 0.0, "stdout", "\x01" * 1000) for i in range(1, 301)]  # escapes 6x
    parts = split_for_size(lines, limit=500_000)
    assert len(parts) > 1 and all(size <= 500_000 for _, size in parts)
    assert [l.n for c, _ in parts for l in c.lines] == list(range(1, 301))


async def test_progress_throttle_keeps_the_latest():
    got = []
    t = ProgressThrottle(got.append, interval=0.05)
    for i in range(100):
        t.report(ev.ProgressReported(step=i))
    assert len(got) == 1
    await asyncio.sleep(0.1)
    assert got[-1].step == 99 and len(got) == 2


@pytest.mark.parametrize("rc,kw,status,cause", [
    (0, {}, "succeeded", "ok"),
    (3, {}, "failed", "exit_code"),
    (-signal.SIGSEGV, {}, "failed", "signal"),
    (-signal.SIGKILL, {}, "failed", "signal"),
    (-signal.SIGKILL, {"oom_killed": True}, "failed", "oom"),
    (1, {"stderr_tail": ["torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"]},
     "failed", "oom"),
    (-signal.SIGTERM, {"timed_out": 5.0}, "failed", "timeout"),
    (-signal.SIGTERM, {"cancelled_by": "alice"}, "cancelled", "cancelled"),
])
def test_causes_are_named(rc, kw, status, cause):
    out = runner.classify(rc, **kw)
    assert (out.status, out.cause) == (status, cause)
    if cause == "exit_code":
        assert out.exit_code == rc and "code 3" in out.message
    if cause == "signal":
        assert out.signal == -rc and out.exit_code is None


def test_retry_policy_lost_executor_only_by_default():
    sub = ev.JobSubmitted(job_type="system_check", params={}, max_retries=1)
    assert retry_allowed(sub, "executor_lost", 1)
    assert not retry_allowed(sub, "executor_lost", 2)
    assert not retry_allowed(sub, "exit_code", 1)
    assert retry_allowed(ev.JobSubmitted(job_type="x", params={}, retry_on=["exit_code"]),
                         "exit_code", 1)


def test_gpus_are_split_among_slots():
    assert slot_gpus([], 2) == [[], []]
    assert slot_gpus([0, 1, 2, 3], 2) == [[0, 1], [2, 3]]
    assert slot_gpus([0, 1, 2], 2) == [[0, 1], [2]]
    assert slot_gpus([0, 1], 4) == [[0], [1], [0], [1]]


def test_report_records_decode_and_bad_lines_are_skipped():
    got = []
    r = ReportReader(got.append, "j")
    enc = msgspec.json.Encoder()
    data = (enc.encode(ev.ProgressReported(step=3, total=10)) + b"\n" + b"not json\n"
            + enc.encode(ev.MetricRecorded(values={"loss": 0.5})) + b"\n"
            + enc.encode(ev.ResultRecorded(kind="system_check", payload={"a": 1})))
    r.feed(data[:17])
    r.feed(data[17:])
    r.close()
    assert [type(x) for x in got] == [ev.ProgressReported, ev.MetricRecorded, ev.ResultRecorded]
    assert r.bad == 1


class FlakyPublisher(bus.Publisher):
    """Stores events in a list; fails while ``down``; remembers every msg id it saw."""

    def __init__(self):
        super().__init__(js=None, producer="ex.boot")
        self.down = False
        self.stored: dict[str, ev.Envelope] = {}
        self.order: list[int] = []

    async def send(self, env):
        await asyncio.sleep(0)
        if self.down:
            raise asyncio.TimeoutError()
        dup = env.msg_id in self.stored
        if not dup:
            self.stored[env.msg_id] = env
            self.order.append(env.seq)
        return bus.Published(seq=len(self.order), duplicate=dup)


class FakeConn:
    is_connected = True
    is_closed = False


async def test_outbox_holds_in_order_spills_to_disk_and_resends_after_an_outage(tmp_path):
    pub = FlakyPublisher()
    box = Outbox(pub, FakeConn(), tmp_path, mem_limit=20 * 512, disk_limit=1 << 20,
                 retry_wait=0.01, max_retry_wait=0.02)
    task = asyncio.create_task(box.run())
    try:
        box.emit(ev.ProgressReported(step=0), job_id="j", attempt=1)
        assert await box.flush(2)
        pub.down = True
        for i in range(1, 200):
            box.emit(ev.ProgressReported(step=i), job_id="j", attempt=1)
        await asyncio.sleep(0.1)
        assert box.spilled > 0 and box.spill_path.exists(), "nothing spilled past the memory limit"
        assert box.pending >= 190
        pub.down = False
        assert await box.flush(5)
        assert pub.order == list(range(1, 201))
        assert [e.event.step for e in pub.stored.values()] == list(range(200))
        assert not box.spill_path.exists()
    finally:
        task.cancel()


def test_nvml_fields_are_read_independently():
    from types import SimpleNamespace

    from services.executor.sampling import Nvml

    def unsupported(*_):
        raise RuntimeError("NVML_ERROR_NOT_SUPPORTED")

    fake = SimpleNamespace(
        nvmlDeviceGetHandleByIndex=lambda i: f"h{i}",
        nvmlDeviceGetName=lambda h: b"Fake GPU",
        nvmlDeviceGetUtilizationRates=lambda h: SimpleNamespace(gpu=42),
        nvmlDeviceGetMemoryInfo=lambda h: SimpleNamespace(used=2 * 2**30, total=8 * 2**30),
        nvmlDeviceGetPowerUsage=unsupported,
        nvmlDeviceGetTemperature=lambda h, sensor: 61,
        nvmlDeviceGetCount=lambda: 2,
        nvmlSystemGetDriverVersion=unsupported,
        nvmlSystemGetCudaDriverVersion=lambda: 12040)
    nvml = Nvml()
    nvml._nv, nvml.ok = fake, True
    (stat,) = nvml.sample([1])
    assert (stat.index, stat.name, stat.util_pct, stat.mem_used_mb, stat.mem_total_mb,
            stat.power_w, stat.temp_c) == (1, "Fake GPU", 42.0, 2048.0, 8192.0, None, 61.0)
    assert [g.index for g in nvml.inventory()] == [0, 1]
    assert nvml.versions() == {"cuda_driver": "12.4"}
