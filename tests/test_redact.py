"""Redaction: which field names are health data, and hiding their values wherever they appear
in the free-form JSON of `changes` and `related`."""

from __future__ import annotations

import csv
import fnmatch
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import cli
from hypothesis import given
from hypothesis import strategies as st

from fluentlog.config import DEFAULT_PHI
from fluentlog.redact import REDACTED, Redactor
from fluentlog.workflows.common import change_line, changes_of

REDACTOR = Redactor(DEFAULT_PHI)


@pytest.mark.parametrize("name", [
    "notes", "patient_ref", "patientName", " patient_name", "Patient Name", "dateOfBirth", "date-of-birth",
    "Date Of Birth", "DATEOFBIRTH", "date_of_birth", "dob", "patientDOB", "ssn", "ssn_last4", "SSNLast4",
    "internal_notes", "Notes ", "diagnosis", "diagnosisCode", "medical_record", "mrn", "MRN", "primary_mrn",
    "insurance", "insuranceId", "secondary_insurance_plan", "birth_date", "birthDate", "place_of_birth",
])
def test_names_the_readme_patterns_describe_are_health_data(name: str) -> None:
    """Case, separators, camelCase and surrounding spaces do not hide a name; a pattern matches
    whole words of it (`notes`: internal_notes)."""
    assert REDACTOR.is_phi(name)


@pytest.mark.parametrize("name", [
    "start_time", "interpreter_id", "role", "status", "footnotes", "outpatient_flag", "language", "", None, 5,
])
def test_other_names_are_not(name: object) -> None:
    assert not REDACTOR.is_phi(name)


@given(st.text(max_size=40))
def test_never_less_than_the_patterns_as_written(name: str) -> None:
    if any(fnmatch.fnmatchcase(name.lower(), p) for p in DEFAULT_PHI):
        assert REDACTOR.is_phi(name)


def test_a_field_name_too_long_to_be_real_is_hidden() -> None:
    assert REDACTOR.is_phi("x" * 300) and not Redactor(()).is_phi("x" * 300)


def test_own_patterns_with_classes_and_separators() -> None:
    own = Redactor(("hiv?status", "case [0-9]*", "[!a]x"))
    assert own.is_phi("HIV_status") and own.is_phi("hivXstatus") and own.is_phi("case 12")
    assert own.is_phi("bx") and not own.is_phi("ax") and not own.is_phi("case_x")


def _hidden(value: object) -> object:
    return json.loads(REDACTOR.json_text(json.dumps(value)))


@pytest.mark.parametrize("stored, shown", [
    ({"notes": {"from": "a", "to": "b"}, "start": {"from": "1", "to": "2"}},
     {"notes": {"from": REDACTED, "to": REDACTED}, "start": {"from": "1", "to": "2"}}),
    ({"notes": {"from": None, "to": "b", "at": "x"}}, {"notes": {"from": None, "to": REDACTED, "at": REDACTED}}),
    ({"notes": {"text": "HIV"}}, {"notes": REDACTED}),
    ([{"field": "notes", "from": "HIV+", "to": "HIV+, oncology"}, {"field": "start", "from": "1", "to": "2"}],
     [{"field": "notes", "from": REDACTED, "to": REDACTED}, {"field": "start", "from": "1", "to": "2"}]),
    ([{"field": "Internal Notes", "value": "HIV", "by": None}], [{"field": "Internal Notes", "value": REDACTED,
                                                                  "by": None}]),
    ({"appointment": {"details": {"dateOfBirth": "1970-01-01", "room": 4}}},
     {"appointment": {"details": {"dateOfBirth": REDACTED, "room": 4}}}),
    ([[{"ssn_last4": "1234"}]], [[{"ssn_last4": REDACTED}]]),
    ([{"type": "patient", "id": "P1", "diagnosis": "type 2 diabetes"}],
     [{"type": "patient", "id": "P1", "diagnosis": REDACTED}]),
    ([{"op": "replace", "path": "/notes", "value": "HIV+"}], [{"op": REDACTED, "path": "/notes", "value": REDACTED}]),
    ([{"displayName": "DateOfBirth", "oldValue": "1970-01-01", "newValue": "1970-01-02"}],
     [{"displayName": "DateOfBirth", "oldValue": REDACTED, "newValue": REDACTED}]),
    ({"parameters": [{"name": "diagnosis", "value": "x"}, {"name": "room", "value": "4"}]},
     {"parameters": [{"name": "diagnosis", "value": REDACTED}, {"name": "room", "value": "4"}]}),
    ({"attributes": [{"key": "ssn", "value": "123-45-6789"}]}, {"attributes": [{"key": "ssn", "value": REDACTED}]}),
    ("HIV", "HIV"), (42, 42), ([1, "x", None], [1, "x", None]),  # no name to go by
])
def test_phi_values_are_hidden_wherever_their_name_appears(stored: object, shown: object) -> None:
    assert _hidden(stored) == shown


def test_text_without_phi_is_kept_as_stored_and_json_that_is_too_deep_is_hidden_whole() -> None:
    text = '{"start":  {"from": "1", "to": "2"}}'
    assert REDACTOR.json_text(text) == text and REDACTOR.json_text("not json") == "not json"
    deep = "[" * 900 + "]" * 900
    assert REDACTOR.json_text(deep) in (deep, json.dumps(REDACTED))
    assert Redactor(DEFAULT_PHI, reveal=True).json_text('{"notes": "x"}') == '{"notes": "x"}'


def test_a_row_has_changes_and_related_redacted() -> None:
    row = REDACTOR.row({"changes": '[{"field": "notes", "from": "a", "to": "b"}]',
                        "related": '[{"type": "patient", "id": "P1", "patient_name": "Ann"}]', "ip": "1.2.3.4"})
    assert "Ann" not in row["related"] and '"from": "a"' not in row["changes"] and row["ip"] == "1.2.3.4"


def test_a_list_of_changes_is_shown_change_by_change() -> None:
    changes = changes_of(json.dumps([{"field": "notes", "from": "a", "to": "b"}, {"field": "x", "new": 1}, "free"]))
    assert changes == [{"field": "notes", "from": "a", "to": "b"},
                       {"field": None, "from": None, "to": {"field": "x", "new": 1}},
                       {"field": None, "from": None, "to": "free"}]
    assert [change_line(c, str) for c in changes] == ["notes: a -> b", "changes: {'field': 'x', 'new': 1}",
                                                      "changes: free"]
    assert changes_of('"text"') == [{"field": None, "from": None, "to": "text"}]


HEALTH = ("HIV", "oncology", "diabetes", "1970-02-03", "1234", "Ann Example")


def _records() -> list[dict]:
    base = {"occurred_at": "2026-11-01T11:03:00Z", "action": "appointment.edited", "actor": {"email": "a@x.example"},
            "entity": {"type": "appointment", "id": "APT-1"}}
    return [
        {**base, "id": "n4", "changes": [{"field": "notes", "from": "HIV+ follow-up", "to": "HIV+, oncology"}]},
        {**base, "id": "n5", "related": [{"type": "patient", "id": "P1", "diagnosis": "type 2 diabetes"}],
         "changes": {"dateOfBirth": {"from": "1970-02-03", "to": None}}},
        {**base, "id": "n6", "changes": {"ssn_last4": "1234", " patient_name": {"from": None, "to": "Ann Example"}}},
    ]


@pytest.fixture
def health(tmp_path: Path) -> Path:
    path, db = tmp_path / "r.jsonl", tmp_path / "r.duckdb"
    path.write_text("".join(json.dumps(r) + "\n" for r in _records()))
    run = cli("ingest", str(path), "--db", str(db), "--format", "json")
    assert run.code == 0 and json.loads(run.stdout)["totals"]["inserted"] == 3
    return db


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "table"])
def test_health_data_is_redacted_in_every_investigation_and_format(health: Path, fmt: str) -> None:
    for args in (["who-changed", "APT-1"], ["timeline", "--email", "a@x.example"]):
        run = cli(*args, "--db", str(health), "--format", fmt, env={"COLUMNS": "200"})
        assert run.code == 0, run.stderr
        assert not [h for h in HEALTH if h in run.stdout], (args, run.stdout)
        assert "None" not in run.stdout
        assert REDACTED in run.stdout or (args[0], fmt) == ("timeline", "csv")  # its CSV has no changes column
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(cli("who-changed", "APT-1", "--db", str(health), "--format",
                                                   "csv").stdout)))
        assert rows[0]["changes"] == "notes: [redacted] -> [redacted]"


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "parquet"])
def test_health_data_is_redacted_in_exports(health: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"e.{fmt}"
    assert cli("export", "audit", "-o", str(out), "-f", fmt, "--db", str(health)).code == 0
    text = json.dumps(pq.read_table(out).to_pylist(), default=str) if fmt == "parquet" else out.read_text()
    assert not [h for h in HEALTH if h in text] and "diagnosis" in text and REDACTED in text


def test_reveal_shows_them(health: Path, tmp_path: Path) -> None:
    run = cli("who-changed", "APT-1", "--db", str(health), "--format", "json", "--reveal", "--reason", "test")
    assert all(h in run.stdout for h in ("HIV", "1970-02-03", "Ann Example"))


def test_changes_as_offboarding_lists_them_are_redacted_whatever_their_shape() -> None:
    """offboarding's window changes come from changes_of, then Redactor.changes."""
    for stored in ([{"field": "notes", "from": "HIV", "to": "HIV+"}, {"field": "x", "diagnosis": "diabetes"}],
                   {"notes": {"from": "HIV", "to": "HIV+"}, "x": {"to": {"diagnosis": "diabetes"}}}):
        shown = json.dumps(REDACTOR.changes(changes_of(json.dumps(stored))))
        assert "HIV" not in shown and "diabetes" not in shown and REDACTED in shown
