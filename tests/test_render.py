"""The renderer: every format from one View; log values are inert on a terminal."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta, timezone

import pyarrow as pa
from rich.console import Console

from fluentlog.render import Format, pretty_json, render
from fluentlog.view import Section, View, jsonable


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


def test_bidirectional_controls_are_shown_not_obeyed() -> None:
    """U+202E (right-to-left override) made "admin\u202egpj.exe" display as "adminexe.jpg"."""
    spoof = View([], [Section(pa.table({"name": ["admin\u202egpj.exe \u2066x\u2069 \u200f"], "n": [1]}))])
    out, _ = _render(spoof, Format.table)
    assert "admin\\u202egpj.exe \\u2066x\\u2069 \\u200f" in out
    assert not any(c in out for c in "\u202e\u2066\u2069\u200f")
    assert json.loads(_render(View([{"name": "a\u202eb"}], []), Format.json)[0]) == [{"name": "a\u202eb"}]


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


def test_pretty_json_writes_what_the_standard_encoder_writes() -> None:
    """orjson walks the document and hands only times back: the text must stay the same."""
    plus_two = timezone(timedelta(hours=2))
    doc = {"events": [{"at": datetime(2026, 11, 20, 9, 30, 1, 123456, tzinfo=UTC), "n": 1, "x": 1.5,
                       "naive": datetime(2026, 11, 20, 9, 30), "day": date(2026, 11, 20),
                       "local": datetime(2026, 11, 20, 11, 30, tzinfo=plus_two), "pair": ("a", None),
                       "text": "Zoë \u2028 \"q\"", "clock": time(9, 30),
                       "nested": {"deep": [[datetime(2000, 1, 1, tzinfo=UTC)]]}}],
           "ok": True, "none": None, "empty": {}, "list": [], 7: "seven"}
    assert pretty_json(doc) == json.dumps(jsonable(doc), indent=2, ensure_ascii=False)
    assert pretty_json({"big": 2**70}) == json.dumps({"big": 2**70}, indent=2)  # beyond orjson: the fallback


def test_tables_of_a_view_are_built_only_for_table_and_csv_output() -> None:
    built = []

    def tables():
        built.append(1)
        return [Section(pa.table({"who": ["dana"]}), title="People")], pa.table({"who": ["dana"], "n": [1]})

    assert json.loads(_render(View([{"who": "dana"}], tables=tables), Format.json)[0]) == [{"who": "dana"}]
    assert built == []
    assert "dana" in _render(View([{"who": "dana"}], tables=tables), Format.table)[0]
    assert _render(View([{"who": "dana"}], tables=tables), Format.csv)[0] == "who,n\ndana,1\n"
    assert built == [1, 1]


def test_a_huge_value_is_cut_in_tables_and_whole_elsewhere() -> None:
    """A 1 MB change value would fold over thousands of table lines; JSON and CSV keep it all."""
    huge = "x" * 1_000_000
    view = View([{"change": huge}], [Section(pa.table({"change": [huge]}))])
    table = _render(view, Format.table)[0]
    assert "998,000 more characters; --format json shows the whole value" in table
    assert len(table) < 10_000
    assert json.loads(_render(view, Format.json)[0]) == [{"change": huge}]
    assert huge in _render(view, Format.csv)[0]


def test_csv_quotes_a_field_holding_a_line_break_and_neutralises_a_formula_after_one() -> None:
    values = ["Ann\r=2+5", "Bo\n=2+5", "Cy\r\n=2+5", "\r=2+5", "\n=2+5", "plain"]
    view = View([], [Section(pa.table({"v": values, "n": list(range(len(values)))}))])
    text = _render(view, Format.csv)[0]
    assert text.endswith("plain,5\n") and text.count("\r\n") == 1  # rows end in LF; CR LF only inside Cy's
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["v", "n"], ["Ann\r=2+5", "0"], ["Bo\n=2+5", "1"], ["Cy\r\n=2+5", "2"],
                    ["'\r=2+5", "3"], ["'\n=2+5", "4"], ["plain", "5"]]
