"""Log tools in core: the filter (text or regex), `since` durations, saving exactly the given lines."""
from __future__ import annotations

import pytest

from stacktui.core.errors import ConfigError
from stacktui.core.live.logtools import LineFilter, save_lines, since_ns
from stacktui.core.settings import load_settings, parse_duration

LINES = ["GET /health 200", "POST /api 500 error", "get /HEALTH 200", "worker: Error: boom", "[red]x[/red]"]


def test_a_text_filter_keeps_lines_containing_it_in_any_case():
    assert LineFilter("health").keep(LINES) == [0, 2]
    assert LineFilter("[red]").keep(LINES) == [4]  # text is text, not a pattern or markup


def test_a_regex_filter_keeps_matching_lines_and_a_bad_one_says_why():
    assert LineFilter(r"\b5\d\d\b|error:", regex=True).keep(LINES) == [1, 3]
    with pytest.raises(ConfigError) as caught:
        LineFilter("(unclosed", regex=True)
    assert str(caught.value).startswith("not a regular expression: missing ), unterminated subpattern")


@pytest.mark.parametrize(("text", "seconds"), [("10m", 600), ("1h", 3600), ("1h30m", 5400), ("90s", 90),
                                               ("2d", 172800), ("45", 45), ("1.5h", 5400)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds
    assert since_ns(text, now_ns=10**12 * 1000) == 10**15 - seconds * 10**9


@pytest.mark.parametrize("text", ["", "ten minutes", "10x", "m10", "-5m"])
def test_not_durations(text):
    assert parse_duration(text) is None


def test_log_since_in_the_settings_file_is_checked(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('log_since = "1h"\n')
    assert load_settings(path).log_since == "1h"
    path.write_text('\nlog_since = "an hour"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}:2: log_since 'an hour' is not a duration")


def test_saving_writes_exactly_the_lines_to_a_new_file_each_time(tmp_path):
    first = save_lines(LINES[:2], tmp_path, "mcp-server", now=0)
    second = save_lines(["other"], tmp_path, "mcp-server", now=0)
    assert first.name.startswith("stacktui-mcp-server-") and first.suffix == ".log"
    assert first != second  # never overwritten
    assert first.read_text() == "GET /health 200\nPOST /api 500 error\n"
    assert second.read_text() == "other\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.name, second.name])  # no temp file left
    assert save_lines([], tmp_path, "../../etc/passwd", now=0).parent == tmp_path
