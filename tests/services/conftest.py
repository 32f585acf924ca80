"""Fixtures shared by the service tests."""

import pytest


@pytest.fixture
def executors():
    """Executor subprocesses a test starts (append ExecutorProc objects); all are cleaned up."""
    procs = []
    yield procs
    for p in procs:
        p.cleanup()
