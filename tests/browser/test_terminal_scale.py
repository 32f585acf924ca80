"""The terminal on a long finished log, in a real browser against ``sleeper up``: the last line
is shown at once, the page holds a bounded window of rows and lines whatever the log's size,
and "load earlier" fetches older lines from the gateway's logs route on demand."""

from __future__ import annotations

import pytest

from tests.browser import biglog

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

LINES = 50_000
MAX_ROWS = 2000          # terminal_window.js MAX_ROWS
RING, PAGE = 5000, 1000  # the lines a finished job's terminal fetches first, and per older page
HEAP_BOUND = 16 * 2**20  # growth of the live heap allowed for opening the job (the job page itself ~11 MiB)

# the page's heap holding every line the way an unwindowed terminal did (one record per line,
# its text and level), to show the bound above is one such a terminal breaks
UNWINDOWED = """(n) => {
  window.__unwindowed = [];
  for (let i = 1; i <= n; i++) window.__unwindowed.push({ n: i, ts: 1.7e9 + i / 1e4, level: 'info',
    err: false, attempt: 0, text: 'L' + String(i).padStart(9, '0') + ' ' + (1.7e9 + i / 1e4).toFixed(6) + ' ' + 'x'.repeat(32) });
  return window.__unwindowed.length;
}"""


def test_a_long_finished_log_is_windowed_and_older_lines_load_on_demand(stack, page):
    job_id = biglog.finished_load_job(stack, LINES, rate=25_000, timeout=240)
    biglog.open_monitor(page)
    page.wait_for_timeout(1500)
    base = biglog.heap_after_gc(page)
    biglog.open_finished_job(page, job_id)
    biglog.wait_for_last_line(page, job_id, LINES)
    shown = biglog.figures(page, job_id, LINES)
    assert shown["lastShown"] and 0 < shown["rows"] <= MAX_ROWS, shown
    held = biglog.heap_after_gc(page) - base
    print(f"\nheap growth on opening a {LINES}-line job: {held / 2**20:.1f} MiB, {shown['rows']} rows")
    assert held < HEAP_BOUND, f"opening a {LINES}-line job grew the heap by {held} bytes"

    older = page.locator(f".st-key-terminal-{job_id} [data-role='older']")
    # widen the window, slide it up through the ring, then fetch pages from before the ring
    for _ in range(24):
        if (biglog.figures(page, job_id, LINES)["first"] or LINES) <= LINES - RING - PAGE:
            break
        older.click()
        page.wait_for_timeout(300)
    page.wait_for_function(f"(a) => ({biglog.FIGURES})(a).first <= {LINES - RING - PAGE}",
                           arg=[job_id, biglog.last_line(LINES)], timeout=10_000)
    after = biglog.figures(page, job_id, LINES)
    assert after["rows"] <= MAX_ROWS, after
    count = page.locator(f".st-key-terminal-{job_id} [data-role='count']").inner_text()
    assert f"of {LINES:,} lines" in count, count
    assert biglog.heap_after_gc(page) - base < HEAP_BOUND

    page.evaluate(UNWINDOWED, LINES)
    unwindowed = biglog.heap_after_gc(page) - base
    print(f"heap growth holding every line unwindowed: {unwindowed / 2**20:.1f} MiB")
    page.evaluate("() => { delete window.__unwindowed; }")
    assert unwindowed > HEAP_BOUND, f"the bound {HEAP_BOUND} would not catch an unwindowed terminal ({unwindowed})"
