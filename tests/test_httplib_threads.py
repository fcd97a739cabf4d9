"""httpx asked for by many threads at once (the healer's gates, probes and plan start together):
each gets the whole module, never one half-imported by another thread."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

RACE = """
import importlib.machinery
import sys
import threading
import time
from stacktui.core.health.httplib import load_httpx


class SlowHttpx:
    # httpx's own import takes 0.1-0.2 s here; this widens that window so that every run meets it.
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != "httpx":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module

        def slow(module):
            time.sleep(0.5)
            run(module)

        spec.loader.exec_module = slow
        return spec


sys.meta_path.insert(0, SlowHttpx)

start = threading.Barrier(8)
errors = []

def work(i):
    start.wait()
    time.sleep(0.05 * i)  # one thread begins the import; the others ask while it is under way
    try:
        load_httpx().Client
    except Exception as exc:
        errors.append(repr(exc))

threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(errors[0] if errors else "ok")
"""


def test_eight_threads_asking_for_httpx_at_once_all_get_its_client() -> None:
    # A fresh interpreter: httpx must not be imported yet for the race to be possible.
    done = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
