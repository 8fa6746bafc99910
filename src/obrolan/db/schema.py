"""All tables of all domains, imported so that `metadata` is complete.

Migrations and the data map read `metadata` from here. A new domain package adds its
models module to this list. The key store's table lives in a database of its own (R4),
with its own `keystore_metadata`; the data map reads both (`MAPPED`).
"""

import obrolan.accounts.models
import obrolan.business.media_models
import obrolan.business.models
import obrolan.chat.models
import obrolan.jobs.models
import obrolan.privacy.export.models
import obrolan.privacy.models
import obrolan.profile.models
import obrolan.realtime.models  # noqa: F401
from obrolan.crypto.keystore import keystore_metadata
from obrolan.db.base import metadata

# Every table obrolan keeps: the main database's and the key store's.
MAPPED = (metadata, keystore_metadata)

__all__ = ["MAPPED", "keystore_metadata", "metadata"]
