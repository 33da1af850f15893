"""The entity index: which blocks of audit_events name an id, or a user entity's email.

who-changed matches an entity wherever a row names it (its own id, or an item of `related`), so
no order of the table lets DuckDB skip rows for it: without help every question reads every row.
Each audit event carries `seq`, rising in storage order; `audit_refs` holds one (key hash,
seq block) pair per key and block, sorted per ingested file, so a lookup reads a few of its row
groups and the question is then asked of the named blocks only. The index is derived data: a
hash collision only costs a block's scan, and it is used only while it is known to be complete.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from fluentlog import schema

if TYPE_CHECKING:
    from fluentlog.store import Store

BLOCK_BITS = 14  # 16,384 events per block: 8 of DuckDB's vectors
HASH_BITS = 24  # a false hit per lookup is rare below ~16M distinct keys per file
MAX_RANGES = 16  # more runs of blocks than this: the entity is everywhere; scan as without

# The same parse of `related` the who-changed filters use, so the index holds exactly what
# they can match. Leniency is DuckDB's: items that are not objects give NULL ids.
RELATED = "from_json(e.related, '[{\"type\":\"VARCHAR\",\"id\":\"VARCHAR\"}]')"


def key_hash(expr: str) -> str:
    """SQL for the stored hash of a key (DuckDB's hash; see FINGERPRINT for when it may change)."""
    return f"(hash({expr}) >> {64 - HASH_BITS})::UINTEGER"


def user_key(email_expr: str) -> str:
    """The key of a user entity's email (ids are keys as they are)."""
    return f"'u:' || lower({email_expr})"


# Every key an audit row can be found by.
_KEYS = f"""
SELECT e.entity_id AS k, e.seq FROM audit_events e WHERE @WHERE@
UNION ALL SELECT {user_key('e.entity_email')}, e.seq FROM audit_events e
  WHERE @WHERE@ AND e.entity_type = 'user' AND e.entity_email IS NOT NULL
UNION ALL SELECT unnest(list_transform({RELATED}, lambda r: r.id)), e.seq FROM audit_events e
  WHERE @WHERE@ AND e.related IS NOT NULL
"""
_ENTRIES = f"""
SELECT DISTINCT {key_hash('k')} AS h, (seq >> {BLOCK_BITS})::INTEGER AS v
FROM ({_KEYS}) WHERE k IS NOT NULL"""
_INSERT = f"INSERT INTO audit_refs{_ENTRIES}\nORDER BY h, v\n"
ADD_FILE = _INSERT.replace("@WHERE@", "e.file_id = $file_id")
REBUILD = ("DELETE FROM audit_refs", _INSERT.replace("@WHERE@", "true"))
# For verify: entries the stored events give that the index lacks (who-changed would miss those
# events), and entries it holds that no stored event gives.
DIFFERENCE = f"""
WITH expected AS ({_ENTRIES.replace("@WHERE@", "true")})
SELECT (SELECT count(*) FROM (SELECT h, v FROM expected EXCEPT SELECT h, v FROM audit_refs)),
       (SELECT count(*) FROM (SELECT h, v FROM audit_refs EXCEPT SELECT h, v FROM expected))"""

# What the index was built with: this very SQL (its keys, block size and hash width), the
# DuckDB version (hash(), lower() and from_json's text for non-string ids may change with it)
# and a probe of hash() and lower() on this machine. Stored with the index; a store whose
# fingerprint differs is queried without the index (read-only) or has it rebuilt (next write).
# Entries altered behind fluentlog's back are for verify to find, as altered events are
# (checking the index's size on every query would cost ~5 ms).
_BUILT_WITH = hashlib.sha256(_INSERT.encode()).hexdigest()[:16]
_PROBE_TEXT = "'Ünïcode İ K ß@Example.ORG'"
FINGERPRINT = (f"SELECT concat_ws(' ', '{_BUILT_WITH}', version(), "
               f"({key_hash(user_key(_PROBE_TEXT))})::VARCHAR)")
FINGERPRINT_MATCHES = f"SELECT count(*) FROM meta WHERE key = 'entity_index' AND value = ({FINGERPRINT})"
SET_FINGERPRINT = f"INSERT OR REPLACE INTO meta SELECT 'entity_index', ({FINGERPRINT})"

# The blocks that may hold a row naming one of the ids, or the user entity of one of the emails.
_BLOCKS = f"""
SELECT DISTINCT v FROM audit_refs
WHERE h IN (SELECT {key_hash('k')} FROM unnest($ids::VARCHAR[]) AS t(k)
            UNION ALL SELECT {key_hash(user_key('e'))} FROM unnest($emails::VARCHAR[]) AS t(e))
ORDER BY v"""


def rebuild(store: Store) -> None:
    """Index every stored audit event anew (a new or upgraded store, another DuckDB's hash,
    or after a purge, which would leave entries for deleted events)."""
    for statement in (*REBUILD, SET_FINGERPRINT):
        store.execute(statement)


def add_file(store: Store, file_id: int) -> None:
    """Index the audit events of one ingested file (inside its transaction)."""
    store.execute(ADD_FILE, {"file_id": file_id})


def usable(store: Store) -> bool:
    """Is the index complete and built as this fluentlog and DuckDB would build it? (A store of
    format 2 has no index.)"""
    return store.format == str(schema.SCHEMA_VERSION) and bool(store.scalar(FINGERPRINT_MATCHES))


def difference(store: Store) -> tuple[int, int] | None:
    """For verify: (entries the stored events give that the index lacks, entries it holds that
    no event gives); None when there is no index in use to check."""
    if not usable(store):
        return None
    missing, extra = store.rows(DIFFERENCE)[0]
    return missing, extra


def blocks(store: Store, ids: list[str], emails: list[str]) -> list[int]:
    """The seq blocks of every row that names one of `ids` or the user entity of `emails`."""
    if not ids and not emails:
        return []
    return [v for (v,) in store.rows(_BLOCKS, {"ids": ids, "emails": emails})]


def prefilter(found: list[int]) -> tuple[str, dict[str, Any]] | None:
    """A WHERE term on `e.seq` for the blocks, and its parameters; None when there are too
    many runs of blocks to help.

    Runs of blocks become `seq BETWEEN` ranges, which DuckDB answers from its zone maps. Past
    MAX_RANGES the OR of ranges costs more than it saves (an entity in 167 blocks: 0.23 s
    against 0.20 s for the plain scan), so the table is scanned as without the index."""
    if not found:
        return "false", {}
    runs: list[list[int]] = []
    for v in found:
        if runs and runs[-1][1] == v - 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    if len(runs) > MAX_RANGES:
        return None
    terms, params = [], {}
    for i, (first, last) in enumerate(runs):
        terms.append(f"e.seq BETWEEN $seq_lo{i} AND $seq_hi{i}")
        params[f"seq_lo{i}"], params[f"seq_hi{i}"] = first << BLOCK_BITS, ((last + 1) << BLOCK_BITS) - 1
    return "(" + " OR ".join(terms) + ")", params


def near(store: Store, indexed: bool, ids: list[str], emails: list[str]) -> tuple[str | None, dict[str, Any]]:
    """The index's term on `e.seq` for rows naming `ids` or the user entity of `emails`, and
    its parameters; no term when the index is not `indexed` (usable) or would not narrow the scan."""
    found = prefilter(blocks(store, ids, emails)) if indexed else None
    return found if found is not None else (None, {})
