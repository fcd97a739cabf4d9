"""Certificates a test makes for itself (scripts/devengine.py `make_certs`, with openssl)."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import devengine


def make_certs(folder: Path) -> Path:
    return devengine.make_certs(folder)
