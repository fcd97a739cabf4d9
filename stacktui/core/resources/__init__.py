"""Resource figures of running containers (CPU %, memory without the page cache, memory limit,
network rx/tx): read from the cgroup files on a local engine, else from the engine's one-shot
stats; never a streaming stats connection."""
