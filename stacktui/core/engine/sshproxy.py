"""An engine behind ssh://, served on a private unix socket of this machine.

Each connection to the socket is one `ssh HOST docker system dial-stdio` (what the docker CLI
and Compose run for an ssh:// host), so everything that reads a unix socket (the raw fast
paths, the log stream, docker-py) works unchanged, with no paramiko. The socket exists
before the first request: nothing waits for a tunnel to come up (lazydocker's "ssh tunneled
socket never became available"). One ssh master connection (ControlMaster) is shared by
all of them, so a request costs a session, not a handshake; close() ends it.
"""
from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import tempfile
from urllib.parse import urlsplit

from stacktui.core.loop import Loop

CONNECT_TIMEOUT = 15  # seconds for ssh to reach the host; every ssh we start is bounded
PERSIST = 60  # an idle master connection ends by itself after this long, whatever happens to us


class SSHProxy:
    def __init__(self, host_url: str) -> None:
        parts = urlsplit(host_url)
        if parts.scheme != "ssh" or not parts.hostname:
            raise ValueError(f"not an ssh:// engine address: {host_url!r}")
        self.url = host_url
        self._dir = tempfile.mkdtemp(prefix="stkssh-")  # 0700: the socket is ours alone
        self.path = os.path.join(self._dir, "docker.sock")
        target = ["-p", str(parts.port)] if parts.port else []
        target += ["-l", parts.username] if parts.username else []
        self._base = ["ssh", "-o", f"ControlPath={self._dir}/cm", "-o", f"ConnectTimeout={CONNECT_TIMEOUT}",
                      "-o", "BatchMode=yes", *target]
        self._host = parts.hostname
        self.last_error = ""
        self._closed = False
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.path)
        self._server.listen(64)
        self._loop = Loop("ssh-proxy", self._accept, unblock=self._server.close)
        self._loop.start()

    def _command(self) -> list[str]:
        return [*self._base, "-o", "ControlMaster=auto", "-o", f"ControlPersist={PERSIST}", "-T", "--",
                self._host, "docker", "system", "dial-stdio"]

    def _accept(self) -> None:
        while not self._loop.stopping:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            Loop("ssh-proxy-conn", functools.partial(self._serve, conn)).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            proc = subprocess.Popen(self._command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, bufsize=0)
        except OSError as exc:
            self.last_error = f"cannot run ssh: {exc.strerror or exc}"
            conn.close()
            return
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        stdin = proc.stdin

        def upstream() -> None:
            try:
                while chunk := conn.recv(65536):
                    stdin.write(chunk)
            except OSError:
                pass
            try:
                stdin.close()  # the request is sent: dial-stdio half-closes towards the engine
            except OSError:
                pass

        sender = Loop("ssh-proxy-up", upstream).start()
        try:
            while chunk := proc.stdout.read(65536):
                conn.sendall(chunk)
        except OSError:
            pass
        finally:
            # ssh's verdict first, then the client sees the end: a failed ping can then say why.
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            err = proc.stderr.read().decode("utf-8", "replace").strip()
            if proc.returncode not in (0, None) and err:
                self.last_error = err.splitlines()[-1]
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
            sender.join(5)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.stop(2.0)
        if os.path.exists(f"{self._dir}/cm"):
            try:  # end the shared master connection now rather than after PERSIST seconds
                subprocess.run([*self._base, "-O", "exit", self._host], capture_output=True, timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self._dir, ignore_errors=True)
