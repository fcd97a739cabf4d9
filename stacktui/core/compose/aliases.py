"""A budget on what YAML aliases expand to, counted while ruamel composes the file.

ruamel's round-trip trees share an anchored node instead of copying it, so stacktui's own
read is cheap; Compose (and any plain loader) copies it at every alias, and a few hundred
bytes of nested aliases (a "billion laughs") become gigabytes. The composer below counts,
for each alias it meets, how many nodes the anchored node stands for once expanded, and
refuses the file as soon as the total passes the budget: before Compose is ever asked.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml.composer import Composer
from ruamel.yaml.events import AliasEvent

from stacktui.core.errors import ConfigError, SourceRef

# Nodes that aliases may add to a file. Honest files stay far below it: `<<: *defaults` on
# each of 2,000 services adds some 40,000; Compose reads a million nodes in about a second.
ALIAS_BUDGET = 1_000_000


class BudgetComposer(Composer):
    """ruamel's Composer, which also sums the expanded size of every alias it resolves."""

    file: Path = Path("-")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sizes: dict[int, int] = {}  # id(node) -> nodes it stands for, expanded
        self._spent = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.parser.check_event(AliasEvent):
            event = self.parser.peek_event()
            node = self.anchors.get(event.anchor)
            if node is not None:
                self._spend(self._sizes.get(id(node), 1), event, node)
        return super().compose_node(parent, index)

    def compose_sequence_node(self, anchor: Any) -> Any:
        node = super().compose_sequence_node(anchor)
        self._sizes[id(node)] = 1 + sum(self._sizes.get(id(item), 1) for item in node.value)
        return node

    def compose_mapping_node(self, anchor: Any) -> Any:
        node = super().compose_mapping_node(anchor)
        self._sizes[id(node)] = 1 + sum(self._sizes.get(id(k), 1) + self._sizes.get(id(v), 1) for k, v in node.value)
        return node

    def _spend(self, size: int, event: Any, node: Any) -> None:
        self._spent += size
        if self._spent <= ALIAS_BUDGET:
            return
        anchored = f"&{event.anchor} at line {node.start_mark.line + 1}"
        raise ConfigError(
            f"YAML aliases expand beyond the limit of {ALIAS_BUDGET:,} nodes: *{event.anchor} here adds "
            f"{size:,} more ({anchored})",
            where=SourceRef(self.file, event.start_mark.line + 1),
            hint="each level of nested aliases multiplies the size; nothing was passed to Compose")


# A `*` where an alias may start: at a line's start, after a space or a flow or quote character.
# Plain text like `a*b` or `image: x*` (no anchor name after) does not count; a `*` inside a
# quoted string may, which only costs the early start below.
_ALIAS_START = re.compile(r"""(?:^|[\ufeff\s\[\]{},:"'])\*[^\s\[\]{},]""", re.MULTILINE)


def may_hold_aliases(text: str) -> bool:
    """False only when no YAML alias can be in text: then Compose may read it while stacktui does."""
    return _ALIAS_START.search(text) is not None


def composer_for(file: Path) -> type[BudgetComposer]:
    """A BudgetComposer class that names `file` in its refusal (ruamel builds the instance itself)."""
    return type("BudgetComposer", (BudgetComposer,), {"file": file})
