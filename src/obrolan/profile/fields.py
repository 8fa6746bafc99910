"""Opening, filtering and sealing profile fields, inside the caller's transaction (F1, R6).

The accounts service reads and writes a profile together with the account it belongs
to, in one snapshot or one transaction; these helpers are what it calls.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.accounts.keys import aad, open_text, seal_text
from obrolan.accounts.records import KEEP, ProfileChanges
from obrolan.profile import store
from obrolan.profile.rules import (
    DEFAULT_VISIBILITY,
    LANGUAGES,
    PROFILE_FIELDS,
    FieldVisibility,
    Language,
    Relation,
    Visibility,
    check_date_of_birth,
    normalise_bio,
    normalise_gender,
    visible_fields,
)
from obrolan.profile.store import ProfileRow

_SEALED_TEXT = ("gender", "bio", "language")


@dataclass(frozen=True, slots=True)
class OwnProfile:
    """The whole profile, as its owner sees it."""

    gender: str | None
    date_of_birth: date | None
    bio: str | None
    language: Language
    photo: bool
    visibility: FieldVisibility


@dataclass(frozen=True, slots=True)
class SharedProfile:
    """What one viewer may see of someone's profile: None for hidden or empty fields."""

    gender: str | None = None
    date_of_birth: date | None = None
    bio: str | None = None
    photo: bool = False


def default_profile(language: Language) -> OwnProfile:
    return OwnProfile(None, None, None, language, False, DEFAULT_VISIBILITY)


def _open(key: bytes | None, row: ProfileRow, name: str) -> str | None:
    column = f"{name}_enc"
    return open_text(key, getattr(row, column), aad("profiles", column, row.user_id))


def _visibility(row: ProfileRow) -> FieldVisibility:
    return FieldVisibility(
        **{name: Visibility(getattr(row, f"{name}_visibility")) for name in PROFILE_FIELDS}
    )


def _opened(key: bytes | None, row: ProfileRow, default_language: Language) -> OwnProfile:
    born = _open(key, row, "date_of_birth")
    language = _open(key, row, "language")
    return OwnProfile(
        gender=_open(key, row, "gender"),
        date_of_birth=date.fromisoformat(born) if born else None,
        bio=_open(key, row, "bio"),
        language=language if language in LANGUAGES else default_language,
        # With the key destroyed (R4) the photo cannot be opened: there is none.
        photo=row.has_photo and key is not None,
        visibility=_visibility(row),
    )


async def own_profile(
    conn: AsyncConnection, key: bytes | None, user_id: str, default_language: Language
) -> OwnProfile:
    """The person's whole profile, for themselves."""
    row = await store.profile_of(conn, user_id)
    return _opened(key, row, default_language) if row else default_profile(default_language)


async def relation(
    conn: AsyncConnection, viewer_id: str, owner_id: str, visibility: FieldVisibility
) -> Relation:
    """What the viewer is to the owner; the contact query runs only when a field needs it."""
    if viewer_id == owner_id:
        return Relation.SELF
    wanted = Visibility.CONTACTS in {getattr(visibility, name) for name in PROFILE_FIELDS}
    if wanted and await store.are_contacts(conn, viewer_id, owner_id):
        return Relation.CONTACT
    return Relation.OTHER


async def shared_profile(
    conn: AsyncConnection, key: bytes | None, owner_id: str, viewer_id: str
) -> SharedProfile:
    """The fields of the owner's profile that the viewer may see (rules.visible_fields)."""
    row = await store.profile_of(conn, owner_id)
    if row is None:
        return SharedProfile(photo=False)
    visibility = _visibility(row)
    shown = visible_fields(visibility, await relation(conn, viewer_id, owner_id, visibility))
    # The language is the owner's setting, never shown to others.
    opened = _opened(key, row, LANGUAGES[0])
    return SharedProfile(
        gender=opened.gender if "gender" in shown else None,
        date_of_birth=opened.date_of_birth if "date_of_birth" in shown else None,
        bio=opened.bio if "bio" in shown else None,
        photo=opened.photo and "photo" in shown,
    )


def checked_changes(changes: ProfileChanges, now: datetime) -> ProfileChanges:
    """The profile part of `changes` normalised by the rules; Invalid names a bad field."""
    return replace(
        changes,
        gender=changes.gender if changes.gender is KEEP else normalise_gender(changes.gender),
        bio=changes.bio if changes.bio is KEEP else normalise_bio(changes.bio),
        date_of_birth=changes.date_of_birth
        if changes.date_of_birth is KEEP
        else check_date_of_birth(changes.date_of_birth, now),
    )


def sealed_values(key: bytes, user_id: str, changes: ProfileChanges) -> dict[str, Any]:
    """The `profiles` columns that `changes` sets, sealed to their row (R6); {} for none."""
    plain: dict[str, str | None] = {}
    for name in _SEALED_TEXT:
        value = getattr(changes, name)
        if value is not KEEP:
            plain[name] = value
    if changes.date_of_birth is not KEEP:
        born = changes.date_of_birth
        plain["date_of_birth"] = born.isoformat() if born is not None else None
    values: dict[str, Any] = {
        f"{name}_enc": seal_text(key, value, aad("profiles", f"{name}_enc", user_id))
        if value is not None
        else None
        for name, value in plain.items()
    }
    for name, visibility in changes.visibility.items():
        values[f"{name}_visibility"] = Visibility(visibility).value
    return values


async def write_changes(
    conn: AsyncConnection, key: bytes, user_id: str, changes: ProfileChanges, now: datetime
) -> bool:
    """Write the profile part of `changes`; False when there was none."""
    values = sealed_values(key, user_id, changes)
    if not values:
        return False
    await store.put_profile(conn, user_id, {**values, "updated_at": now}, defaults=_DEFAULTS)
    return True


async def touch(conn: AsyncConnection, user_id: str, now: datetime) -> None:
    """Make sure the person has a profile row (a photo is found through it)."""
    await store.put_profile(conn, user_id, {"updated_at": now}, defaults=_DEFAULTS)


async def shows_photo(conn: AsyncConnection, owner_id: str, viewer_id: str) -> bool:
    """Whether the owner has a photo that the viewer may see."""
    row = await store.profile_of(conn, owner_id)
    if row is None or not row.has_photo:
        return False
    visibility = _visibility(row)
    return "photo" in visible_fields(
        visibility, await relation(conn, viewer_id, owner_id, visibility)
    )


_DEFAULTS = {
    f"{name}_visibility": getattr(DEFAULT_VISIBILITY, name).value for name in PROFILE_FIELDS
}
