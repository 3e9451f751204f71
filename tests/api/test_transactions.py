"""One transaction per request (SPEC §7, §11): a refused write changes nothing, a successful
one writes one audit row and one event, and event sequences stay per authority and gap-free."""

from __future__ import annotations

from tests.support import (
    counts,
    expect,
    make_meeting,
    problem,
    rows,
    seqs,
)

TABLES = ("audit_entry", "event", "conference", "decision", "dissent", "deadline", "idempotency_record")


def test_a_refused_end_of_meeting_changes_nothing(api, meeting, db):
    meeting.start()
    meeting.raise_dissent()
    seq_before = seqs(db, meeting.authority)
    event_seq = rows(db, "SELECT event_seq FROM authority WHERE code = :c", c=meeting.authority)[0][0]
    conference = expect(meeting.chair.get(meeting.url), 200)
    before = counts(db, *TABLES)  # the read above is audited; count after it
    r = meeting.chair.post(f"{meeting.url}/end", headers={"Idempotency-Key": "end-refused"})
    problem(r, 409, "decisions_missing")
    assert counts(db, *TABLES) == before
    assert seqs(db, meeting.authority) == seq_before
    assert rows(db, "SELECT event_seq FROM authority WHERE code = :c", c=meeting.authority)[0][0] == event_seq
    statuses = rows(db, "SELECT status FROM dissent")
    assert [s[0] for s in statuses] == ["raised"]
    after = expect(meeting.chair.get(meeting.url), 200)
    assert after["status"] == "in_progress"
    assert after["version"] == conference["version"]


def test_a_successful_write_has_one_audit_row_and_one_event_in_sequence(api, meeting, db):
    before = counts(db, "audit_entry", "event")
    seq_before = seqs(db, meeting.authority)
    assert seq_before == list(range(1, len(seq_before) + 1))
    r = meeting.chair.post(f"{meeting.url}/start", headers={"X-Request-ID": "req-start-7"})
    expect(r, 200)
    after = counts(db, "audit_entry", "event")
    assert after["audit_entry"] == before["audit_entry"] + 1
    assert after["event"] == before["event"] + 1
    audit_rows = rows(
        db, "SELECT action, authority_code, entity_id FROM audit_entry WHERE request_id = 'req-start-7'"
    )
    assert [tuple(a) for a in audit_rows] == [
        ("conference.started", meeting.authority, meeting.conference_id)
    ]
    event_rows = rows(
        db,
        "SELECT e.seq, e.type, e.subject_kind, e.subject_id, a.code FROM event e "
        "JOIN authority a ON a.id = e.authority_id ORDER BY e.seq DESC",
    )
    newest = next(e for e in event_rows if e[4] == meeting.authority)
    assert tuple(newest) == (
        len(seq_before) + 1,
        "conference.started",
        "conference",
        meeting.conference_id,
        meeting.authority,
    )
    all_seqs = seqs(db, meeting.authority)
    assert all_seqs == list(range(1, len(all_seqs) + 1))
    event_seq = rows(db, "SELECT event_seq FROM authority WHERE code = :c", c=meeting.authority)[0][0]
    assert event_seq == all_seqs[-1]


def test_event_sequences_are_per_authority_and_gap_free_after_refusals(api, db):
    api.set_clock("2025-12-18T09:00:00Z")
    a = make_meeting(api)
    b = make_meeting(api)
    a.start()
    problem(a.chair.post(f"{a.url}/end"), 409, "decisions_missing")
    problem(b.chair.post(f"{b.url}/end"), 409, "invalid_transition")
    a.decide_all()
    b.start()
    a.confirm_all()
    a.end()
    for m in (a, b):
        got = seqs(db, m.authority)
        assert got == list(range(1, len(got) + 1)), (m.authority, got)
    assert len(seqs(db, a.authority)) > len(seqs(db, b.authority))
