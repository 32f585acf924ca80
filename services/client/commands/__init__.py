"""The client's commands, one module per group; each lists its commands in ``COMMANDS``."""
