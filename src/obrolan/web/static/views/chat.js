// The chat screen: the room list beside the open room.
import { html, state } from "../core/state.js";
import { Component } from "../vendor/preact.mjs";
import { t, formatTime } from "../core/i18n.js";
import { openDirect, answerRequest, openRoom, closeRoom, roomName } from "../chat/rooms.js";
import { submitMessage, retry, editFailed } from "../chat/messages.js";
import { initial } from "./common.js";

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
            ${room.unread > 0 && html`<span class="badge" aria-label=${t("rooms.unread", { n: room.unread })}>${room.unread}</span>`}
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
      </div>
      <${MessageList} s=${s} room=${room} messages=${messages} />
      <form class="composer" onSubmit=${submitMessage} data-testid="composer">
        <textarea name="body" rows="1" placeholder=${t("chat.placeholder")} aria-label=${t("chat.placeholder")}
          maxlength="4000" onKeyDown=${sendOnEnter}></textarea>
        <button class="primary" type="submit">${t("chat.send")}</button>
      </form>
    </main>`;
}

function sendOnEnter(event) {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    event.currentTarget.form.requestSubmit();
  }
}

class MessageList extends Component {
  componentDidMount() { this.stick(); }
  componentDidUpdate() { this.stick(); }
  stick() { if (this.base) this.base.scrollTop = this.base.scrollHeight; }
  render({ s, room, messages }) {
    return html`
      <ol class="messages" aria-label=${t("chat.messages")} aria-live="polite" data-testid="messages">
        ${messages.length === 0 && html`<li class="muted centre">${t("chat.empty")}</li>`}
        ${messages.map((m) => html`<${Bubble} key=${m.client_msg_id || m.id} s=${s} room=${room} m=${m} />`)}
      </ol>`;
  }
}

function Bubble({ s, room, m }) {
  const mine = m.sender_id === s.me.id;
  const sender = mine ? t("chat.you") : s.users[m.sender_id]?.display_name || "";
  const status = mine ? tick(room, m) : null;
  return html`
    <li class=${`bubble ${mine ? "mine" : "theirs"} ${m.pending ? "pending" : ""} ${m.failed ? "failed" : ""}`}
      data-testid="message" data-client-msg-id=${m.client_msg_id} data-status=${status}>
      ${room.kind !== "direct" && !mine && html`<span class="sender">${sender}</span>`}
      <p class="body">${m.deleted ? "—" : m.body}</p>
      <span class="meta">
        ${m.created_at && html`<time datetime=${m.created_at}>${formatTime(m.created_at)}</time>`}
        ${status && html`<span class=${`tick tick-${status}`} title=${tickLabel(status)} aria-label=${tickLabel(status)}>
          ${status === "pending" ? "○" : status === "sent" ? "✓" : "✓✓"}</span>`}
      </span>
      ${m.failed && html`
        <span class="failure" role="alert">${t("chat.failed", { reason: m.failed })}
          <button type="button" class="link" onClick=${() => retry(m)}>${t("chat.retry")}</button>
          <button type="button" class="link" onClick=${() => editFailed(m)}>${t("chat.edit")}</button></span>`}
    </li>`;
}

function tick(room, m) {
  if (m.pending) return m.failed ? "failed" : "pending";
  if (room.kind !== "direct") return null;
  const marks = state.marks[room.id] || { delivered: 0, read: 0 };
  if (marks.read >= m.position || m.status === "read") return "read";
  if (marks.delivered >= m.position || m.status === "delivered") return "delivered";
  return "sent";
}

function tickLabel(status) {
  return status === "pending" || status === "failed" ? t("chat.sending") : t(`status.${status}`);
}
