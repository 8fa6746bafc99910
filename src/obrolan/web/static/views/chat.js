// The chat screen: the room list beside the open room.
import { html, update } from "../core/state.js";
import { t, tn, formatNumber, formatTime, formatDate } from "../core/i18n.js";
import {
  openDirect, answerRequest, answerInvite, openRoom, closeRoom, roomName, matches, showPanel, createRoom,
  searchDirectory, joinPublic, isBlocked, unblock,
} from "../chat/rooms.js";
import { openInfo } from "../chat/members.js";
import { initial } from "./common.js";
import { MessageList, Composer, RoomStatus } from "./messages.js";
import { RoomInfo, BlockButton } from "./room-info.js";
import { BusinessBadge, BusinessChatForm, BusinessInfo } from "./business.js";
import { isBusiness, businessOf, refreshBusiness, roomShown } from "../chat/business.js";

export function ChatScreen({ s }) {
  return html`
    <div class="panes">
      <${Sidebar} s=${s} />
      <${RoomView} s=${s} />
    </div>`;
}

function Sidebar({ s }) {
  const shown = s.rooms.filter((room) => matches(room, s.roomQuery));
  return html`
    <nav class="sidebar" aria-label=${t("rooms.title")}>
      <form class="new-chat" onSubmit=${openDirect} data-testid="new-chat">
        <label for="direct-username">${t("direct.title")}</label>
        <div class="row">
          <input id="direct-username" name="username" placeholder=${t("direct.username")} autocapitalize="none"
            spellcheck="false" maxlength="32" required />
          <button type="submit">${t("direct.open")}</button>
        </div>
        ${s.directError && html`<p class="error" role="alert">${s.directError}</p>`}
      </form>
      <div class="sidebar-tools" role="group" aria-label=${t("rooms.more")}>
        ${[
          ["create", "create.open"], ["directory", "directory.open"], ["business", "business.open"],
          ["blocked", "block.listOpen"],
        ].map(
          ([panel, label]) => html`
            <button type="button" key=${panel} aria-expanded=${s.panel === panel ? "true" : "false"}
              class=${s.panel === panel ? "toggled" : ""} data-testid=${`panel-${panel}`}
              onClick=${() => showPanel(panel)}>${t(label)}</button>`)}
      </div>
      ${s.panel === "create" && html`<${CreateRoom} s=${s} />`}
      ${s.panel === "directory" && html`<${Directory} s=${s} />`}
      ${s.panel === "business" && html`<${BusinessChatForm} s=${s} />`}
      ${s.panel === "blocked" && html`<${Blocked} s=${s} />`}
      ${s.roomError && html`<p class="error" role="alert">${s.roomError}</p>`}
      ${s.requests.length > 0 && html`
        <section class="requests" aria-label=${t("rooms.requests")}>
          <h2>${t("rooms.requests")}</h2>
          <ul>${s.requests.map((r) => html`
            <li key=${r.id} class="request" data-testid="request">
              <span>${t("rooms.requestFrom", { name: r.sender?.display_name || t("rooms.direct") })}</span>
              <div class="row">
                <button class="primary" type="button" onClick=${() => answerRequest(r.id, true)}>${t("rooms.accept")}</button>
                <button type="button" onClick=${() => answerRequest(r.id, false)}>${t("rooms.decline")}</button>
              </div>
            </li>`)}
          </ul>
        </section>`}
      ${s.invites.length > 0 && html`
        <section class="requests" aria-label=${t("invites.title")}>
          <h2>${t("invites.title")}</h2>
          <ul>${s.invites.map((r) => html`
            <li key=${r.id} class="request" data-testid="invite-card">
              <span><strong>${roomName(r)}</strong> <small>${t(`kind.${r.kind}`)}</small></span>
              ${r.topic && html`<span class="muted">${r.topic}</span>`}
              <div class="row">
                <button class="primary" type="button" onClick=${() => answerInvite(r.id, true)}>${t("invites.join")}</button>
                <button type="button" onClick=${() => answerInvite(r.id, false)}>${t("invites.decline")}</button>
              </div>
            </li>`)}
          </ul>
        </section>`}
      <h2>${t("rooms.title")}</h2>
      ${s.rooms.length > 0 && html`
        <input type="search" class="room-search" aria-label=${t("rooms.search")} placeholder=${t("rooms.search")}
          value=${s.roomQuery} data-testid="room-search" onInput=${(e) => update({ roomQuery: e.currentTarget.value })} />`}
      ${s.rooms.length === 0 && html`<p class="muted">${t("rooms.empty")}</p>`}
      ${s.rooms.length > 0 && shown.length === 0 && html`<p class="muted" data-testid="no-match">${t("rooms.noMatch")}</p>`}
      <ul class="rooms">${shown.map((room) => html`
        <li key=${room.id}>
          <button type="button" class=${`room ${room.id === s.current ? "current" : ""}`} data-testid="room"
            data-room-id=${room.id} aria-current=${room.id === s.current ? "page" : undefined}
            onClick=${() => openRoom(room.id)}>
            <span class="avatar" aria-hidden="true">${initial(roomName(room))}</span>
            <span class="room-text">
              <span class="room-line">
                <span class="room-name">${roomName(room)}</span>
                ${isBusiness(room) && html`<${BusinessBadge} />`}
                ${room.last_message?.created_at && html`
                  <time class="room-time" datetime=${room.last_message.created_at}>${when(room.last_message.created_at)}</time>`}
              </span>
              <span class="room-line">
                <span class="room-last" data-testid="room-last">${preview(s, room)}</span>
                ${room.unread > 0 && html`<span class="badge" aria-label=${tn("rooms.unread", room.unread)}>${formatNumber(room.unread)}</span>`}
              </span>
            </span>
          </button>
        </li>`)}
      </ul>
    </nav>`;
}

// The last message in a line: who (in a group, or me), and its text or that it was deleted.
function preview(s, room) {
  const m = room.last_message;
  if (!m) return t("rooms.noMessages");
  const text = m.deleted ? t("rooms.deleted") : m.body || "";
  if (m.sender_id === s.me.id) return t("rooms.lastMine", { text });
  if (room.kind === "direct" || isBusiness(room)) return text;
  const sender = s.users[m.sender_id];
  return sender ? t("rooms.lastFrom", { name: sender.display_name || sender.username, text }) : text;
}

// Today: the time; this week: the day; before: the date.
function when(iso) {
  const at = new Date(iso);
  const now = new Date();
  if (at.toDateString() === now.toDateString()) return formatTime(iso);
  const options = now - at < 6 * 24 * 3600 * 1000 ? { weekday: "short" } : { day: "numeric", month: "short" };
  return formatDate(iso, options);
}

function CreateRoom({ s }) {
  return html`
    <form class="panel stack" onSubmit=${createRoom} data-testid="create-room" aria-label=${t("create.title")}>
      <h2>${t("create.title")}</h2>
      <label>${t("create.kind")}
        <select name="kind" data-testid="create-kind">
          <option value="group">${t("kind.group")}</option>
          <option value="private">${t("kind.private")}</option>
          <option value="public">${t("kind.public")}</option>
        </select>
      </label>
      <small class="muted">${t("create.kindHelp")}</small>
      <label>${t("create.name")}
        <input name="name" maxlength="100" /></label>
      <label>${t("create.topic")}
        <input name="topic" maxlength="500" /></label>
      <label>${t("create.members")}
        <input name="members" placeholder=${t("create.membersHint")} autocapitalize="none" spellcheck="false" /></label>
      ${s.createError && html`<p class="error" role="alert" data-testid="create-error">${s.createError}</p>`}
      <button class="primary" type="submit">${t("create.submit")}</button>
    </form>`;
}

function Directory({ s }) {
  const dir = s.directory;
  const joined = new Set(s.rooms.map((r) => r.id));
  const search = (event) => {
    event.preventDefault();
    searchDirectory(event.currentTarget.elements.q.value.trim());
  };
  return html`
    <section class="panel stack" aria-label=${t("directory.title")} data-testid="directory">
      <h2>${t("directory.title")}</h2>
      <form class="row" onSubmit=${search} role="search">
        <input type="search" name="q" aria-label=${t("directory.search")} placeholder=${t("directory.search")}
          maxlength="100" value=${dir.q} />
        <button type="submit">${t("directory.find")}</button>
      </form>
      ${dir.error && html`<p class="error" role="alert">${dir.error}</p>`}
      ${dir.searched && dir.rooms.length === 0 && html`<p class="muted">${t("directory.none")}</p>`}
      <ul class="directory">${dir.rooms.map((r) => html`
        <li key=${r.id} class="public-room" data-testid="public-room">
          <span class="public-name">${r.name}</span>
          <small class="muted">${tn("directory.members", r.member_count || 0)}</small>
          ${r.topic && html`<span class="muted">${r.topic}</span>`}
          ${joined.has(r.id)
            ? html`<button type="button" onClick=${() => openRoom(r.id)}>${t("directory.opens")}</button>`
            : html`<button type="button" class="primary" onClick=${() => joinPublic(r.id)}
                aria-label=${t("directory.joinName", { name: r.name })}>${t("directory.join")}</button>`}
        </li>`)}
      </ul>
      ${dir.next && html`
        <button type="button" disabled=${dir.busy} onClick=${() => searchDirectory(dir.q, true)}
          data-testid="directory-more">${t("directory.more")}</button>`}
    </section>`;
}

function Blocked({ s }) {
  return html`
    <section class="panel stack" aria-label=${t("block.listTitle")} data-testid="blocked">
      <h2>${t("block.listTitle")}</h2>
      ${s.blockError && html`<p class="error" role="alert">${s.blockError}</p>`}
      ${s.blocked.length === 0 && html`<p class="muted">${t("block.none")}</p>`}
      <ul class="members">${s.blocked.map((b) => {
        const person = s.users[b.user_id];
        const who = person ? person.display_name || person.username : t("info.someone");
        return html`
          <li key=${b.user_id} class="member" data-testid="blocked-person">
            <span class="member-name">${who}${person?.username && html` <small>@${person.username}</small>`}</span>
            <button type="button" onClick=${() => unblock(b.user_id)}
              aria-label=${t("block.unblockName", { name: who })}>${t("block.unblock")}</button>
          </li>`;
      })}
      </ul>
    </section>`;
}

function RoomView({ s }) {
  roomShown(s.current);
  const room = s.rooms.find((r) => r.id === s.current);
  if (!room) return html`<main id="main" class="room-view empty"><p class="muted">${t("chat.pick")}</p></main>`;
  const messages = s.messages[room.id] || [];
  const peer = room.kind === "direct" ? s.peers[room.id] : null;
  // A business chat: the account that speaks for its number, once known.
  const business = isBusiness(room) ? businessOf(room.id) : null;
  const blocked = (peer && isBlocked(peer)) || (business?.peer && isBlocked(business.peer));
  const details = () => {
    if (business) refreshBusiness(room.id);
    openInfo();
  };
  return html`
    <main id="main" class="room-view" aria-label=${roomName(room)}>
      <div class="room-head">
        <button type="button" class="back" onClick=${closeRoom} aria-label=${t("chat.back")}>←</button>
        <span class="avatar" aria-hidden="true">${initial(roomName(room))}</span>
        <div class="head-text">
          <h2 class="head-title"><span data-testid="room-title">${roomName(room)}</span>${business && html`
            <${BusinessBadge} />`}</h2>
          ${room.topic && html`<small class="muted head-topic">${room.topic}</small>`}
          ${business?.profile && html`
            <small class="muted head-topic" data-testid="business-head">
              ${t("business.verified", { phone: business.profile.display_phone_number })}</small>`}
          <${RoomStatus} s=${s} room=${room} />
        </div>
        ${peer && html`<${BlockButton} s=${s} userId=${peer} short />`}
        <button type="button" aria-expanded=${s.infoOpen ? "true" : "false"} data-testid="room-details"
          onClick=${() => (s.infoOpen ? update({ infoOpen: false }) : details())}>${t("info.open")}</button>
      </div>
      ${s.blockError && html`<p class="error banner" role="alert">${s.blockError}</p>`}
      ${s.infoOpen
        ? business ? html`<${BusinessInfo} room=${room} />` : html`<${RoomInfo} s=${s} room=${room} />`
        : html`
          <${MessageList} s=${s} room=${room} messages=${messages} />
          ${blocked
            ? html`<p class="blocked-note" role="status" data-testid="blocked-note">
                ${business ? t("business.cannotWrite") : t("block.cannotWrite", { name: roomName(room) })}</p>`
            : html`<${Composer} s=${s} room=${room} />`}`}
    </main>`;
}
