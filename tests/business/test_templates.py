"""F9: message templates — submitted through the Cloud API, rejected automatically as
Meta's review does or reviewed by an operator (API and CLI), their status changes queued
as webhooks, and approved ones filled in for a send."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
from pywa_async import WhatsApp
from pywa_async.types import templates as t
from sqlalchemy import select

from obrolan.admin import OPERATOR
from obrolan.business.graph import GraphError
from obrolan.business.models import business_webhook_events
from obrolan.business.webhooks import body_aad
from obrolan.clock import FakeClock
from obrolan.crypto import open_sealed
from obrolan.errors import Conflict
from obrolan.services import build_services
from tests.admin.conftest import make_admin
from tests.business.conftest import GRAPH, Business, customer, make_business, opt_in
from tests.support.cli import obrolan_cli
from tests.support.factories import make_user
from tests.support.outbound import SmsGatewayStandIn
from tests.support.server import RunningServer

REVIEW = "/api/v1/admin/business-templates"


def order_update(name: str = "order_update", language: str = "en_US", **extra: Any) -> dict:
    return {
        "name": name,
        "language": language,
        "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Order update"},
            {
                "type": "BODY",
                "text": "Hi {{1}}, your order {{2}} is on its way.",
                "example": {"body_text": [["Budi", "A-42"]]},
            },
            {"type": "FOOTER", "text": "Toko Sari"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Thanks"}]},
        ],
        **extra,
    }


async def submit(business: Business, body: dict[str, Any]) -> dict[str, Any]:
    resp = await business.graph.post(f"{GRAPH}/{business.id}/message_templates", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def status_updates(server: RunningServer, business_id: str) -> list[dict[str, Any]]:
    """The `message_template_status_update` values queued for the business, oldest first."""
    key = await server.services.data_keys.get(business_id)
    assert key is not None
    events = business_webhook_events
    async with server.services.db.read() as conn:
        rows = await conn.execute(
            select(events.c.id, events.c.body_enc)
            .where(
                events.c.business_id == business_id,
                events.c.field == "message_template_status_update",
            )
            .order_by(events.c.id)
        )
        sealed = list(rows)
    values = []
    for event_id, body_enc in sealed:
        body = orjson.loads(open_sealed(key, body_enc, body_aad(event_id)))
        assert body["object"] == "whatsapp_business_account"
        [entry] = body["entry"]
        assert entry["id"] == business_id
        [change] = entry["changes"]
        assert change["field"] == "message_template_status_update"
        values.append(change["value"])
    return values


async def test_f9_a_template_is_submitted_pending_and_read_back(
    business_server: RunningServer,
) -> None:
    business = await make_business(business_server)
    made = await submit(business, order_update())
    assert set(made) == {"id", "status", "category"}
    assert made["status"] == "PENDING" and made["category"] == "UTILITY"

    got = await business.graph.get(f"{GRAPH}/{made['id']}")
    assert got.status_code == 200, got.text
    template = got.json()
    assert template["id"] == made["id"] and template["name"] == "order_update"
    assert template["language"] == "en_US" and template["status"] == "PENDING"
    assert template["parameter_format"] == "POSITIONAL" and "rejected_reason" not in template
    assert [c["type"] for c in template["components"]] == ["HEADER", "BODY", "FOOTER", "BUTTONS"]
    # A pending template is no status change a business hears of.
    assert await status_updates(business_server, business.id) == []

    # The same name in another language is another template; in the same one, refused.
    assert (await submit(business, order_update(language="id")))["status"] == "PENDING"
    again = await business.graph.post(
        f"{GRAPH}/{business.id}/message_templates", json=order_update()
    )
    assert again.status_code == 400
    assert again.json()["error"]["code"] == 100
    assert again.json()["error"]["error_subcode"] == 2388024


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (order_update(name="Order Update"), 100),
        (order_update(language="xx"), 100),
        (order_update(category="SALES"), 100),
        ({**order_update(), "components": {"type": "BODY"}}, 100),
        ({**order_update(), "components": [{"type": "STICKER"}]}, 100),
        ({"language": "en_US", "category": "UTILITY", "components": []}, 131008),
    ],
)
async def test_f9_a_malformed_submission_is_a_graph_error(
    business_server: RunningServer, body: dict[str, Any], code: int
) -> None:
    business = await make_business(business_server)
    resp = await business.graph.post(f"{GRAPH}/{business.id}/message_templates", json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == code
    listed = await business.graph.get(f"{GRAPH}/{business.id}/message_templates")
    assert listed.json() == {"data": []}


async def test_f9_a_template_breaking_a_rule_is_rejected_at_once_with_its_reason(
    business_server: RunningServer,
) -> None:
    business = await make_business(business_server)
    body = order_update()
    body["components"][1] = {"type": "BODY", "text": "{{1}}, your order is on its way."}
    made = await submit(business, body)
    assert made["status"] == "REJECTED"
    template = (await business.graph.get(f"{GRAPH}/{made['id']}")).json()
    assert template["status"] == "REJECTED" and template["rejected_reason"] == "INVALID_FORMAT"
    assert await status_updates(business_server, business.id) == [
        {
            "event": "REJECTED",
            "message_template_id": made["id"],
            "message_template_name": "order_update",
            "message_template_language": "en_US",
            "reason": "INVALID_FORMAT",
        }
    ]


async def test_f9_templates_are_listed_filtered_and_paged(business_server: RunningServer) -> None:
    business = await make_business(business_server)
    ids = []
    for i in range(5):
        body = order_update(name=f"promo_{i}", category="MARKETING" if i % 2 else "UTILITY")
        ids.append((await submit(business, body))["id"])
    indonesian = (await submit(business, order_update(name="promo_0", language="id")))["id"]
    await business_server.services.templates.approve(OPERATOR, ids[1])
    url = f"{GRAPH}/{business.id}/message_templates"

    everything = (await business.graph.get(url)).json()
    assert [t["id"] for t in everything["data"]] == [*ids, indonesian]
    assert "next" not in everything["paging"]

    async def listed(**params: Any) -> list[str]:
        resp = await business.graph.get(url, params=params)
        assert resp.status_code == 200, resp.text
        return [t["id"] for t in resp.json()["data"]]

    assert await listed(name="promo_0") == [ids[0], indonesian]
    assert await listed(name="promo_0", language="id") == [indonesian]
    assert await listed(status="APPROVED") == [ids[1]]
    assert await listed(status="approved,REJECTED") == [ids[1]]
    assert await listed(language="id,fr") == [indonesian]
    assert await listed(category="MARKETING") == [ids[1], ids[3]]
    assert await listed(name="nothing") == []

    # Pages of two, by the `after` cursor and the `next` link.
    first = (await business.graph.get(url, params={"limit": 2})).json()
    assert [t["id"] for t in first["data"]] == ids[:2]
    assert first["paging"]["cursors"] == {"before": ids[0], "after": ids[1]}
    second = (await business.graph.get(first["paging"]["next"])).json()
    assert [t["id"] for t in second["data"]] == ids[2:4]
    after = second["paging"]["cursors"]["after"]
    last = (await business.graph.get(url, params={"limit": 2, "after": after})).json()
    assert [t["id"] for t in last["data"]] == [ids[4], indonesian]
    assert "next" not in last["paging"]

    # The summary pywa asks for: promo_1…promo_4 lack an Indonesian translation.
    summary = "total_count,message_template_count,message_template_limit,are_translations_complete"
    counted = await business.graph.get(url, params={"category": "MARKETING", "summary": summary})
    assert counted.json()["summary"] == {
        "total_count": 2,
        "message_template_count": 6,
        "message_template_limit": 6000,
        "are_translations_complete": False,
    }

    # Only the fields asked for (and the id).
    some = (await business.graph.get(url, params={"fields": "name,status", "limit": 1})).json()
    assert some["data"] == [{"id": ids[0], "name": "promo_0", "status": "PENDING"}]
    # Fields Meta has and templates here lack are left out, as Meta leaves out what a
    # template lacks (client libraries ask for them all).
    more = {"fields": "name,quality_score,rejected_reason", "limit": 1}
    some = (await business.graph.get(url, params=more)).json()
    assert some["data"] == [{"id": ids[0], "name": "promo_0", "rejected_reason": "NONE"}]
    # A NUL never reaches the database (PostgreSQL would refuse it).
    nul = await business.graph.get(url, params={"name": "promo\x00"})
    assert nul.status_code == 400 and nul.json()["error"]["code"] == 100


async def test_f9_an_edit_changes_components_and_category_and_goes_back_to_pending(
    business_server: RunningServer,
) -> None:
    business = await make_business(business_server)
    made = await submit(business, order_update())
    templates = business_server.services.templates
    await templates.approve(OPERATOR, made["id"])
    new_body = {
        "type": "BODY",
        "text": "Hello {{1}}, order {{2}} has shipped today.",
        "example": {"body_text": [["Budi", "A-42"]]},
    }
    edited = await business.graph.post(
        f"{GRAPH}/{made['id']}", json={"components": [new_body], "category": "MARKETING"}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json() == {
        "success": True,
        "id": made["id"],
        "name": "order_update",
        "category": "MARKETING",
    }
    template = (await business.graph.get(f"{GRAPH}/{made['id']}")).json()
    assert template["status"] == "PENDING" and template["category"] == "MARKETING"
    assert template["components"] == [new_body] and template["name"] == "order_update"

    # Rejected, then edited: back to PENDING too; an edit that breaks a rule is rejected.
    await templates.reject(OPERATOR, made["id"], "PROMOTIONAL")
    fixed = await business.graph.post(f"{GRAPH}/{made['id']}", json={"category": "UTILITY"})
    assert fixed.status_code == 200
    assert (await business.graph.get(f"{GRAPH}/{made['id']}")).json()["status"] == "PENDING"
    broken = {**new_body, "text": "Hello {{1}}, order {{3}} has shipped today."}
    assert (
        await business.graph.post(f"{GRAPH}/{made['id']}", json={"components": [broken]})
    ).status_code == 200
    template = (await business.graph.get(f"{GRAPH}/{made['id']}")).json()
    assert template["status"] == "REJECTED" and template["rejected_reason"] == "INVALID_FORMAT"
    assert [
        (v["event"], v["reason"]) for v in await status_updates(business_server, business.id)
    ] == [
        ("APPROVED", "NONE"),
        ("REJECTED", "PROMOTIONAL"),
        ("REJECTED", "INVALID_FORMAT"),
    ]

    # Only components and category can change.
    renamed = await business.graph.post(f"{GRAPH}/{made['id']}", json={"name": "other"})
    assert renamed.status_code == 400 and renamed.json()["error"]["code"] == 100


async def test_f9_templates_are_deleted_by_name_or_by_name_and_id(
    business_server: RunningServer,
) -> None:
    business = await make_business(business_server)
    url = f"{GRAPH}/{business.id}/message_templates"
    english = (await submit(business, order_update()))["id"]
    indonesian = (await submit(business, order_update(language="id")))["id"]
    kept = (await submit(business, order_update(name="welcome")))["id"]

    one = await business.graph.delete(url, params={"name": "order_update", "hsm_id": english})
    assert one.status_code == 200 and one.json() == {"success": True}
    assert [t["id"] for t in (await business.graph.get(url)).json()["data"]] == [indonesian, kept]
    # The id must be of a template with that name.
    wrong = await business.graph.delete(url, params={"name": "order_update", "hsm_id": kept})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == 100
    every = await business.graph.delete(url, params={"name": "order_update"})
    assert every.json() == {"success": True}
    assert [t["id"] for t in (await business.graph.get(url)).json()["data"]] == [kept]
    gone = await business.graph.delete(url, params={"name": "order_update"})
    assert gone.status_code == 400
    assert (await business.graph.get(f"{GRAPH}/{english}")).status_code == 400


async def test_f9_another_business_neither_sees_nor_touches_a_template(
    business_server: RunningServer,
) -> None:
    ours = await make_business(business_server)
    theirs = await make_business(business_server, name="Toko Lain", phone="+6281100009999")
    made = await submit(ours, order_update())

    def unknown(resp: Any) -> None:
        assert resp.status_code == 400, resp.text
        assert (resp.json()["error"]["code"], resp.json()["error"]["error_subcode"]) == (100, 33)

    unknown(await theirs.graph.get(f"{GRAPH}/{made['id']}"))
    unknown(await theirs.graph.post(f"{GRAPH}/{made['id']}", json={"category": "MARKETING"}))
    ours_url = f"{GRAPH}/{ours.id}/message_templates"
    unknown(await theirs.graph.get(ours_url))
    unknown(await theirs.graph.post(ours_url, json=order_update(name="sneaky")))
    unknown(await theirs.graph.delete(ours_url, params={"name": "order_update"}))
    # Its own list is empty, and deleting by that name there touches nothing of ours.
    theirs_url = f"{GRAPH}/{theirs.id}/message_templates"
    assert (await theirs.graph.get(theirs_url)).json() == {"data": []}
    assert (
        await theirs.graph.delete(theirs_url, params={"name": "order_update", "hsm_id": made["id"]})
    ).status_code == 400
    template = (await ours.graph.get(f"{GRAPH}/{made['id']}")).json()
    assert template["status"] == "PENDING" and template["category"] == "UTILITY"
    # Nor do people or tokens without a business use the review queue.
    person = await make_user(business_server)
    assert (await person.http.get(REVIEW)).status_code == 403
    assert (await person.http.post(f"{REVIEW}/{made['id']}/approve")).status_code == 403
    assert (await ours.graph.get(REVIEW)).status_code == 401


async def test_f9_an_operator_approves_and_rejects_through_the_api(
    business_server: RunningServer,
) -> None:
    business = await make_business(business_server)
    admin = await make_admin(business_server)
    first = await submit(business, order_update())
    second = await submit(business, order_update(name="welcome"))
    third = await submit(business, order_update(name="reminder"))

    queue = await admin.http.get(REVIEW)
    assert queue.status_code == 200, queue.text
    assert [t["id"] for t in queue.json()["templates"]] == [first["id"], second["id"], third["id"]]
    assert queue.json()["next"] is None
    pending = queue.json()["templates"][0]
    assert pending["business_id"] == business.id and pending["status"] == "PENDING"

    approved = await admin.http.post(f"{REVIEW}/{first['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "APPROVED" and approved.json()["reviewed_by"] == admin.id
    rejected = await admin.http.post(
        f"{REVIEW}/{second['id']}/reject", json={"reason": "INCORRECT_CATEGORY"}
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["rejected_reason"] == "INCORRECT_CATEGORY"
    # A decided template is not decided again; a reason is needed.
    assert (await admin.http.post(f"{REVIEW}/{first['id']}/approve")).status_code == 409
    assert (
        await admin.http.post(f"{REVIEW}/{first['id']}/reject", json={"reason": "SCAM"})
    ).status_code == 409
    assert (await admin.http.post(f"{REVIEW}/{third['id']}/reject", json={})).status_code == 422
    assert (await admin.http.post(f"{REVIEW}/NOPE/approve")).status_code == 404

    queue = (await admin.http.get(REVIEW)).json()["templates"]
    assert [t["id"] for t in queue] == [third["id"]]
    by_status = (await admin.http.get(REVIEW, params={"status": "APPROVED"})).json()
    assert [t["id"] for t in by_status["templates"]] == [first["id"]]
    assert (await business.graph.get(f"{GRAPH}/{first['id']}")).json()["status"] == "APPROVED"

    assert await status_updates(business_server, business.id) == [
        {
            "event": "APPROVED",
            "message_template_id": first["id"],
            "message_template_name": "order_update",
            "message_template_language": "en_US",
            "reason": "NONE",
        },
        {
            "event": "REJECTED",
            "message_template_id": second["id"],
            "message_template_name": "welcome",
            "message_template_language": "en_US",
            "reason": "INCORRECT_CATEGORY",
        },
    ]


@pytest.mark.timeout(300)  # four CLI processes, each a few seconds on a loaded machine
async def test_f9_an_operator_reviews_templates_with_the_cli(
    business_server: RunningServer,
) -> None:
    business = await make_business(business_server)
    first = await submit(business, order_update())
    second = await submit(business, order_update(name="welcome"))

    listed = await obrolan_cli(business_server, "business", "templates", "list")
    assert listed.returncode == 0, listed.stderr
    assert first["id"] in listed.stdout and second["id"] in listed.stdout
    assert "Hi {{1}}, your order {{2}} is on its way." in listed.stdout

    approved = await obrolan_cli(business_server, "business", "templates", "approve", first["id"])
    assert approved.returncode == 0, approved.stderr
    assert f"approved {first['id']}" in approved.stdout
    rejected = await obrolan_cli(
        business_server, "business", "templates", "reject", second["id"], "--reason", "SCAM"
    )
    assert rejected.returncode == 0, rejected.stderr
    again = await obrolan_cli(business_server, "business", "templates", "approve", second["id"])
    assert again.returncode == 1 and "REJECTED, not PENDING" in again.stderr

    everything = await obrolan_cli(
        business_server, "business", "templates", "list", "--status", "all"
    )
    lines = everything.stdout.splitlines()
    assert any(first["id"] in line and "APPROVED" in line for line in lines)
    assert any(second["id"] in line and "REJECTED" in line for line in lines)
    queue = await business_server.services.templates.queue(OPERATOR, "PENDING")
    assert queue.templates == []
    template = (await business.graph.get(f"{GRAPH}/{second['id']}")).json()
    assert template["status"] == "REJECTED" and template["rejected_reason"] == "SCAM"
    assert [
        (v["event"], v["reason"]) for v in await status_updates(business_server, business.id)
    ] == [
        ("APPROVED", "NONE"),
        ("REJECTED", "SCAM"),
    ]


async def test_f9_an_approval_and_a_rejection_at_the_same_moment_do_not_both_win(
    business_server: RunningServer, clock: FakeClock
) -> None:
    """The server approves while a second node (as the CLI is) rejects: one wins."""
    business = await make_business(business_server)
    admin = await make_admin(business_server)
    other_node = build_services(business_server.settings, clock)
    try:
        for round_ in range(20):
            made = await submit(business, order_update(name=f"race_{round_}"))
            approve, reject = await asyncio.gather(
                admin.http.post(f"{REVIEW}/{made['id']}/approve"),
                other_node.templates.reject(OPERATOR, made["id"], "SCAM"),
                return_exceptions=True,
            )
            assert not isinstance(approve, BaseException)
            if approve.status_code == 200:
                assert isinstance(reject, Conflict), reject
                winner = "APPROVED"
            else:
                assert approve.status_code == 409, approve.text
                assert not isinstance(reject, BaseException), reject
                winner = "REJECTED"
            got = (await business.graph.get(f"{GRAPH}/{made['id']}")).json()
            assert got["status"] == winner
    finally:
        await other_node.close()
    events = await status_updates(business_server, business.id)
    assert len(events) == 20  # one status change per template, never two
    assert len({e["message_template_id"] for e in events}) == 20


async def test_f9_for_send_fills_in_an_approved_template(business_server: RunningServer) -> None:
    business = await make_business(business_server)
    templates = business_server.services.templates
    positional = await submit(business, order_update())
    named = await submit(
        business,
        {
            "name": "greeting",
            "language": "id",
            "category": "MARKETING",
            "parameter_format": "NAMED",
            "components": [
                {
                    "type": "BODY",
                    "text": "Halo {{first_name}}, ada promo {{promo}} untukmu.",
                    "example": {
                        "body_text_named_params": [
                            {"param_name": "first_name", "example": "Budi"},
                            {"param_name": "promo", "example": "10%"},
                        ]
                    },
                }
            ],
        },
    )
    body = [{"type": "body", "parameters": [{"type": "text", "text": "Budi"}] * 2}]

    # Not approved yet: as if it did not exist.
    with pytest.raises(GraphError) as caught:
        await templates.for_send(business.id, "order_update", "en_US", body)
    assert caught.value.code == 132001
    await templates.approve(OPERATOR, positional["id"])
    await templates.approve(OPERATOR, named["id"])

    rendered = await templates.for_send(
        business.id,
        "order_update",
        "en_US",
        [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Budi"}, {"type": "text", "text": "A-42"}],
            }
        ],
    )
    assert rendered.template_id == positional["id"] and rendered.category == "UTILITY"
    assert rendered.text == "Order update\n\nHi Budi, your order A-42 is on its way.\n\nToko Sari"
    assert rendered.buttons == [{"type": "quick_reply", "text": "Thanks", "payload": "Thanks"}]

    greeting = await templates.for_send(
        business.id,
        "greeting",
        "id",
        [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "parameter_name": "promo", "text": "50%"},
                    {"type": "text", "parameter_name": "first_name", "text": "Sari"},
                ],
            }
        ],
    )
    assert greeting.body == "Halo Sari, ada promo 50% untukmu." and greeting.language == "id"

    async def code(name: str, language: str, components: list[dict[str, Any]]) -> int:
        with pytest.raises(GraphError) as caught:
            await templates.for_send(business.id, name, language, components)
        return caught.value.code

    one = [{"type": "body", "parameters": [{"type": "text", "text": "Budi"}]}]
    assert await code("order_update", "en_US", one) == 132000
    assert await code("greeting", "id", one) == 132000  # no parameter_name
    assert await code("order_update", "id", body) == 132001  # no such translation
    assert await code("no_such_template", "en_US", body) == 132001
    # Another business's approved template is not this one's.
    other = await make_business(business_server, name="Toko Lain", phone="+6281100009999")
    with pytest.raises(GraphError) as caught:
        await templates.for_send(other.id, "order_update", "en_US", body)
    assert caught.value.code == 132001
    # Deciding it again is refused by the service too.
    with pytest.raises(Conflict):
        await templates.reject(OPERATOR, positional["id"], "SCAM")


class _ToServer(httpx.AsyncHTTPTransport):
    """pywa's Graph requests, sent to the test server (COMPAT.md §2)."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return await super().handle_async_request(request)


async def test_f9_pywa_creates_lists_reads_edits_and_deletes_templates(
    business_server: RunningServer,
) -> None:
    business = await make_business(business_server)
    session = httpx.AsyncClient(transport=_ToServer(business_server.port), timeout=30)
    wa = WhatsApp(
        phone_id=business.number_id,
        token=business.token,
        waba_id=business.id,
        api_version="25.0",
        session=session,
    )
    try:
        created = await wa.create_template(
            template=t.Template(
                name="welcome_offer",
                language=t.TemplateLanguage.INDONESIAN,
                category=t.TemplateCategory.MARKETING,
                parameter_format=t.ParamFormat.NAMED,
                components=[
                    t.HeaderText(text="Selamat datang!"),
                    t.BodyText(text="Halo {{name}}, ada diskon untukmu hari ini.", name="Budi"),
                    t.FooterText(text="Toko Sari"),
                    t.Buttons(buttons=[t.QuickReplyButton(text="Mau")]),
                ],
            )
        )
        assert created.status == t.TemplateStatus.PENDING
        await business_server.services.templates.approve(OPERATOR, created.id)

        listed = await wa.get_templates(statuses=[t.TemplateStatus.APPROVED])
        [details] = list(listed)
        assert (listed.total_count, listed.message_template_count) == (1, 1)
        assert listed.are_translations_complete is True
        assert details.id == created.id and details.name == "welcome_offer"
        assert details.parameter_format == t.ParamFormat.NAMED
        assert details.language == t.TemplateLanguage.INDONESIAN
        got = await wa.get_template(created.id)
        assert got.status == t.TemplateStatus.APPROVED and len(got.components) == 4

        updated = await wa.update_template(created.id, new_category=t.TemplateCategory.UTILITY)
        assert updated.success
        again = await wa.get_template(created.id)
        assert again.status == t.TemplateStatus.PENDING
        assert again.category == t.TemplateCategory.UTILITY

        assert (await wa.delete_template("welcome_offer")).success
        assert list(await wa.get_templates()) == []
    finally:
        await session.aclose()


async def test_f9_an_approved_template_reaches_an_opted_in_person_filled_in(
    business_server: RunningServer, sms_gateway: SmsGatewayStandIn
) -> None:
    business = await make_business(business_server)
    budi = await customer(business_server, sms_gateway, "+6281234500009")
    await opt_in(business, "+6281234500009")
    # He wrote first (a business's first message to someone is another part's work).
    opened = await budi.http.post(
        "/api/v1/business-chats", json={"number": business.display_phone_number}
    )
    room_id = opened.json()["room_id"]
    wrote = await budi.http.post(
        f"/api/v1/rooms/{room_id}/messages", json={"client_msg_id": "c-1", "body": "Halo"}
    )
    assert wrote.status_code == 201, wrote.text
    made = await submit(business, order_update())
    template = {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Budi"}, {"type": "text", "text": "A-42"}],
            }
        ],
    }
    pending = await business.send({"to": "6281234500009", "type": "template", "template": template})
    assert pending.status_code == 400 and pending.json()["error"]["code"] == 132001
    await business_server.services.templates.approve(OPERATOR, made["id"])
    short = {**template, "components": [{"type": "body", "parameters": []}]}
    wrong = await business.send({"to": "6281234500009", "type": "template", "template": short})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == 132000

    sent = await business.send({"to": "6281234500009", "type": "template", "template": template})
    assert sent.status_code == 200, sent.text
    assert sent.json()["messages"][0]["message_status"] == "accepted"
    history = (await budi.http.get(f"/api/v1/rooms/{room_id}/messages")).json()["messages"]
    assert [m["body"] for m in history] == [
        "Halo",
        "Order update\n\nHi Budi, your order A-42 is on its way.\n\nToko Sari",
    ]
