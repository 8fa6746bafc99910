"""Profile tables: the fields a person may add to their account, and their photo (F1).

Every personal value is sealed under its owner's data key (R6), so erasing the key
erases the profile too (R4). A person without a row has the default profile.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, LargeBinary, String, Table

from obrolan.db import UTCDateTime, data, metadata, system


def _owner() -> Column[str]:
    return Column(
        "user_id",
        String(26),
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        info=data("user.unique_id", "essential.service", "account"),
    )


def _sealed(name: str, category: str) -> Column[bytes]:
    return Column(
        name,
        LargeBinary,
        nullable=True,
        info=data(category, "essential.service", "account", encrypted=True),
    )


def _visibility(name: str) -> Column[str]:
    # "everyone" | "contacts" | "nobody" (profile.rules.Visibility): a choice, not content.
    return Column(
        name,
        String(8),
        nullable=False,
        info=data("user.account.settings", "essential.service", "account"),
    )


profiles = Table(
    "profiles",
    metadata,
    _owner(),
    _sealed("gender_enc", "user.demographic.gender"),
    _sealed("date_of_birth_enc", "user.demographic.date_of_birth"),
    # Written for others to read, unlike a private message: "public" content.
    _sealed("bio_enc", "user.content.public"),
    # "en" | "id"; NULL follows OBROLAN_DEFAULT_LANGUAGE.
    _sealed("language_enc", "user.account.settings"),
    _visibility("photo_visibility"),
    _visibility("gender_visibility"),
    _visibility("date_of_birth_visibility"),
    _visibility("bio_visibility"),
    Column("updated_at", UTCDateTime, nullable=False, info=system("account")),
)

# Kept apart from `profiles` so that reading a profile never loads an image.
profile_photos = Table(
    "profile_photos",
    metadata,
    _owner(),
    # WebP, re-encoded without any metadata (profile.photos), then sealed.
    Column(
        "image_enc",
        LargeBinary,
        nullable=False,
        info=data("user.content.self_image", "essential.service", "account", encrypted=True),
    ),
    Column("updated_at", UTCDateTime, nullable=False, info=system("account")),
)
