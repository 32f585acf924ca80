"""Operator commands over the event log itself: verify chains, export, import, rerun, diff."""
