"""Parameters of ``system_check``: a host's health report, with an optional synthetic log load."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from schemas.params.base import JobParams


class SystemCheckParams(JobParams):
    model_config = ConfigDict(json_schema_extra={"groups": ["Benchmark", "Synthetic log load", "Drills"]})

    include_torch: bool = Field(
        True, description="Import torch for its versions, the CUDA inventory and the matmul "
                          "timing; false gives a host-only check that starts in under a second.")
    device: Literal["auto", "cuda", "cpu"] = Field(
        "auto", description="Device for the matmul benchmark; auto picks CUDA when present.")
    matmul_size: int = Field(1024, ge=64, le=16384,
                             description="Side of the square matrices multiplied to time TFLOP/s.")
    matmul_repeats: int = Field(5, ge=1, le=100, description="Timed matmul repetitions.")
    log_lines_per_second: int = Field(
        0, ge=0, le=1_000_000,
        description="Synthetic log load: lines per second to print (0 = none).")
    log_duration_s: float = Field(0.0, ge=0.0, le=3600.0,
                                  description="Synthetic log load: how long to print, seconds.")
    log_line_length: int = Field(80, ge=1, le=65536,
                                 description="Synthetic log load: characters per line.")
    log_stream: Literal["stdout", "stderr"] = Field(
        "stdout", description="Synthetic log load: the stream the lines go to.")
    progress_bar_steps: int = Field(
        0, ge=0, le=100_000,
        description="Draw a carriage-return (tqdm) progress bar of this many steps on stderr.")
    hold_s: float = Field(0.0, ge=0.0, le=3600.0,
                          description="Stay alive this long after the report (for cancel tests).")
    hold_children: int = Field(
        0, ge=0, le=8,
        description="Helper processes started for the hold, in the job's process group "
                    "(cancel drills: stopping a job must stop its children too).")
    exit_code: int = Field(0, ge=0, le=255,
                           description="Exit with this code after the report (failure drills).")
