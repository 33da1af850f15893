"""The v1 export as Parquet: Arrow schemas with nested objects as structs and `changes`
(any JSON) as JSON text, and a writer for v1 records. The sample data, the tests and
the benchmarks write Parquet with these; ingest reads any such file (and JSON text too).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

_S = pa.string()

AUDIT = pa.schema([
    ("id", _S), ("occurred_at", _S), ("action", _S),
    ("actor", pa.struct([("id", _S), ("email", _S), ("name", _S), ("role", _S)])),
    ("entity", pa.struct([("type", _S), ("id", _S), ("email", _S)])),
    ("related", pa.list_(pa.struct([("type", _S), ("id", _S)]))),
    ("changes", _S),
    ("context", pa.struct([("ip", _S), ("user_agent", _S), ("request_id", _S)])),
])
ACCESS = pa.schema([
    ("id", _S), ("occurred_at", _S), ("event", _S), ("outcome", _S),
    ("user", pa.struct([("id", _S), ("email", _S)])),
    ("method", _S), ("reason", _S), ("ip", _S),
    ("location", pa.struct([("country", _S), ("region", _S), ("city", _S),
                            ("lat", pa.float64()), ("lon", pa.float64())])),
    ("device", pa.struct([("id", _S), ("user_agent", _S)])),
])
SCHEMAS = {"audit": AUDIT, "access": ACCESS}


def write(records: Iterable[dict[str, Any]], stream: str, path: Path) -> None:
    """Write v1 records of one stream (audit or access) as a zstd Parquet file."""
    rows = [{**r, "changes": json.dumps(r["changes"])} if "changes" in r else r for r in records]
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMAS[stream]), path, compression="zstd")
