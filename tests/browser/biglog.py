"""A finished job with a long log, and what its terminal costs the page: shared by the
terminal's memory test and ``benchmarks/bench_terminal.py``."""

from __future__ import annotations

import json
import re
import time

import httpx

# the terminal's parts live in a component's shadow root; this finds them from outside
TERMINAL = """(jobId) => {
  const box = document.querySelector('.st-key-terminal-' + jobId);
  const root = box && [...box.querySelectorAll('*')].map((e) => e.shadowRoot).find((r) => r && r.querySelector('.log'));
  return root || null;
}"""
FIGURES = f"""([jobId, last]) => {{
  const root = ({TERMINAL})(jobId);
  const log = root && root.querySelector('.log');
  const rows = log ? log.children.length : 0;
  const lastShown = !!log && [...log.children].some((d) => d.textContent.startsWith(last));
  const first = log && log.firstElementChild ? log.firstElementChild.dataset.n : null;
  return {{ rows, lastShown, first: first && Number(first),
            heap: performance.memory ? performance.memory.usedJSHeapSize : null }};
}}"""


def api(stack) -> httpx.Client:
    token = json.loads((stack.data_dir / "endpoints.json").read_text())["dev_token"]
    return httpx.Client(base_url=stack.gateway, headers={"Authorization": f"Bearer {token}"},
                        timeout=60)


def finished_load_job(stack, lines: int, rate: int = 50_000, timeout: float = 1800) -> str:
    """Run a ``load`` job printing ``lines`` numbered lines; return once it has finished and
    the projector holds every line (the terminal reads a finished job's log from it)."""
    with api(stack) as http:
        answer = http.post("/api/v1/jobs/load", json={
            "experiment": "terminal-scale", "params": {
                "lines_per_second": min(rate, lines), "duration_s": lines / min(rate, lines),
                "line_length": 60}})
        assert answer.status_code == 201, answer.text
        job_id = answer.json()["job_id"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = http.get(f"/api/v1/jobs/{job_id}").json()
            status = (job.get("job") or job).get("status")
            held = http.get(f"/api/v1/jobs/{job_id}/logs/lines", params={"tail": 1}).json()
            if status in ("failed", "cancelled"):
                raise RuntimeError(f"the load job {job_id} ended {status}")
            if status == "succeeded" and held.get("lines") and held["total"] >= lines:
                return job_id
            time.sleep(1.0)
    raise TimeoutError(f"the load job {job_id} did not finish with {lines} lines in {timeout} s: "
                       f"status {status}, {held.get('total')} lines held")


def last_line(lines: int) -> str:
    return f"L{lines:09d}"


def open_monitor(page) -> None:
    link = page.get_by_role("link", name="Job Monitor", exact=True)
    more = page.get_by_text(re.compile(r"View \d+ more"))
    if not link.count() and more.count():  # a long sidebar hides its later links
        more.first.click()
    link.click()
    page.get_by_role("heading", name="Job Monitor", level=1).wait_for()


def open_finished_job(page, job_id: str) -> float:
    """Open ``job_id`` in the open Job Monitor; returns the moment (monotonic) it was asked for."""
    box = page.get_by_role("textbox", name="Open a job by id")
    box.fill(job_id)
    began = time.monotonic()
    box.press("Enter")
    page.get_by_role("heading", name=re.compile(job_id)).wait_for()
    return began


def wait_for_last_line(page, job_id: str, lines: int, timeout_ms: int = 120_000) -> None:
    page.wait_for_function(f"(a) => ({FIGURES})(a).lastShown",
                           arg=[job_id, last_line(lines)], timeout=timeout_ms, polling=50)


def figures(page, job_id: str, lines: int) -> dict:
    return page.evaluate(FIGURES, [job_id, last_line(lines)])


def heap_after_gc(page) -> int:
    """The page's live JS heap after a full collection (CDP), so garbage does not count."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("HeapProfiler.collectGarbage")
    cdp.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    cdp.detach()
    return int(metrics["JSHeapUsedSize"])
