"""A big but honest compose file: 2,000 services in about 5.8 MB (issue 18).

Half the services own a network namespace that the other half join (one joiner each),
every owner publishes a port for its joiner, and each service carries the environment,
labels and healthcheck that real services do. `python -m bench.bigfile DIR` writes
DIR/compose.yaml; the bench and the test read the same generator.
"""
from __future__ import annotations

import sys
from pathlib import Path

SERVICES = 2_000


def big_compose(services: int = SERVICES, name: str = "bigfile", base_port: int = 20000) -> str:
    lines = [f"name: {name}", "services:"]
    for i in range(0, services, 2):
        owner, joiner = f"svc{i:04d}", f"svc{i + 1:04d}"
        for svc, joins in ((owner, None), (joiner, owner)):
            lines += [f"  {svc}:", "    image: busybox:1.36", "    command: [\"sleep\", \"infinity\"]"]
            if joins:
                lines.append(f"    network_mode: \"service:{joins}\"")
            else:
                lines += ["    ports:", f"      - \"127.0.0.1:{base_port + i // 2}:8080\" # {joiner}"]
            lines.append("    environment:")
            lines += [f"      {svc.upper()}_SETTING_{k:02d}: \"value-{k}-of-{svc}-with-some-typical-length\""
                      for k in range(22)]
            lines.append("    labels:")
            lines += [f"      org.example.{svc}.label{k:02d}: \"label value {k} for {svc}, as teams write them\""
                      for k in range(12)]
            lines += ["    healthcheck:", "      test: [\"CMD\", \"true\"]", "      interval: 30s", "      timeout: 5s",
                      "      retries: 3", "    restart: unless-stopped"]
            if joins:
                lines.append(f"    x-stacktui: {{listens: [8080]}}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    folder.mkdir(parents=True, exist_ok=True)
    text = big_compose()
    (folder / "compose.yaml").write_text(text)
    print(f"{folder / 'compose.yaml'}: {SERVICES} services, {len(text) / 1e6:.1f} MB")
