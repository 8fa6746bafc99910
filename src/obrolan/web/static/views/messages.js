// The open room's messages, the composer under them, and the line under the room's name
// that says who is typing and whether the other person is online.
//
// Message text reaches the DOM only as text nodes: links are <a> elements built here
// with the URL as their text child, never markup from the message.
import { html, state, update } from "../core/state.js";
import { Component, createRef } from "../vendor/preact.mjs";
import { t, formatTime, formatDay, dayKey } from "../core/i18n.js";
import {
  submitMessage, retry, editFailed, loadOlder, historyOf, takeOwnSend, replyingTo, startReply,
  cancelReply, saveEdit, deleteMessage, toggleReaction, nameOf, typed, typingIn, presenceOf,
} from "../chat/messages.js";
import { isLoaded, sawUpTo } from "../chat/rooms.js";
import { Choices } from "./business.js";

export const REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"];

// What the person is doing with one message: its actions open, editing it, confirming
// its deletion, and the last refusal of an action on it.
const ui = { menu: null, editing: null, confirming: null, errors: {} };

function setUi(patch) {
  Object.assign(ui, patch);
  update({});
}

// ---------- links ----------

// http(s) URLs, not inside a word; trailing punctuation is left out of the link.
const URL_PATTERN = /(?<![\w@/])https?:\/\/[^\s<>"'`]+/giu;

function trimUrl(url) {
  for (;;) {
    const last = url.at(-1);
    if (last === ")" && url.split("(").length > url.split(")").length - 1) return url; // (…) kept whole
    if (!".,;:!?'\")]}".includes(last)) return url;
    url = url.slice(0, -1);
  }
}

export function safeHref(text) {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** The text as text nodes, with its http(s) URLs as links; every other scheme stays text. */
export function linkify(text) {
  const parts = [];
  let at = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const url = trimUrl(match[0]);
    const href = safeHref(url);
    if (!href) continue;
    if (match.index > at) parts.push(text.slice(at, match.index));
    parts.push(html`<a href=${href} target="_blank" rel="noopener noreferrer nofollow">${url}</a>`);
    at = match.index + url.length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}

// ---------- the composer ----------

export function Composer({ s, room }) {
  const reply = replyingTo(room.id);
  return html`
    ${reply && html`
      <div class="replying" data-testid="replying">
        <span class="replying-text">
          <strong>${t("msg.replyingTo", { name: senderName(s, reply) })}</strong>
          <span class="snippet">${snippet(reply)}</span>
        </span>
        <button type="button" class="link" aria-label=${t("msg.cancelReply")} onClick=${() => cancelReply(room.id)}>✕</button>
      </div>`}
    <form class="composer" onSubmit=${submitMessage} data-testid="composer">
      <textarea name="body" rows="1" placeholder=${t("chat.placeholder")} aria-label=${t("chat.placeholder")}
        maxlength="4000" onKeyDown=${sendOnEnter} onInput=${() => typed(room.id)}></textarea>
      <button class="primary" type="submit">${t("chat.send")}</button>
    </form>`;
}

function sendOnEnter(event) {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    event.currentTarget.form.requestSubmit();
  }
  if (event.key === "Escape") {
    const reply = state.current && replyingTo(state.current);
    if (reply) cancelReply(state.current);
  }
}

// ---------- the typing and presence line ----------

/** Under the room's name: who is typing, else whether the other person of a direct chat is online. */
export function RoomStatus({ s, room }) {
  const names = typingIn(room.id).map((id) => nameOf(id) || t("rooms.direct"));
  let text = "";
  let kind = "";
  if (names.length === 1) text = t("msg.typing", { name: names[0] });
  else if (names.length === 2) text = t("msg.typingTwo", { a: names[0], b: names[1] });
  else if (names.length > 2) text = t("msg.typingMany");
  if (text) kind = "typing";
  else if (room.kind === "direct" && s.peers[room.id]) {
    const status = presenceOf(s.peers[room.id]);
    if (status) {
      text = t(`msg.${status === "online" ? "online" : "offline"}`);
      kind = status === "online" ? "online" : "offline";
    }
  }
  return html`<p class=${`room-status ${kind}`} data-testid="room-status" aria-live="polite">${text}</p>`;
}

// ---------- the list ----------

const NEAR = 48; // px from an edge that counts as being at it
const MAX_PAGES_TO_UNREAD = 10; // pages loaded at most to reach the first unread message

export class MessageList extends Component {
  constructor() {
    super();
    this.state = { unseen: false }; // newer messages below, out of sight
    this.roomId = null;
    this.list = createRef(); // Preact 11 has no this.base: the <ol> is reached through its ref
    this.onScroll = this.onScroll.bind(this);
    this.noteSeen = this.noteSeen.bind(this);
  }

  // A room just opened: where its unread messages start, read before opening marks them.
  opened(room) {
    this.roomId = room.id;
    this.loaded = isLoaded(room.id);
    this.readMark = room.unread > 0 ? room.read_up_to || 0 : null;
    this.placed = false;
    this.pages = 0;
    this.state.unseen = false;
    ui.menu = ui.editing = ui.confirming = null;
  }

  getSnapshotBeforeUpdate(previous) {
    const el = this.list.current;
    if (!el) return null;
    const anchor = anchorOf(el, previous.messages);
    return {
      atBottom: el.scrollHeight - el.scrollTop - el.clientHeight < NEAR,
      anchor: anchor && { id: anchor.dataset.messageId, top: anchor.offsetTop },
      room: previous.room.id,
      last: previous.messages.at(-1)?.id,
    };
  }

  componentDidMount() {
    this.place();
    document.addEventListener("visibilitychange", this.noteSeen);
  }

  componentWillUnmount() {
    document.removeEventListener("visibilitychange", this.noteSeen);
  }

  // Read receipts follow what is on screen: the newest stored message whose top is in
  // the list's view (rooms.js marks read only while the tab is visible).
  noteSeen() {
    const el = this.list.current;
    if (!el || !this.placed) return;
    const view = el.getBoundingClientRect();
    let highest = 0;
    for (const bubble of el.querySelectorAll(".bubble[data-position]")) {
      const top = bubble.getBoundingClientRect().top;
      if (top >= view.top && top < view.bottom) highest = Math.max(highest, Number(bubble.dataset.position));
    }
    sawUpTo(this.props.room.id, highest);
  }

  componentDidUpdate(_previous, _state, before) {
    const el = this.list.current;
    if (!el) return;
    const ownSend = takeOwnSend();
    if (!this.placed || !before || before.room !== this.props.room.id) return this.place();
    if (before.atBottom || ownSend) {
      el.scrollTop = el.scrollHeight;
      if (this.state.unseen) this.setState({ unseen: false });
      return this.noteSeen();
    }
    const last = this.props.messages.at(-1);
    if (last && last.id !== before.last && last.sender_id !== state.me.id && !this.state.unseen) {
      this.setState({ unseen: true }); // below, out of sight: the list offers to go there
    }
    if (before.anchor) {
      // Earlier messages (or the note that they load) came in above: what was on
      // screen stays where it was.
      const anchor = el.querySelector(`[data-message-id="${CSS.escape(before.anchor.id)}"]`);
      if (anchor) el.scrollTop += anchor.offsetTop - before.anchor.top;
    }
    this.noteSeen();
  }

  // The first time a room's messages are there: at the first unread, else at the end.
  place() {
    const el = this.list.current;
    const { room, messages } = this.props;
    if (!el || !messages.some((m) => m.position != null)) return;
    if (this.readMark != null) {
      const first = firstPosition(messages);
      if (first > this.readMark && historyOf(room.id).hasMore && this.pages < MAX_PAGES_TO_UNREAD) {
        // The first unread is further back than the page loaded: fetch until it is there.
        if (!historyOf(room.id).loading) {
          this.pages += 1;
          loadOlder(room.id).then((more) => { if (!more) this.finishPlacing(); });
        }
        return;
      }
    }
    this.finishPlacing();
  }

  finishPlacing() {
    const el = this.list.current;
    if (!el || this.placed) return;
    this.placed = true;
    const divider = el.querySelector(".unread-divider");
    el.scrollTop = divider ? divider.offsetTop - NEAR / 2 : el.scrollHeight;
    this.noteSeen();
    // A chat shorter than the screen cannot be scrolled up: ask once whether there is more.
    if (el.scrollHeight <= el.clientHeight) loadOlder(this.props.room.id);
  }

  onScroll() {
    const el = this.list.current;
    if (this.placed && el.scrollTop < NEAR * 2) loadOlder(this.props.room.id);
    if (this.state.unseen && el.scrollHeight - el.scrollTop - el.clientHeight < NEAR) this.setState({ unseen: false });
    this.noteSeen();
  }

  toLatest() {
    const el = this.list.current;
    el.scrollTop = el.scrollHeight;
    this.setState({ unseen: false });
  }

  render({ s, room, messages }) {
    if (room.id !== this.roomId) this.opened(room);
    else if (!this.loaded && isLoaded(room.id)) {
      // What was shown first was only the kept state: if the server now says there are
      // unread messages, the list goes to the first of them; else it stays where it is.
      this.loaded = true;
      if (this.readMark == null && room.unread > 0) this.opened(room);
    }
    const known = historyOf(room.id);
    const firstUnread = this.readMark == null
      ? null
      : messages.find((m) => m.position > this.readMark && m.sender_id !== s.me.id && !m.pending);
    return html`
      <ol ref=${this.list} class="messages" aria-label=${t("chat.messages")} aria-live="polite" aria-busy=${known.loading ? "true" : "false"}
        data-testid="messages" onScroll=${this.onScroll}>
        ${known.loading && html`<li class="muted centre history-note" data-testid="loading-older">${t("msg.loadingOlder")}</li>`}
        ${!known.hasMore && messages.length > 0 && html`<li class="muted centre history-note" data-testid="history-start">${t("msg.start")}</li>`}
        ${messages.length === 0 && html`<li class="muted centre">${t("chat.empty")}</li>`}
        ${withDays(messages).flatMap((item) => {
          if (item.day) {
            return [html`<li key=${`day-${item.day}`} class="day" data-testid="day"><span>${formatDay(item.at)}</span></li>`];
          }
          const m = item;
          const bubble = html`<${Bubble} key=${m.client_msg_id || m.id} s=${s} room=${room} m=${m} messages=${messages} />`;
          if (m !== firstUnread) return [bubble];
          const divider = html`<li class="unread-divider" key="unread" data-testid="unread-divider"><span>${t("msg.newMessages")}</span></li>`;
          return [divider, bubble];
        })}
        ${this.state.unseen && html`
          <li class="to-latest" key="to-latest">
            <button type="button" class="primary" data-testid="to-latest" onClick=${() => this.toLatest()}>↓ ${t("msg.toLatest")}</button>
          </li>`}
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

// The oldest stored message on screen: the list keeps it in place when more load above.
function anchorOf(el, messages) {
  const first = messages.find((m) => m.position != null && !m.pending);
  return first ? el.querySelector(`[data-message-id="${CSS.escape(first.id)}"]`) : null;
}

function firstPosition(messages) {
  return messages.find((m) => m.position != null)?.position ?? null;
}

function senderName(s, m) {
  return m.sender_id === s.me.id ? t("chat.you") : nameOf(m.sender_id);
}

function snippet(m) {
  if (m.deleted) return t("msg.deleted");
  const body = m.body || "";
  return body.length > 80 ? `${body.slice(0, 80)}…` : body;
}

// ---------- one message ----------

function Bubble({ s, room, m, messages }) {
  const mine = m.sender_id === s.me.id;
  const status = mine ? tick(room, m) : null;
  const stored = !m.pending && m.position != null;
  const editing = ui.editing === m.id;
  return html`
    <li class=${`bubble ${mine ? "mine" : "theirs"} ${m.pending ? "pending" : ""} ${m.failed ? "failed" : ""} ${m.deleted ? "deleted" : ""}`}
      data-testid="message" data-client-msg-id=${m.client_msg_id} data-message-id=${stored ? m.id : undefined}
      data-position=${stored ? m.position : undefined}
      data-status=${status}>
      ${room.kind !== "direct" && room.kind !== "business" && !mine && html`<span class="sender">${nameOf(m.sender_id)}</span>`}
      ${m.reply_to && !m.deleted && html`<${Quote} s=${s} id=${m.reply_to} messages=${messages} />`}
      ${editing ? html`<${EditForm} m=${m} />`
        : m.deleted ? html`<p class="body tombstone" data-testid="deleted">${t("msg.deleted")}</p>`
        : html`<p class="body">${linkify(m.body || "")}</p>`}
      ${room.kind === "business" && !mine && stored && !m.deleted && html`
        <${Choices} s=${s} room=${room} m=${m} messages=${messages} />`}
      <span class="meta">
        ${m.edited_at && !m.deleted && html`<span class="edited" data-testid="edited">${t("msg.edited")}</span>`}
        ${m.created_at && html`<time datetime=${m.created_at}>${formatTime(m.created_at)}</time>`}
        ${status && html`<span class=${`tick tick-${status}`} title=${tickLabel(status)} aria-label=${tickLabel(status)}>
          ${status === "pending" ? "○" : status === "sent" ? "✓" : "✓✓"}</span>`}
        ${stored && !m.deleted && html`
          <button type="button" class="link actions-toggle" aria-label=${t("msg.actions")} aria-expanded=${ui.menu === m.id ? "true" : "false"}
            data-testid="actions" onClick=${() => setUi({ menu: ui.menu === m.id ? null : m.id, confirming: null })}>⋯</button>`}
      </span>
      ${stored && !m.deleted && html`<${Reactions} s=${s} m=${m} />`}
      ${ui.menu === m.id && stored && !m.deleted && html`<${Actions} mine=${mine} m=${m} />`}
      ${ui.confirming === m.id && html`
        <span class="confirm" role="alert">${t("msg.deleteConfirm")}
          <button type="button" class="danger" onClick=${() => remove(m)}>${t("msg.delete")}</button>
          <button type="button" onClick=${() => setUi({ confirming: null })}>${t("msg.cancel")}</button></span>`}
      ${ui.errors[m.id] && html`<span class="failure" role="alert">${t("msg.actionFailed", { reason: ui.errors[m.id] })}</span>`}
      ${m.retrying && !m.failed && html`<span class="retrying muted" data-testid="retrying">${t("msg.retrying")}</span>`}
      ${m.failed && html`
        <span class="failure" role="alert">${t("chat.failed", { reason: m.failed })}
          <button type="button" class="link" onClick=${() => retry(m)}>${t("chat.retry")}</button>
          <button type="button" class="link" onClick=${() => editFailed(m)}>${t("chat.edit")}</button></span>`}
    </li>`;
}

function Quote({ s, id, messages }) {
  const original = messages.find((m) => m.id === id);
  const jump = () => {
    const target = document.querySelector(`[data-message-id="${CSS.escape(id)}"]`);
    target?.scrollIntoView({ block: "center" });
    target?.querySelector("button")?.focus();
  };
  return html`
    <button type="button" class="quote" data-testid="quote" onClick=${jump}>
      ${original
        ? html`<strong>${senderName(s, original)}</strong> <span class="snippet">${snippet(original)}</span>`
        : html`<span class="snippet">${t("msg.replyUnknown")}</span>`}
    </button>`;
}

function Actions({ mine, m }) {
  const act = (work) => () => {
    setUi({ menu: null });
    work();
  };
  return html`
    <div class="actions" role="group" aria-label=${t("msg.actions")} data-testid="message-actions">
      <button type="button" onClick=${act(() => startReply(m))}>${t("msg.reply")}</button>
      ${REACTIONS.map((emoji) => html`
        <button type="button" class="emoji" key=${emoji} aria-label=${t("msg.react", { emoji })}
          onClick=${act(() => react(m, emoji))}>${emoji}</button>`)}
      ${mine && html`<button type="button" onClick=${act(() => setUi({ editing: m.id }))}>${t("msg.edit")}</button>`}
      ${mine && html`<button type="button" onClick=${act(() => setUi({ confirming: m.id }))}>${t("msg.delete")}</button>`}
    </div>`;
}

function Reactions({ s, m }) {
  const entries = Object.entries(m.reactions || {}).filter(([, who]) => who.length > 0);
  if (entries.length === 0) return null;
  return html`
    <span class="reactions" data-testid="reactions">
      ${entries.map(([emoji, who]) => {
        const names = who.map((id) => (id === s.me.id ? t("chat.you") : nameOf(id))).filter(Boolean).join(", ");
        const label = t("msg.reactionBy", { emoji, names });
        return html`
          <button type="button" key=${emoji} class=${`reaction ${who.includes(s.me.id) ? "mine" : ""}`} title=${label}
            aria-label=${label} aria-pressed=${who.includes(s.me.id) ? "true" : "false"} data-emoji=${emoji}
            data-testid="reaction" onClick=${() => react(m, emoji)}>${emoji} ${who.length}</button>`;
      })}
    </span>`;
}

class EditForm extends Component {
  area = createRef();

  componentDidMount() {
    const area = this.area.current;
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  }

  render({ m }) {
    const save = async (event) => {
      event.preventDefault();
      const body = event.currentTarget.elements.body.value;
      if (!body.trim()) return;
      if (body === m.body) return setUi({ editing: null });
      try {
        await saveEdit(m, body);
        delete ui.errors[m.id];
        setUi({ editing: null });
      } catch (error) {
        setUi({ errors: { ...ui.errors, [m.id]: error.message } });
      }
    };
    const keys = (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        event.currentTarget.form.requestSubmit();
      } else if (event.key === "Escape") {
        setUi({ editing: null });
      }
    };
    return html`
      <form class="edit" onSubmit=${save} data-testid="edit">
        <textarea name="body" rows="2" maxlength="4000" aria-label=${t("msg.editLabel")} ref=${this.area} onKeyDown=${keys} defaultValue=${m.body}></textarea>
        <span class="row">
          <button type="submit" class="primary">${t("msg.save")}</button>
          <button type="button" onClick=${() => setUi({ editing: null })}>${t("msg.cancel")}</button>
        </span>
      </form>`;
  }
}

async function react(m, emoji) {
  try {
    await toggleReaction(m, emoji);
    if (ui.errors[m.id]) setUi({ errors: { ...ui.errors, [m.id]: null } });
  } catch (error) {
    setUi({ errors: { ...ui.errors, [m.id]: error.message } });
  }
}

async function remove(m) {
  try {
    await deleteMessage(m);
    setUi({ confirming: null });
  } catch (error) {
    setUi({ confirming: null, errors: { ...ui.errors, [m.id]: error.message } });
  }
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
