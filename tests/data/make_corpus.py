"""Regenerate the bad-input corpus: `python tests/data/make_corpus.py` (deterministic).

One small file per case of ../shared/reference/bad-inputs.md, named after it. The
expected outcome of each lives in tests/test_ingest_corpus.py.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
J, F = HERE / "jsonl", HERE / "files"


def audit(n: int, **over) -> dict:
    record = {"id": f"aud_{n:04d}", "occurred_at": f"2026-11-20T14:{n % 60:02d}:31.120Z",
              "action": "appointment.edited",
              "actor": {"id": "usr_0042", "email": "dana.ruiz@northside.example", "name": "Dana Ruiz", "role": "admin"},
              "entity": {"type": "appointment", "id": "APT-1042"},
              "changes": {"start_time": {"from": "2026-06-20T15:00:00Z", "to": "2026-06-21T16:30:00Z"}},
              "context": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "request_id": f"req_{n}"}}
    record.update(over)
    return record


def access(n: int, **over) -> dict:
    record = {"id": f"acc_{n:04d}", "occurred_at": f"2026-11-20T13:{n % 60:02d}:02Z", "event": "signin.failed",
              "outcome": "failure", "user": {"id": "usr_0042", "email": "dana.ruiz@northside.example"},
              "method": "password", "reason": "invalid_password", "ip": "198.51.100.23",
              "location": {"country": "US", "region": "NY", "city": "New York", "lat": 40.71, "lon": -74.01},
              "device": {"id": "dev_7c1", "user_agent": "Mozilla/5.0"}}
    record.update(over)
    return record


def line(record: dict) -> str:
    return json.dumps(record, separators=(",", ":"))


def good(n: int = 3, start: int = 1) -> list[str]:
    return [line(audit(i)) for i in range(start, start + n)]


def write(name: str, text: str | bytes, folder: Path = J) -> None:
    data = text.encode() if isinstance(text, str) else text
    (folder / name).write_bytes(data)


def lines(*items: str) -> str:
    return "\n".join(items) + "\n"


def gz(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as fh:
        fh.write(data)
    return buf.getvalue()


def records_and_lines() -> None:
    g = good(4)
    write("clean.jsonl", lines(*g))
    write("malformed_json_line_2.jsonl", lines(g[0], '{"id": "aud_9", "occurred_at": ', g[1], g[2]))
    write("truncated_last_line.jsonl", lines(*g[:3]) + g[3][:40])
    write("truncated_last_line_completed.jsonl", lines(*g[:4]))
    write("no_trailing_newline.jsonl", "\n".join(g))
    write("trailing_garbage.jsonl", lines(g[0], g[1] + "x", g[2]))
    write("not_an_object.jsonl", lines(g[0], "42", "[1, 2]", '"s"', "null", g[1]))
    write("duplicate_key.jsonl", lines(g[0], g[1].replace('"id":"aud_0002"', '"id":"aud_0002","id":"aud_0099"'), g[2]))
    write("duplicate_key_nested.jsonl", lines(g[0], g[1].replace('"role":"admin"', '"role":"admin","role":"owner"')))
    write("unknown_fields.jsonl", lines(line(audit(1, department="billing")),
                                        line(audit(2, actor={"id": "u", "email": "a@b.example", "team": "x"})), g[2]))
    write("missing_fields.jsonl", lines(*(line({k: v for k, v in audit(i).items() if k != drop})
                                          for i, drop in enumerate(["id", "occurred_at", "actor", "entity"], 1)),
                                        line({k: v for k, v in access(5).items() if k != "user"})))
    write("timestamp_offsets.jsonl", lines(line(audit(1, occurred_at="2026-11-20T14:05:31Z")),
                                           line(audit(2, occurred_at="2026-11-20T16:05:31+02:00")),
                                           line(audit(3, occurred_at="2026-11-20T09:05:31-0500"))))
    write("timestamp_zoneless.jsonl", lines(line(audit(1, occurred_at="2026-11-20T14:05:31")),
                                            line(audit(2, occurred_at="2026-07-01 08:00:00"))))
    write("timestamp_epoch.jsonl", lines(line(audit(1, occurred_at=1795615531)),
                                         line(audit(2, occurred_at=1795615531120)),
                                         line(audit(3, occurred_at=42)),
                                         line(audit(4, occurred_at=-5))))
    write("bad_timestamps.jsonl", lines(line(audit(1, occurred_at="2026-02-30T10:00:00Z")),
                                        line(audit(2, occurred_at="0000-01-01T00:00:00Z")),
                                        line(audit(3, occurred_at="99999-01-01T00:00:00Z")),
                                        line(audit(4, occurred_at="yesterday")),
                                        line(audit(5, occurred_at=True)), g[0]))
    named = line(audit(2, actor={"id": "u", "email": "d@x.example", "name": "REPL"})).encode()
    data = lines(g[0]).encode() + named.replace(b"REPL", b"D\xffna") + b"\n" + lines(g[2]).encode()
    write("invalid_utf8.jsonl", data)
    evil = audit(1, actor={"id": "u1", "email": "evil@x.example", "name": "[bold red]Admin[/] \x1b[2J\x07"},
                 changes={"note": {"from": "[link=file:///etc/passwd]x[/link]", "to": "\x9b31m"}})
    write("control_and_markup.jsonl", lines(line(evil)))
    write("bom_crlf.jsonl", b"\xef\xbb\xbf" + "\r\n".join(g).encode() + b"\r\n")
    write("blank_lines.jsonl", g[0] + "\n\n   \n\t\n" + g[1] + "\n\n")
    write("empty.jsonl", "")
    write("empty.jsonl.gz", gz(b""))
    write("deep_nesting.jsonl", lines(g[0], line(audit(2, changes={"x": {"from": None, "to": 1}})).replace(
        '"to":1', '"to":' + "[" * 100000 + "]" * 100000), g[2]))
    write("big_integer_ids.jsonl", lines(line(audit(1, id=18446744073709551617)),
                                         line(audit(2, id=9223372036854775808))))
    write("nan_infinity.jsonl", lines(g[0], g[1].replace('"from":"2026-06-20T15:00:00Z"', '"from":NaN'),
                                      g[2].replace('"from":"2026-06-20T15:00:00Z"', '"from":-Infinity'), g[3]))
    write("trailing_comma.jsonl", lines(g[0], g[1][:-1] + ",}", g[2]))
    optional = ("ip", "location", "device", "method", "reason")
    bare = {k: v for k, v in access(2).items() if k not in optional}
    write("mixed_kinds.jsonl", lines(line(audit(1)), line(access(1)), line(audit(2)), line(bare)))
    write("array.json", json.dumps([audit(1), access(1), audit(2)], indent=1))
    write("duplicates_within_file.jsonl", lines(g[0], g[1], g[0]))
    write("conflict_within_file.jsonl", lines(g[0], line(audit(1, action="appointment.canceled")), g[1]))
    write("overlap_a.jsonl", lines(*good(3, 1)))
    write("overlap_b.jsonl", lines(*good(3, 2)))
    write("conflicting_export.jsonl", lines(line(audit(2, action="appointment.canceled"))))


def files() -> None:
    g = lines(*good(3)).encode()
    write("single.jsonl.gz", gz(g), F)
    write("multi_member.jsonl.gz", gz(g[: len(g) // 2]) + gz(g[len(g) // 2:]), F)
    whole = gz(lines(*good(200)).encode())
    write("truncated.jsonl.gz", whole[: len(whole) // 2], F)
    flipped = bytearray(gz(g))
    flipped[-6] ^= 0x01  # inside the CRC32 trailer: data intact, checksum wrong
    write("crc_mismatch.jsonl.gz", bytes(flipped), F)
    write("gzip_named_plain.jsonl", gz(g), F)
    write("plain_named_gzip.jsonl.gz", g, F)
    write("empty.parquet", b"", F)
    write("json_named.parquet", g, F)


if __name__ == "__main__":
    records_and_lines()
    files()
    print("corpus written to", HERE)
