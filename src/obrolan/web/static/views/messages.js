// The open room's messages and the composer under them.
import { html, state } from "../core/state.js";
import { Component } from "../vendor/preact.mjs";
import { t, formatTime, formatDay, dayKey } from "../core/i18n.js";
import { submitMessage, retry, editFailed } from "../chat/messages.js";

export function Composer() {
  return html`
    <form class="composer" onSubmit=${submitMessage} data-testid="composer">
      <textarea name="body" rows="1" placeholder=${t("chat.placeholder")} aria-label=${t("chat.placeholder")}
        maxlength="4000" onKeyDown=${sendOnEnter}></textarea>
      <button class="primary" type="submit">${t("chat.send")}</button>
    </form>`;
}

function sendOnEnter(event) {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    event.currentTarget.form.requestSubmit();
  }
}

export class MessageList extends Component {
  componentDidMount() { this.stick(); }
  componentDidUpdate() { this.stick(); }
  stick() { if (this.base) this.base.scrollTop = this.base.scrollHeight; }
  render({ s, room, messages }) {
    return html`
      <ol class="messages" aria-label=${t("chat.messages")} aria-live="polite" data-testid="messages">
        ${messages.length === 0 && html`<li class="muted centre">${t("chat.empty")}</li>`}
        ${withDays(messages).map((item) => item.day
          ? html`<li key=${`day-${item.day}`} class="day" data-testid="day"><span>${formatDay(item.at)}</span></li>`
          : html`<${Bubble} key=${item.client_msg_id || item.id} s=${s} room=${room} m=${item} />`)}
      </ol>`;
  }
}

// The messages with a day separator before the first of each day (local time); a
// message still waiting has no date and stays under the last day.
function withDays(messages) {
  const items = [];
  let last = null;
  for (const m of messages) {
    if (m.created_at && dayKey(m.created_at) !== last) {
      last = dayKey(m.created_at);
      items.push({ day: last, at: m.created_at });
    }
    items.push(m);
  }
  return items;
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
