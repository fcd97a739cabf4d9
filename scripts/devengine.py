#!/usr/bin/env python3
"""A real Docker engine and the offline demo image, for tests and the demo.

Standard library only: it runs before the project's virtualenv exists.

    devengine.py ensure        reuse a running engine, or start a private one;
                               prints `export DOCKER_HOST=...`
    devengine.py image         build the demo image if it is missing
    devengine.py stop          stop the private engine, only if this project started it
    devengine.py run -- CMD    ensure + image, run CMD with DOCKER_HOST set, then stop
                               the engine again if this call started it

A private engine keeps all its state in the project's .cache/engine folder (the
socket falls back to /tmp when that path is too long for a unix socket).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "engine"
VERSION = "0.1.0"
DEMO_IMAGE = f"stacktui-demo:{VERSION}"
SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; keep a margin


class EngineError(RuntimeError):
    """A missing piece, with the fix in the message."""


@dataclass
class Engine:
    host: str
    started_here: bool
    pidfile: Path | None = None


def _run_dir() -> Path:
    sock = CACHE / "docker.sock"
    if len(str(sock)) <= SOCKET_PATH_MAX:
        return CACHE
    digest = hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"stk-{digest}"


def _docker_cli() -> str:
    cli = shutil.which("docker")
    if not cli:
        raise EngineError(
            "the docker CLI is missing: install Debian's docker.io (apt-get install docker.io) "
            "or Docker Engine from docs.docker.com"
        )
    return cli


def answers(host: str | None) -> bool:
    env = dict(os.environ)
    if host:
        env["DOCKER_HOST"] = host
    else:
        env.pop("DOCKER_HOST", None)
    try:
        done = subprocess.run(
            [_docker_cli(), "info", "--format", "{{.ServerVersion}}"],
            env=env, capture_output=True, timeout=15,
        )
    except (subprocess.TimeoutExpired, OSError):
        return False
    return done.returncode == 0


def _pid_alive(pid: int) -> bool:
    # A dockerd this process started and that has exited stays a zombie until reaped, and
    # kill(pid, 0) succeeds on a zombie: stop() then waited its full 20 s every time.
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # not our child: whoever started it reaps it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _install_dockerd() -> None:
    if platform.system() != "Linux" or os.geteuid() != 0 or not shutil.which("apt-get"):
        raise EngineError(
            "no Docker engine answers and dockerd is not installed. Start Docker (Docker Desktop, "
            "or `sudo systemctl start docker`), or set DOCKER_HOST to a running engine; on Debian "
            "as root, `apt-get install docker.io` lets stacktui start a private one."
        )
    print("devengine: installing Debian's docker.io and busybox-static", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "docker.io", "busybox-static"],
                   check=True, env=env, stdout=subprocess.DEVNULL)


def ensure() -> Engine:
    """An engine that answers: DOCKER_HOST's, the default socket's, or our own."""
    given = os.environ.get("DOCKER_HOST")
    run_dir = _run_dir()
    own_host = f"unix://{run_dir / 'docker.sock'}"
    if given and given != own_host:
        if answers(given):
            return Engine(given, started_here=False)
        raise EngineError(f"DOCKER_HOST={given} does not answer `docker info`; unset it or start that engine")
    pidfile = run_dir / "docker.pid"
    pid = _read_pid(pidfile)
    if pid and _pid_alive(pid) and answers(own_host):
        return Engine(own_host, started_here=False, pidfile=pidfile)
    if not given and answers(None):
        return Engine("unix:///var/run/docker.sock", started_here=False)
    return _start_private(run_dir, pidfile)


def daemon_env() -> dict[str, str]:
    """The environment a daemon is started with: this one without the caller's per-session folders.
    dockerd's runc keeps its process files in XDG_RUNTIME_DIR when it is set, so a daemon started from a
    test run whose runtime folder is deleted at the end would fail every exec afterwards."""
    return {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "XDG_STATE_HOME")}


def _start_private(run_dir: Path, pidfile: Path) -> Engine:
    return main_engine(run_dir).start()


def main_engine(run_dir: Path) -> PrivateEngine:
    """The private engine the tests and the demo use.

    Without iptables of its own: published ports (127.0.0.1 only here) are served by docker-proxy as
    they are with iptables, Compose's networks come from a pool of its own, and one FORWARD rule lets
    their containers reach each other (bridged frames pass iptables on this machine, and an engine
    that ran before may have left the policy at DROP). Containers reach nothing outside. Every
    container start then skips the NAT and filter rules dockerd writes one `iptables` call at a time:
    a quarter of the CPU of bringing a stack up (0.66 against 0.90 core-seconds for three containers).
    """
    return PrivateEngine(
        CACHE, run_dir,
        extra_args=("--iptables=false", "--ip-masq=false", "--default-address-pool", "base=10.216.0.0/16,size=24"),
        forward_cidr="10.216.0.0/16",
    )


def _unmount_under(folder: Path) -> None:
    """Mounts a stopped daemon left under its own folder: dockerd binds its data root onto itself and
    podman mounts overlays, and a daemon that was killed (the fault tests do) cannot take them down.
    Left behind, they make the folder impossible to delete ("device busy")."""
    root = str(folder.resolve())
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return
    points = [line.split()[1].replace("\\040", " ") for line in lines if len(line.split()) > 1]
    for point in sorted((p for p in points if p == root or p.startswith(root + "/")), key=len, reverse=True):
        subprocess.run(["umount", point], capture_output=True, timeout=30)


def stop() -> None:
    """Stop the private engine, only if devengine started it."""
    if (CACHE / "started-by-devengine").exists():
        main_engine(_run_dir()).stop()


@dataclass
class PrivateEngine:
    """A dockerd whose every file lives under `cache` (socket and exec root under `run_dir`).

    Fault tests start a second one beside the first: it needs its own bridge, no iptables
    and its own address pool, or it deletes the first engine's docker0 (engine.md).
    """

    cache: Path
    run_dir: Path
    extra_args: tuple[str, ...] = ()
    bridge: tuple[str, str] | None = None  # (name, cidr) created before start, deleted at stop
    # Traffic among this engine's own containers. Without iptables of its own, the first
    # engine's FORWARD policy DROP (bridged frames pass iptables here) would cut it.
    forward_cidr: str | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.run_dir / 'docker.sock'}"

    @property
    def pidfile(self) -> Path:
        return self.run_dir / "docker.pid"

    def pid(self) -> int | None:
        pid = _read_pid(self.pidfile)
        return pid if pid and _pid_alive(pid) else None

    def start(self, timeout: float = 60) -> Engine:
        if not shutil.which("dockerd"):
            _install_dockerd()
        if platform.system() != "Linux" or os.geteuid() != 0:
            raise EngineError("a private dockerd needs Linux and root; start Docker yourself and set DOCKER_HOST")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.cache.mkdir(parents=True, exist_ok=True)
        # A dockerd killed with SIGKILL leaves its pid file, and the next start refuses to run.
        if _read_pid(self.pidfile) is not None and self.pid() is None:
            self.pidfile.unlink(missing_ok=True)
        if self.bridge:
            self._make_bridge()
        self._forward("-I")
        kept = _default_bridge() if self.bridge else None
        log = open(self.cache / "dockerd.log", "ab")
        cmd = [
            "dockerd",
            "--data-root", str(self.cache / "data"),
            "--exec-root", str(self.run_dir / "exec"),
            "-H", self.host,
            "--pidfile", str(self.pidfile),
            "--log-level", "warn",
            *self.extra_args,
        ]
        subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
                         env=daemon_env())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if answers(self.host):
                if kept:
                    _restore_default_bridge(kept)
                (self.cache / "started-by-devengine").write_text(self.host)
                print(f"devengine: started a private dockerd at {self.host}", file=sys.stderr)
                return Engine(self.host, started_here=True, pidfile=self.pidfile)
            time.sleep(0.3)
        self.stop()  # a dockerd that never answered is not left behind holding the folder
        raise EngineError(f"dockerd did not answer within {timeout:.0f} s; see {self.cache / 'dockerd.log'}")

    def stop(self, sig: int = signal.SIGTERM, remove_bridge: bool = True) -> None:
        kept = _default_bridge() if self.bridge else None
        pid = self.pid()
        if pid:
            os.kill(pid, sig)
            deadline = time.monotonic() + 20
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        if sig != signal.SIGKILL:
            self.pidfile.unlink(missing_ok=True)
        (self.cache / "started-by-devengine").unlink(missing_ok=True)
        if not self.pid():
            _unmount_under(self.cache)
        if remove_bridge:  # a stop that the engine's restart follows keeps its bridge and its rule
            if self.bridge:
                subprocess.run(["ip", "link", "delete", self.bridge[0]], capture_output=True)
            self._forward("-D")
        if kept:
            _restore_default_bridge(kept)

    def _forward(self, op: str) -> None:
        if not self.forward_cidr or not shutil.which("iptables"):
            return
        rule = ["FORWARD", "-s", self.forward_cidr, "-d", self.forward_cidr, "-j", "ACCEPT"]
        present = subprocess.run(["iptables", "-w", "-C", *rule], capture_output=True).returncode == 0
        if (op == "-I") != present:
            subprocess.run(["iptables", "-w", op, *rule], capture_output=True)

    def _make_bridge(self) -> None:
        assert self.bridge is not None
        name, cidr = self.bridge
        if subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0:
            return
        for args in (["link", "add", name, "type", "bridge"], ["addr", "add", cidr, "dev", name],
                     ["link", "set", name, "up"]):
            subprocess.run(["ip", *args], check=True, capture_output=True)


def _default_bridge() -> list[str] | None:
    """docker0's IPv4 addresses (CIDR), or None when there is no docker0."""
    out = subprocess.run(["ip", "-j", "addr", "show", "dev", "docker0"], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    try:
        info = json.loads(out.stdout or "[]")
    except ValueError:
        return None
    return [f"{a['local']}/{a['prefixlen']}" for i in info for a in i.get("addr_info", []) if a.get("family") == "inet"]


def _restore_default_bridge(addresses: list[str]) -> None:
    """Put the first engine's docker0 back as it was.

    A second dockerd with a bridge of its own (-b) removes docker0 when it starts or stops
    (seen with 20.10, with its own data root and exec root): the first engine's containers
    on the default network keep running, but new ones cannot start ("could not find bridge
    docker0"). The first engine still owns the network and its iptables rules; only the
    interface has to come back.
    """
    if subprocess.run(["ip", "link", "show", "docker0"], capture_output=True).returncode == 0:
        return
    subprocess.run(["ip", "link", "add", "docker0", "type", "bridge"], capture_output=True)
    for cidr in addresses:
        subprocess.run(["ip", "addr", "add", cidr, "dev", "docker0"], capture_output=True)
    subprocess.run(["ip", "link", "set", "docker0", "up"], capture_output=True)


def fault_engine() -> PrivateEngine:
    """A second private engine that fault tests may stop and kill at will."""
    cache = ROOT / ".cache" / "fault-engine"
    run_dir = cache
    if len(str(cache / "docker.sock")) > SOCKET_PATH_MAX:
        run_dir = Path(tempfile.gettempdir()) / f"stkf-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]}"
    return PrivateEngine(
        cache, run_dir,
        extra_args=("-b", "stktest0", "--iptables=false", "--ip-masq=false",
                    "--default-address-pool", "base=10.214.0.0/16,size=24"),
        bridge=("stktest0", "10.213.255.1/24"),
        forward_cidr="10.214.0.0/16",
    )


def make_certs(folder: Path) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client one, made with openssl, valid 2 days.

    The layout is the docker CLI's: `folder` is a DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem for
    the client), with server-cert.pem and server-key.pem beside them for `dockerd --tlsverify`.
    """
    if not shutil.which("openssl"):
        raise EngineError("openssl is needed to make the TLS engine's certificates: apt-get install openssl")
    folder.mkdir(parents=True, exist_ok=True)

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=stacktui test CA")
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for who in ("server", "client"):
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{who}-key.pem", "-out", f"{who}.csr",
            "-subj", f"/CN={who}")
        ssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
            "-out", f"{who}-cert.pem", "-days", "2", "-extfile", f"{who}.ext")
    shutil.copy2(folder / "client-cert.pem", folder / "cert.pem")
    shutil.copy2(folder / "client-key.pem", folder / "key.pem")
    return folder


def tls_engine(certs: Path, port: int) -> PrivateEngine:
    """A second private engine that also listens on tcp://127.0.0.1:PORT with TLS (client certificates
    required). Its bridge is its own (not the fault engine's, which it would delete when it stops), so
    the TLS tests and the fault tests can run at the same time."""
    return PrivateEngine(
        ROOT / ".cache" / "tls-engine", Path(tempfile.gettempdir()) / f"stktls-{os.getpid()}",
        extra_args=("-b", "stktls0", "--iptables=false", "--ip-masq=false",
                    "--default-address-pool", "base=10.215.0.0/16,size=24",
                    "-H", f"tcp://127.0.0.1:{port}", "--tlsverify", "--tlscacert", str(certs / "ca.pem"),
                    "--tlscert", str(certs / "server-cert.pem"), "--tlskey", str(certs / "server-key.pem")),
        bridge=("stktls0", "10.213.254.1/24"),
        forward_cidr="10.215.0.0/16",
    )


_SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


class PrivateSSHD:
    """A private sshd on 127.0.0.1 whose sessions reach `engine_host`: host key, config and authorized key
    of its own in `folder`, and an `ssh` wrapper (folder/bin) that adds a client config of its own, so
    the machine's ssh setup is neither read nor changed. env() is what a client needs: put it on PATH."""

    def __init__(self, folder: Path, engine_host: str, port: int) -> None:
        self.dir, self.engine_host, self.port = folder, engine_host, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"ssh://root@127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {"DOCKER_HOST": self.host, "PATH": f"{self.dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}

    def start(self, timeout: float = 20) -> "PrivateSSHD":
        import socket

        d = self.dir
        d.mkdir(parents=True, exist_ok=True)
        for key in ("host_key", "client_key"):
            if not (d / key).exists():
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True,
                               timeout=30)
        (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
        (d / "sshd_config").write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {d / 'host_key'}", f"PidFile {d / 'sshd.pid'}",
            f"AuthorizedKeysFile {d / 'authorized_keys'}", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password", "UsePAM no",
            "StrictModes no", f"SetEnv DOCKER_HOST={self.engine_host}", ""]))
        kind, key = (d / "host_key.pub").read_text().split()[:2]
        (d / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {kind} {key}\n")
        (d / "ssh_config").write_text("\n".join([
            "Host 127.0.0.1", f"  IdentityFile {d / 'client_key'}", "  IdentitiesOnly yes",
            f"  UserKnownHostsFile {d / 'known_hosts'}", "  StrictHostKeyChecking yes", "  BatchMode yes",
            "  ConnectTimeout 10", ""]))
        (d / "bin").mkdir(exist_ok=True)
        wrapper = d / "bin" / "ssh"
        wrapper.write_text(f"#!/bin/sh\nexec /usr/bin/ssh -F {d / 'ssh_config'} \"$@\"\n")
        wrapper.chmod(0o755)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(d / "sshd_config")],
                                     stdout=subprocess.DEVNULL, stderr=open(d / "sshd.log", "wb"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        self.stop()
        raise EngineError(f"the private sshd did not listen within {timeout:.0f} s; see {d / 'sshd.log'}")

    def stop(self) -> None:
        if self.proc is None:
            return
        # Sessions are sshd's children: end them with it, each by its pid.
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True)
        for pid in out.stdout.split():
            try:
                os.kill(int(pid), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


def podman_interface_race(stderr: str) -> bool:
    """Podman 4.3 lists the host's interfaces, then asks each for its addresses, to pick a free subnet
    for a network: an interface deleted in between (a container of another engine going away) fails
    the whole call with this Go error. Measured here under parallel tests; another try succeeds."""
    return "route ip+net: no such network interface" in stderr


@dataclass
class PodmanService:
    """Podman's Docker-compatible API (`podman system service`) on a socket of its own, with private
    storage and config: the machine's podman setup (if any) is neither read nor changed.

    Measured on this machine (Podman 4.3.1, root, no systemd, runc in a sandbox): containers
    fail to start with Podman's default nproc limit ("error setting rlimit type 6: operation
    not permitted"), so the config sets lower nofile and nproc limits.
    """

    cache: Path = ROOT / ".cache" / "podman"

    @property
    def run_dir(self) -> Path:
        return Path(tempfile.gettempdir()) / f"stkpdm-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:8]}"

    @property
    def host(self) -> str:
        return f"unix://{self.run_dir / 'podman.sock'}"

    def _cmd(self) -> list[str]:
        return ["podman", "--root", str(self.cache / "root"), "--runroot", str(self.run_dir / "run"),
                "--storage-driver", "overlay"]

    def _env(self) -> dict[str, str]:
        return dict(daemon_env(), CONTAINERS_CONF=str(self.cache / "containers.conf"))

    def podman(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        for _ in range(3):
            done = subprocess.run([*self._cmd(), *args], env=self._env(), capture_output=True, text=True,
                                  timeout=timeout)
            if not podman_interface_race(done.stderr):
                break
            time.sleep(0.5)
        return done

    def start(self, timeout: float = 30) -> str:
        # catatonit: a Pod's infra container (`podman kube play`) runs it; without it the pause image
        # cannot be built ("finding pause binary: exec: \"catatonit\": executable file not found").
        missing = [prog for prog in ("podman", "catatonit") if not shutil.which(prog)]
        if missing:
            if platform.system() != "Linux" or os.geteuid() != 0 or not shutil.which("apt-get"):
                raise EngineError(f"{' and '.join(missing)} missing: install with your package manager")
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
            subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env,
                           stdout=subprocess.DEVNULL)
        self.cache.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.cache / "containers.conf").write_text(
            '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
            f'events_logfile_path = "{self.run_dir / "events.log"}"\n'
            '[network]\nnetwork_backend = "netavark"\ndefault_subnet = "10.216.0.0/24"\n'
            'default_subnet_pools = [{"base" = "10.217.0.0/16", "size" = 24}]\n'
            '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]\n')
        self.stop()
        log = open(self.cache / "service.log", "ab")
        proc = subprocess.Popen([*self._cmd(), "system", "service", "--time=0", self.host], env=self._env(),
                                stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        (self.run_dir / "service.pid").write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if answers(self.host):
                return self.host
            time.sleep(0.3)
        raise EngineError(f"podman system service did not answer within {timeout:.0f} s; see {self.cache / 'service.log'}")

    def image(self) -> str:
        """The demo image built by podman itself, offline (FROM scratch + static busybox)."""
        name = f"localhost/{DEMO_IMAGE}"
        if self.podman("image", "exists", name).returncode == 0:
            return name
        with tempfile.TemporaryDirectory() as ctx:
            shutil.copy2(_busybox(), Path(ctx) / "busybox")
            (Path(ctx) / "Containerfile").write_text(
                'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n')
            done = self.podman("build", "-q", "-t", name, ctx, timeout=300)
            if done.returncode != 0:
                raise EngineError(f"podman build failed: {done.stderr.strip()[-400:]}")
        return name

    def shutdown(self) -> None:
        """Its pods and containers removed, the service stopped, the conmon processes its exec sessions
        leave (each waits 300 s) ended by pid, and its overlay mounts taken down."""
        self.podman("pod", "rm", "-af", "-t", "0")
        self.podman("rm", "-af", "-t", "0")
        self.podman("network", "prune", "-f")
        self.stop()
        conmons = _processes_named("conmon", str(self.cache))
        for pid in conmons:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while any(_pid_alive(pid) for pid in conmons) and time.monotonic() < deadline:
            time.sleep(0.1)
        _unmount_under(self.cache)  # podman's overlay mount, free once its conmons are gone

    def stop(self) -> None:
        pid = _read_pid(self.run_dir / "service.pid")
        if pid and _pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        (self.run_dir / "service.pid").unlink(missing_ok=True)
        if pid is None or not _pid_alive(pid):
            _unmount_under(self.cache)
        # Podman leaves its storage mounted on itself: unmounted, the cache can be deleted like any folder.
        subprocess.run(["umount", str(self.cache / "root" / "overlay")], capture_output=True, timeout=30)


def _processes_named(name: str, needle: str) -> list[int]:
    """Pids of the processes called `name` whose command line mentions `needle` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != name:
                continue
            if needle in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def ensure_tools() -> None:
    """Programs the tests drive besides Docker: tmux (the TUI runs in it), ip (the fault engine's bridge),
    openssl (the TLS engine's certificates), sshd and ssh (an engine reached over ssh://), chromium and
    chromium-driver (`stacktui serve` in a headless browser, driven by selenium)."""
    tools = (("tmux", "tmux"), ("ip", "iproute2"), ("openssl", "openssl"), ("sshd", "openssh-server"),
             ("ssh", "openssh-client"), ("chromium", "chromium"), ("chromedriver", "chromium-driver"))
    missing = sorted({pkg for prog, pkg in tools if not shutil.which(prog, path=_SBIN_PATH)})
    if not missing:
        return
    if platform.system() != "Linux" or os.geteuid() != 0 or not shutil.which("apt-get"):
        raise EngineError(f"missing {', '.join(missing)}: install them with your package manager")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env, stdout=subprocess.DEVNULL)


def _is_static_elf(path: Path) -> bool:
    """True for an ELF executable with no program interpreter (PT_INTERP): it needs no libc."""
    import struct

    try:
        data = path.read_bytes()
    except OSError:
        return False
    if data[:4] != b"\x7fELF":
        return False
    wide, little = data[4] == 2, data[5] == 1
    end = "<" if little else ">"
    if wide:
        phoff, = struct.unpack_from(end + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(end + "HH", data, 0x36)
    else:
        phoff, = struct.unpack_from(end + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(end + "HH", data, 0x2A)
    for i in range(phnum):
        p_type, = struct.unpack_from(end + "I", data, phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP
            return False
    return True


def _busybox() -> Path:
    """A static busybox (the image has no libc): the one on PATH, /bin/busybox, or Debian's busybox-static."""
    for candidate in (shutil.which("busybox"), "/bin/busybox", "/usr/bin/busybox"):
        if candidate and _is_static_elf(Path(candidate)):
            return Path(candidate)
    if platform.system() == "Linux" and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "busybox-static"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        if _is_static_elf(Path("/bin/busybox")):
            return Path("/bin/busybox")
    raise EngineError("a static busybox is needed to build the demo image: apt-get install busybox-static")


def image(host: str) -> str:
    """Build the demo image offline (FROM scratch + static busybox) unless it exists."""
    env = dict(os.environ, DOCKER_HOST=host, DOCKER_BUILDKIT="0")
    cli = _docker_cli()
    have = subprocess.run([cli, "image", "inspect", DEMO_IMAGE], env=env, capture_output=True)
    if have.returncode == 0:
        return DEMO_IMAGE
    with tempfile.TemporaryDirectory() as ctx:
        shutil.copy2(_busybox(), Path(ctx) / "busybox")
        (Path(ctx) / "Dockerfile").write_text(
            "FROM scratch\n"
            "COPY busybox /bin/busybox\n"
            'RUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
            f'LABEL org.opencontainers.image.title="stacktui demo" org.opencontainers.image.version="{VERSION}"\n'
        )
        subprocess.run([cli, "build", "-q", "-t", DEMO_IMAGE, ctx], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    print(f"devengine: built {DEMO_IMAGE}", file=sys.stderr)
    return DEMO_IMAGE


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    verb, rest = argv[0], argv[1:]
    try:
        if verb == "ensure":
            engine = ensure()
            print(f"export DOCKER_HOST={engine.host}")
            return 0
        if verb == "image":
            engine = ensure()
            print(image(engine.host))
            return 0
        if verb == "stop":
            stop()
            return 0
        if verb == "status":
            print(json.dumps({"run_dir": str(_run_dir()), "own": answers(f"unix://{_run_dir() / 'docker.sock'}")}))
            return 0
        if verb == "tools":
            ensure_tools()
            return 0
        if verb == "run":
            if rest[:1] == ["--"]:
                rest = rest[1:]
            ensure_tools()
            engine = ensure()
            image(engine.host)
            env = dict(os.environ, DOCKER_HOST=engine.host, STACKTUI_DEMO_IMAGE=DEMO_IMAGE)
            try:
                return subprocess.call(rest, env=env)
            finally:
                if engine.started_here:
                    stop()
    except EngineError as exc:
        print(f"devengine: {exc}", file=sys.stderr)
        return 3
    except subprocess.CalledProcessError as exc:
        print(f"devengine: {' '.join(map(str, exc.cmd))} failed with exit code {exc.returncode}", file=sys.stderr)
        return 3
    print(f"devengine: unknown verb {verb!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
