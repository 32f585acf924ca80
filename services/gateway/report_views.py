"""The report's response models, so ``/openapi.json`` describes what a Reporting page reads:
every figure with its value, interval, n, the control beside it and the job behind it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ReportSide(_Open):
    label: str
    value: float
    text: str
    ci: list[float] | None = None
    n: int | None = None


class ReportFigure(_Open):
    label: str
    value: float
    text: str
    ci: list[float] | None = Field(None, description="95% interval [low, high]")
    n: int | None = None
    measured_label: str
    control: ReportSide | None = Field(None, description="the same figure on the control, when measured")
    job_id: str = Field(description="the job that measured it")
    job_type: str
    meaning: str


class ReportChart(_Open):
    kind: str
    title: str
    series: list[dict[str, Any]]
    x_label: str
    y_label: str
    caption: str
    job_ids: list[str]


class ReportTable(_Open):
    title: str
    columns: list[str]
    rows: list[list[Any]]
    job_ids: list[str]


class ReportFill(_Open):
    job_type: str
    why: str
    params: dict[str, Any]
    options: dict[str, Any]


class ReportSectionData(_Open):
    key: str
    title: str
    intro: str
    figures: list[ReportFigure]
    charts: list[ReportChart]
    tables: list[ReportTable]
    job_ids: list[str]
    empty: bool = Field(description="nothing measured yet: `fills` says which job fills it")
    error: str | None = None
    fills: ReportFill | None = None


class ReportJob(_Open):
    job_id: str
    job_type: str
    finished_at: float | None = None


class Report(_Open):
    experiment: str
    generated_at: float
    jobs: list[ReportJob]
    sections: list[ReportSectionData]
