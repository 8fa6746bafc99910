"""All tables of all domains, imported so that `metadata` is complete.

Migrations and the data map read `metadata` from here. A new domain package adds its
models module to this list.
"""

import obrolan.accounts.models
import obrolan.chat.models
import obrolan.jobs.models
import obrolan.privacy.export.models
import obrolan.privacy.models
import obrolan.profile.models
import obrolan.realtime.models  # noqa: F401
from obrolan.db.base import metadata

__all__ = ["metadata"]
