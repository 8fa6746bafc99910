// The chat screen: the room list beside the open room.
import { html } from "../core/state.js";
import { t, tn } from "../core/i18n.js";
import { openDirect, answerRequest, openRoom, closeRoom, roomName } from "../chat/rooms.js";
import { initial } from "./common.js";
import { MessageList, Composer, RoomStatus } from "./messages.js";

export function ChatScreen({ s }) {
  return html`
    <div class="panes">
      <${Sidebar} s=${s} />
      <${RoomView} s=${s} />
    </div>`;
}

function Sidebar({ s }) {
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
      <h2>${t("rooms.title")}</h2>
      ${s.rooms.length === 0 && html`<p class="muted">${t("rooms.empty")}</p>`}
      <ul class="rooms">${s.rooms.map((room) => html`
        <li key=${room.id}>
          <button type="button" class=${`room ${room.id === s.current ? "current" : ""}`} data-testid="room"
            aria-current=${room.id === s.current ? "page" : undefined} onClick=${() => openRoom(room.id)}>
            <span class="avatar" aria-hidden="true">${initial(roomName(room))}</span>
            <span class="room-name">${roomName(room)}</span>
            ${room.unread > 0 && html`<span class="badge" aria-label=${tn("rooms.unread", room.unread)}>${room.unread}</span>`}
          </button>
        </li>`)}
      </ul>
    </nav>`;
}

function RoomView({ s }) {
  const room = s.rooms.find((r) => r.id === s.current);
  if (!room) return html`<main class="room-view empty"><p class="muted">${t("chat.pick")}</p></main>`;
  const messages = s.messages[room.id] || [];
  return html`
    <main class="room-view" aria-label=${roomName(room)}>
      <div class="room-head">
        <button type="button" class="back" onClick=${closeRoom} aria-label=${t("chat.back")}>←</button>
        <span class="avatar" aria-hidden="true">${initial(roomName(room))}</span>
        <h2>${roomName(room)}</h2>
        <${RoomStatus} s=${s} room=${room} />
      </div>
      <${MessageList} s=${s} room=${room} messages=${messages} />
      <${Composer} s=${s} room=${room} />
    </main>`;
}
