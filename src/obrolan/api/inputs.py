"""Limits every API input shares, whatever its route: kept here so no route can forget them.

Both backends must answer the same input the same way (principle 6): PostgreSQL refuses
NUL characters in text and numbers past 64 bits where SQLite would store or overflow
differently, so the API refuses them first, as a 422 naming the field (principle 7).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

# Stream positions are BIGINT on PostgreSQL (obrolan.db.base.Position).
POSITION_MAX = 2**63 - 1

NUL = "\x00"
NUL_MESSAGE = "text must not contain the NUL character (U+0000)"


def contains_nul(value: object) -> bool:
    """True if `value`, or any string nested in its lists and objects, holds a NUL."""
    # Iterative: a deeply nested JSON body must not turn this check into a RecursionError.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
    return False


class RequestBody(BaseModel):
    """The base of every JSON request body: unknown fields and NUL characters are refused."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: object) -> object:
        if contains_nul(value):
            raise PydanticCustomError("nul_character", NUL_MESSAGE)
        return value
