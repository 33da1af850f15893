"""Every speed and size target of issue 7, measured in one run, printed as one table.

    python benchmarks/generate.py 1000000 && python benchmarks/generate.py 5000000   # once
    python benchmarks/run.py 5000000 --small 1000000

Compares, in the same run and on the same files: fluentlog ingest against a raw DuckDB
`CREATE TABLE AS SELECT * FROM read_json(..., columns={explicit})` (fresh database, then an
append of the small files to the large store), the investigations at both sizes against jq
and grep -F on the same JSON Lines, start-up (--help, --version, and Python + import duckdb +
connect), bytes per event and peak memory. Every figure is a fresh child process; times are
medians of --repeat runs (ingest: --ingest-repeat). Nothing here is a test assertion.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from ingest import ACCESS_COLUMNS, AUDIT_COLUMNS, CONFIG  # noqa: E402

# fluentlog runs from the source tree, with its bytecode cached as an installed package's is
# (pip compiles it at install): with PYTHONDONTWRITEBYTECODE set, every run would compile
# fluentlog's modules again (~15-30 ms), which no user pays. The cache lives outside the tree.
PYCACHE = Path(tempfile.gettempdir()) / "fluentlog-bench-pycache"
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
       "PYTHONPATH": str(ROOT), "FLUENTLOG_CONFIG": str(CONFIG), "PYTHONPYCACHEPREFIX": str(PYCACHE)}
FL = [sys.executable, "-m", "fluentlog"]
RAW = """
import duckdb, sys
con = duckdb.connect(sys.argv[1])
con.execute("SET TimeZone = 'UTC'")
verb = sys.argv[6]
for table, path, columns in (("audit", sys.argv[2], sys.argv[4]), ("access", sys.argv[3], sys.argv[5])):
    source = f"read_json('{path}', format = 'newline_delimited', records = 'true', columns = {columns})"
    if verb == "create":
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM {source}")
    else:
        con.execute(f"INSERT INTO {table} SELECT * FROM {source}")
con.close()
"""
TO_PARQUET = """
import duckdb, sys
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute(f"COPY (SELECT * REPLACE (strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS occurred_at) "
            f"FROM read_json('{sys.argv[1]}', format = 'newline_delimited', records = 'true', "
            f"columns = {sys.argv[3]})) "
            f"TO '{sys.argv[2]}' (FORMAT parquet, COMPRESSION zstd)")
"""
RAW_PARQUET = """
import duckdb, sys
con = duckdb.connect(sys.argv[1])
con.execute("SET TimeZone = 'UTC'")
for table, path in (("audit", sys.argv[2]), ("access", sys.argv[3])):
    con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{path}')")
con.close()
"""
CONNECT = "import duckdb, sys; duckdb.connect(sys.argv[1], read_only=True).execute('SELECT 1').fetchall()"


def run(argv: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB, stdout of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"failed ({code}): {' '.join(argv)}\n{proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024, out.decode()


def median(argv: list[str], repeat: int) -> tuple[float, float, str]:
    results = [run(argv) for _ in range(repeat)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results), results[-1][2]


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, name: str, value: str, target: str = "", ok: bool | None = None) -> None:
        self.rows.append((name, value, target, "" if ok is None else ("pass" if ok else "FAIL")))
        print(f"  {name:58} {value:>22}  {target:>14}  {self.rows[-1][3]}", flush=True)


def files(data: Path, n: int) -> tuple[Path, Path]:
    audit, access = data / f"audit_{n}.jsonl", data / f"access_{n}.jsonl"
    if not audit.exists():
        raise SystemExit(f"{audit} is missing: run python benchmarks/generate.py {n}")
    if n // 500 > 2000 and not _has_user_beyond(access, 2000):
        raise SystemExit(f"{access} predates the population that grows with N (users 0-1999 only): "
                         f"delete audit_{n}.jsonl and access_{n}.jsonl (and their .parquet) and "
                         f"run python benchmarks/generate.py {n}")
    return audit, access


def _has_user_beyond(path: Path, users: int, lines: int = 20_000) -> bool:
    with path.open() as fh:
        for line in itertools.islice(fh, lines):
            match = re.search(r'"email": "user(\d+)@', line)
            if match and int(match.group(1)) >= users:
                return True
    return False


def later_export(path: Path) -> Path:
    """The small file with fresh event ids, as the next day's export would have: an append
    of new events (the generator is deterministic, so the small files' ids are also in the
    large ones, and appending them as they are would only measure duplicate handling)."""
    target = path.with_name("next_" + path.name)
    if not target.exists():
        with path.open("rb") as src, target.open("wb") as out:
            for line in src:
                out.write(line.replace(b'"id": "', b'"id": "next-', 1))
    return target


def ingest_section(t: Table, big: tuple[Path, Path], small: tuple[Path, Path], tmp: Path, repeat: int) -> Path:
    raw_runs, our_runs = [], []
    store = tmp / "ours.duckdb"
    for i in range(repeat):
        raw_db, our_db = tmp / f"raw{i}.duckdb", tmp / f"ours{i}.duckdb"
        raw_runs.append(run([sys.executable, "-c", RAW, str(raw_db), str(big[0]), str(big[1]),
                             AUDIT_COLUMNS, ACCESS_COLUMNS, "create"]))
        our_runs.append(run([*FL, "ingest", str(big[0]), str(big[1]), "--db", str(our_db), "--format", "json"]))
        raw_size, our_size = raw_db.stat().st_size, our_db.stat().st_size
        if i == repeat - 1:
            raw_db.rename(tmp / "raw.duckdb")
            our_db.rename(store)
        else:
            raw_db.unlink()
            our_db.unlink()
    events = json.loads(our_runs[-1][2])["totals"]["inserted"]
    raw_t, our_t = statistics.median(r[0] for r in raw_runs), statistics.median(r[0] for r in our_runs)
    peak = max(r[1] for r in our_runs)
    t.add("raw DuckDB read_json CTAS (explicit columns)", f"{raw_t:.1f} s {events / raw_t / 1e3:.0f}k ev/s")
    t.add("fluentlog ingest", f"{our_t:.1f} s {events / our_t / 1e3:.0f}k ev/s")
    t.add("  throughput vs raw", f"{raw_t / our_t:.2f}x", ">= 0.80x", raw_t / our_t >= 0.8)
    t.add("  peak RSS", f"{peak:.0f} MiB", "<= 1536 MiB", peak <= 1536)
    t.add("  .duckdb bytes per event (raw)", f"{our_size / events:.1f} ({raw_size / events:.1f})", "<= 60",
          our_size / events <= 60)
    later = [later_export(p) for p in small]
    raw_app = run([sys.executable, "-c", RAW, str(tmp / "raw.duckdb"), str(later[0]), str(later[1]),
                   AUDIT_COLUMNS, ACCESS_COLUMNS, "insert"])[0]
    appended = tmp / "appended.duckdb"
    shutil.copy(store, appended)
    our_app = run([*FL, "ingest", str(later[0]), str(later[1]), "--db", str(appended), "--format", "json"])[0]
    dup_app, _, dup_out = run([*FL, "ingest", str(small[0]), str(small[1]), "--db", str(appended), "--format", "json"])
    dup_totals = json.loads(dup_out)["totals"]
    appended.unlink()
    t.add("append a later export (new ids): raw INSERT / fluentlog", f"{raw_app:.1f} s / {our_app:.1f} s")
    t.add("  append ratio fluentlog / raw", f"{our_app / raw_app:.2f}x", "<= 1.40x", our_app / raw_app <= 1.4)
    t.add(f"re-ingest of stored ids: {dup_totals['duplicates']:,} duplicates, {dup_totals['conflicts']:,} conflicts",
          f"{dup_app:.1f} s")
    return store


def parquet_section(t: Table, big: tuple[Path, Path], tmp: Path) -> None:
    """The same events from Parquet (made once from the JSONL, kept beside it)."""
    parquet = []
    for path, columns in zip(big, (AUDIT_COLUMNS, ACCESS_COLUMNS), strict=True):
        target = path.with_suffix(".parquet")
        if not target.exists():
            run([sys.executable, "-c", TO_PARQUET, str(path), str(target), columns])
        parquet.append(target)
    raw_t = run([sys.executable, "-c", RAW_PARQUET, str(tmp / "rawpq.duckdb"), str(parquet[0]), str(parquet[1])])[0]
    our_t, peak, out = run([*FL, "ingest", *map(str, parquet), "--db", str(tmp / "pq.duckdb"), "--format", "json"])
    events = json.loads(out)["totals"]["inserted"]
    t.add("raw DuckDB read_parquet CTAS", f"{raw_t:.1f} s {events / raw_t / 1e3:.0f}k ev/s")
    t.add("fluentlog ingest of the Parquet files", f"{our_t:.1f} s {events / our_t / 1e3:.0f}k ev/s")
    t.add("  Parquet throughput vs raw", f"{raw_t / our_t:.2f}x", ">= 0.80x", raw_t / our_t >= 0.8)
    t.add("  Parquet peak RSS", f"{peak:.0f} MiB", "<= 1536 MiB", peak <= 1536)
    (tmp / "rawpq.duckdb").unlink()
    (tmp / "pq.duckdb").unlink()


def daily_files(small: tuple[Path, Path]) -> Path:
    """The small files cut into one file per stream and day, as a year of daily exports is
    (made once, kept beside the data)."""
    folder = small[0].parent / f"daily_{small[0].stem.split('_')[-1]}"
    if not folder.exists():
        work = folder.with_name(folder.name + ".partial")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        for path in small:
            kind, out = path.stem.split("_")[0], {}
            with path.open("rb") as src:
                for line in src:
                    day = line[line.index(b'"occurred_at": "') + 16:][:10].decode()
                    if day not in out:
                        out[day] = (work / f"{kind}-{day}.jsonl").open("wb")
                    out[day].write(line)
            for fh in out.values():
                fh.close()
        work.rename(folder)
    return folder


def daily_section(t: Table, small: tuple[Path, Path], whole: float, tmp: Path) -> None:
    """Many small files (no target in issue 7): each file is a transaction of its own."""
    import duckdb
    folder = daily_files(small)
    store = tmp / "daily.duckdb"
    took, peak, out = run([*FL, "ingest", str(folder), "--db", str(store), "--format", "json"])
    events = json.loads(out)["totals"]["inserted"]
    with duckdb.connect(str(store), read_only=True) as con:
        _, _, block, total, used, free, *_ = con.execute("PRAGMA database_size").fetchone()
    t.add(f"the small set as {len(list(folder.iterdir()))} daily files / as two files",
          f"{took:.1f} s / {whole:.1f} s = {took / whole:.1f}x")
    t.add("  daily files: peak RSS, bytes per event (free blocks)",
          f"{peak:.0f} MiB, {store.stat().st_size / events:.1f} ({free} of {total})")
    store.unlink()


def query_targets(store: Path) -> tuple[dict[str, list[str]], str]:
    import duckdb
    with duckdb.connect(str(store), read_only=True) as con:
        entity = con.execute("SELECT entity_id FROM audit_events WHERE entity_type = 'appointment' "
                             "ORDER BY event_id LIMIT 1 OFFSET 1000").fetchone()[0]
        email = con.execute("SELECT user_email FROM access_events ORDER BY event_id LIMIT 1 OFFSET 1000").fetchone()[0]
        since = con.execute("SELECT (max(occurred_at) - INTERVAL 30 DAY)::DATE FROM audit_events").fetchone()[0]
    return {"who-changed": ["who-changed", f"appointment:{entity}"], "signins --email": ["signins", "--email", email],
            "timeline --email": ["timeline", "--email", email],
            "offboarding --all, last 30 days of data": ["offboarding", "--all", "--since", since.isoformat()]}, entity


def query_section(t: Table, stores: dict[str, Path], audit: Path, repeat: int, skip_jq: bool) -> float:
    targets, entity = query_targets(stores["big"])
    # An appointment and a person of the small store (the larger one has them too), so both
    # stores answer the same question; offboarding keeps the large store's last 30 days.
    small_targets, entity = query_targets(stores["small"])
    for name in ("who-changed", "signins --email", "timeline --email"):
        targets[name] = small_targets[name]
    big_times = {}
    for name, argv in targets.items():
        runs = {size: median([*FL, *argv, "--db", str(store), "--format", "json"], repeat)
                for size, store in stores.items()}
        times = {size: r[0] for size, r in runs.items()}
        sizes = {size: _items(r[2]) for size, r in runs.items()}
        big_times[name] = times["big"]
        limit = 2.0 if name.startswith("offboarding") else 0.40
        t.add(f"{name} (large store, {sizes['big']} items)", f"{times['big']:.3f} s", f"<= {limit:.2f} s",
              times["big"] <= limit)
        if "small" in times and not name.startswith("offboarding"):
            big_t, big_n = times["big"], sizes["big"]
            if name != "who-changed" and sizes["big"] > sizes["small"] > 0:
                # Should the person have more events in the larger store (the generator gives
                # each ~500 per stream at any size), compare answers of equal size by asking
                # the large store only for that person's most recent events.
                since = _since_for(stores["big"], argv[-1], sizes["small"], with_audit=name.startswith("timeline"))
                big_t, _, out = median([*FL, *argv, "--since", since, "--db", str(stores["big"]),
                                        "--format", "json"], repeat)
                big_n = _items(out)
            growth = big_t / times["small"] - 1
            t.add(f"  same query, {sizes['small']} items small store / {big_n} large",
                  f"{times['small']:.3f} -> {big_t:.3f} s ({growth:+.0%})", "<= +15%", growth <= 0.15)
    grep_t = median(["grep", "-F", f'"id": "{entity}"', str(audit)], 1)[0]
    who = big_times["who-changed"]
    t.add(f"grep -F on {audit.name}", f"{grep_t:.2f} s")
    t.add("  who-changed vs grep -F", f"{grep_t / who:.1f}x faster", ">= 2x", grep_t / who >= 2)
    if not skip_jq and shutil.which("jq"):
        jq_t = median(["jq", "-c", f'select(.entity.type == "appointment" and .entity.id == "{entity}")',
                       str(audit)], 1)[0]
        t.add(f"jq on {audit.name}", f"{jq_t:.1f} s")
        t.add("  who-changed vs jq", f"{jq_t / who:.0f}x faster", ">= 100x", jq_t / who >= 100)
    return who


def _since_for(store: Path, email: str, n: int, with_audit: bool) -> str:
    """The time from which the person's newest n events run (sign-ins; with their audit
    events too for a timeline), for an answer of n events."""
    import duckdb
    events = "SELECT occurred_at FROM access_events WHERE user_email = $e"
    if with_audit:
        events += (" UNION ALL SELECT occurred_at FROM audit_events WHERE actor_email = $e"
                   " OR (entity_type = 'user' AND entity_email = $e)")
    with duckdb.connect(str(store), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        when = con.execute(f"SELECT occurred_at FROM ({events}) ORDER BY occurred_at DESC LIMIT 1 OFFSET $n",
                           {"e": email, "n": n - 1}).fetchone()[0]
    return when.isoformat()


def _items(output: str) -> int:
    """How big an answer was: list items, or a document's events (the two stores' answers
    differ in size when the same person has more events in the larger store)."""
    answer = json.loads(output)
    if isinstance(answer, list):
        return len(answer)
    return len(answer.get("events", answer)) if isinstance(answer, dict) else 0


def startup_section(t: Table, store: Path, repeat: int, who_changed: float) -> None:
    for argv, name in (([*FL, "--help"], "fluentlog --help"), ([*FL, "--version"], "fluentlog --version")):
        seconds = median(argv, repeat)[0]
        t.add(name, f"{seconds:.3f} s", "<= 0.20 s", seconds <= 0.2)
    floor = median([sys.executable, "-c", CONNECT, str(store)], repeat)[0]
    t.add("python + import duckdb + connect", f"{floor:.3f} s")
    extra = who_changed - floor
    t.add("  who-changed on top of that", f"+{extra:.3f} s", "<= +0.10 s", extra <= 0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=5_000_000, help="events per stream, large store")
    parser.add_argument("--small", type=int, default=1_000_000, help="events per stream: append and small store")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--ingest-repeat", type=int, default=1)
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data")
    parser.add_argument("--skip-jq", action="store_true")
    parser.add_argument("--parquet", action="store_true", help="also ingest the large set from Parquet")
    parser.add_argument("--daily", action="store_true", help="also ingest the small set as one file per day")
    args = parser.parse_args()
    big, small = files(args.data, args.n), files(args.data, args.small)
    print(f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; "
          f"large: {args.n:,} + {args.n:,} events, small: {args.small:,} + {args.small:,}", flush=True)
    t = Table()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "fluentlog")], env=ENV, check=True)
    with tempfile.TemporaryDirectory(dir=args.data) as folder:
        tmp = Path(folder)
        store = ingest_section(t, big, small, tmp, args.ingest_repeat)
        if args.parquet:
            parquet_section(t, big, tmp)
        small_store = tmp / "small.duckdb"
        whole = run([*FL, "ingest", str(small[0]), str(small[1]), "--db", str(small_store), "--format", "json"])[0]
        if args.daily:
            daily_section(t, small, whole, tmp)
        who = query_section(t, {"small": small_store, "big": store}, big[0], args.repeat, args.skip_jq)
        startup_section(t, store, args.repeat, who)
    failed = [r[0] for r in t.rows if r[3] == "FAIL"]
    judged = sum(1 for r in t.rows if r[3])
    print(f"{len(failed)} of {judged} targets missed" + (f": {', '.join(failed)}" if failed else ""))


if __name__ == "__main__":
    main()
