"""Corpus run (issue 18): `stacktui check --static` and `layout show` on every compose file under a folder.

Usage: python bench/corpus.py FOLDER. Fetch the files first (not kept in this repository), e.g.
docker/awesome-compose (CC0) and compose-spec/compose-go's loader fixtures (Apache-2.0), as
`git archive` trees in FOLDER. Each run is a process bounded at 150 s; the summary counts
what was read, what was refused in one line, tracebacks, hangs and runaways (tree RSS over
500 MB, from GNU time), and lists processes left that name the folder.
"""
import collections, os, re, subprocess, sys, time
from pathlib import Path
root = Path(sys.argv[1])
files = sorted(p for p in root.rglob("*") if p.is_file() and re.fullmatch(r"(compose|docker-compose)[^/]*\.ya?ml", p.name)
               or (p.suffix in (".yml", ".yaml") and ("fixtures" in p.parts or "testdata" in p.parts) and p.is_file()))
env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
kinds = collections.Counter(); notes = []; peak = []
for f in files:
    for args in (["check", "--static"], ["layout", "show"]):
        t0 = time.time()
        try:
            d = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M", sys.executable, "-m", "stacktui", "-f", str(f), *args],
                               cwd=f.parent, env=env, capture_output=True, text=True, timeout=150)
        except subprocess.TimeoutExpired:
            kinds["HANG"] += 1; notes.append(f"HANG {f} {args}"); continue
        took = time.time() - t0
        rss = int(re.search(r"MAXRSS (\d+)", d.stderr).group(1)) // 1024
        err = "\n".join(l for l in d.stderr.splitlines() if not l.startswith(("MAXRSS", "Command exited")))
        if "Traceback" in err:
            kind = "TRACEBACK"
        elif d.returncode == 0:
            kind = "ok"
        elif d.returncode == 2 and len(err.strip().splitlines()) == 1:
            kind = "refused (one line)"
        else:
            kind = f"other rc={d.returncode}"
        if rss > 500:
            kind += " RUNAWAY"
        kinds[(args[0], kind)] += 1; peak.append((rss, took, str(f.relative_to(root))))
        if kind != "ok":
            notes.append(f"{kind:20} {took:5.1f}s {rss:4d}MB {f.relative_to(root)} {args[0]}: {err.strip().splitlines()[-1][:220] if err.strip() else ''}")
left = "\n".join(l for l in subprocess.run(["pgrep", "-af", str(root)], capture_output=True, text=True).stdout.splitlines() if "corpus.py" not in l)
print(f"{len(files)} files; largest tree RSS {max(peak)[0]} MB ({max(peak)[2]}); slowest {max(peak, key=lambda p: p[1])[1]:.1f} s")
for k, v in sorted(kinds.items(), key=str): print(k, v)
print("left running:", left or "none")
print("\n".join(notes))
