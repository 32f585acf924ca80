"""The Streamlit dashboard: a Build section (forms, job monitor, live terminal, experiment
history) and a Reporting section. It talks only to the gateway, over HTTP and SSE."""
