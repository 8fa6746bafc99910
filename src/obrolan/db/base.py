"""Table metadata, column types and the personal-data declaration every column carries.

Every column says what it holds (a fideslang data category), why (a data use) and how
long it is kept (a retention rule from `obrolan.privacy.retention`). The data map
(`obrolan privacy map`) is read from these declarations, and a test fails when a column
has none, so personal data cannot enter the schema unclassified.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, MetaData, types
from sqlalchemy.engine import Dialect

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Stream positions: 64-bit on PostgreSQL; SQLite needs plain INTEGER for its rowid alias.
Position = BigInteger().with_variant(Integer(), "sqlite")


@dataclass(frozen=True, slots=True)
class DataDeclaration:
    """What a column holds, why, and for how long (see docs/privacy.md)."""

    category: str  # fideslang data category, e.g. "user.contact.email"
    use: str  # fideslang data use, e.g. "essential.service"
    retention: str  # a rule name from obrolan.privacy.retention.RULES
    encrypted: bool = False

    @property
    def personal(self) -> bool:
        return self.category.startswith("user")


def data(category: str, use: str, retention: str, *, encrypted: bool = False) -> dict[str, Any]:
    """`Column(..., info=data(...))`: declare a column's data category, use and retention."""
    return {"data": DataDeclaration(category, use, retention, encrypted)}


def system(retention: str = "with-row") -> dict[str, Any]:
    """Declare a column that holds no personal data (ids of rows, timestamps, flags)."""
    return data("system.operations", "essential.service", retention)


class UTCDateTime(types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = types.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
