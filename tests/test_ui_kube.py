"""`K` and the palette: the open project's Kubernetes export shown as plain text, written on confirmation
(the real demo files through Compose's own config; the export needs no engine)."""
from __future__ import annotations

import shutil

from textual.widgets import TextArea

from stacktui.core.compose.cli import ComposeTarget
from stacktui.core.loader import load_project
from stacktui.ui.app import StackApp
from stacktui.ui.kubeview import ExportModal
from tests.conftest import COMPOSE_DIR
from tests.waiting import on_screen, until_app


async def test_k_shows_the_export_and_writes_it_only_on_confirmation(tmp_path):
    folder = tmp_path / "demo"
    shutil.copytree(COMPOSE_DIR / "demo", folder)
    compose = folder / "compose.yaml"
    # A value that would be markup or a terminal control if it were drawn as such.
    compose.write_text(compose.read_text().replace("      - MCP_SERVER_URL=http://vscode:9001/health",
                                                   "      - MCP_SERVER_URL=http://vscode:9001/health\n"
                                                   '      - "BANNER=[red]x[/red]\\u001b[2J"'))
    project = load_project(ComposeTarget(files=(compose,), project_directory=folder))
    app = StackApp(project, None, live=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("K")
        await until_app(pilot, lambda: on_screen(app, ExportModal), what="the export viewer")
        body = app.screen.query_one("#kube-body", TextArea).text
        assert "kind: Deployment\nmetadata:\n  name: vscode" in body
        assert "value: \"[red]x[/red]\\u001b[2J\"" in body  # quoted YAML, shown as text
        summary = str(app.screen.query_one("#kube-summary").render())
        assert f"4 objects; y writes one file each to {folder / 'k8s'}" in summary
        assert "depends_on vscode" in summary  # the notes, with their file and line
        await pilot.press("enter")  # Cancel is focused: a stray enter writes nothing
        await until_app(pilot, lambda: not isinstance(app.screen, ExportModal), what="the viewer closed")
        assert not (folder / "k8s").exists()

        await app.run_action("command_palette")
        await pilot.press(*"Kubernetes")
        await pilot.pause()
        await pilot.press("enter")
        await until_app(pilot, lambda: on_screen(app, ExportModal), what="the viewer from the palette")
        await pilot.press("y")
        await until_app(pilot, lambda: (folder / "k8s").is_dir(), what="the k8s folder")
        await app.workers.wait_for_complete()
    written = sorted(p.name for p in (folder / "k8s").glob("*.yaml"))
    assert written[1:] == ["002-deployment-vscode.yaml", "003-service-vscode.yaml", "004-deployment-backend.yaml"]
    assert written[0].startswith("001-configmap-demo-files-scripts-")
