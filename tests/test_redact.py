"""Redaction: which field names are health data, and hiding their values wherever they appear
in the free-form JSON of `changes` and `related`."""

from __future__ import annotations

import json

from fluentlog.workflows.common import change_line, changes_of


def test_a_list_of_changes_is_shown_change_by_change() -> None:
    changes = changes_of(json.dumps([{"field": "notes", "from": "a", "to": "b"}, {"field": "x", "new": 1}, "free"]))
    assert changes == [{"field": "notes", "from": "a", "to": "b"},
                       {"field": None, "from": None, "to": {"field": "x", "new": 1}},
                       {"field": None, "from": None, "to": "free"}]
    assert [change_line(c, str) for c in changes] == ["notes: a -> b", "changes: {'field': 'x', 'new': 1}",
                                                      "changes: free"]
    assert changes_of('"text"') == [{"field": None, "from": None, "to": "text"}]
