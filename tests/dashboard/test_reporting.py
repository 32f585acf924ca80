"""The Reporting pages against a real lab with nothing measured: each of the fifteen pages
says which job fills it and offers that job's form, and the gateway's report of an experiment
whose jobs recorded no measurements has every section empty (never a made-up figure)."""

from __future__ import annotations

import pytest

from schemas.reports import REPORT_SECTIONS
from tests.dashboard.apptest import page
from tests.dashboard.conftest import RUN_POOL

pytestmark = pytest.mark.timeout(120)
BANNED = ("placeholder", "later issue")


def _texts(at) -> str:
    return " ".join([i.value for i in at.info] + [m.value for m in at.markdown] + [c.value for c in at.caption])


@pytest.mark.parametrize("spec", REPORT_SECTIONS, ids=lambda s: s.key)
def test_every_reporting_page_on_an_empty_lab_says_which_job_fills_it(empty_lab, spec):
    at = page(f"report:{spec.key}", login="viewer")
    assert not at.exception
    assert at.title[0].value == spec.title
    info = " ".join(i.value for i in at.info)
    assert f"A **{spec.fills}** job fills this page" in info and spec.why in info
    assert any(b.label == f"Open the {spec.fills} form" for b in at.button)
    assert not at.metric  # no figure without a measurement
    assert not any(word in _texts(at).lower() for word in BANNED)


def test_a_reporting_page_says_plainly_when_the_gateway_is_down(no_gateway):
    at = page("report:executive_summary", login="viewer")
    assert not at.exception
    assert any("is unreachable" in e.value for e in at.error)


def test_an_experiment_without_measurements_reports_every_section_empty(lab, experiment):
    job = lab.submit(params={"include_torch": False}, pool=RUN_POOL, experiment=experiment)["job_id"]
    lab.wait_status(job, "succeeded")
    report = lab.get(f"/api/reports/{experiment}")
    assert [s["title"] for s in report["sections"]] == [s.title for s in REPORT_SECTIONS]
    assert [j["job_id"] for j in report["jobs"]] == [job]
    assert all(s["empty"] and not s["figures"] and not s["charts"] for s in report["sections"])
    assert {s["fills"]["options"]["experiment"] for s in report["sections"]} == {experiment}
    at = page("report:persistence_analysis", login="viewer", state={"report_experiment": experiment})
    assert not at.exception
    assert at.selectbox(key="report_experiment_pick").value == experiment
    assert f"Nothing measured here yet in experiment **{experiment}**" in at.info[0].value
