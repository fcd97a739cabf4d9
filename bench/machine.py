"""The machine a run was measured on, for docs/benchmarks.md: numbers only mean something with it."""
from __future__ import annotations

import os
import platform
import subprocess
import time


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _mem_total_gb() -> str:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def _engine() -> str:
    try:
        return subprocess.run(["docker", "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"],
                              capture_output=True, text=True, timeout=15).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"


def describe(load_only: bool = False) -> str:
    if load_only:
        return _load()
    from bench.tools import lazydocker_version

    try:
        import textual

        textual_version = textual.__version__
    except ImportError:
        textual_version = "?"
    uname = platform.uname()
    return "\n".join([
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {os.cpu_count()} CPUs ({_cpu_model()}), {_mem_total_gb()} RAM, "
        f"{uname.system} {uname.release} {uname.machine}",
        f"- engine: dockerd {_engine()}; Python {platform.python_version()}, textual {textual_version}, "
        f"lazydocker {lazydocker_version()}",
        f"- load average before the run: {_load()}",
    ])
