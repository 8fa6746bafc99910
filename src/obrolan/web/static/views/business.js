// Business chats on screen: the badge beside a business's name, the business's profile
// in the room details (in place of members and invites), the form that opens a chat
// with a business's number, and the buttons that answer a business's message.
import { html } from "../core/state.js";
import { t } from "../core/i18n.js";
import { isBlocked, block, unblock } from "../chat/rooms.js";
import { closeInfo } from "../chat/members.js";
import { businessOf, openBusinessChat, choicesOf, choose } from "../chat/business.js";
import { safeHref } from "./messages.js";

// Seen as "Business"; heard as "Business account".
export function BusinessBadge() {
  return html`
    <span class="business-badge" data-testid="business-badge">
      <span aria-hidden="true">${t("business.badge")}</span>
      <span class="visually-hidden">${t("business.badgeLabel")}</span>
    </span>`;
}

export function BusinessChatForm({ s }) {
  return html`
    <form class="panel stack" onSubmit=${openBusinessChat} data-testid="business-chat" aria-label=${t("business.openTitle")}>
      <h2>${t("business.openTitle")}</h2>
      <label>${t("business.number")}
        <input name="number" type="tel" inputmode="tel" autocomplete="off" placeholder="62811…" maxlength="32"
          minlength="3" required /></label>
      <small class="muted">${t("business.numberHelp")}</small>
      ${s.businessError && html`<p class="error" role="alert" data-testid="business-chat-error">${s.businessError}</p>`}
      <button class="primary" type="submit">${t("business.openSubmit")}</button>
    </form>`;
}

// A website as a link only when it is http(s); anything else stays text.
function Website({ url }) {
  const href = safeHref(url);
  return href
    ? html`<a href=${href} target="_blank" rel="noopener noreferrer nofollow">${url}</a>`
    : html`<span>${url}</span>`;
}

export function BusinessInfo({ room }) {
  const chat = businessOf(room.id) || {};
  const profile = chat.profile;
  const business = profile?.business;
  const blocked = chat.peer && isBlocked(chat.peer);
  const name = profile?.verified_name || room.name;
  return html`
    <section class="room-info" aria-label=${t("info.title")} data-testid="room-info">
      <div class="info-head">
        <h3>${t("info.title")}</h3>
        <button type="button" onClick=${closeInfo} data-testid="info-close">${t("info.close")}</button>
      </div>
      ${chat.error && html`<p class="error" role="alert" data-testid="info-error">${chat.error}</p>`}
      <p class="muted">${t("kind.business")}</p>
      ${!profile ? !chat.error && html`<p class="muted">${t("business.loading")}</p>` : html`
        <div class="business-profile" data-testid="business-profile">
          <h4><span data-testid="business-name">${name}</span> <${BusinessBadge} /></h4>
          ${business.about && html`<p class="business-about" data-testid="business-about">${business.about}</p>`}
          <dl class="business-facts">
            ${business.description && html`
              <dt>${t("business.description")}</dt><dd class="business-text">${business.description}</dd>`}
            ${business.address && html`<dt>${t("business.address")}</dt><dd class="business-text">${business.address}</dd>`}
            ${business.email && html`<dt>${t("business.email")}</dt><dd>${business.email}</dd>`}
            ${business.websites.length > 0 && html`
              <dt>${t("business.websites")}</dt>
              <dd><ul class="business-websites">${business.websites.map((url) => html`
                <li key=${url}><${Website} url=${url} /></li>`)}</ul></dd>`}
            <dt>${t("business.phone")}</dt><dd data-testid="business-phone">${profile.display_phone_number}</dd>
            <dt>${t("business.messagesFirst")}</dt>
            <dd data-testid="business-opt-in">${!profile.opt_in_id ? t("business.optInNone")
              : profile.marketing_stopped ? t("business.optInStopped") : t("business.optInYes")}</dd>
          </dl>
        </div>`}
      ${chat.peer && (blocked
        ? html`<button type="button" class="business-block" onClick=${() => unblock(chat.peer)}
            data-testid="info-unblock">
            ${t("business.unblock")}</button>`
        : html`<button type="button" class="danger business-block" onClick=${() => block(chat.peer)}
            data-testid="info-block">
            ${t("business.block")}</button>`)}
    </section>`;
}

// Under a business's message, its reply buttons or list rows, each a button named by its
// title. Once answered (a message of mine replies to it, even one still on its way) they
// stay, disabled: what was offered remains readable, and it is not answered twice.
export function Choices({ s, room, m, messages }) {
  const titles = choicesOf(room.id, m.id);
  if (!titles?.length) return null;
  const answered = messages.some((x) => x.sender_id === s.me.id && x.reply_to === m.id);
  return html`
    <div class="business-choices" role="group" aria-label=${t("business.choices")} data-testid="choices">
      ${titles.map((title, i) => html`
        <button type="button" key=${i} disabled=${answered} onClick=${() => choose(room.id, m.id, title)}>
          ${title}</button>`)}
    </div>`;
}
