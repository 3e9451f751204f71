from tests.support import expect, make_meeting


def test_meeting_end_to_end(api):
    api.set_clock("2025-12-18T09:00:00Z")
    m = make_meeting(api)
    m.start()
    m.decide_all()
    m.confirm_all()
    body = m.end()
    assert body["status"] == "ended"
    expect(m.professional.get(m.url), 200)
