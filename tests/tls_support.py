"""Certificates a test makes for itself with openssl: a CA, a server certificate for 127.0.0.1, a client one.

The layout is the docker CLI's: a DOCKER_CERT_PATH folder with ca.pem, cert.pem, key.pem (the
client), and beside it server-cert.pem and server-key.pem for `dockerd --tlsverify`.
"""
from __future__ import annotations

import subprocess
from pathlib import Path


def _ssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certs(folder: Path) -> Path:
    """Make the CA and both certificates in `folder`; returns it (the client's DOCKER_CERT_PATH)."""
    folder.mkdir(parents=True, exist_ok=True)
    days = "2"
    _ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem",
         "-days", days, "-subj", "/CN=stacktui test CA", cwd=folder)
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for who in ("server", "client"):
        key, csr = f"{who}-key.pem", f"{who}.csr"
        _ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={who}", cwd=folder)
        _ssl("x509", "-req", "-in", csr, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
             "-out", f"{who}-cert.pem", "-days", days, "-extfile", f"{who}.ext", cwd=folder)
    (folder / "cert.pem").write_bytes((folder / "client-cert.pem").read_bytes())
    (folder / "key.pem").write_bytes((folder / "client-key.pem").read_bytes())
    return folder
