"""Finding input files and reading them in chunks (sniff.py tells their format from their bytes).

JSON Lines (plain or gzip) is streamed in bounded chunks of whole lines as Arrow
arrays; Python touches chunks, never single records. Python's gzip reader checks
each member's CRC and length, which DuckDB's does not.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import os
import queue
import re
import stat
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from fluentlog import schema
from fluentlog.errors import InputError

LOG_SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet", ".jsonl.gz", ".ndjson.gz", ".json.gz", ".yml", ".yaml")
CHUNK_BYTES = 160 << 20  # two row groups of ~650-byte lines: fewer, larger statements
BATCH_ROWS = 8192
BATCH_BYTES = 4 << 20
# DuckDB stores rows in groups of 122,880. A chunk of whole groups fills each one: a half-full
# group left by every chunk would be merged and rewritten by the next checkpoint (the freed
# blocks stayed in the file: 12% of it at 5M + 5M events).
ROW_GROUP_LINES = 122_880
MIN_SPLIT_ROWS = 256  # a chunk is cut into a batch per core, of at least this many rows
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
MAX_LINE_BYTES = 16 << 20  # a longer line is rejected as line_too_large
KEPT_OF_HUGE_LINE = 1 << 20  # bytes of a too-large line kept in the rejects table
BOM = b"\xef\xbb\xbf"


class FileFault(Exception):
    """This one file cannot be read; the others go on."""


@dataclass
class HugeLine:
    line_no: int
    byte_offset: int
    head: bytes
    length: int


@dataclass
class Chunk:
    table: pa.Table  # line_no int64, byte_offset int64, raw (string, or binary if not UTF-8)
    raw_is_text: bool
    huge: list[HugeLine] = field(default_factory=list)
    truncated_line: int | None = None  # the file's last line, when no newline ended it


def expand(paths: list[str], skipped: list[Path] | None = None) -> list[Path]:
    """Files, directories (recursive, known suffixes only) and globs, in a stable order.
    Files inside the directories that lack a known suffix are appended to `skipped`."""
    found: list[Path] = []
    for given in paths:
        # A name that exists is that file, even with [ ] * ? in it ("export [Nov].jsonl")
        literal = os.path.lexists(given) or not glob.has_magic(given)
        matches = [given] if literal else sorted(glob.glob(given, recursive=True))
        if not matches:
            raise InputError(f"no file matches {given!r}")
        for match in matches:
            found.extend(_expand_one(Path(match), skipped if skipped is not None else []))
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:  # every name given was fluentlog's own file
        raise InputError(f"{paths[0]}: fluentlog's own file beside a database (its access log or lock note), "
                         "not an export", hint="read the access log with: fluentlog access-log")
    return unique


def _expand_one(path: Path, skipped: list[Path]) -> list[Path]:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"{path}: no such file or directory") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        everything = sorted(p for p in path.rglob("*") if p.is_file())
        files = [p for p in everything if has_log_suffix(p) and not _in_spill_folder(p, path) and not _beside_a_db(p)]
        skipped.extend(p for p in everything if p not in files)
        if not files:
            raise InputError(f"{path}: directory holds no log files",
                             hint=f"fluentlog reads {', '.join(LOG_SUFFIXES)}")
        return files
    if not stat.S_ISREG(mode):
        raise InputError(f"{path}: not a regular file (a FIFO, socket or device)",
                         hint="copy the export to a regular file first")
    if _beside_a_db(path):  # named, or matched by a glob (`*.jsonl` beside the database)
        skipped.append(path)
        return []
    return [path]


def _in_spill_folder(path: Path, top: Path) -> bool:
    """Inside an ingest's spill folder (Store.scratch: DATABASE.sort.tmp), as a killed run leaves
    it: its Parquet files are fluentlog's own, not exports."""
    return any(part.endswith(schema.SPILL_FOLDER_SUFFIX) for part in path.relative_to(top).parts[:-1])


def _beside_a_db(path: Path) -> bool:
    """fluentlog's own access log or lock note, found in a folder that also holds the database."""
    return any(path.name.endswith(suffix) and path.with_name(path.name.removesuffix(suffix)).is_file()
               for suffix in (schema.ACCESS_LOG_SUFFIX, schema.LOCK_NOTE_SUFFIX))


def has_log_suffix(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(s) for s in LOG_SUFFIXES)


class HashingReader:
    """A file wrapper that hashes every byte read through it."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self.sha256.update(data)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer: memoryview) -> int:
        got = self._fh.readinto(buffer)
        self.sha256.update(buffer[:got])
        self.bytes_read += got
        return got

    def drain(self) -> None:
        while self.read(1 << 20):
            pass


def _content_size(path: Path, gzipped: bool) -> int | None:
    """The file's content size as a hint for reading it, or None. For gzip, the size its last
    member's trailer gives (modulo 4 GiB): a multi-member file has more, and is then read in
    full chunks once the hint is passed."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return None
        size = info.st_size
        if not gzipped:
            return size
        if size < 18:  # header and trailer
            return None
        with path.open("rb") as fh:
            fh.seek(size - 4)
            return int.from_bytes(fh.read(4), "little")
    except OSError:
        return None


def sha256_of(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


class JsonLinesReader:
    """Iterates a JSON Lines file (plain or gzip) as Arrow chunks of whole, numbered lines.

    Each chunk's lines point into the buffer they were read into (no copy per line);
    a line keeps its "\n", which JSON reads as whitespace. The last chunk names the
    file's last line when no newline ended it: it may be a record cut off mid-write.
    """

    def __init__(self, path: Path, gzipped: bool, reader: HashingReader,
                 progress: Callable[[int], None] | None = None) -> None:
        self._gzipped = gzipped
        self._reader = reader
        self._progress = progress
        self.carry = b""  # the start of a line whose end is not read yet
        self.offset = 0  # byte offset (in the decompressed content) of the next buffer's start
        self.last_line_no = 0
        self.huge: list[HugeLine] = []
        self.skipping: HugeLine | None = None
        self.ends_with_newline = True
        self.content_sha256 = hashlib.sha256() if gzipped else reader.sha256  # of what was decompressed
        self._expected = _content_size(path, gzipped)

    def _buffer_size(self, kept: int, read: int) -> int:
        """Room for the next read. A buffer is zeroed when made (~0.1 s for CHUNK_BYTES): one
        no larger than the rest of the file keeps a small file from paying for a full chunk."""
        room = max(CHUNK_BYTES - kept, CHUNK_BYTES // 4)
        if self._expected is not None and read <= self._expected:
            room = min(room, self._expected - read + 1)  # +1: the read that finds the end is small too
        return kept + room

    def __iter__(self) -> Iterator[Chunk]:
        reader = self._reader
        stream = gzip.GzipFile(fileobj=reader, mode="rb") if self._gzipped else reader
        read = 0  # bytes of content read so far
        try:
            while True:
                kept = len(self.carry)
                buf = bytearray(self._buffer_size(kept, read))
                buf[:kept] = self.carry
                got = stream.readinto(memoryview(buf)[kept:])
                read += got
                if self._gzipped:
                    self.content_sha256.update(memoryview(buf)[kept:kept + got])
                if self._progress is not None:
                    self._progress(reader.bytes_read)
                if not got:
                    break
                del buf[kept + got:]
                chunk = self._feed(buf)
                if chunk is not None:
                    yield chunk
            reader.drain()
        except (OSError, EOFError, zlib.error) as exc:
            raise FileFault(gzip_message(exc)) from None
        tail = self._finish()
        if tail is not None:
            yield tail

    def _feed(self, buf: bytearray) -> Chunk | None:
        start = 0
        if self.offset == 0 and buf.startswith(BOM):
            start = len(BOM)
        if self.skipping is not None:
            newline = buf.find(b"\n")
            if newline < 0:
                self.skipping.length += len(buf)
                self.offset += len(buf)
                self.carry = b""
                return None
            self.skipping.length += newline
            self.huge.append(self.skipping)
            self.skipping = None
            start = newline + 1
        last = buf.rfind(b"\n", start)
        if last < 0:
            self.carry = bytes(buf[start:])
            self.offset += start
            if len(self.carry) > MAX_LINE_BYTES:
                self._start_skip()
            return None
        chunk, end = self._chunk(buf, start, last + 1, whole_groups=True)
        self.carry = bytes(buf[end:])
        self.offset += end
        return chunk

    def _start_skip(self) -> None:
        self.last_line_no += 1
        self.skipping = HugeLine(self.last_line_no, self.offset, self.carry[:KEPT_OF_HUGE_LINE], len(self.carry))
        self.offset += len(self.carry)
        self.carry = b""

    def _finish(self) -> Chunk | None:
        if self.skipping is not None:
            self.huge.append(self.skipping)
            self.skipping = None
            self.ends_with_newline = False
        block, self.carry = self.carry, b""
        if block:
            # The carry holds whole lines after a cut at a row group, then maybe a partial one.
            self.ends_with_newline = block.endswith(b"\n")
            if self.offset == 0 and block.startswith(BOM):
                block, self.offset = block[len(BOM):], len(BOM)
        if not block and not self.huge:
            return None
        tail, _ = self._chunk(bytearray(block), 0, len(block))
        if not self.ends_with_newline:
            tail.truncated_line = self.last_line_no
        return tail

    def _chunk(self, buf: bytearray, start: int, end: int, whole_groups: bool = False) -> tuple[Chunk, int]:
        """Lines of buf[start:end] (which ends after a newline, or at the end of the file), and
        where they end: with whole_groups, a multiple of ROW_GROUP_LINES when there are more."""
        huge, self.huge = self.huge, []
        if start == end:
            return Chunk(_EMPTY, True, huge), end
        bounds = [start, *(m.end() for m in _NEWLINE.finditer(buf, start, end))]
        if bounds[-1] != end:
            bounds.append(end)  # the file's last line, without a newline
        n = len(bounds) - 1
        if whole_groups and n > ROW_GROUP_LINES:
            n -= n % ROW_GROUP_LINES
            del bounds[n + 1:]
            end = bounds[-1]
        offsets = pa.array(bounds, pa.int32())
        raw = pa.Array.from_buffers(pa.binary(), n, [None, offsets.buffers()[1], pa.py_buffer(buf)])
        line_no = pc.add(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), n)), self.last_line_no)
        byte_offset = pc.add(pc.cast(offsets.slice(0, n), pa.int64()), self.offset)
        self.last_line_no += n
        raw, huge_here, keep = _split_oversized(raw, line_no, byte_offset)
        huge.extend(huge_here)
        if keep is not None:
            line_no, byte_offset = pc.filter(line_no, keep), pc.filter(byte_offset, keep)
        try:
            column, is_text = raw.cast(pa.string()), True
        except pa.ArrowInvalid:  # some line is not UTF-8: the SQL finds which, from exact bytes
            column, is_text = _without_newlines(raw), False
        return batched(pa.table({"line_no": line_no, "byte_offset": byte_offset, "raw": column}), is_text, huge), end


def batched(table: pa.Table, is_text: bool = True, huge: list[HugeLine] | None = None) -> Chunk:
    """A Chunk of the table's lines, in record batches of at most BATCH_ROWS rows and about
    BATCH_BYTES. DuckDB scans an Arrow table one batch per thread (slices let every core
    work) and makes each batch into vectors of at most its rows: every string the judging
    computes for a vector (parses, replaces) is then bounded too. A vector of 2,048 lines
    of 1 MB each needed gigabytes. A small chunk (a daily file) is cut into a batch per core
    too: one batch of 3,300 audit lines was judged on one core in ~55 ms, two in ~28 ms."""
    rows = table.num_rows
    size = table.column("raw").nbytes if rows else 0
    per_batch = max(1, min(BATCH_ROWS, BATCH_BYTES * rows // size)) if size else BATCH_ROWS
    per_batch = min(per_batch, max(MIN_SPLIT_ROWS, -(-rows // _CORES)))
    return Chunk(pa.Table.from_batches(table.to_batches(max_chunksize=per_batch), table.schema), is_text,
                 huge if huge is not None else [])


_NEWLINE = re.compile(b"\n")
_EMPTY = pa.table({"line_no": pa.array([], pa.int64()), "byte_offset": pa.array([], pa.int64()),
                   "raw": pa.array([], pa.string())})


def _without_newlines(raw: pa.Array) -> pa.Array:
    """The lines' exact bytes without their "\n" (this rare path may copy)."""
    return pa.array([line.removesuffix(b"\n") for line in raw.to_pylist()], pa.binary())


def gzip_message(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, EOFError) or "end-of-stream" in text:
        return "truncated gzip file: compressed data ended early (an incomplete download or copy?)"
    if "CRC check failed" in text or "Incorrect length" in text:
        return f"gzip integrity check failed ({text}): the file is damaged"
    return f"cannot decompress gzip file: {text}"


def parquet_message(exc: BaseException) -> str:
    """What pyarrow's error reading a Parquet file says, on one line."""
    return f"damaged or unreadable Parquet file: {str(exc).splitlines()[0]}"


def _split_oversized(raw: pa.Array, line_no: pa.Array, offsets: pa.Array):
    lengths = pc.binary_length(raw)
    longest = pc.max(lengths).as_py()
    if longest is None or longest <= MAX_LINE_BYTES:
        return raw, [], None
    too_big = pc.greater(lengths, MAX_LINE_BYTES)
    huge = [HugeLine(line_no[i].as_py(), offsets[i].as_py(), raw[i].as_py()[:KEPT_OF_HUGE_LINE],
                     len(raw[i].as_py().removesuffix(b"\n")))
            for i in pc.indices_nonzero(too_big).to_pylist()]
    keep = pc.invert(too_big)
    return pc.filter(raw, keep), huge, keep


def prefetch(chunks: Iterator[Chunk], ahead: int = 2) -> Iterator[Chunk]:
    """Read the next chunk in a thread while DuckDB works on this one (both release the GIL).
    At most `ahead` chunks exist at once (one being loaded, one being read): each holds about
    CHUNK_BYTES, and more would only add to the peak memory."""
    ready: queue.Queue[tuple[str, object]] = queue.Queue()
    slots = threading.Semaphore(ahead)
    stop = threading.Event()

    def produce() -> None:
        try:
            iterator = iter(chunks)
            while True:
                while not slots.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                chunk = next(iterator, None)
                if chunk is None:
                    ready.put(("done", None))
                    return
                ready.put(("chunk", chunk))
        except BaseException as exc:  # handed to the consumer, raised there
            ready.put(("error", exc))

    worker = threading.Thread(target=produce, name="fluentlog-reader", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = ready.get()
            if kind == "done":
                return
            if kind == "error":
                raise item  # type: ignore[misc]
            yield item  # type: ignore[misc]
            del item
            slots.release()  # the consumer is back for the next one: the previous is done with
    finally:
        stop.set()
        worker.join()
