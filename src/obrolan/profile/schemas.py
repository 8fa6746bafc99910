"""The profile parts of the accounts API's bodies: visibility choices (F1)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from obrolan.api.inputs import RequestBody
from obrolan.profile.rules import ProfileField, Visibility

_WHO = "everyone, contacts (people I share a direct chat with) or nobody"


class VisibilityOut(BaseModel):
    """Who besides me sees each profile field."""

    model_config = ConfigDict(from_attributes=True)

    photo: Visibility = Field(description=_WHO)
    gender: Visibility = Field(description=_WHO)
    date_of_birth: Visibility = Field(description=_WHO)
    bio: Visibility = Field(description=_WHO)


class VisibilityUpdate(RequestBody):
    """Only the fields sent change."""

    photo: Visibility | None = None
    gender: Visibility | None = None
    date_of_birth: Visibility | None = None
    bio: Visibility | None = None

    def changes(self) -> dict[ProfileField, Visibility]:
        chosen: dict[ProfileField, Visibility | None] = {
            "photo": self.photo,
            "gender": self.gender,
            "date_of_birth": self.date_of_birth,
            "bio": self.bio,
        }
        return {name: value for name, value in chosen.items() if value is not None}
