"""Reporting: the section's pages come with a later issue."""

import streamlit as st


def render() -> None:
    st.title("Reporting")
    st.info("The Reporting pages (executive summary, persistence analysis, detection analysis, "
            "model comparison and the rest) come with a later issue. Until then, every job's "
            "results, metrics and artifacts are in **Build › Job Monitor**, and runs can be "
            "compared side by side in **Build › Experiment History**.", icon=":material/construction:")
