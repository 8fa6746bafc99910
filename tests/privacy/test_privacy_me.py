"""R13, R1: GET /privacy/me says what obrolan holds about me, why, how long, my requests
with their deadlines, and what was done with my data (the audit entries about me)."""

from __future__ import annotations

from obrolan.clock import FakeClock
from tests.admin.conftest import make_admin
from tests.privacy.conftest import open_request
from tests.support.factories import make_user
from tests.support.server import RunningServer


async def test_r13_privacy_me_shows_my_data_by_category_my_requests_and_my_audit(
    privacy_server: RunningServer, clock: FakeClock
) -> None:
    ani = await make_user(privacy_server, email="ani@contoh.id")
    admin = await make_admin(privacy_server)
    access = await open_request(ani, "access")
    clock.advance(60)
    objection = await open_request(ani, "objection")
    await admin.http.get(f"/api/v1/admin/privacy/requests/{access['id']}")

    resp = await ani.http.get("/api/v1/privacy/me")
    assert resp.status_code == 200, resp.text
    me = resp.json()
    categories = {c["category"]: c for c in me["categories"]}
    email = categories["user.contact.email"]
    assert email["held"] is True
    assert "users.email_enc" in email["where"] and "users.email_index" in email["where"]
    assert email["purposes"] == ["to provide the service you use"]
    assert email["retention"] == ["while the account is active and 90 days after it is closed"]
    assert categories["user.contact.phone_number"]["held"] is False
    assert categories["user.content.private"]["held"] is None  # not said: not cheap
    assert "messages.body_enc" in categories["user.content.private"]["where"]
    assert categories["user.name"]["encrypted"] is True
    # Every personal column of the schema is in one category or another.
    assert all(c["purposes"] and c["retention"] and c["where"] for c in me["categories"])

    assert [r["id"] for r in me["requests"]] == [objection["id"], access["id"]]
    assert me["requests"][1]["deadline_at"] == access["deadline_at"]
    assert me["account"] == {"restricted": False, "objected": True}
    # The waits a person is told about before asking, from the settings.
    assert (me["erasure_grace_days"], me["export_hours"]) == (7, 72)

    # The audit about me, newest first; my own steps say so. (The export the access
    # request queued may be built meanwhile: its entries are about me too.)
    steps = [e for e in me["audit"] if e["action"].startswith("privacy.request.")]
    assert [e["action"] for e in steps] == ["privacy.request.opened", "privacy.request.opened"]
    assert all(e["by_me"] for e in steps)
    assert steps[0]["detail"] == {"request_id": objection["id"], "kind": "objection"}
    assert me["audit"][-1]["action"] == "auth.sign_in"
    assert me["audit_next"] is None

    # Paged with `before`.
    first = (await ani.http.get("/api/v1/privacy/me", params={"limit": 1})).json()
    assert [e["detail"]["kind"] for e in first["audit"]] == ["objection"]
    older = await ani.http.get(
        "/api/v1/privacy/me", params={"limit": 1, "before": first["audit_next"]}
    )
    assert [e["detail"]["kind"] for e in older.json()["audit"]] == ["access"]
    assert (await ani.http.get("/api/v1/privacy/me", params={"limit": 0})).status_code == 422


async def test_r13_privacy_me_needs_a_signed_in_person_and_is_typed_in_openapi(
    privacy_server: RunningServer,
) -> None:
    async with privacy_server.http() as http:
        assert (await http.get("/api/v1/privacy/me")).status_code == 401
        schema = (await http.get("/openapi.json")).json()
    ok = schema["paths"]["/api/v1/privacy/me"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/PrivacyMeOut")
    assert {
        "categories",
        "requests",
        "audit",
        "audit_next",
        "account",
        "erasure_grace_days",
        "export_hours",
    } <= set(schema["components"]["schemas"]["PrivacyMeOut"]["properties"])
