"""Accounts routes under /api/v1: parse, authenticate, call AccountsService, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from obrolan.accounts.schemas import (
    AccountOut,
    ContactSettingsOut,
    ContactSettingsUpdate,
    LoginRequest,
    LookupRequest,
    PasswordChangeRequest,
    ProfileUpdateRequest,
    PublicProfileOut,
    RegisterRequest,
    SessionOut,
    SignInOut,
    TotpChangeRequest,
    TotpSetupOut,
    VerifyCodeRequest,
)
from obrolan.accounts.store import Channel
from obrolan.api.deps import PrincipalDep, ServicesDep, client_address

router = APIRouter(tags=["accounts"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
_SESSION_ID = Path(max_length=26)


def _problems(**described: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem+json answers a route may give (docs/api.md)."""
    return {int(code[1:]): {"description": text, **_PROBLEM} for code, text in described.items()}


@router.post(
    "/accounts",
    status_code=201,
    responses=_problems(
        s409="username taken",
        s422="invalid field",
        s429="too many sign-ups from this address (Retry-After)",
    ),
)
async def register(body: RegisterRequest, request: Request, services: ServicesDep) -> AccountOut:
    """Create an account (F1). Whether another account has the email or phone is not told (R18)."""
    account = await services.accounts.sign_up(
        username=body.username,
        password=body.password,
        display_name=body.display_name,
        email=body.email,
        phone=body.phone,
        ip_address=client_address(request),
    )
    return AccountOut.model_validate(account)


@router.post(
    "/sessions",
    status_code=201,
    responses=_problems(
        s401="invalid-credentials, totp-required or totp-invalid",
        s429="too many failed sign-ins (Retry-After)",
    ),
)
async def login(body: LoginRequest, request: Request, services: ServicesDep) -> SignInOut:
    """Sign in: a new session and its bearer token (R17)."""
    signed_in = await services.accounts.login(
        username=body.username,
        password=body.password,
        ip_address=client_address(request),
        user_agent=request.headers.get("user-agent"),
        device_name=body.device_name,
        totp_code=body.totp_code,
        device_token=body.device_token,
    )
    return SignInOut(
        token=signed_in.token,
        session=SessionOut.model_validate(signed_in.session),
        user=AccountOut.model_validate(signed_in.account),
        device_token=signed_in.device_token,
    )


@router.get("/sessions")
async def list_sessions(principal: PrincipalDep, services: ServicesDep) -> list[SessionOut]:
    """My active sessions, oldest first."""
    sessions = await services.accounts.list_sessions(principal)
    return [SessionOut.model_validate(s) for s in sessions]


@router.delete("/sessions", status_code=204)
async def sign_out_everywhere(principal: PrincipalDep, services: ServicesDep) -> None:
    """Sign out everywhere: revoke every session of mine, this one included; sockets close."""
    await services.accounts.sign_out_everywhere(principal)


# Declared before /sessions/{session_id}, which would otherwise take "current" as an id.
@router.delete("/sessions/current", status_code=204)
async def logout(principal: PrincipalDep, services: ServicesDep) -> None:
    """Sign out: revoke the session this request came with."""
    await services.accounts.logout(principal)


@router.delete("/sessions/{session_id}", status_code=204, responses=_problems(s404="not yours"))
async def revoke_session(
    session_id: Annotated[str, _SESSION_ID], principal: PrincipalDep, services: ServicesDep
) -> None:
    """Revoke one of my sessions; its sockets close (R17)."""
    await services.accounts.revoke_session(principal, session_id)


@router.post(
    "/me/password",
    status_code=204,
    responses=_problems(s403="current password wrong", s429="too many wrong passwords"),
)
async def change_password(
    body: PasswordChangeRequest, principal: PrincipalDep, services: ServicesDep
) -> None:
    """Change my password; every other session is revoked (R17)."""
    await services.accounts.change_password(
        principal, current_password=body.current_password, new_password=body.new_password
    )


@router.get("/me")
async def me(principal: PrincipalDep, services: ServicesDep) -> AccountOut:
    """My account and whole profile, with the personal fields only I see."""
    return AccountOut.model_validate(await services.accounts.profile.me(principal))


@router.patch(
    "/me",
    responses=_problems(s422="invalid field", s429="too many email or phone changes (Retry-After)"),
)
async def update_me(
    body: ProfileUpdateRequest, request: Request, principal: PrincipalDep, services: ServicesDep
) -> AccountOut:
    """Change my display name, email, phone or profile; null removes a field (F1, R8, R18)."""
    account = await services.accounts.profile.update_profile(
        principal, body.changes(), ip_address=client_address(request)
    )
    return AccountOut.model_validate(account)


@router.get("/me/contact-settings")
async def contact_settings(principal: PrincipalDep, services: ServicesDep) -> ContactSettingsOut:
    """Who may find me, and whether strangers' direct chats arrive as requests (R18)."""
    return ContactSettingsOut.model_validate(await services.accounts.contact_settings(principal))


@router.patch("/me/contact-settings", responses=_problems(s422="invalid field"))
async def update_contact_settings(
    body: ContactSettingsUpdate, principal: PrincipalDep, services: ServicesDep
) -> ContactSettingsOut:
    """Change the contact settings sent; the others stay as they are."""
    updated = await services.accounts.update_contact_settings(principal, body.changes())
    return ContactSettingsOut.model_validate(updated)


@router.get(
    "/users/{user_id}",
    responses=_problems(s404="no such person"),
    response_model_exclude_unset=True,
)
async def public_profile(
    user_id: Annotated[str, Path(max_length=26)], principal: PrincipalDep, services: ServicesDep
) -> PublicProfileOut:
    """Someone's profile: the fields its owner shows me; hidden or empty ones are absent (F1)."""
    profile = await services.accounts.profile.public_profile(principal, user_id)
    return PublicProfileOut.shown(profile)


@router.get(
    "/users",
    responses=_problems(
        s404="no one findable has this username",
        s429="too many look-ups (Retry-After)",
    ),
    response_model_exclude_unset=True,
)
async def find_user(
    username: Annotated[str, Query(min_length=1, max_length=32)],
    principal: PrincipalDep,
    services: ServicesDep,
) -> PublicProfileOut:
    """The profile of the person with exactly this username, as GET /users/{id} shows it.

    Someone who is not findable by username gets the same 404 as a name nobody has (R18).
    """
    profile = await services.accounts.profile.find_by_username(principal, username)
    return PublicProfileOut.shown(profile)


_CHANNEL = Path(description="which address: `email` or `phone`")


@router.post(
    "/me/{channel}/verify",
    responses=_problems(
        s404="no such address kind",
        s422="no-code, code-wrong, code-expired or code-exhausted (field `code`)",
    ),
)
async def verify_address(
    channel: Annotated[Channel, _CHANNEL],
    body: VerifyCodeRequest,
    principal: PrincipalDep,
    services: ServicesDep,
) -> AccountOut:
    """Confirm my email or phone with the code sent to it (F1): it then signs in and finds me."""
    account = await services.accounts.addresses.verify(principal, channel, body.code)
    return AccountOut.model_validate(account)


@router.post(
    "/me/{channel}/resend",
    status_code=202,
    responses=_problems(
        s409="no unverified address of this kind",
        s429="too many codes or address changes (Retry-After)",
    ),
)
async def resend_code(
    channel: Annotated[Channel, _CHANNEL],
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
) -> None:
    """Send a new code to my unverified email or phone; the old code stops working."""
    await services.accounts.addresses.resend(principal, channel, client_address(request))


@router.post(
    "/users/lookup",
    responses=_problems(
        s404="no one can be found by this address",
        s422="invalid field",
        s429="too many look-ups (Retry-After)",
    ),
    response_model_exclude_unset=True,
)
async def lookup_user(
    body: LookupRequest, principal: PrincipalDep, services: ServicesDep
) -> PublicProfileOut:
    """Find a person by verified email or phone, if they allow it (F14, R18)."""
    channel: Channel = "email" if body.email is not None else "phone"
    value = body.email if body.email is not None else body.phone
    assert value is not None
    profile = await services.accounts.addresses.find(principal, channel, value)
    return PublicProfileOut.shown(profile)


@router.post("/me/totp", status_code=201, responses=_problems(s409="already on"))
async def begin_totp(principal: PrincipalDep, services: ServicesDep) -> TotpSetupOut:
    """Start two-step sign-in: a new secret for an authenticator app, not yet required."""
    return TotpSetupOut.model_validate(await services.accounts.two_step.begin(principal))


_TOTP_CHANGE_PROBLEMS = _problems(
    s403="invalid-credentials: the password is wrong",
    s409="nothing to confirm, or already in that state",
    s422="totp-invalid: the code is wrong, expired or already used",
    s429="too many wrong passwords or codes (Retry-After)",
)


@router.post("/me/totp/confirm", responses=_TOTP_CHANGE_PROBLEMS)
async def confirm_totp(
    body: TotpChangeRequest, principal: PrincipalDep, services: ServicesDep
) -> AccountOut:
    """Turn two-step sign-in on with a code from the app and my password."""
    account = await services.accounts.two_step.confirm(
        principal, code=body.code, password=body.password
    )
    return AccountOut.model_validate(account)


@router.delete("/me/totp", status_code=204, responses=_TOTP_CHANGE_PROBLEMS)
async def disable_totp(
    body: TotpChangeRequest, principal: PrincipalDep, services: ServicesDep
) -> None:
    """Turn two-step sign-in off; needs a current code and my password."""
    await services.accounts.two_step.disable(principal, code=body.code, password=body.password)
