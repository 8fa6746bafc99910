"""Storage: tables, the database handle and migrations."""

from obrolan.db.base import DataDeclaration, Position, UTCDateTime, data, metadata, system
from obrolan.db.database import Database

__all__ = [
    "DataDeclaration",
    "Database",
    "Position",
    "UTCDateTime",
    "data",
    "metadata",
    "system",
]
