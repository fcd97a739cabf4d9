"""Compose files written atomically, each change kept beside them so it can be undone.

`.stacktui/history/` next to a compose file holds `index.jsonl` (one entry per
change: time, file, kind, reason, hashes of the bytes before and after) and
`blobs/<sha256>` (those bytes, exactly). Undo writes the bytes from before a
change back, and is itself an entry, so undoing an undo redoes the change.
A change is written only over the exact bytes it was prepared from.
"""
from __future__ import annotations

import difflib
import fcntl
import hashlib
import json
import os
import stat
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from stacktui.core.errors import ConfigError
from stacktui.core.layout.prepare import LayoutChange
from stacktui.core.compose.model import Project
from stacktui.core.compose.source import parse_documents, parse_text, plain

HISTORY_DIR = Path(".stacktui") / "history"
ROLLBACK = "rollback"


class FileChanged(ConfigError):
    """The file on disk is not the text a change was prepared from; nothing was written."""


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    time: str  # ISO 8601, UTC
    file: str  # the compose file's name in its folder
    kind: str  # separate, shared, undo, rollback (a failed apply put back)
    reason: str
    before: str  # sha256 of the file's bytes before
    after: str  # and after
    undoes: int | None = None  # for undo and rollback: the entry they revert
    folder: Path = field(default=Path("."), compare=False)

    @property
    def path(self) -> Path:
        return self.folder / self.file

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["folder"] = str(self.folder)
        return data


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def history_dir(file: Path) -> Path:
    return file.parent / HISTORY_DIR


def atomic_write(path: Path, data: bytes) -> None:
    """Replace path's content in one step: temp file in the same folder, fsync, rename; mode kept."""
    target = path.resolve()  # a symlinked compose file stays a symlink; its target is replaced
    folder = target.parent
    try:
        st = target.stat()
        mode, owner = stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode, owner = 0o666 & ~umask, None
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if owner is not None and hasattr(os, "geteuid") and os.geteuid() == 0:
            os.chown(tmp, *owner)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc


@contextmanager
def _index_lock(folder: Path) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    index = folder / "index.jsonl"
    fd = os.open(index, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield index
    finally:
        os.close(fd)


def _read_index(index: Path, folder: Path) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = []
    try:
        lines = index.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return entries
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            raw.pop("folder", None)
            entries.append(HistoryEntry(**raw, folder=folder))
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"damaged history entry: {exc}", where=None,
                              hint=f"{index}:{n} is not an entry stacktui wrote; fix or remove that line") from exc
    return entries


def entries_for(file: Path) -> list[HistoryEntry]:
    """The history of one compose file, oldest first."""
    return [e for e in _read_index(history_dir(file) / "index.jsonl", file.parent) if e.file == file.name]


def project_history(project: Project) -> list[HistoryEntry]:
    """The history of every compose file of the project, oldest first."""
    found: list[HistoryEntry] = []
    for f in project.files:
        found += entries_for(Path(f))
    return sorted(found, key=lambda e: (e.time, e.id))


def rolled_back(entries: list[HistoryEntry]) -> set[int]:
    return {e.undoes for e in entries if e.kind == ROLLBACK and e.undoes is not None}


def _store_blob(folder: Path, data: bytes) -> str:
    digest = sha256(data)
    blobs = folder / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    if not (blobs / digest).exists():
        atomic_write(blobs / digest, data)
    return digest


def blob(entry: HistoryEntry, digest: str) -> bytes:
    path = entry.folder / HISTORY_DIR / "blobs" / digest
    data = read_bytes(path)
    if sha256(data) != digest:
        raise ConfigError(f"history blob {path} is damaged (its hash does not match)")
    return data


def _record(file: Path, before: bytes, after: bytes, kind: str, reason: str, undoes: int | None) -> HistoryEntry:
    hist = history_dir(file)
    with _index_lock(hist) as index:
        known = _read_index(index, file.parent)
        entry = HistoryEntry(
            id=max((e.id for e in known), default=0) + 1,
            time=datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            file=file.name, kind=kind, reason=reason,
            before=_store_blob(hist, before), after=_store_blob(hist, after),
            undoes=undoes, folder=file.parent,
        )
        with index.open("a", encoding="utf-8") as fh:
            data = entry.to_json()
            del data["folder"]
            fh.write(json.dumps(data, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    return entry


def _replace_exact(file: Path, expected: bytes, data: bytes, what: str) -> None:
    current = read_bytes(file)
    if current != expected:
        raise FileChanged(f"{file} changed on disk since {what} was prepared; nothing was written",
                          hint="look at the file, then prepare the change again")
    atomic_write(file, data)


def check_writable(file: Path) -> None:
    """Refuse up front, naming the fix, when file, its folder or its history cannot be written.

    A file without any write bit is read-only by its owner's choice: stacktui honours that
    even as root, who could replace it anyway. The folder must take the temporary file
    that is renamed over the compose file, and the history kept beside it.
    """
    target = file.resolve()
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror}") from exc
    if not mode & 0o222:
        raise ConfigError(f"{file} is read-only (mode {mode:o}); nothing was written",
                          hint=f"make it writable (chmod u+w {file}) if stacktui may change it")
    if not os.access(target, os.W_OK):
        raise ConfigError(f"cannot write {file}: permission denied; nothing was written",
                          hint="run stacktui as the file's owner, or make the file writable for you")
    # The history goes beside the file as it is named (a symlink's folder, not its target's):
    # that is where _record writes it, so that is where it must be writable.
    hist = history_dir(file)
    for folder, why in ((target.parent, "the new text is written beside the file, then renamed over it"),
                        (hist if hist.exists() else hist.parent if hist.parent.exists() else file.parent,
                         "the history of changes is kept there, for undo")):
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(f"cannot write in {folder} ({why}); nothing was written",
                              hint=f"make {folder} writable for you, or run stacktui as its owner")


def write_change(change: LayoutChange) -> HistoryEntry:
    """Write a prepared change over the exact text it was prepared from, and record it."""
    before, after = change.old_text.encode("utf-8"), change.new_text.encode("utf-8")
    if before == after:
        raise ConfigError(f"nothing to change in {change.file}")
    check_writable(change.file)
    try:
        _replace_exact(change.file, before, after, f"the change ({change.reason})")
    except PermissionError as exc:  # what check_writable cannot see (ACLs, a read-only mount)
        raise ConfigError(f"cannot write {change.file}: {exc.strerror}; nothing was written") from exc
    return _record(change.file, before, after, change.kind, change.reason, change.undoes)


def revert(change: LayoutChange, entry: HistoryEntry, why: str) -> HistoryEntry:
    """Put the text from before a change back after its apply failed; recorded as a rollback."""
    before, after = change.old_text.encode("utf-8"), change.new_text.encode("utf-8")
    _replace_exact(change.file, after, before, f"the rollback of #{entry.id}")
    return _record(change.file, after, before, ROLLBACK, f"rollback of #{entry.id}: {why}", entry.id)


def prepare_undo(project: Project) -> LayoutChange:
    """A change that writes back the bytes from before the project's last change (undo of an undo redoes)."""
    if project.read_only or not project.files:
        raise ConfigError(f"project {project.name} was attached from its containers; there is no file to undo in",
                          hint="run stacktui in the project folder or pass -f FILE")
    entries = project_history(project)
    reverted = rolled_back(entries)
    live = [e for e in entries if e.kind != ROLLBACK and e.id not in reverted]
    if not live:
        names = ", ".join(str(f) for f in project.files)
        if not entries:
            raise ConfigError(f"no layout change to undo: the history of {names} is empty")
        # `layout history` lists these entries too: say why none of them is undone.
        undone = ", ".join(f"#{n}" for n in sorted(reverted))
        raise ConfigError(f"no layout change to undo: the history of {names} has {len(entries)} entries, but every "
                          f"change in it ({undone}) was rolled back when its apply failed; the file is as before them",
                          hint="`stacktui layout history` lists them")
    entry = live[-1]
    file = entry.path
    current = read_bytes(file)
    if sha256(current) != entry.after:
        raise FileChanged(f"{file} was edited after change #{entry.id} ({entry.reason}); undo would discard "
                          "those edits, so nothing was written",
                          hint="undo by hand, or put the file back as that change left it")
    old_text = current.decode("utf-8")
    new_text = blob(entry, entry.before).decode("utf-8")
    diff = "".join(difflib.unified_diff(old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                                        fromfile=f"{file} (now)", tofile=f"{file} (undo #{entry.id})"))
    return LayoutChange(file=file, old_text=old_text, new_text=new_text, diff=diff,
                        reason=f"undo #{entry.id} ({entry.reason})",
                        touched_services=changed_services(project, file, old_text, new_text),
                        kind="undo", undoes=entry.id)


def changed_services(project: Project, file: Path, old_text: str, new_text: str) -> list[str]:
    """Services whose definition differs between two texts of one file, in declared order."""
    def services(text: str) -> dict[str, Any]:
        docs = parse_documents(text, file)  # the fast read for plain files; one document, as an edit needs
        tree = docs[0] if len(docs) == 1 else parse_text(text, file)
        found = tree.get("services") if isinstance(tree, dict) else None
        return {str(k): plain(v) for k, v in (found or {}).items()}

    old, new = services(old_text), services(new_text)
    names = [n for n in project.services if n in old or n in new]
    names += [n for n in (*old, *new) if n not in names]
    return list(dict.fromkeys(n for n in names if old.get(n) != new.get(n)))
