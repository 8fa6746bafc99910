"""Rooms and people in the web client: the room list, groups and rooms, invites, the
public directory, members and roles, blocking (F2, R18). Each person is a browser."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.support.factories import make_room, make_user
from tests.support.server import RunningServer
from tests.web.browsing import (
    DESKTOP,
    PHONE,
    message,
    open_context,
    send,
    sign_up,
    token_of,
    two_people_in_a_direct_chat,
)


async def person(
    browser: Browser, server: RunningServer, username: str, name: str, *, phone: bool = False
) -> Page:
    locale, viewport = ("id-ID", PHONE) if phone else ("en-GB", DESKTOP)
    _, page = await open_context(browser, server, locale, viewport)
    await sign_up(page, username, name)
    return page


async def user_id(server: RunningServer, page: Page) -> str:
    me: dict[str, Any] = (await server.http(await token_of(page)).get("/api/v1/me")).json()
    return str(me["id"])


def room(page: Page, name: str) -> Any:
    return page.get_by_test_id("room").filter(has_text=name)


async def create_room(page: Page, kind: str, name: str, members: str, topic: str = "") -> None:
    await page.get_by_test_id("panel-create").click()
    form = page.get_by_test_id("create-room")
    await form.locator("[name=kind]").select_option(kind)
    await form.locator("[name=name]").fill(name)
    await form.locator("[name=topic]").fill(topic)
    await form.locator("[name=members]").fill(members)
    await form.locator("button[type=submit]").click()
    await expect(page.get_by_test_id("room-title")).to_have_text(name)


def member(page: Page, name: str) -> Any:
    return page.get_by_test_id("member").filter(has_text=name)


async def test_f2_ani_creates_a_group_with_budi_and_citra_and_all_three_chat(
    server: RunningServer, browser: Browser
) -> None:
    ani = await person(browser, server, "ani", "Ani Lestari")
    budi = await person(browser, server, "budi", "Budi Santoso", phone=True)
    citra = await person(browser, server, "citra", "Citra Dewi")

    await create_room(ani, "group", "Arisan RT 5", "budi, @citra", topic="Tiap Minggu pertama")
    await expect(ani.locator(".head-topic")).to_have_text("Tiap Minggu pertama")
    # A group's members join at once: it is in Budi's and Citra's lists with no reload.
    await room(budi, "Arisan RT 5").click()
    await room(citra, "Arisan RT 5").click()
    await send(ani, "Halo semua, arisan bulan ini di rumahku")
    await send(budi, "Siap, aku bawa kue")
    await send(citra, "Aku datang jam 4")
    for page in (ani, budi, citra):
        await expect(message(page, "arisan bulan ini")).to_be_visible()
        await expect(message(page, "aku bawa kue")).to_be_visible()
        await expect(message(page, "Aku datang jam 4")).to_be_visible()
    # In a group each bubble says who wrote it.
    await expect(message(citra, "aku bawa kue")).to_contain_text("Budi Santoso")
    await expect(message(budi, "Aku datang jam 4")).to_contain_text("Citra Dewi")

    # The room's details list the three with their roles.
    await ani.get_by_test_id("room-details").click()
    await expect(ani.get_by_test_id("member")).to_have_count(3)
    await expect(member(ani, "Ani Lestari").get_by_test_id("role")).to_have_text("Owner")
    await expect(member(ani, "Budi Santoso").get_by_test_id("role")).to_have_text("Member")


async def test_f2_private_room_invites_are_joined_or_declined(
    server: RunningServer, browser: Browser
) -> None:
    ani = await person(browser, server, "ani", "Ani Lestari")
    budi = await person(browser, server, "budi", "Budi Santoso", phone=True)
    citra = await person(browser, server, "citra", "Citra Dewi")

    # Nobody has the username "dodi": nothing is created, and the form says so.
    await ani.get_by_test_id("panel-create").click()
    form = ani.get_by_test_id("create-room")
    await form.locator("[name=kind]").select_option("private")
    await form.locator("[name=name]").fill("Pengurus")
    await form.locator("[name=members]").fill("budi dodi")
    await form.locator("button[type=submit]").click()
    await expect(ani.get_by_test_id("create-error")).to_contain_text("dodi")
    assert (await server.http(await token_of(ani)).get("/api/v1/rooms")).json()["rooms"] == []
    await ani.get_by_test_id("panel-create").click()  # closes the panel

    await create_room(ani, "private", "Pengurus", "budi citra")
    # Private rooms invite: Budi and Citra each get an invitation, not the room.
    invite_b = budi.get_by_test_id("invite-card").filter(has_text="Pengurus")
    invite_c = citra.get_by_test_id("invite-card").filter(has_text="Pengurus")
    await expect(invite_b).to_contain_text("Ruang tertutup")
    await expect(citra.get_by_test_id("room")).to_have_count(0)
    await invite_b.get_by_role("button", name="Gabung").click()
    await expect(budi.get_by_test_id("room-title")).to_have_text("Pengurus")
    await send(budi, "Terima kasih undangannya")
    await expect(message(ani, "Terima kasih undangannya")).to_be_visible()
    await invite_c.get_by_role("button", name="Decline").click()
    await expect(invite_c).to_have_count(0)
    await expect(citra.get_by_test_id("room")).to_have_count(0)
    # Declined: Citra is no longer invited, in the members Ani sees.
    await ani.get_by_test_id("room-details").click()
    await expect(ani.get_by_test_id("member")).to_have_count(2)
    await expect(member(ani, "Citra Dewi")).to_have_count(0)


async def test_f2_public_directory_search_paging_and_join(
    server: RunningServer, browser: Browser
) -> None:
    owner = await make_user(server, "pak_rt")
    for i in range(23):
        await make_room(owner, "public", f"Kota {i:02}")
    kopi = await make_room(owner, "public", "Pecinta Kopi")
    await make_room(owner, "private", "Kopi Rahasia")  # never listed
    posted = await owner.http.post(
        f"/api/v1/rooms/{kopi['id']}/messages",
        json={"client_msg_id": "k1", "body": "Selamat datang, pecinta kopi!"},
    )
    assert posted.status_code == 201
    budi = await person(browser, server, "budi", "Budi Santoso", phone=True)

    await budi.get_by_test_id("panel-directory").click()
    directory = budi.get_by_test_id("directory")
    # All public rooms, 20 at a time, by name; "Show more" pages on with `next`.
    await expect(directory.get_by_test_id("public-room")).to_have_count(20)
    await directory.get_by_test_id("directory-more").click()
    await expect(directory.get_by_test_id("public-room")).to_have_count(24)
    await expect(directory.get_by_test_id("directory-more")).to_have_count(0)

    await directory.get_by_role("searchbox").fill("KOPI")
    await directory.get_by_role("button", name="Cari", exact=True).click()
    found = directory.get_by_test_id("public-room")
    await expect(found).to_have_count(1)
    await expect(found).to_contain_text("Pecinta Kopi")
    await expect(found).to_contain_text("1 anggota")
    await found.get_by_role("button", name="Gabung ke Pecinta Kopi").click()
    await expect(budi.get_by_test_id("room-title")).to_have_text("Pecinta Kopi")
    await expect(message(budi, "Selamat datang, pecinta kopi!")).to_be_visible()
    members = (await owner.http.get(f"/api/v1/rooms/{kopi['id']}/members")).json()["members"]
    assert len(members) == 2
    # Back in the list, the room is there with its last message.
    await budi.get_by_role("button", name="Kembali ke daftar obrolan").click()
    await expect(room(budi, "Pecinta Kopi")).to_contain_text("Selamat datang")
    await budi.get_by_test_id("panel-directory").click()
    await expect(directory.get_by_role("button", name="Buka")).to_have_count(1)


async def test_f2_kick_ban_and_roles_from_the_room_details(
    server: RunningServer, browser: Browser
) -> None:
    ani = await person(browser, server, "ani", "Ani Lestari")
    budi = await person(browser, server, "budi", "Budi Santoso", phone=True)
    citra = await person(browser, server, "citra", "Citra Dewi")
    budi_id, citra_id = await user_id(server, budi), await user_id(server, citra)
    ani_http = server.http(await token_of(ani))
    made = await ani_http.post(
        "/api/v1/rooms",
        json={"kind": "group", "name": "Ronda Malam", "members": [budi_id, citra_id]},
    )
    assert made.status_code == 201
    room_id = made.json()["id"]

    # A member sees the people and may invite to a group, but removes nobody.
    await room(budi, "Ronda Malam").click()
    await budi.get_by_test_id("room-details").click()
    await expect(budi.get_by_test_id("member")).to_have_count(3)
    await expect(member(budi, "Ani Lestari").get_by_test_id("role")).to_have_text("Pemilik")
    await expect(budi.get_by_role("button", name="Keluarkan")).to_have_count(0)
    await expect(budi.get_by_role("button", name="Larang")).to_have_count(0)
    await expect(budi.get_by_test_id("invite")).to_be_visible()

    await room(ani, "Ronda Malam").click()
    await ani.get_by_test_id("room-details").click()
    # The owner appoints Citra admin.
    await ani.get_by_role("button", name="Make Citra Dewi an admin").click()
    await expect(member(ani, "Citra Dewi").get_by_test_id("role")).to_have_text("Admin")
    # The owner removes Budi: the room leaves Budi's list, live, and his phone, which
    # had it open, is back at the list.
    await ani.get_by_role("button", name="Remove Budi Santoso from the room").click()
    await expect(member(ani, "Budi Santoso")).to_have_count(0)
    await expect(budi.get_by_test_id("room")).to_have_count(0)
    await expect(budi.get_by_test_id("panel-create")).to_be_visible()
    # And bans Citra, an admin: gone from her list, and she cannot join again.
    await ani.get_by_role("button", name="Ban Citra Dewi").click()
    await expect(member(ani, "Citra Dewi")).to_have_count(0)
    await expect(citra.get_by_test_id("room")).to_have_count(0)
    citra_http = server.http(await token_of(citra))
    assert (await citra_http.post(f"/api/v1/rooms/{room_id}/join")).status_code in (403, 404)
    # Inviting a banned person is refused, and the panel shows the server's reason.
    invite = ani.get_by_test_id("invite")
    await invite.locator("[name=username]").fill("citra")
    await invite.locator("button[type=submit]").click()
    await expect(ani.get_by_test_id("info-error")).to_contain_text("unban them first")
    # The list of bans comes from the server: it is there after a reload too.
    await ani.reload()
    await ani.get_by_test_id("room-details").click()
    await expect(ani.get_by_test_id("banned")).to_contain_text("Citra Dewi")
    # Unbanned, she may be invited again; the invitation reaches her.
    await ani.get_by_test_id("banned").get_by_role("button", name="Unban").click()
    await expect(ani.get_by_test_id("banned")).to_have_count(0)
    await invite.locator("[name=username]").fill("citra")
    await invite.locator("button[type=submit]").click()
    await expect(member(ani, "Citra Dewi").get_by_test_id("role")).to_have_text("Invited")
    await expect(citra.get_by_test_id("invite-card")).to_contain_text("Ronda Malam")
    # Budi, removed, is invited back, joins, and leaves by himself.
    await invite.locator("[name=username]").fill("budi")
    await invite.locator("button[type=submit]").click()
    await budi.get_by_test_id("invite-card").get_by_role("button", name="Gabung").click()
    await expect(budi.get_by_test_id("room-title")).to_have_text("Ronda Malam")
    await budi.get_by_test_id("room-details").click()
    await budi.get_by_test_id("leave").click()
    await expect(budi.get_by_test_id("room")).to_have_count(0)


async def test_f2_admins_edit_the_name_and_topic(server: RunningServer, browser: Browser) -> None:
    ani = await person(browser, server, "ani", "Ani Lestari")
    budi = await person(browser, server, "budi", "Budi Santoso", phone=True)
    await create_room(ani, "public", "Warung", "budi")
    await budi.get_by_test_id("invite-card").get_by_role("button", name="Gabung").click()
    await budi.get_by_test_id("room-details").click()
    await expect(budi.get_by_test_id("room-edit")).to_have_count(0)  # a member edits nothing
    await ani.get_by_test_id("room-details").click()
    edit = ani.get_by_test_id("room-edit")
    await edit.locator("[name=name]").fill("Warung Kopi")
    await edit.locator("[name=topic]").fill("Ngopi sore")
    await edit.locator("button[type=submit]").click()
    await expect(ani.get_by_test_id("room-title")).to_have_text("Warung Kopi")
    await expect(budi.get_by_test_id("room-title")).to_have_text("Warung Kopi")
    await expect(budi.locator(".head-topic")).to_have_text("Ngopi sore")


async def test_r18_block_and_unblock_from_the_direct_chat(
    server: RunningServer, browser: Browser
) -> None:
    ani, budi = await two_people_in_a_direct_chat(browser, server)
    await send(budi, "Halo Ani")
    await expect(message(ani, "Halo Ani")).to_be_visible()

    await ani.get_by_test_id("block").click()
    # Ani's chat cannot be written to, and says why; Budi's sends are refused.
    note = ani.get_by_test_id("blocked-note")
    await expect(note).to_contain_text("You blocked Budi Santoso")
    await expect(ani.get_by_test_id("composer")).to_have_count(0)
    await expect(ani.get_by_role("button", name="Unblock Budi Santoso")).to_have_count(1)
    await send(budi, "Kok diam?")
    await expect(message(budi, "Kok diam?")).to_have_attribute("data-status", "failed")
    await expect(message(ani, "Kok diam?")).to_have_count(0)

    # The list of people Ani blocked, with Unblock.
    await ani.get_by_test_id("panel-blocked").click()
    blocked = ani.get_by_test_id("blocked-person")
    await expect(blocked).to_have_count(1)
    await expect(blocked).to_contain_text("Budi Santoso")
    await blocked.get_by_role("button", name="Unblock Budi Santoso").click()
    await expect(blocked).to_have_count(0)
    await expect(ani.get_by_test_id("blocked")).to_contain_text("You have not blocked anyone")
    await expect(note).to_have_count(0)
    await expect(ani.get_by_test_id("composer")).to_be_visible()
    http = server.http(await token_of(ani))
    assert (await http.get("/api/v1/blocks")).json()["blocks"] == []
    # Unblocked, they write again.
    await message(budi, "Kok diam?").locator("button.link").first.click()  # Retry
    await expect(message(ani, "Kok diam?")).to_be_visible()
    await send(ani, "Maaf, tadi salah pencet")
    await expect(message(budi, "salah pencet")).to_be_visible()


async def test_f2_room_list_shows_last_messages_newest_first_and_searches(
    server: RunningServer, browser: Browser
) -> None:
    ani = await person(browser, server, "ani", "Ani Lestari")
    budi = await person(browser, server, "budi", "Budi Santoso", phone=True)
    citra_id = (await make_user(server, "citra", display_name="Citra Dewi")).id
    budi_id = await user_id(server, budi)
    ani_http = server.http(await token_of(ani))
    budi_http = server.http(await token_of(budi))
    group = await ani_http.post(
        "/api/v1/rooms", json={"kind": "group", "name": "Arisan", "members": [budi_id, citra_id]}
    )
    direct = await budi_http.post(
        "/api/v1/rooms/direct", json={"user_id": await user_id(server, ani)}
    )
    assert group.status_code == 201 and direct.status_code == 201

    async def post(http: Any, room_id: str, cid: str, body: str) -> dict[str, Any]:
        answer = await http.post(
            f"/api/v1/rooms/{room_id}/messages", json={"client_msg_id": cid, "body": body}
        )
        assert answer.status_code == 201
        result: dict[str, Any] = answer.json()
        return result

    await post(budi_http, group.json()["id"], "g1", "Kumpul di mana?")
    await post(ani_http, group.json()["id"], "g2", "Di rumahku saja")
    await ani.reload()
    # From GET /rooms: each room's last message, with who wrote it in a group.
    rooms = ani.get_by_test_id("room")
    await expect(rooms).to_have_count(2)
    await expect(rooms.first).to_contain_text("Arisan")
    await expect(rooms.first.get_by_test_id("room-last")).to_have_text("You: Di rumahku saja")
    await expect(room(ani, "Budi Santoso").get_by_test_id("room-last")).to_have_text(
        "No messages yet"
    )

    # Live, from the socket: a new message moves its room to the top.
    sent = await post(budi_http, direct.json()["id"], "d1", "Ani, besok jadi?")
    await expect(rooms.first).to_contain_text("Budi Santoso")
    await expect(rooms.first.get_by_test_id("room-last")).to_have_text("Ani, besok jadi?")
    await expect(rooms.first.locator("time")).to_be_visible()
    # An edit shows its new text; a deletion shows that it was deleted, not the text.
    await budi_http.patch(f"/api/v1/messages/{sent['id']}", json={"body": "Ani, lusa jadi?"})
    await expect(rooms.first.get_by_test_id("room-last")).to_have_text("Ani, lusa jadi?")
    await budi_http.delete(f"/api/v1/messages/{sent['id']}")
    await expect(rooms.first.get_by_test_id("room-last")).to_have_text("Message deleted")
    # Someone else's message in a group says who wrote it.
    await post(budi_http, group.json()["id"], "g3", "Oke, aku bawa kue")
    await expect(rooms.first).to_contain_text("Arisan")
    await expect(rooms.first.get_by_test_id("room-last")).to_have_text(
        "Budi Santoso: Oke, aku bawa kue"
    )

    # The search box filters as one types: by room name, or the person's name or username.
    search = ani.get_by_test_id("room-search")
    await search.fill("aris")
    await expect(rooms).to_have_count(1)
    await expect(rooms).to_contain_text("Arisan")
    await search.fill("SANTOSO")
    await expect(rooms).to_have_count(1)
    await expect(rooms).to_contain_text("Budi Santoso")
    await search.fill("budi")
    await expect(rooms).to_have_count(1)
    await search.fill("zzz")
    await expect(rooms).to_have_count(0)
    await expect(ani.get_by_test_id("no-match")).to_be_visible()
    await search.fill("")
    await expect(rooms).to_have_count(2)
    # Budi's phone, in Indonesian, shows the same.
    await expect(room(budi, "Arisan").get_by_test_id("room-last")).to_have_text(
        "Anda: Oke, aku bawa kue"
    )
    await expect(room(budi, "Ani Lestari").get_by_test_id("room-last")).to_have_text(
        "Anda: Pesan dihapus"
    )
