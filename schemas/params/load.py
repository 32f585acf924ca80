"""Parameters of ``load``: a job that does nothing but emit a configured log and metric load.

It exercises the path every job's output takes (child -> executor -> JetStream -> views and
SSE) without any science in the way: a new host shows what it can carry, and the load
benchmark (``benchmarks/bench_load.py``) runs many of these at once.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from schemas.params.base import JobParams

LOG = {"group": "Log load"}
METRICS = {"group": "Metric load"}


class LoadParams(JobParams):
    model_config = ConfigDict(json_schema_extra={"groups": ["Log load", "Metric load"]})

    lines_per_second: int = Field(
        100, ge=0, le=1_000_000, json_schema_extra=LOG,
        description="Log lines printed per second (0 = no log load).")
    duration_s: float = Field(
        5.0, ge=0.0, le=3600.0, json_schema_extra=LOG,
        description="How long the load lasts, in seconds; both loads stop then.")
    line_length: int = Field(
        80, ge=30, le=65536, json_schema_extra=LOG,
        description="Characters per line; each line starts with its number and write time "
                    "(29 characters), so a reader can check order, loss and latency.")
    stream: Literal["stdout", "stderr"] = Field(
        "stdout", json_schema_extra=LOG, description="The stream the lines are written to.")
    metrics_per_second: float = Field(
        0.0, ge=0.0, le=10_000.0, json_schema_extra=METRICS,
        description="Metric records emitted per second (0 = no metric load).")
    metric_series: int = Field(
        1, ge=1, le=100, json_schema_extra=METRICS,
        description="Values in each metric record (series load_0 .. load_{n-1}).")
