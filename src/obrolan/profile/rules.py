"""Pure profile rules: what each viewer may see, and what a valid profile field is (F1).

No I/O: the relation between owner and viewer and today's date come in as arguments.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final, Literal

from obrolan.errors import Invalid

GENDER_MAX = 32
BIO_MAX = 500
# No one alive was born earlier; a typo such as 0199 is refused instead of stored.
BIRTH_DATE_MIN: Final = date(1900, 1, 1)
# The earliest time zone on Earth (UTC+14): someone born there today is not in the future.
_EARLIEST_UTC_OFFSET = timedelta(hours=14)

Language = Literal["en", "id"]
LANGUAGES: Final[tuple[Language, ...]] = ("en", "id")


class Visibility(StrEnum):
    """Who may see a profile field besides its owner."""

    EVERYONE = "everyone"
    CONTACTS = "contacts"  # people I share a direct chat with
    NOBODY = "nobody"


class Relation(StrEnum):
    """What the viewer is to the profile's owner."""

    SELF = "self"
    CONTACT = "contact"
    OTHER = "other"


ProfileField = Literal["photo", "gender", "date_of_birth", "bio"]


@dataclass(frozen=True, slots=True)
class FieldVisibility:
    """Each field's visibility; the defaults show little (R18: people choose who sees them).

    A photo and a bio are what a person writes to be seen; gender and date of birth
    say something about them that they did not choose to announce, so nobody sees
    those until their owner says otherwise.
    """

    photo: Visibility = Visibility.EVERYONE
    gender: Visibility = Visibility.NOBODY
    date_of_birth: Visibility = Visibility.NOBODY
    bio: Visibility = Visibility.EVERYONE


PROFILE_FIELDS: Final[tuple[ProfileField, ...]] = ("photo", "gender", "date_of_birth", "bio")
DEFAULT_VISIBILITY: Final = FieldVisibility()


def _shown_to(visibility: Visibility, relation: Relation) -> bool:
    if relation is Relation.SELF or visibility is Visibility.EVERYONE:
        return True
    return visibility is Visibility.CONTACTS and relation is Relation.CONTACT


def visible_fields(visibility: FieldVisibility, relation: Relation) -> frozenset[ProfileField]:
    """The profile fields a viewer in `relation` to the owner may see; the owner sees all."""
    return frozenset(
        name for name in PROFILE_FIELDS if _shown_to(getattr(visibility, name), relation)
    )


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text)


def normalise_gender(raw: str | None) -> str | None:
    """A person's gender in their own words, 1 to 32 characters; empty or None removes it.

    Free text on purpose: a fixed list would leave some people out; clients may offer
    suggestions.
    """
    if raw is None or not raw.strip():
        return None
    gender = raw.strip()
    if len(gender) > GENDER_MAX or "\n" in gender or _has_control_characters(gender):
        raise Invalid(f"gender is one line of at most {GENDER_MAX} characters", field="gender")
    return gender


def normalise_bio(raw: str | None) -> str | None:
    """A bio of at most 500 characters, without control characters but newlines and tabs."""
    if raw is None or not raw.strip():
        return None
    bio = raw.strip()
    if len(bio) > BIO_MAX:
        raise Invalid(f"a bio has at most {BIO_MAX} characters", field="bio")
    if _has_control_characters(bio):
        raise Invalid("a bio must not contain control characters", field="bio")
    return bio


def check_date_of_birth(value: date | None, now: datetime) -> date | None:
    """A date of birth from 1900-01-01 up to today, today taken in the earliest time zone."""
    if value is None:
        return None
    latest = (now + _EARLIEST_UTC_OFFSET).date()
    if value > latest:
        raise Invalid("a date of birth cannot be in the future", field="date_of_birth")
    if value < BIRTH_DATE_MIN:
        raise Invalid(
            f"a date of birth is on or after {BIRTH_DATE_MIN.isoformat()}", field="date_of_birth"
        )
    return value
