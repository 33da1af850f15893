"""The renderer: every format from one View; log values are inert on a terminal."""

from __future__ import annotations

import io
import json

import pyarrow as pa
from rich.console import Console

from fluentlog.render import Format, render
from fluentlog.view import Section, View


def _render(view: View, fmt: Format) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    render(view, fmt, Console(file=out, width=200, force_terminal=True, color_system="truecolor"),
           Console(file=err, width=200), "UTC")
    return out.getvalue(), err.getvalue()


EVIL = View([{"name": "[bold red]Admin[/] \x1b[2J\x07", "n": 1}],
            [Section(pa.table({"name": ["[bold red]Admin[/] \x1b[2J\x07 [link=file:///etc/passwd]x[/link] \x9b"],
                               "n": [1]}))], ["a note"])


def test_markup_and_control_characters_are_shown_not_obeyed() -> None:
    out, err = _render(EVIL, Format.table)
    assert "[bold red]Admin[/]" in out and "[link=file:///etc/passwd]x[/link]" in out
    assert "\\x1b[2J" in out and "\\x07" in out and "\\x9b" in out
    assert "\x1b[2J" not in out and "\x07" not in out and "\x9b" not in out
    assert "\x1b]8;" not in out  # no hyperlink escape was emitted
    assert "a note" in err and "a note" not in out


def test_json_jsonl_and_csv_carry_the_same_values() -> None:
    doc = json.loads(_render(EVIL, Format.json)[0])
    assert doc == [{"name": "[bold red]Admin[/] \x1b[2J\x07", "n": 1}]
    assert json.loads(_render(EVIL, Format.jsonl)[0].splitlines()[0]) == doc[0]
    csv_lines = _render(EVIL, Format.csv)[0].splitlines()
    assert csv_lines[0] == "name,n"


def test_csv_neutralises_formula_values() -> None:
    view = View([], [Section(pa.table({"v": ["=HYPERLINK(\"x\")", "+1", "-2", "@a", "plain"]}))])
    lines = _render(view, Format.csv)[0].splitlines()
    assert lines[1:] == ['"\'=HYPERLINK(""x"")"', "'+1", "'-2", "'@a", "plain"]
