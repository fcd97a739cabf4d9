"""The house rules that a tool can check."""
from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path
from tests.usercli import STACKTUI, cli_env

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


def test_no_module_of_stacktui_is_exempt_from_the_type_check():
    """mypy's overrides may tighten a module, never switch its errors off."""
    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"].get("overrides", [])
    assert [o["module"] for o in overrides if o.get("ignore_errors")] == []


def test_the_app_is_composed_of_parts_not_mixed_in():
    """StackApp's concerns are objects it holds (ui.parts), each with its own state, not base classes
    sharing attributes only its __init__ creates."""
    tree = ast.parse((PACKAGE / "ui" / "app.py").read_text())
    app = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "StackApp")
    assert [ast.unparse(base) for base in app.bases] == ["App[int]"]


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

    done = subprocess.run([*STACKTUI, "--version"], capture_output=True, text=True, env=cli_env())
    assert done.returncode == 0
    assert done.stdout.strip() == f"stacktui {__version__}"


# -- Textual's public API only -------------------------------------------------------------------------

def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and len(name) > 1


def _privates_in(tree: ast.AST, touched: bool = True) -> set[str]:
    """Every private name a body defines (`def _x`, `_x = ...`, `anything._x = ...`) and, if
    `touched`, every one it reads (`anything._x`)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _private(node.name):
            found.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and _private(node.id):
            found.add(node.id)
        elif isinstance(node, ast.Attribute) and _private(node.attr) and (touched or isinstance(node.ctx, ast.Store)):
            found.add(node.attr)
    return found


class TextualPrivates:
    """The private names of Textual, read from its installed source: `everything` it defines, and
    per class the names its own body defines or uses (`self._lines` in Log) and its vars()."""

    def __init__(self) -> None:
        import textual

        self.trees = {path: ast.parse(path.read_text(encoding="utf-8"))
                      for path in Path(textual.__file__).parent.rglob("*.py")}
        self.everything = set().union(*(_privates_in(t, touched=False) for t in self.trees.values()))
        self._classes: dict[type, set[str]] = {}

    def of_class(self, cls: type) -> set[str]:
        """The private names of the Textual classes in cls's MRO (none for a class of no Textual base)."""
        import inspect

        names: set[str] = set()
        for base in cls.__mro__:
            if not base.__module__.startswith("textual"):
                continue
            if base not in self._classes:
                mine = {n for n in vars(base) if _private(n)}
                tree = self.trees.get(Path(inspect.getsourcefile(base) or ""))
                for node in ast.walk(tree) if tree is not None else ():
                    if isinstance(node, ast.ClassDef) and node.name == base.__name__:
                        mine |= _privates_in(node)
                self._classes[base] = mine
            names |= self._classes[base]
        return names


def private_textual_uses(root: Path = PACKAGE) -> list[str]:
    """`file:line name` for each use of a Textual private name in stacktui: `self._x` (or `def _x`)
    in a class that extends a Textual class having `_x`, and `other._x` or a "_x" string (getattr)
    whose `_x` Textual's source defines and stacktui's does not."""
    import importlib

    textual = TextualPrivates()
    modules = {p: ast.parse(p.read_text()) for p in root.rglob("*.py") if p.name != "__main__.py"}
    own = set().union(*(_privates_in(t, touched=False) for t in modules.values()))
    found: list[str] = []
    for path, tree in modules.items():
        where = path.relative_to(ROOT)
        module = importlib.import_module(".".join(where.with_suffix("").parts).removesuffix(".__init__"))
        for cls_node in [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]:
            cls = vars(module).get(cls_node.name)
            names = textual.of_class(cls) if isinstance(cls, type) else set()
            for node in ast.walk(cls_node) if names else ():
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in names:
                    found.append(f"{where}:{node.lineno} def {node.name} (Textual's own name)")
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self" \
                        and node.attr in names:
                    found.append(f"{where}:{node.lineno} self.{node.attr}")
        imported = {(a.asname or a.name).split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                    for a in n.names}  # os._exit is not Textual's
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in textual.everything and node.attr not in own \
                    and not (isinstance(node.value, ast.Name) and node.value.id in imported | {"self"}):
                found.append(f"{where}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in textual.everything \
                    and node.value not in own:
                found.append(f"{where}:{node.lineno} \"{node.value}\"")
    return sorted(set(found))


def test_stacktui_uses_no_private_textual_attribute():
    """Textual's documented API only: a private attribute can change in any release, and the table
    and the log are what users look at most (the pin allows the next minor releases)."""
    assert private_textual_uses() == []
