"""Investigation speed on a large store, whole process, against jq and grep on the JSONL.

    python benchmarks/generate.py 5000000        # once: 5M audit + 5M access events (~5.7 GB)
    python benchmarks/queries.py 5000000 --repeat 5

Builds benchmarks/data/bench_<N>.duckdb with `fluentlog ingest` if it is missing. Every
figure is the median wall time of a fresh `fluentlog` process, printing its JSON answer.
Targets (issue 3): who-changed and signins --email under 1 s; offboarding --all --since 30d
under 5 s; who-changed at least 20x faster than jq answering the same question.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from ingest import CONFIG  # noqa: E402 - a private config making this account an owner

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "FLUENTLOG_CONFIG": str(CONFIG)}


def timed(argv: list[str], repeat: int) -> tuple[float, str]:
    runs, out = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, env=ENV)
        runs.append(time.perf_counter() - start)
        if done.returncode not in (0, 1):
            raise SystemExit(f"failed: {' '.join(argv)}\n{done.stderr}")
        out = done.stdout
    return statistics.median(runs), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=5_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data")
    parser.add_argument("--skip-jq", action="store_true")
    args = parser.parse_args()
    audit, access = args.data / f"audit_{args.n}.jsonl", args.data / f"access_{args.n}.jsonl"
    db = args.data / f"bench_{args.n // 1_000_000}m.duckdb" if args.n >= 1_000_000 else args.data / "bench.duckdb"
    if not audit.exists():
        raise SystemExit(f"{audit} is missing: run python benchmarks/generate.py {args.n}")
    fl = [sys.executable, "-m", "fluentlog"]
    if not db.exists():
        subprocess.run([*fl, "ingest", str(audit), str(access), "--db", str(db), "--format", "json"],
                       check=True, env=ENV, stdout=subprocess.DEVNULL)
    import duckdb  # only to pick real targets and the data's last day
    with duckdb.connect(str(db), read_only=True) as con:
        entity = con.execute("SELECT entity_id FROM audit_events WHERE entity_type = 'appointment' "
                             "ORDER BY event_id LIMIT 1 OFFSET 1000").fetchone()[0]
        email = con.execute("SELECT user_email FROM access_events ORDER BY event_id LIMIT 1 OFFSET 1000").fetchone()[0]
        last = con.execute("SELECT max(occurred_at) FROM audit_events").fetchone()[0]
    since = (last.date().toordinal() - 30)
    since_text = type(last.date()).fromordinal(since).isoformat()
    queries = {
        f"who-changed appointment:{entity}": [*fl, "who-changed", f"appointment:{entity}"],
        f"signins --email {email}": [*fl, "signins", "--email", email],
        f"timeline --email {email}": [*fl, "timeline", "--email", email],
        f"offboarding --all --since {since_text} (last 30 days of data)": [*fl, "offboarding", "--all",
                                                                            "--since", since_text],
    }
    print(f"store: {db.name}, {2 * args.n:,} events; median of {args.repeat} whole-process runs, JSON output")
    results = {}
    for label, argv in queries.items():
        seconds, out = timed([*argv, "--db", str(db), "--format", "json"], args.repeat)
        answer = json.loads(out)
        size = len(answer) if isinstance(answer, list) else len(answer.get("events", []))
        results[label] = seconds
        print(f"  {seconds:6.3f} s  {label}  ({size} items)")
    who = results[next(iter(queries))]
    jq_filter = f'select(.entity.type == "appointment" and .entity.id == "{entity}")'
    grep_s, _ = timed(["grep", "-F", f'"id": "{entity}"', str(audit)], 1)
    print(f"  {grep_s:6.3f} s  grep -F on {audit.name} (finds lines, answers nothing)")
    if not args.skip_jq and shutil.which("jq"):
        jq_s, _ = timed(["jq", "-c", jq_filter, str(audit)], 1)
        print(f"  {jq_s:6.3f} s  jq '{jq_filter}' {audit.name}")
        print(f"who-changed vs jq: {jq_s / who:.0f}x faster (target >= 20x)")
    print(f"who-changed vs grep -F: {grep_s / who:.1f}x")
    print("targets: who-changed, signins < 1 s; offboarding --all < 5 s")


if __name__ == "__main__":
    main()
