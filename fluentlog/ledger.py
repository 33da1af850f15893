"""The evidence ledger: a hash chain of what each ingest (and each purge) stored.

Each entry's body records a file's SHA-256 (and, for gzip, of its content), its counts,
and a digest of every event stored from it; its hash covers the previous entry's hash,
so editing, removing or inserting an entry breaks the chain. `verify` recomputes the
digests from the stored events and walks the chain. An anchor file outside the database
keeps the heads, so the database cannot be rewritten together with its own proof.

The event digest is, per file and stream, the count and the XOR of the MD5 of each
event's canonical text (length-prefixed columns): order-free, stable across DuckDB versions,
and cheap enough to run inside the ingest transaction. It detects any edited, deleted or added event; it
is not built to resist someone forging a collision on purpose — the anchored chain is.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fluentlog import entity_index, schema
from fluentlog.errors import StoreError
from fluentlog.store import Store

GENESIS = "0" * 64
EMPTY = "0:" + "0" * 32  # the digest of no events


def _canonical(stream: str) -> str:
    """An event as text no two different events share: each column as its byte length, ':' and
    its text (NULL as 'n:'). 36% cheaper than to_json, and as unambiguous."""
    parts = (f"coalesce(strlen({c}::VARCHAR)::VARCHAR, 'n'), ':', coalesce({c}::VARCHAR, '')"
             for c in schema.content_columns(stream))
    return "concat(" + ", ".join(parts) + ")"


def _digest_sql(stream: str, where: str) -> str:
    return f"""
SELECT file_id, count(*), bit_xor(md5_number({_canonical(stream)}))
FROM {schema.STREAM_TABLES[stream]} WHERE {where}
GROUP BY file_id
"""


DIGEST_OF_FILE = {s: _digest_sql(s, "file_id = $file_id") for s in schema.STREAMS}
DIGEST_OF_FILES = {s: _digest_sql(s, "list_contains($file_ids, file_id)") for s in schema.STREAMS}
DIGEST_ALL = {s: _digest_sql(s, "true") for s in schema.STREAMS}
FILES_BEFORE = {s: f"SELECT DISTINCT file_id FROM {t} WHERE occurred_at < $cutoff"
                for s, t in schema.STREAM_TABLES.items()}
HEAD = "SELECT seq, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1"
ENTRIES = "SELECT seq, body, prev_hash, entry_hash FROM ledger ORDER BY seq"
INSERT = "INSERT INTO ledger VALUES ($seq, $kind, $at, $body, $prev, $hash)"
FILE_PATHS = "SELECT file_id, path FROM files"
IDS_OF_FILE = {s: f"SELECT event_id FROM {t} WHERE file_id IS NOT DISTINCT FROM $file_id "
                  "ORDER BY event_id LIMIT 10"
               for s, t in schema.STREAM_TABLES.items()}


def _digest(count: int, xor: int | None) -> str:
    return f"{count}:{xor or 0:032x}"


def digests(store: Store, sql: dict[str, str], params: dict[str, Any]) -> dict[int, dict[str, str]]:
    """{file_id: {stream: digest}} for the files the SQL selects."""
    found: dict[int, dict[str, str]] = {}
    for stream in schema.STREAMS:
        for file_id, count, xor in store.rows(sql[stream], params):
            found.setdefault(file_id, {})[stream] = _digest(count, xor)
    return found


def file_digest(store: Store, file_id: int) -> dict[str, str]:
    got = digests(store, DIGEST_OF_FILE, {"file_id": file_id}).get(file_id, {})
    return {s: got.get(s, EMPTY) for s in schema.STREAMS}


def append(store: Store, kind: str, body: dict[str, Any]) -> str:
    """Add an entry after the current head (inside the caller's transaction); the new head."""
    head = store.rows(HEAD)
    if head and not (type(head[0][0]) is int and isinstance(head[0][1], str)):
        raise StoreError("the ledger was altered behind fluentlog's back (its last entry has no number or hash "
                         "fluentlog could have written): nothing more can be chained to it",
                         hint="see what diverged with `fluentlog verify`")
    seq, prev = (head[0][0] + 1, head[0][1]) if head else (1, GENESIS)
    at = datetime.now(UTC)
    text = json.dumps({"seq": seq, "kind": kind, "at": at.isoformat(), **body}, sort_keys=True,
                      separators=(",", ":"), default=str)
    entry_hash = hashlib.sha256(f"{prev}\n{text}".encode()).hexdigest()
    store.execute(INSERT, {"seq": seq, "kind": kind, "at": at, "body": text, "prev": prev, "hash": entry_hash})
    return entry_hash


def head(store: Store) -> str:
    """The last entry's hash, as text whatever was written there (verify says what is wrong)."""
    rows = store.rows(HEAD)
    return (rows[0][1] if isinstance(rows[0][1], str) else repr(rows[0][1])) if rows else GENESIS


def anchor(path: Path | None, entry_hash: str) -> None:
    """Append the head to the anchor file, outside the database (after the commit: a failure
    leaves the stored data as it is and says what to append by hand); None: no anchor file."""
    if path is None:
        return
    line = f"{datetime.now(UTC).isoformat(timespec='seconds')} {entry_hash}\n"
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line)
    except OSError as exc:
        raise StoreError(f"the data is stored, but the ledger head could not be appended to the anchor file "
                         f"{path}: {exc.strerror or exc}",
                         hint=f"fix `anchor_file` in the config, then append this line to it: {line.strip()}") from None


@dataclass
class Verdict:
    head: str = GENESIS
    entries: int = 0
    files: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(store: Store, anchor_file: Path | None = None) -> Verdict:
    verdict = Verdict()
    expected: dict[int, dict[str, str]] = {}
    prev: object = GENESIS
    chain: list[str] = []
    unread = False  # an entry whose body could not be read: its files are vouched for by none
    for seq, text, prev_hash, entry_hash in store.rows(ENTRIES):
        verdict.entries += 1
        entry = _shown(seq)
        if prev_hash != prev:
            verdict.problems.append({"entry": entry, "problem": "the chain is broken: the entry does not follow "
                                     "the one before it (an entry removed, inserted or reordered)"})
        altered = not all(isinstance(v, str) for v in (text, prev_hash, entry_hash)) or \
            hashlib.sha256(f"{prev_hash}\n{text}".encode()).hexdigest() != entry_hash
        if altered:
            verdict.problems.append({"entry": entry, "problem": "the entry was altered: its hash does not match"})
        body, trouble = _body_of(text)
        files, trouble = _files_of(body) if body is not None else ({}, trouble)
        if trouble is not None:
            unread = True
            if not altered:  # rewritten with a matching hash: still not an entry fluentlog wrote
                verdict.problems.append({"entry": entry, "problem": f"the entry was altered: {trouble}"})
        elif not altered and not (type(seq) is int and body.get("seq") == seq):  # renumbered
            verdict.problems.append({"entry": entry, "problem": "the entry was altered: its number is not the one "
                                     f"its body records ({_shown(body.get('seq'))})"})
        expected.update(files)
        prev = entry_hash
        if isinstance(entry_hash, str):
            chain.append(entry_hash)
    verdict.head = _shown(prev)
    _compare(store, expected, verdict, unread)
    _check_index(store, verdict)
    if anchor_file is not None:
        _check_anchor(anchor_file, chain, verdict)
    return verdict


def _shown(value: object) -> Any:
    """A ledger column as the report shows it: whatever was written there (types changed behind
    fluentlog's back included) becomes JSON-safe text; NULL stays None."""
    return value if value is None or isinstance(value, str) or type(value) is int else repr(value)


_FILE_ID = re.compile(r"[0-9]{1,10}")  # as fluentlog writes it: str(file_id) of an INTEGER
_DIGEST = re.compile(r"[0-9]{1,18}:-?[0-9a-f]{1,32}")  # _digest(): count, then the XOR in hex


def _body_of(text: object) -> tuple[dict[str, Any] | None, str | None]:
    """An entry's body, or what is wrong with it. The body is whatever the ledger table holds,
    so any text, JSON or NULL is expected here."""
    if not isinstance(text, str):
        return None, f"its body is {'NULL' if text is None else 'not text'}"
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        return None, "its body is not JSON"
    return (body, None) if isinstance(body, dict) else (None, "its body is not a JSON object")


def _files_of(body: dict[str, Any]) -> tuple[dict[int, dict[str, str]], str | None]:
    """The digests an entry body records per file, and what is wrong with them (None: nothing)."""
    files = body.get("files")
    if files is None:  # an index rebuild records no files
        return {}, None
    if not isinstance(files, dict):
        return {}, "its `files` is not a JSON object"
    found: dict[int, dict[str, str]] = {}
    for file_id, streams in files.items():
        if not _FILE_ID.fullmatch(file_id) or not isinstance(streams, dict) or not all(
                isinstance(d, str) and _DIGEST.fullmatch(d) for s, d in streams.items() if s in schema.STREAMS):
            return {}, f"its record of file {file_id[:40]!r} is not a file id and event digests"
        found[int(file_id)] = streams
    return found, None


def _compare(store: Store, expected: dict[int, dict[str, str]], verdict: Verdict, unread: bool) -> None:
    """Each file's events against the digests the ledger holds for it."""
    paths = dict(store.rows(FILE_PATHS))
    actual = digests(store, DIGEST_ALL, {})
    verdict.files = len(expected)
    # A NULL file_id (an event written behind fluentlog's back) sorts first.
    for file_id in sorted(set(expected) | set(actual), key=lambda f: (f is not None, f or 0)):
        if file_id not in expected:
            ids = [_shown(i) for s in schema.STREAMS for (i,) in store.rows(IDS_OF_FILE[s], {"file_id": file_id})]
            whose = ("no file (added behind fluentlog's back)" if file_id is None
                     else "a file the ledger does not know (added behind fluentlog's back)" if not unread
                     else "a file no readable ledger entry vouches for (its entry was altered, or they were "
                          "added behind fluentlog's back)")
            verdict.problems.append({"file_id": file_id, "path": _shown(paths.get(file_id)), "event_ids": ids,
                                     "problem": f"events stored for {whose}: "
                                                + ", ".join("(no id)" if i is None else i for i in ids)})
            continue
        for stream in schema.STREAMS:
            want = expected[file_id].get(stream, EMPTY)
            have = actual.get(file_id, {}).get(stream, EMPTY)
            if want != have:
                want_n, have_n = int(want.split(":")[0]), int(have.split(":")[0])
                what = ("events altered" if want_n == have_n else f"{want_n - have_n} event(s) deleted"
                        if have_n < want_n else f"{have_n - want_n} event(s) added")
                verdict.problems.append({"file_id": file_id, "path": _shown(paths.get(file_id)), "stream": stream,
                                         "problem": f"{what}: the ledger holds {want_n} {stream} event(s) with "
                                                    f"another digest, the store {have_n}"})


def _check_index(store: Store, verdict: Verdict) -> None:
    """The entity index is derived from the events; entries removed from it would hide events
    from who-changed without touching them, so it must match what the events give."""
    found = entity_index.difference(store)
    if found is None or found == (0, 0):
        return
    missing, extra = found
    verdict.problems.append({"problem": f"the entity index was altered behind fluentlog's back ({missing} entries "
                                        f"missing, {extra} given by no event): who-changed may miss events until it "
                                        "is rebuilt from the events with `fluentlog verify --rebuild-index` (the "
                                        "events themselves are checked on their own)"})


def rebuild_index(store: Store) -> tuple[int, int] | None:
    """Rebuild the entity index from the stored events, as a ledger entry of its own; what the
    old index lacked and held beyond the events (None: there was no usable index, and opening
    the store for writing built it already)."""
    with store.transaction():
        before = None if store.index_was_unusable else entity_index.difference(store)
        entity_index.rebuild(store)
        append(store, "index-rebuilt", {"before": None if before is None else
                                        {"missing": before[0], "extra": before[1]}})
    return before


def _check_anchor(path: Path, chain: list[str], verdict: Verdict) -> None:
    try:
        lines = [line.split()[-1] for line in path.read_text().splitlines() if line.strip()]
    except OSError as exc:
        verdict.problems.append({"problem": f"cannot read the anchor file {path}: {exc.strerror}"})
        return
    except ValueError:  # not UTF-8: not a file fluentlog wrote
        verdict.problems.append({"problem": f"the anchor file {path} is not text: it holds no ledger heads "
                                            "fluentlog wrote"})
        return
    if not lines:  # truncating the file must not pass for "every anchored head is in the ledger"
        verdict.problems.append({"problem": f"the anchor file {path} holds no ledger head (it is empty): the "
                                            "heads anchored there were removed, or none was ever written to it"})
    known = set(chain)
    for anchored in lines:
        if anchored not in known:
            verdict.problems.append({"problem": f"the anchored head {anchored[:16]}... from {path} is not in the "
                                                "ledger: the ledger was rewritten"})


def view(verdict: Verdict, rebuilt: tuple[int, int] | None | bool = False):  # -> View
    """`rebuilt`: what rebuild_index returned, when verify ran with --rebuild-index."""
    import pyarrow as pa

    from fluentlog.view import Section, View
    doc = {"ok": verdict.ok, "head": verdict.head, "entries": verdict.entries, "files": verdict.files,
           "problems": verdict.problems}
    sections, notes = [], []
    if rebuilt is not False:
        doc["index_rebuilt"] = None if rebuilt is None else {"missing": rebuilt[0], "extra": rebuilt[1]}
        notes.append("The entity index was rebuilt from the stored events (a ledger entry records it); "
                     + ("there was no usable index before." if rebuilt is None else
                        f"the old one lacked {rebuilt[0]} entries and held {rebuilt[1]} no event gives."))
    if verdict.problems:
        sections.append(Section(pa.table({
            "file": [str(p.get("path") or (f"entry {p['entry']}" if "entry" in p else "")) for p in verdict.problems],
            "stream": pa.array([p.get("stream") for p in verdict.problems], pa.string()),
            "problem": [p["problem"] for p in verdict.problems]}), title="The store does not match its ledger",
            row_styles=["bold red"] * len(verdict.problems)))
    else:
        notes.append(f"Verified: {verdict.files} file(s) and {verdict.entries} ledger entries match. "
                     f"Head {verdict.head}")
    return View(doc, sections, notes)
