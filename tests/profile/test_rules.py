"""The pure profile rules: who sees which field, and what a valid field is (F1)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from obrolan.errors import Invalid
from obrolan.profile.rules import (
    DEFAULT_VISIBILITY,
    FieldVisibility,
    Relation,
    Visibility,
    check_date_of_birth,
    normalise_bio,
    normalise_gender,
    visible_fields,
)

NOW = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)


def test_f1_defaults_hide_gender_and_date_of_birth() -> None:
    assert visible_fields(DEFAULT_VISIBILITY, Relation.OTHER) == {"photo", "bio"}
    assert visible_fields(DEFAULT_VISIBILITY, Relation.CONTACT) == {"photo", "bio"}


@pytest.mark.parametrize(
    ("visibility", "relation", "shown"),
    [
        (Visibility.EVERYONE, Relation.OTHER, True),
        (Visibility.CONTACTS, Relation.OTHER, False),
        (Visibility.CONTACTS, Relation.CONTACT, True),
        (Visibility.NOBODY, Relation.CONTACT, False),
        (Visibility.NOBODY, Relation.SELF, True),
    ],
)
def test_f1_each_field_follows_its_own_visibility(
    visibility: Visibility, relation: Relation, shown: bool
) -> None:
    chosen = FieldVisibility(
        photo=Visibility.NOBODY,
        gender=Visibility.NOBODY,
        bio=Visibility.NOBODY,
        date_of_birth=visibility,
    )
    fields = visible_fields(chosen, relation)
    assert ("date_of_birth" in fields) is shown
    if relation is not Relation.SELF:
        assert fields <= {"date_of_birth"}


def test_date_of_birth_is_not_in_the_future_anywhere_on_earth() -> None:
    # 23:00 UTC is already tomorrow in Kiribati (UTC+14): someone born there today is valid.
    assert check_date_of_birth(date(2026, 12, 2), NOW) == date(2026, 12, 2)
    with pytest.raises(Invalid) as refused:
        check_date_of_birth(date(2026, 12, 3), NOW)
    assert refused.value.field == "date_of_birth"
    with pytest.raises(Invalid):
        check_date_of_birth(date(1899, 12, 31), NOW)
    assert check_date_of_birth(None, NOW) is None


def test_gender_and_bio_are_bounded_text_and_empty_removes() -> None:
    assert normalise_gender("  perempuan ") == "perempuan"
    assert normalise_gender("   ") is None
    for bad in ["x" * 33, "a\nb", "a\x00b"]:
        with pytest.raises(Invalid):
            normalise_gender(bad)
    assert normalise_bio("Suka kopi.\nDan kucing.") == "Suka kopi.\nDan kucing."
    with pytest.raises(Invalid):
        normalise_bio("x" * 501)
    with pytest.raises(Invalid):
        normalise_bio("bel\x07")
