"""Ingest speed: `fluentlog ingest` against a plain DuckDB load of the same files, in one run.

    python benchmarks/generate.py 1000000          # once: 1M audit + 1M access events
    python benchmarks/ingest.py 1000000 --repeat 3

Each measurement is a fresh child process on a fresh database, so start-up and
imports count for both sides. Prints medians, the ratio and peak memory (RSS),
and the median time of `fluentlog --help`. Targets (issue 2): ratio <= 2.0,
peak RSS < 2 GB, --help < 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import pwd
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW = """
import duckdb, sys
con = duckdb.connect(sys.argv[1])
con.execute("SET TimeZone = 'UTC'")
for table, path, columns in (("audit", sys.argv[2], sys.argv[4]), ("access", sys.argv[3], sys.argv[5])):
    con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_json('{path}', format = 'newline_delimited', "
                f"records = 'true', columns = {columns})")
con.close()
"""
# fluentlog ingest with the ledger replaced by a no-op: only to price the ledger in the same run.
NO_LEDGER = """
import sys
from fluentlog import ledger
ledger.append = lambda *args, **kwargs: "0" * 64
ledger.file_digest = lambda *args, **kwargs: {}
from fluentlog.cli import main
sys.argv = ["fluentlog", *sys.argv[1:]]
main()
"""
AUDIT_COLUMNS = ("{id: 'VARCHAR', occurred_at: 'TIMESTAMPTZ', action: 'VARCHAR', "
                 "actor: 'STRUCT(id VARCHAR, email VARCHAR, name VARCHAR, role VARCHAR)', "
                 "entity: 'STRUCT(type VARCHAR, id VARCHAR, email VARCHAR)', related: 'JSON', changes: 'JSON', "
                 "context: 'STRUCT(ip VARCHAR, user_agent VARCHAR, request_id VARCHAR)'}")
ACCESS_COLUMNS = ("{id: 'VARCHAR', occurred_at: 'TIMESTAMPTZ', event: 'VARCHAR', outcome: 'VARCHAR', "
                  "user: 'STRUCT(id VARCHAR, email VARCHAR)', method: 'VARCHAR', reason: 'VARCHAR', ip: 'VARCHAR', "
                  "location: 'STRUCT(country VARCHAR, region VARCHAR, city VARCHAR, lat DOUBLE, lon DOUBLE)', "
                  "device: 'STRUCT(id VARCHAR, user_agent VARCHAR)'}")


def owner_config() -> Path:
    """fluentlog refuses unmapped operators: a private config making this account an owner."""
    path = Path(tempfile.mkdtemp(prefix="fluentlog-bench-")) / "fluentlog.toml"
    path.write_text(f'[operators]\n"{pwd.getpwuid(os.geteuid()).pw_name}" = "owner"\n')
    path.chmod(0o600)
    return path


CONFIG = owner_config()


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FLUENTLOG_CONFIG": str(CONFIG)}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data")
    args = parser.parse_args()
    audit, access = args.data / f"audit_{args.n}.jsonl", args.data / f"access_{args.n}.jsonl"
    if not audit.exists():
        raise SystemExit(f"{audit} is missing: run python benchmarks/generate.py {args.n}")
    raw, ours, bare = [], [], []
    with tempfile.TemporaryDirectory(dir=args.data) as tmp:
        for i in range(args.repeat):
            db = Path(tmp) / f"raw{i}.duckdb"
            raw.append(timed([sys.executable, "-c", RAW, str(db), str(audit), str(access),
                              AUDIT_COLUMNS, ACCESS_COLUMNS]))
            raw_size = db.stat().st_size
            db.unlink()
            db = Path(tmp) / f"ours{i}.duckdb"
            ours.append(timed([sys.executable, "-m", "fluentlog", "ingest", str(audit), str(access),
                               "--db", str(db), "--format", "json"]))
            our_size = db.stat().st_size
            db.unlink()
            db = Path(tmp) / f"bare{i}.duckdb"
            bare.append(timed([sys.executable, "-c", NO_LEDGER, "ingest", str(audit), str(access),
                               "--db", str(db), "--format", "json"]))
            db.unlink()
    helps = [timed([sys.executable, "-m", "fluentlog", "--help"])[0] for _ in range(10)]
    events = 2 * args.n
    raw_t, our_t = statistics.median(t for t, _ in raw), statistics.median(t for t, _ in ours)
    print(f"events: {events:,} ({args.n:,} audit + {args.n:,} access), {args.repeat} runs each, medians")
    print(f"plain DuckDB read_json CTAS: {raw_t:7.2f} s  {events / raw_t:10,.0f} events/s  "
          f"peak {max(m for _, m in raw):6.0f} MiB  file {raw_size / events:5.1f} B/event")
    print(f"fluentlog ingest:            {our_t:7.2f} s  {events / our_t:10,.0f} events/s  "
          f"peak {max(m for _, m in ours):6.0f} MiB  file {our_size / events:5.1f} B/event")
    bare_t = statistics.median(t for t, _ in bare)
    print(f"fluentlog without the ledger:{bare_t:7.2f} s  (benchmark only: the ledger replaced by a no-op)")
    print(f"ratio fluentlog / plain: {our_t / raw_t:.2f}x   (target <= 2.0x)")
    print(f"ratio with / without the ledger: {our_t / bare_t:.2f}x   (target <= 1.2x)")
    print(f"fluentlog --help: median {statistics.median(helps):.3f} s   (target < 0.3 s)")
    print("all runs (s):", "raw", [round(t, 2) for t, _ in raw], "fluentlog", [round(t, 2) for t, _ in ours])


if __name__ == "__main__":
    main()
