// The sign-in and sign-up screen.
import { html, update } from "../core/state.js";
import { t } from "../core/i18n.js";
import { submitAuth } from "../chat/session.js";
import { ICON, LanguagePicker } from "./common.js";

export function AuthScreen({ s }) {
  const signup = s.screen === "signup";
  return html`
    <main class="auth">
      <div class="auth-card">
        <div class="brand"><img src=${ICON} alt="" width="40" height="40" /><h1>obrolan</h1></div>
        <p class="tagline">${t("app.tagline")}</p>
        <form class="stack" onSubmit=${submitAuth} data-testid=${signup ? "signup" : "signin"}>
          <h2>${signup ? t("auth.signUp") : t("auth.signIn")}</h2>
          <label>${t("auth.username")}
            <input name="username" autocomplete="username" required minlength="3" maxlength=${signup ? 32 : 254}
              autocapitalize="none" spellcheck="false" />
            ${signup && html`<small>${t("auth.usernameHint")}</small>`}
          </label>
          ${signup && html`
            <label>${t("auth.displayName")}
              <input name="display_name" autocomplete="name" required maxlength="64" />
            </label>`}
          <label>${t("auth.password")}
            <input name="password" type="password" required autocomplete=${signup ? "new-password" : "current-password"}
              minlength=${signup ? 10 : 1} maxlength="200" />
            ${signup && html`<small>${t("auth.passwordHint")}</small>`}
          </label>
          ${!signup && s.authTotp && html`
            <label>${t("auth.totpCode")}
              <input name="totp_code" inputmode="numeric" autocomplete="one-time-code" required maxlength="8" />
              <small>${t("auth.totpHint")}</small>
            </label>`}
          ${s.authError && html`<p class="error" role="alert">${s.authError}</p>`}
          <button class="primary" type="submit" disabled=${s.busy}>${signup ? t("auth.signUp") : t("auth.signIn")}</button>
        </form>
        <button class="link" type="button" onClick=${() => update({ screen: signup ? "signin" : "signup", authError: null, authTotp: false })}>
          ${signup ? t("auth.toSignIn") : t("auth.toSignUp")}
        </button>
        <a class="link" href="#cancel-deletion" data-testid="to-cancel-deletion">${t("privacy.cancel.link")}</a>
        <${LanguagePicker} s=${s} />
      </div>
    </main>`;
}
