"""Data export (R1): a person's copy of everything held about them, as JSON and HTML."""

from obrolan.privacy.export.service import (
    EXPORT_KIND,
    Download,
    ExportExpired,
    ExportInfo,
    ExportService,
)
from obrolan.privacy.export.store import delete_expired_exports

__all__ = [
    "EXPORT_KIND",
    "Download",
    "ExportExpired",
    "ExportInfo",
    "ExportService",
    "delete_expired_exports",
]
