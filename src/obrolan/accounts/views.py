"""Sealing personal fields under their owner's key, and opening rows into records (R6)."""

from __future__ import annotations

from obrolan.accounts.keys import aad, open_text, seal_text
from obrolan.accounts.records import Account, PublicProfile, SessionInfo
from obrolan.accounts.store import SessionRow, UserRow
from obrolan.profile.fields import OwnProfile, SharedProfile


def seal_user_field(key: bytes, column: str, user_id: str, value: str | None) -> bytes | None:
    """A `users` column's value sealed to its row; None stays None."""
    return seal_text(key, value, aad("users", column, user_id)) if value is not None else None


def sealed_session_fields(
    key: bytes,
    session_id: str,
    *,
    device_name: str | None,
    ip_address: str | None,
    user_agent: str | None,
) -> dict[str, bytes | None]:
    """The sealed columns of a new session: what it is, and where it signed in from."""
    values = {
        "device_name_enc": device_name,
        "ip_address_enc": ip_address,
        "user_agent_enc": user_agent,
    }
    return {
        column: seal_text(key, value, aad("auth_sessions", column, session_id))
        if value is not None
        else None
        for column, value in values.items()
    }


def _open_user(key: bytes | None, user: UserRow, column: str, sealed: bytes | None) -> str | None:
    return open_text(key, sealed, aad("users", column, user.id))


def account_view(key: bytes | None, user: UserRow, profile: OwnProfile) -> Account:
    """The owner's view; with the key destroyed (R4) the personal fields are None."""
    return Account(
        id=user.id,
        username=user.username,
        display_name=_open_user(key, user, "display_name_enc", user.display_name_enc),
        email=_open_user(key, user, "email_enc", user.email_enc),
        phone=_open_user(key, user, "phone_enc", user.phone_enc),
        totp_enabled=user.totp_enabled,
        is_admin=user.is_admin,
        created_at=user.created_at,
        gender=profile.gender,
        date_of_birth=profile.date_of_birth,
        bio=profile.bio,
        language=profile.language,
        photo=profile.photo,
        visibility=profile.visibility,
        email_verified=user.email_verified_at is not None,
        phone_verified=user.phone_verified_at is not None,
    )


def public_view(key: bytes | None, user: UserRow, shared: SharedProfile) -> PublicProfile:
    """What others see: no contact details, and only the profile fields shown to them."""
    display_name = _open_user(key, user, "display_name_enc", user.display_name_enc)
    return PublicProfile(
        user.id,
        user.username,
        display_name,
        gender=shared.gender,
        date_of_birth=shared.date_of_birth,
        bio=shared.bio,
        photo=shared.photo,
    )


def open_device_name(key: bytes | None, session: SessionRow) -> str | None:
    return open_text(
        key, session.device_name_enc, aad("auth_sessions", "device_name_enc", session.id)
    )


def session_view(key: bytes | None, row: SessionRow, current_session_id: str) -> SessionInfo:
    return SessionInfo(
        row.id,
        open_device_name(key, row),
        row.created_at,
        row.last_seen_at,
        row.id == current_session_id,
    )
