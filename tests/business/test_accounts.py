"""F10: business accounts — profile, members and roles, sender numbers, system tokens —
and the Cloud API's business-profile routes in Graph shape."""

from __future__ import annotations

import pytest

from obrolan.clock import FakeClock
from tests.business.conftest import GRAPH, make_business
from tests.support.cli import obrolan_cli
from tests.support.factories import make_user, register
from tests.support.server import RunningServer


async def test_f10_a_business_with_members_numbers_and_tokens(
    business_server: RunningServer,
) -> None:
    server = business_server
    owner = await make_user(server, "pemilik")
    made = await owner.http.post(
        "/api/v1/businesses",
        json={
            "name": "Warung Bu Sari",
            "description": "Nasi dan lauk",
            "websites": ["https://warung.example"],
            "vertical": "RESTAURANT",
        },
    )
    assert made.status_code == 201, made.text
    business = made.json()
    assert business["name"] == "Warung Bu Sari" and business["websites"] == [
        "https://warung.example"
    ]
    mine = (await owner.http.get("/api/v1/businesses")).json()["businesses"]
    assert [(b["id"], b["role"]) for b in mine] == [(business["id"], "owner")]

    # Members: the owner adds an admin and an agent; an agent manages nothing.
    admin, agent, outsider = [await make_user(server) for _ in range(3)]
    base = f"/api/v1/businesses/{business['id']}"
    assert (
        await owner.http.put(f"{base}/members/{admin.id}", json={"role": "admin"})
    ).status_code == 204
    assert (
        await owner.http.put(f"{base}/members/{agent.id}", json={"role": "agent"})
    ).status_code == 204
    roles = {
        m["user_id"]: m["role"] for m in (await agent.http.get(f"{base}/members")).json()["members"]
    }
    assert roles == {owner.id: "owner", admin.id: "admin", agent.id: "agent"}
    refused = await agent.http.post(f"{base}/tokens", json={"name": "x"})
    assert refused.status_code == 403
    # Nobody but the owner changes members, and nobody makes a second owner.
    assert (
        await admin.http.put(f"{base}/members/{outsider.id}", json={"role": "agent"})
    ).status_code == 403
    assert (
        await owner.http.put(f"{base}/members/{admin.id}", json={"role": "owner"})
    ).status_code == 403
    # An outsider does not learn that the business exists.
    assert (await outsider.http.get(base)).status_code == 404

    # A sender number: its id is the phone_number_id; a number is one business's only.
    number = await admin.http.post(f"{base}/numbers", json={"phone": "0811-0000-2222"})
    assert number.status_code == 201, number.text
    assert number.json()["display_phone_number"] == "6281100002222"
    assert number.json()["verified_name"] == "Warung Bu Sari"
    again = await owner.http.post(f"{base}/numbers", json={"phone": "+6281100002222"})
    assert again.status_code == 409
    # Its account speaks in chats but cannot sign in.
    async with server.http() as http:
        signed = await http.post(
            "/api/v1/sessions", json={"username": "wa6281100002222", "password": "x" * 12}
        )
    assert signed.status_code == 401

    # Tokens: shown once, listed without the secret, revoked for good.
    created = await admin.http.post(f"{base}/tokens", json={"name": "kasir"})
    assert created.status_code == 201
    secret = created.json()["token"]
    listed = (await owner.http.get(f"{base}/tokens")).json()["tokens"]
    assert [t["name"] for t in listed] == ["kasir"] and "token" not in listed[0]
    graph = server.http(secret)
    profile_url = f"{GRAPH}/{number.json()['id']}/whatsapp_business_profile"
    assert (await graph.get(profile_url)).status_code == 200
    revoked = await owner.http.delete(f"{base}/tokens/{created.json()['id']}")
    assert revoked.status_code == 204
    after = await graph.get(profile_url)
    assert after.status_code == 401
    assert after.json()["error"]["code"] == 190


async def test_f10_the_business_profile_in_cloud_api_shape(
    business_server: RunningServer, clock: FakeClock
) -> None:
    server = business_server
    business = await make_business(server, name="Toko Sari")
    url = f"{GRAPH}/{business.number_id}/whatsapp_business_profile"
    changed = await business.graph.post(
        url,
        json={
            "messaging_product": "whatsapp",
            "about": "Buka setiap hari",
            "address": "Jl. Melati 3, Yogyakarta",
            "email": "halo@tokosari.example",
            "websites": ["https://tokosari.example"],
            "vertical": "RETAIL",
        },
    )
    assert changed.status_code == 200 and changed.json() == {"success": True}
    profile = (await business.graph.get(url)).json()["data"][0]
    assert profile == {
        "messaging_product": "whatsapp",
        "about": "Buka setiap hari",
        "address": "Jl. Melati 3, Yogyakarta",
        "email": "halo@tokosari.example",
        "websites": ["https://tokosari.example"],
        "vertical": "RETAIL",
    }
    # obrolan's own API shows the same profile.
    own = (await business.owner.http.get(f"/api/v1/businesses/{business.id}")).json()
    assert own["about"] == "Buka setiap hari"
    # Any version prefix routes the same; the Host header does not matter.
    v15 = await business.graph.get(
        f"/v15.0/{business.number_id}/whatsapp_business_profile",
        headers={"Host": "graph.facebook.com"},
    )
    assert v15.status_code == 200 and v15.json()["data"][0]["about"] == "Buka setiap hari"
    # Errors come in Graph shape with the Cloud API's codes.
    bad_field = await business.graph.post(url, json={"about": "x" * 140})
    assert bad_field.status_code == 400
    assert bad_field.json()["error"]["code"] == 131009
    other = await make_business(server, name="Lain", phone="+6281100003333")
    foreign = await business.graph.get(f"{GRAPH}/{other.number_id}/whatsapp_business_profile")
    assert foreign.status_code == 400
    assert foreign.json()["error"]["code"] == 100
    assert foreign.json()["error"]["error_subcode"] == 33
    async with server.http() as anonymous:
        missing = await anonymous.get(url)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == 190
    assert missing.json()["error"]["type"] == "OAuthException"
    assert isinstance(missing.json()["error"]["fbtrace_id"], str)
    # A path that is not the Graph's keeps obrolan's own problem answers.
    async with server.http() as anonymous:
        elsewhere = await anonymous.get("/api/v1/nothing-here")
    assert elsewhere.status_code == 404
    assert elsewhere.headers["content-type"].startswith("application/problem+json")
    await register(server)  # the server keeps serving people meanwhile


@pytest.mark.timeout(300)
async def test_f10_operators_manage_businesses_from_the_cli(
    business_server: RunningServer,
) -> None:
    server = business_server
    owner = await make_user(server, "pemilik.toko")
    created = await obrolan_cli(
        server, "business", "create", "Toko Kita", "--owner", "pemilik.toko"
    )
    assert created.returncode == 0, created.stderr
    business_id = created.stdout.strip()
    mine = (await owner.http.get("/api/v1/businesses")).json()["businesses"]
    assert [(b["id"], b["role"]) for b in mine] == [(business_id, "owner")]
    number = await obrolan_cli(server, "business", "add-number", business_id, "+6281100004444")
    assert number.returncode == 0, number.stderr
    number_id = number.stdout.split()[0]
    token = await obrolan_cli(server, "business", "create-token", business_id, "sistem")
    assert token.returncode == 0, token.stderr
    secret = token.stdout.strip()
    graph = server.http(secret)
    profile = await graph.get(f"{GRAPH}/{number_id}/whatsapp_business_profile")
    assert profile.status_code == 200
    listed = await obrolan_cli(server, "business", "tokens", business_id)
    assert "sistem" in listed.stdout and secret not in listed.stdout
    token_id = (await owner.http.get(f"/api/v1/businesses/{business_id}/tokens")).json()["tokens"][
        0
    ]["id"]
    revoked = await obrolan_cli(server, "business", "revoke-token", business_id, token_id)
    assert revoked.returncode == 0, revoked.stderr
    assert (await graph.get(f"{GRAPH}/{number_id}/whatsapp_business_profile")).status_code == 401
    everything = await obrolan_cli(server, "business", "list")
    assert "Toko Kita" in everything.stdout and "6281100004444" in everything.stdout
    # A mistake is one red line, not a traceback.
    nobody = await obrolan_cli(server, "business", "create", "X", "--owner", "siapa")
    assert nobody.returncode == 1 and "Traceback" not in nobody.stderr + nobody.stdout
