"""Profile photo actions: set, remove, and serve to the viewers its owner allows (F1, R6).

The other profile fields are read and written with the account (accounts.service,
through profile.fields), since GET and PATCH /me carry both.
"""

from __future__ import annotations

import asyncio

from obrolan.accounts.keys import DataKeys, aad
from obrolan.accounts.lookups import require_key, require_user
from obrolan.accounts.principal import Principal
from obrolan.crypto import DecryptionError, open_sealed, seal
from obrolan.db import Database
from obrolan.errors import NotFound
from obrolan.profile import fields, store
from obrolan.profile.photos import check_photo_type, clean_photo
from obrolan.realtime.stream import EventStream

_NO_PHOTO = "this person has no photo that you may see"


def _where(user_id: str) -> bytes:
    return aad("profile_photos", "image_enc", user_id)


class ProfileService:
    def __init__(
        self, db: Database, stream: EventStream, data_keys: DataKeys, *, max_decoding: int
    ) -> None:
        self.db = db
        self.stream = stream
        self.data_keys = data_keys
        # Decoding holds a whole image in memory: a bound on how many at once.
        self._decoding = asyncio.Semaphore(max_decoding)

    async def set_photo(self, principal: Principal, image: bytes, content_type: str | None) -> None:
        """Replace my photo with `image`, re-encoded without its metadata and sealed (R6)."""
        check_photo_type(content_type)
        async with self._decoding:
            # Pillow's decoding is CPU work: off the event loop.
            cleaned = await asyncio.to_thread(clean_photo, image)
        uid = principal.user_id
        async with self.stream.transaction() as tx:
            await require_user(tx.conn, uid)
            key = await require_key(self.data_keys, uid)
            await fields.touch(tx.conn, uid, tx.now)
            await store.put_photo(tx.conn, uid, seal(key, cleaned, _where(uid)), tx.now)

    async def remove_photo(self, principal: Principal) -> None:
        """Remove my photo; removing none is no error."""
        async with self.stream.transaction() as tx:
            await store.delete_photo(tx.conn, principal.user_id)

    async def photo(self, principal: Principal, user_id: str) -> bytes:
        """Someone's photo, when its visibility lets this viewer see it.

        NotFound otherwise, the same answer as for no photo: a hidden photo is not told
        from a missing one.
        """
        async with self.db.read() as conn:
            await require_user(conn, user_id)
            if not await fields.shows_photo(conn, user_id, principal.user_id):
                raise NotFound(_NO_PHOTO, field="user_id")
            sealed = await store.photo_of(conn, user_id)
            key = await self.data_keys.get(user_id)
        if sealed is None or key is None:
            raise NotFound(_NO_PHOTO, field="user_id")
        try:
            return open_sealed(key, sealed, _where(user_id))
        except DecryptionError as exc:
            raise NotFound(_NO_PHOTO, field="user_id") from exc
