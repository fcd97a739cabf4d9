"""Probing 50 services takes about as long as the slowest one (issue 5).

50 tiny HTTP listeners on 127.0.0.1, served by a separate process (so the
servers do not share our interpreter lock), one of them answering after 300 ms.
Each is a service `sNN` whose `x-stacktui.health` names it as containers do
(`http://sNN:80/health`), published on a host port, so every probe goes through
the real routing. Reference: one probe of the slow service alone, in the same run.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from bench.harness import Row, median_time
from stacktui.core.engine.client import ContainerInfo, PublishedPort
from stacktui.core.compose.model import Extension, Project, ServiceSpec
from stacktui.core.health.probes import probe_all, probe_service

SERVICES = 50
SLOW_S = 0.3
SLOW = "s00"
TARGET_RATIO = 1.25  # 300 ms plus at most 75 ms for 49 more probes

_SERVER = textwrap.dedent("""
    import asyncio, sys
    n, slow = int(sys.argv[1]), float(sys.argv[2])

    async def main():
        async def handler(reader, writer, delay):
            try:
                await reader.readuntil(b"\\r\\n\\r\\n")
                if delay:
                    await asyncio.sleep(delay)
                writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok")
                await writer.drain()
            except Exception:
                pass
            finally:
                writer.close()
        servers = []
        for i in range(n):
            delay = slow if i == 0 else 0.0
            servers.append(await asyncio.start_server(
                lambda r, w, d=delay: handler(r, w, d), "127.0.0.1", 0, backlog=128))
        print(" ".join(str(s.sockets[0].getsockname()[1]) for s in servers), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the bench closes stdin

    asyncio.run(main())
""")


def _container(service: str, port: int) -> ContainerInfo:
    return ContainerInfo(
        id=f"{service}-id", name=f"bench-{service}-1", project="bench", service=service, number=1,
        state="running", exit_code=0, oom_killed=False, health=None, health_output=None, started_at=None,
        finished_at=None, network_mode="bridge", ipc_mode="private", pid_mode="", pid=0, restart_count=0,
        ports=[PublishedPort(80, "tcp", "127.0.0.1", port)])


def run(quick: bool) -> list[Row]:
    server = subprocess.Popen([sys.executable, "-c", _SERVER, str(SERVICES), str(SLOW_S)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        ports = [int(p) for p in server.stdout.readline().split()]
        if len(ports) != SERVICES:
            raise RuntimeError("the bench's HTTP listeners did not start")
        names = [f"s{i:02d}" for i in range(SERVICES)]
        services = {n: ServiceSpec(name=n, image="bench", x=Extension(health=f"http://{n}:80/health"))
                    for n in names}
        project = Project(name="bench", working_dir=Path("."), files=[], services=services)
        containers = [_container(n, p) for n, p in zip(names, ports)]

        check = probe_all(project, containers, timeout=5)
        failed = [r for r in check.values() if not r.ok]
        if len(check) != SERVICES or failed:
            raise RuntimeError(f"probes failed: {failed[:3]}")
        repeat = 3 if quick else 9
        single = median_time(lambda: probe_service(project, containers, SLOW, timeout=5), repeat)
        every = median_time(lambda: probe_all(project, containers, timeout=5), repeat)
        serial = median_time(lambda: [probe_service(project, containers, n, timeout=5) for n in names], 1)
    finally:
        if server.stdin:
            server.stdin.close()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
    ratio = every / single
    return [Row(
        name=f"probe_all, {SERVICES} services (one answers in {SLOW_S * 1000:.0f} ms)",
        value=every, unit="s", reference_name="the slow probe alone", reference=single,
        target=f"ratio <= {TARGET_RATIO}", met=ratio <= TARGET_RATIO,
        note=(f"overhead {1000 * (every - single):.0f} ms for {SERVICES - 1} more probes; one after another "
              f"they take {serial:.2f} s; medians of {repeat}"),
    )]
