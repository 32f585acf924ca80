"""The dashboard's terminal on one long finished job, in headless Chromium against a real
``sleeper up``: a ``load`` job prints N numbered lines; once it has finished and the projector
holds them all, the job is opened in the Job Monitor and this prints

- the time from asking for the job to its last line being in the terminal's DOM,
- the terminal's DOM row count (bounded by the window, whatever N is),
- the page's live JS heap after a full collection (CDP), before and after opening the job,
- the time a filter takes over the lines held, and the same figures after "load earlier"
  was pressed 16 times.

Target: a 1M-line job at its last line in <= 10 s, with bounded rows and heap. No asserts.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_terminal.py [--lines 1000000] [--rate 200000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser import biglog, lab  # noqa: E402
from tests.browser.conftest import logged_in  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines the job prints")
    parser.add_argument("--rate", type=int, default=200_000, help="lines per second it prints them at")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the job")
    args = parser.parse_args()
    lab.ensure_chromium()
    lab.ensure_playwright()
    with tempfile.TemporaryDirectory() as tmp:
        stack = lab.Stack(Path(tmp) / "data").start()
        try:
            began = time.monotonic()
            job_id = biglog.finished_load_job(stack, args.lines, rate=args.rate, timeout=args.timeout)
            print(f"job {job_id}: {args.lines:,} lines printed and projected in {time.monotonic() - began:.1f} s")
            with logged_in(stack) as page:
                measure(page, job_id, args.lines)
        finally:
            stack.stop()


def measure(page, job_id: str, lines: int) -> None:
    biglog.open_monitor(page)
    page.wait_for_timeout(1500)
    base = biglog.heap_after_gc(page)
    asked = biglog.open_finished_job(page, job_id)
    biglog.wait_for_last_line(page, job_id, lines, timeout_ms=600_000)
    to_last = time.monotonic() - asked
    shown = biglog.figures(page, job_id, lines)
    heap = biglog.heap_after_gc(page)
    print(f"open -> last line L{lines:09d} in the DOM: {to_last:.2f} s (target <= 10 s)")
    print(f"DOM rows: {shown['rows']:,}; JS heap: {base / 2**20:.1f} MiB before opening, "
          f"{heap / 2**20:.1f} MiB after (+{(heap - base) / 2**20:.1f} MiB, "
          f"usedJSHeapSize {shown['heap'] / 2**20:.1f} MiB)")
    part = lambda role: page.locator(f".st-key-terminal-{job_id} [data-role='{role}']")
    began = time.monotonic()
    part("filter").fill("L00099999")
    part("count").filter(has_text="matching").wait_for()
    print(f"filter 'L00099999' over the held lines: {time.monotonic() - began:.2f} s -> {part('count').inner_text()}")
    part("filter").fill("")
    older = page.locator(f".st-key-terminal-{job_id} [data-role='older']")
    began = time.monotonic()
    for _ in range(16):
        older.click()
        page.wait_for_timeout(250)
    after = biglog.figures(page, job_id, lines)
    heap = biglog.heap_after_gc(page)
    print(f"after 16 x 'show older/load earlier' ({time.monotonic() - began:.1f} s): first line shown "
          f"{after['first']:,}, DOM rows {after['rows']:,}, JS heap +{(heap - base) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
