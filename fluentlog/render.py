"""The one renderer: a View written as a Rich table, JSON, JSON Lines or CSV.

Every format comes from the same View, so they all show the same values. Values
from logs are inert on a terminal: markup and control characters are escaped.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from datetime import date, datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

from fluentlog.view import View, jsonable, neutralise_formula

if TYPE_CHECKING:  # Rich is imported when a table is drawn: data written as text needs none (~15 ms)
    from rich.console import Console
    from rich.text import Text


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


# C0 and C1 controls, and the bidirectional controls that make text display in another order
# than it is stored ("Trojan Source": U+202E shows "admin\u202egpj.exe" as "adminexe.jpg").
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
SHORT_CELL = 10  # text columns keep at least this width (or their widest cell)
# A table cell shows at most this many characters: a 1 MB change value would otherwise fold
# over thousands of lines. JSON, JSON Lines and CSV always carry the whole value.
LONG_CELL = 2_000


def default_format(stream: TextIO | None = None) -> Format:
    stream = stream or sys.stdout
    return Format.table if stream is not None and stream.isatty() else Format.jsonl  # None: closed


def pretty_json(value: object) -> str:
    """json.dumps(jsonable(value), indent=2) text. orjson writes the same ~10x faster (the
    standard encoder falls back to pure Python when indenting), and walks the containers
    itself: only times come back to Python, to be written as jsonable writes them."""
    import orjson
    try:
        return orjson.dumps(value, default=_time_text, option=orjson.OPT_INDENT_2
                            | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS).decode()
    except (orjson.JSONEncodeError, TypeError):  # e.g. an integer beyond 64 bits
        return json.dumps(jsonable(value), indent=2, ensure_ascii=False)


def _time_text(value: object) -> object:
    if isinstance(value, (date, time)):  # datetime is a date too
        return jsonable(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def render(view: View, fmt: Format, out: Console, err: Console, tz: str = "UTC") -> None:
    if view.warnings:
        from rich.text import Text
    for warning in view.warnings:
        err.print(Text(f"fluentlog: {warning}"))
    if fmt is Format.json:
        out.file.write(pretty_json(view.document) + "\n")
    elif fmt is Format.jsonl:
        items = view.document if isinstance(view.document, list) else [view.document]
        out.file.write("".join(json.dumps(jsonable(i), ensure_ascii=False) + "\n" for i in items))
    elif fmt is Format.csv:
        _write_csv(view.built(), out.file)
    else:
        _write_tables(view.built(), out, ZoneInfo(tz))
        from rich.text import Text
        for note in view.notes:
            err.print(Text(note, style="dim"))
    out.file.flush()


def inert(value: str) -> str:
    """Control characters shown as escapes, so a log value cannot drive the terminal; a value
    longer than LONG_CELL cut there, saying how much was left out and where to see it."""
    if len(value) > LONG_CELL:
        value = (f"{value[:LONG_CELL]} ... [{len(value) - LONG_CELL:,} more characters; "
                 f"--format json shows the whole value]")
    return _CONTROL.sub(_escaped, value)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def cell(value: Any, zone: ZoneInfo) -> Text:
    from rich.text import Text
    if value is None:
        return Text("—", style="dim")
    if isinstance(value, datetime):
        return Text(value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z"))
    if isinstance(value, float):
        return Text(f"{value:g}")
    if isinstance(value, int):
        return Text(f"{value:,}")
    if isinstance(value, (dict, list)):
        return Text(inert(json.dumps(value, ensure_ascii=False)))
    return Text(inert(str(value)))  # a Text is never parsed for markup


def _write_tables(view: View, out: Console, zone: ZoneInfo) -> None:
    from rich import box
    from rich.table import Table
    for section in view.sections:
        if section.table.num_rows == 0:
            continue  # an empty table says less than the note that explains it
        table = Table(title=section.title, caption=section.caption, title_justify="left",
                      caption_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        columns = [[cell(v, zone) for v in section.table.column(i).to_pylist()]
                   for i in range(section.table.num_columns)]
        for field, cells in zip(section.table.schema, columns, strict=True):
            kind = str(field.type)
            is_num = kind.startswith(("int", "uint", "double", "float"))
            # Numbers and times never wrap (a wrapped number misleads); text folds instead.
            compact = is_num or kind.startswith("timestamp")
            widest = max((c.cell_len for c in cells), default=0)
            header = field.name.replace("_", " ")
            table.add_column(header, justify="right" if is_num else "left", no_wrap=compact, overflow="fold",
                             min_width=max(widest, len(header)) if compact else min(widest, SHORT_CELL))
        styles = section.row_styles or [None] * section.table.num_rows
        for row, style in zip(zip(*columns, strict=True), styles, strict=True):
            table.add_row(*row, style=style)
        out.print(table)


def _csv_value(value: Any) -> Any:
    value = jsonable(value)
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    return neutralise_formula(value)


def _write_csv(view: View, stream: TextIO) -> None:
    if view.csv is None and not view.sections:
        return
    table = view.csv if view.csv is not None else view.sections[0].table
    writer = csv.writer(_LineFeeds(stream))
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        writer.writerow([_csv_value(v) for v in row.values()])


class _LineFeeds:
    """Rows end in LF, yet a field holding a bare CR is quoted like one holding LF. The csv module
    quotes only the characters of its line terminator, and a spreadsheet reads an unquoted CR as
    the start of a new row, whose first cell may then be a formula. So the writer keeps its
    default CR LF, which it writes once at the end of each row, and here that becomes LF."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, row: str) -> int:
        return self._stream.write(row[:-2] + "\n" if row.endswith("\r\n") else row)
