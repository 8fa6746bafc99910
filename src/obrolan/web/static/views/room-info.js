// The room's details, opened from its head: name and topic, the members and what my
// role lets me do to them, inviting, leaving; in a direct chat, blocking the person.
import { html } from "../core/state.js";
import { t } from "../core/i18n.js";
import { isBlocked, block, unblock } from "../chat/rooms.js";
import {
  closeInfo, invite, kick, ban, unban, setRole, saveDetails, leaveRoom, allowed, mayInvite, mayEdit,
} from "../chat/members.js";
import { initial } from "./common.js";

export function RoomInfo({ s, room }) {
  const info = s.info;
  const peer = room.kind === "direct" ? s.peers[room.id] : null;
  return html`
    <section class="room-info" aria-label=${t("info.title")} data-testid="room-info">
      <div class="info-head">
        <h3>${t("info.title")}</h3>
        <button type="button" onClick=${closeInfo} data-testid="info-close">${t("info.close")}</button>
      </div>
      ${info.error && html`<p class="error" role="alert" data-testid="info-error">${info.error}</p>`}
      ${info.notice && html`<p class="notice" role="status">${info.notice}</p>`}
      <p class="muted">${t(`kind.${room.kind}`)}${room.topic ? ` · ${room.topic}` : ""}</p>
      ${mayEdit(room) && html`
        <form class="stack" onSubmit=${saveDetails} data-testid="room-edit" key=${`edit-${room.id}`}>
          <label>${t("create.name")}
            <input name="name" defaultValue=${room.name || ""} maxlength="100" required=${room.kind !== "group"} /></label>
          <label>${t("create.topic")}
            <input name="topic" defaultValue=${room.topic || ""} maxlength="500" /></label>
          <button type="submit">${t("info.save")}</button>
        </form>`}
      ${peer && html`<${BlockButton} s=${s} userId=${peer} />`}
      ${room.kind !== "direct" && html`
        <h4>${t("info.members")}</h4>
        <ul class="members" data-testid="members">
          ${info.members.map((m) => html`<${MemberRow} key=${m.user_id} s=${s} room=${room} m=${m} />`)}
        </ul>
        ${info.banned.length > 0 && html`
          <h4>${t("info.bannedTitle")}</h4>
          <ul class="members" data-testid="banned">
            ${info.banned.map((id) => html`
              <li key=${id} class="member">
                <span class="member-name">${name(s, id)}</span>
                <button type="button" onClick=${() => unban(id)}>${t("info.unban")}</button>
              </li>`)}
          </ul>`}
        ${mayInvite(room) && html`
          <form class="invite" onSubmit=${invite} data-testid="invite">
            <label for="invite-username">${t("info.invite")}</label>
            <div class="row">
              <input id="invite-username" name="username" placeholder=${t("direct.username")} autocapitalize="none"
                spellcheck="false" maxlength="32" required />
              <button type="submit">${t("info.inviteButton")}</button>
            </div>
          </form>`}
        <button type="button" class="danger" onClick=${leaveRoom} data-testid="leave">${t("info.leave")}</button>`}
    </section>`;
}

function name(s, userId) {
  const person = s.users[userId];
  return person ? person.display_name || person.username : t("info.someone");
}

function MemberRow({ s, room, m }) {
  const can = allowed(room, m);
  const who = name(s, m.user_id);
  const me = m.user_id === s.me.id;
  return html`
    <li class="member" data-testid="member" data-user-id=${m.user_id}>
      <span class="avatar small" aria-hidden="true">${initial(who)}</span>
      <span class="member-name">${who}${me ? ` (${t("chat.you")})` : ""}
        <small>${s.users[m.user_id]?.username ? ` @${s.users[m.user_id].username}` : ""}</small></span>
      <span class="role" data-testid="role">${m.state === "invite" ? t("info.invitedState") : t(`role.${m.role}`)}</span>
      ${(can.remove || can.setRole) && html`
        <div class="member-actions">
          ${can.setRole && m.role === "member" && html`
            <button type="button" onClick=${() => setRole(m.user_id, "admin")}
              aria-label=${t("info.makeAdminOf", { name: who })}>${t("info.makeAdmin")}</button>`}
          ${can.setRole && m.role === "admin" && html`
            <button type="button" onClick=${() => setRole(m.user_id, "member")}
              aria-label=${t("info.makeMemberOf", { name: who })}>${t("info.makeMember")}</button>`}
          ${can.remove && html`
            <button type="button" onClick=${() => kick(m.user_id)}
              aria-label=${t("info.kickOf", { name: who })}>${t("info.kick")}</button>
            <button type="button" class="danger" onClick=${() => ban(m.user_id)}
              aria-label=${t("info.banOf", { name: who })}>${t("info.ban")}</button>`}
        </div>`}
    </li>`;
}

// Block or unblock the other person of a direct chat; `short` (in the room head) shows
// only the verb, with the name in its accessible name.
export function BlockButton({ s, userId, short = false }) {
  const who = name(s, userId);
  const testid = short ? "" : "info-";
  return isBlocked(userId)
    ? html`<button type="button" onClick=${() => unblock(userId)} data-testid=${`${testid}unblock`}
        aria-label=${t("block.unblockName", { name: who })}>${short ? t("block.unblock") : t("block.unblockName", { name: who })}</button>`
    : html`<button type="button" class="danger" onClick=${() => block(userId)} data-testid=${`${testid}block`}
        aria-label=${t("block.blockName", { name: who })}>${short ? t("block.block") : t("block.blockName", { name: who })}</button>`;
}
