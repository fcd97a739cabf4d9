"""The house rules that a tool can check."""
from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "stacktui"
MAX_LINES = 500


def test_import_contracts_hold():
    """Core never draws, and core's packages import only the layers below them (pyproject.toml)."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert {c["type"] for c in contracts} == {"forbidden", "layers"}
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(contracts)} kept, 0 broken" in done.stdout


def test_ruff_finds_nothing():
    """pyflakes, pycodestyle and bugbear on stacktui/ (the rules in pyproject.toml): an unused name fails."""
    done = subprocess.run([str(Path(sys.executable).parent / "ruff"), "check", "--no-cache", "stacktui"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_types_check():
    """mypy on stacktui/ with the settings in pyproject.toml: a wrong type fails the build."""
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_core_package_is_in_a_layer():
    """A new package under stacktui/core must be placed in the layers contract, not slip past it."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    named = {part.strip() for layer in layers for part in layer.split("|")}
    core = PACKAGE / "core"
    present = {p.name for p in core.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    present |= {p.stem for p in core.glob("*.py") if p.stem != "__init__"}
    assert present == named


def test_every_core_package_says_what_it_owns():
    for init in (PACKAGE / "core").glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 40, f"{init.relative_to(ROOT)} has no docstring saying what it owns"


def test_no_module_over_the_line_limit():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"split these by job (limit {MAX_LINES} lines): {long}"


def test_version_of_the_installed_command():
    from stacktui import __version__

    done = subprocess.run([sys.executable, "-m", "stacktui", "--version"], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.strip() == f"stacktui {__version__}"
