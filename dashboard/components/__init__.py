"""Reusable parts of the dashboard: schema forms, the live terminal, job panels, charts."""
