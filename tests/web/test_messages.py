"""The message list and what happens to messages (F2): history as you scroll, the first
unread, replies, edits, deletions, reactions, typing, presence, links, and sends that fail
for a passing reason."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from playwright.async_api import Browser, Page, WebSocketRoute, expect

from tests.support.server import RunningServer
from tests.web.browsing import (
    message,
    send,
    token_of,
    two_people_in_a_direct_chat,
)


async def the_room(server: RunningServer, page: Page) -> tuple[Any, str]:
    """The page's person's HTTP client and the id of their one room."""
    http = server.http(await token_of(page))
    rooms = (await http.get("/api/v1/rooms")).json()["rooms"]
    return http, rooms[0]["id"]


async def post_messages(http: Any, room_id: str, texts: list[str]) -> None:
    for i, text in enumerate(texts):
        answer = await http.post(
            f"/api/v1/rooms/{room_id}/messages",
            json={"client_msg_id": f"seed-{text}-{i}", "body": text},
        )
        assert answer.status_code == 201, answer.text


async def stored(http: Any, room_id: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    before = ""
    while True:
        page = (await http.get(f"/api/v1/rooms/{room_id}/messages?limit=100{before}")).json()
        messages = page["messages"] + messages
        if not page["has_more"]:
            return messages
        before = f"&before={page['messages'][0]['position']}"


async def scroll_top(page: Page) -> float:
    top: float = await page.get_by_test_id("messages").evaluate("el => el.scrollTop")
    return top


def exactly(page: Page, text: str) -> Any:
    """The text of the one message that says exactly this."""
    return page.get_by_test_id("message").locator(".body", has_text=re.compile(f"^{text}$"))


async def bodies(page: Page) -> list[str]:
    return await page.get_by_test_id("message").locator(".body").all_inner_texts()


async def test_f2_earlier_history_loads_as_you_scroll_up_and_keeps_your_place(
    server: RunningServer, browser: Browser
) -> None:
    ani, budi = await two_people_in_a_direct_chat(browser, server)
    http, room_id = await the_room(server, ani)
    texts = [f"pesan {i}" for i in range(1, 151)]
    await post_messages(http, room_id, texts)
    # 150 live messages take a while to render on a busy machine: this waits, not measures.
    await expect(message(budi, "pesan 150")).to_be_visible(timeout=60_000)
    # Budi has read them all (his receipt reached Ani) before he reloads.
    last = ani.get_by_test_id("message").filter(
        has=ani.locator(".body", has_text=re.compile("^pesan 150$"))
    )
    await expect(last).to_have_attribute("data-status", "read", timeout=60_000)

    # Opened again, with nothing unread: the newest page, at its end.
    await budi.reload()
    await expect(message(budi, "pesan 150")).to_be_in_viewport()
    await expect(budi.get_by_test_id("message")).to_have_count(100)
    assert (await bodies(budi))[0] == "pesan 51"

    # Scrolled to the top: the page before it comes in above, and what was on screen
    # stays on screen instead of jumping to the oldest message.
    await budi.get_by_test_id("messages").evaluate("el => el.scrollTop = 0")
    await expect(budi.get_by_test_id("message")).to_have_count(150)
    await expect(exactly(budi, "pesan 51")).to_be_in_viewport()
    await expect(exactly(budi, "pesan 1")).not_to_be_in_viewport()
    assert await bodies(budi) == texts  # each once, in order, no gap
    # Up again: nothing more to load, and the list says it is the start.
    await budi.get_by_test_id("messages").evaluate("el => el.scrollTop = 0")
    await expect(budi.get_by_test_id("history-start")).to_be_visible()
    assert await bodies(budi) == texts


async def test_f2_a_room_opens_at_its_first_unread_and_does_not_pull_a_reader_down(
    server: RunningServer, browser: Browser
) -> None:
    ani, budi = await two_people_in_a_direct_chat(browser, server)
    http, room_id = await the_room(server, ani)
    read = [f"lama {i}" for i in range(1, 21)]
    await post_messages(http, room_id, read)
    await expect(exactly(budi, "lama 20")).to_be_visible()
    lama_20 = ani.get_by_test_id("message").filter(
        has=ani.locator(".body", has_text=re.compile("^lama 20$"))
    )
    await expect(lama_20).to_have_attribute("data-status", "read")

    # Budi goes back to his chats; 130 more come in, more than one page.
    await budi.get_by_role("button", name="Kembali ke daftar obrolan").click()
    unread = [f"baru {i}" for i in range(1, 131)]
    await post_messages(http, room_id, unread)
    await expect(budi.get_by_test_id("room").locator(".badge")).to_have_text("130")

    await budi.get_by_test_id("room").click()
    divider = budi.get_by_test_id("unread-divider")
    await expect(divider).to_have_text("Pesan baru")
    await expect(exactly(budi, "baru 1")).to_be_in_viewport()
    await expect(exactly(budi, "baru 130")).not_to_be_in_viewport()
    # The divider stands right before the first unread message.
    after_divider = budi.locator("[data-testid=unread-divider] + [data-testid=message] .body")
    await expect(after_divider).to_have_text("baru 1")
    assert await bodies(budi) == [*read, *unread]

    # Reading up there, a new message does not pull him down to the end...
    await asyncio.sleep(0.5)
    top = await scroll_top(budi)
    await send(ani, "Sudah baca belum?")
    await expect(message(budi, "Sudah baca belum?")).to_have_count(1)
    await asyncio.sleep(0.3)
    assert await scroll_top(budi) == top
    await expect(exactly(budi, "baru 1")).to_be_in_viewport()
    # It offers to go down instead.
    await budi.get_by_role("button", name="Ada pesan baru di bawah").click()
    await expect(message(budi, "Sudah baca belum?")).to_be_in_viewport()
    await expect(budi.get_by_test_id("to-latest")).to_have_count(0)
    # ...his own does, and at the end the next one keeps him there.
    await send(budi, "Sebentar")
    await expect(message(budi, "Sebentar")).to_be_in_viewport()
    await send(ani, "Oke")
    await expect(message(budi, "Oke")).to_be_in_viewport()


def bubble(page: Page, text: str) -> Any:
    """The message whose own text starts so (not one that quotes it)."""
    return page.get_by_test_id("message").filter(
        has=page.locator(".body", has_text=re.compile("^" + re.escape(text)))
    )


async def actions_of(page: Page, text: str) -> Any:
    await bubble(page, text).get_by_test_id("actions").click()
    return bubble(page, text).get_by_test_id("message-actions")


async def test_f2_reply_edit_delete_and_react_reach_the_other_person_live(
    server: RunningServer, browser: Browser
) -> None:
    ani, budi = await two_people_in_a_direct_chat(browser, server)
    await send(ani, "Jam berapa kita ketemu?")
    await expect(bubble(budi, "Jam berapa")).to_be_visible()

    # Budi replies: the reply quotes the message it answers, for both of them.
    await (await actions_of(budi, "Jam berapa")).get_by_role("button", name="Balas").click()
    await expect(budi.get_by_test_id("replying")).to_contain_text("Membalas Ani Lestari")
    await send(budi, "Jam 10 pagi")
    await expect(budi.get_by_test_id("replying")).to_have_count(0)
    for page in (ani, budi):
        reply = message(page, "Jam 10 pagi")
        await expect(reply.get_by_test_id("quote")).to_contain_text("Jam berapa kita ketemu?")
    http, room_id = await the_room(server, ani)
    history = await stored(http, room_id)
    assert history[1]["reply_to"] == history[0]["id"]

    # Ani corrects her message: Budi sees the new text, marked as edited.
    await (await actions_of(ani, "Jam berapa")).get_by_role("button", name="Edit").click()
    editor = ani.get_by_test_id("edit").locator("textarea")
    await editor.fill("Jam berapa kita ketemu besok?")
    await editor.press("Enter")
    edited = bubble(budi, "Jam berapa kita ketemu besok?")
    await expect(edited.get_by_test_id("edited")).to_have_text("diubah")
    await expect(
        bubble(ani, "Jam berapa kita ketemu besok?").get_by_test_id("edited")
    ).to_have_text("edited")
    await expect(message(budi, "Jam 10 pagi").get_by_test_id("quote")).to_contain_text("besok?")

    # Reactions: added and taken back, counted, and who reacted is named.
    await (
        (await actions_of(budi, "Jam berapa kita ketemu besok?"))
        .get_by_role("button", name="Tanggapi dengan 👍")
        .click()
    )
    chip = bubble(ani, "Jam berapa kita ketemu besok?").locator(
        "[data-testid=reaction][data-emoji='👍']"
    )
    await expect(chip).to_have_text("👍 1")
    await expect(chip).to_have_attribute("aria-label", "👍 from Budi Santoso")
    await expect(chip).to_have_attribute("aria-pressed", "false")
    await chip.click()  # Ani adds hers
    budi_chip = bubble(budi, "Jam berapa kita ketemu besok?").locator(
        "[data-testid=reaction][data-emoji='👍']"
    )
    await expect(budi_chip).to_have_text("👍 2")
    await expect(budi_chip).to_have_attribute("aria-label", "👍 dari Anda, Ani Lestari")
    await expect(chip).to_have_attribute("aria-pressed", "true")
    await budi_chip.click()  # Budi takes his back
    await expect(chip).to_have_text("👍 1")
    await expect(chip).to_have_attribute("aria-label", "👍 from You")
    reactions = (await stored(http, room_id))[0]["reactions"]
    assert list(reactions) == ["👍"] and len(reactions["👍"]) == 1

    # Ani deletes it for everyone: no text left anywhere, not even in the quote.
    await (
        (await actions_of(ani, "Jam berapa kita ketemu besok?"))
        .get_by_role("button", name="Delete")
        .click()
    )
    await bubble(ani, "Jam berapa kita ketemu besok?").get_by_role("button", name="Delete").click()
    for page, deleted in ((ani, "Message deleted"), (budi, "Pesan ini sudah dihapus")):
        await expect(page.get_by_test_id("deleted")).to_have_text(deleted)
        await expect(page.get_by_test_id("messages")).not_to_contain_text("Jam berapa")
        await expect(page.get_by_test_id("reaction")).to_have_count(0)
        await expect(message(page, "Jam 10 pagi").get_by_test_id("quote")).to_contain_text(deleted)
    # The same from history after a reload.
    await budi.reload()
    await expect(budi.get_by_test_id("deleted")).to_have_text("Pesan ini sudah dihapus")
    await expect(budi.get_by_test_id("messages")).not_to_contain_text("Jam berapa")
    await expect(message(budi, "Jam 10 pagi")).to_have_count(1)


async def test_f2_typing_and_presence_of_the_other_person_in_a_direct_chat(
    server: RunningServer, browser: Browser
) -> None:
    ani, budi = await two_people_in_a_direct_chat(browser, server)
    status = budi.get_by_test_id("room-status")
    textarea = ani.get_by_test_id("composer").locator("textarea")
    await textarea.press_sequentially("Sebentar ya", delay=30)
    await expect(status).to_have_text("Ani Lestari sedang mengetik…")
    await textarea.press("Enter")
    await expect(message(budi, "Sebentar ya")).to_be_visible()
    await expect(status).not_to_contain_text("mengetik")

    # Typing that stops without a message runs out by itself.
    await textarea.press_sequentially("Hmm", delay=30)
    await expect(status).to_have_text("Ani Lestari sedang mengetik…")
    started = time.monotonic()
    await expect(status).not_to_contain_text("mengetik", timeout=20_000)
    assert time.monotonic() - started > 3  # not at the next key, but after a pause

    # Budi closes the app: Ani sees him go; he opens it again: she sees him back.
    ani_status = ani.get_by_test_id("room-status")
    context = budi.context
    await budi.close()
    await expect(ani_status).to_have_text("offline")
    budi = await context.new_page()
    await budi.goto("/")
    await expect(ani_status).to_have_text("online")


async def test_links_are_clickable_and_markup_and_other_schemes_stay_text(
    server: RunningServer, browser: Browser
) -> None:
    ani, budi = await two_people_in_a_direct_chat(browser, server)
    dialogs: list[str] = []
    for page in (ani, budi):
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    text = (
        "Menu: https://contoh.id/menu?hari=senin&jam=10. Jangan klik javascript:alert(1), "
        "JAVASCRIPT://x%0aalert(2), data:text/html,<b>x</b> atau "
        '<a href="javascript:alert(3)">ini</a> <img src=x onerror=alert(4)> '
        '(lihat http://peta.id/a_(b))! "https://x.id/"><script>alert(5)</script>'
    )
    await send(ani, text)
    for page in (ani, budi):
        body = message(page, "Menu:").locator(".body")
        await expect(body).to_have_text(text)
        links = body.locator("a")
        await expect(links).to_have_count(3)
        first = links.nth(0)
        await expect(first).to_have_text("https://contoh.id/menu?hari=senin&jam=10")
        await expect(first).to_have_attribute("href", "https://contoh.id/menu?hari=senin&jam=10")
        await expect(first).to_have_attribute("rel", "noopener noreferrer nofollow")
        await expect(first).to_have_attribute("target", "_blank")
        await expect(links.nth(1)).to_have_attribute("href", "http://peta.id/a_(b)")
        await expect(links.nth(2)).to_have_attribute("href", "https://x.id/")
        hrefs = await links.evaluate_all("els => els.map(a => a.getAttribute('href'))")
        assert all(h.startswith(("https://", "http://")) for h in hrefs)
        messages = page.get_by_test_id("messages")
        for tag in ("img", "b", "script"):
            await expect(messages.locator(tag)).to_have_count(0)
        # Every child of the text is a text node or one of those links.
        kinds = await body.evaluate(
            "el => [...el.childNodes].map(n => n.nodeType === 3 ? 'text' : n.tagName)"
        )
        assert set(kinds) <= {"text", "A"}
        # A chat that fits on the screen says it is the whole of it.
        await expect(page.get_by_test_id("history-start")).to_be_visible()
    assert dialogs == []


def _answer(ws: WebSocketRoute, frame: dict[str, Any]) -> None:
    ws.send(json.dumps(frame))


async def test_f2_a_send_that_fails_for_a_passing_reason_goes_again_by_itself_once(
    server: RunningServer, browser: Browser
) -> None:
    """A fault on the server's side (500, 503) or too many requests (429) is not a
    refusal: the client sends again after a back-off, under the same client_msg_id, and
    the message is stored and shown once."""
    ani, budi = await two_people_in_a_direct_chat(browser, server)
    sends: list[tuple[float, str]] = []  # (when, body) of every send frame Ani's page sent
    internal = {
        "status": 500,
        "type": "https://obrolan.dev/problems/internal-error",
        "title": "Internal error",
        "detail": "something went wrong on our side",
    }
    trouble: dict[str, list[dict[str, Any]]] = {
        "Satu": [internal, {**internal, "status": 503}],  # twice: the back-off grows
        "Dua": [
            {
                "status": 429,
                "type": "https://obrolan.dev/problems/rate-limited",
                "title": "Too many requests",
                "detail": "slow down",
                "retry_after": 2,
            }
        ],
    }
    acks_to_spoil: dict[Any, str] = {}

    async def between(ws: WebSocketRoute) -> None:
        server_ws = ws.connect_to_server()

        def from_page(raw: str | bytes) -> None:
            frame = json.loads(raw)
            if frame.get("type") == "send":
                sends.append((time.monotonic(), frame["body"]))
                problems = trouble.get(frame["body"])
                if problems:  # answered here: the server never saw it
                    _answer(ws, {"type": "error", "id": frame["id"], "error": problems.pop(0)})
                    return
                if frame["body"] == "Tiga" and not any(b == "Tiga" for _, b in sends[:-1]):
                    acks_to_spoil[frame["id"]] = "Tiga"  # stored, but the ack is lost
            server_ws.send(raw)

        def from_server(raw: str | bytes) -> None:
            frame = json.loads(raw)
            if frame.get("type") == "ack" and acks_to_spoil.pop(frame.get("id"), None):
                error = {
                    "status": 503,
                    "type": "https://obrolan.dev/problems/unavailable",
                    "title": "Unavailable",
                    "detail": "try again",
                }
                _answer(ws, {"type": "error", "id": frame["id"], "error": error})
                return
            ws.send(raw)

        ws.on_message(from_page)
        server_ws.on_message(from_server)

    await ani.route_web_socket("**/ws", between)
    await ani.reload()
    await expect(ani.get_by_test_id("connection")).to_have_class("conn conn-online")

    texts = ["Satu", "Dua", "Tiga", "Empat"]
    for text in texts:
        await send(ani, text)
    await expect(message(ani, "Satu").get_by_test_id("retrying")).to_be_visible()
    for text in texts:
        await expect(message(budi, text)).to_have_count(1)
        await expect(message(ani, text)).not_to_have_attribute("data-status", "pending")
    await expect(ani.get_by_role("alert")).to_have_count(0)  # nothing shown as refused
    await expect(ani.get_by_test_id("retrying")).to_have_count(0)
    await asyncio.sleep(1)
    assert await bodies(ani) == texts
    assert await bodies(budi) == texts
    http, room_id = await the_room(server, ani)
    assert [m["body"] for m in await stored(http, room_id)] == texts
    # Each failed once and went again, in order; the 429 waited as long as it was asked.
    said = [b for _, b in sends]
    assert said[:4] == ["Satu", "Satu", "Satu", "Dua"] and said.count("Dua") == 2
    first, second, third = (at for at, b in sends if b == "Satu")
    # Half to all of 1 s before the first retry, of 2 s before the second.
    assert second - first >= 0.45 and third - second >= 0.95
    first_dua, second_dua = (at for at, b in sends if b == "Dua")
    assert second_dua - first_dua >= 1.9


async def test_f2_delivered_receipts_are_one_per_room_for_a_burst(
    server: RunningServer, browser: Browser
) -> None:
    ani, budi = await two_people_in_a_direct_chat(browser, server)
    receipts: list[dict[str, Any]] = []

    def watch(ws: Any) -> None:
        def sent(payload: str | bytes) -> None:
            frame = json.loads(payload)
            if frame.get("type") == "receipt":
                receipts.append(frame)

        ws.on("framesent", sent)

    # Budi is on his list of chats, then offline while Ani writes five messages.
    await budi.get_by_role("button", name="Kembali ke daftar obrolan").click()
    budi.on("websocket", watch)
    await budi.context.set_offline(True)
    await expect(budi.get_by_test_id("connection")).to_have_class("conn conn-offline")
    http, room_id = await the_room(server, ani)
    texts = [f"Kabar {i}" for i in range(1, 6)]
    await post_messages(http, room_id, texts)

    # Back: the five replay in one burst, and one receipt answers them all.
    await budi.context.set_offline(False)
    await expect(budi.get_by_test_id("room").locator(".badge")).to_have_text("5")
    for text in texts:
        await expect(message(ani, text)).to_have_attribute("data-status", "delivered")
    await asyncio.sleep(1)
    newest = (await stored(http, room_id))[-1]["position"]
    assert receipts == [{"type": "receipt", "room_id": room_id, "delivered_up_to": newest}]
