"""The tokens this node looked up lately, so that a socket's hello can skip the look-up.

An entry is a hint, never the truth: the gateway reads the session again once the
socket is registered (R17), so a session revoked on another node, or an account closed,
is still refused. Ending a session on this node drops its entry all the same, so that
no such hello gets as far as registering.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from obrolan.accounts.store import ActiveToken


class TokenHints:
    """A bounded map of token hash → what the token resolved to, least recently used out."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._by_hash: OrderedDict[bytes, ActiveToken] = OrderedDict()
        self._hash_of_session: dict[str, bytes] = {}

    def __len__(self) -> int:
        return len(self._by_hash)

    def get(self, digest: bytes) -> ActiveToken | None:
        found = self._by_hash.get(digest)
        if found is not None:
            self._by_hash.move_to_end(digest)
        return found

    def remember(self, digest: bytes, token: ActiveToken) -> None:
        self._by_hash[digest] = token
        self._by_hash.move_to_end(digest)
        self._hash_of_session[token.session_id] = digest
        while len(self._by_hash) > self._capacity:
            _, oldest = self._by_hash.popitem(last=False)
            self._hash_of_session.pop(oldest.session_id, None)

    def touched(self, session_id: str, at: datetime) -> None:
        """The session was recorded as in use at `at`: a hint of it shows that use."""
        digest = self._hash_of_session.get(session_id)
        found = self._by_hash.get(digest) if digest is not None else None
        if digest is not None and found is not None and found.last_seen_at < at:
            self._by_hash[digest] = replace(found, last_seen_at=at)

    def forget(self, digest: bytes) -> None:
        found = self._by_hash.pop(digest, None)
        if found is not None:
            self._hash_of_session.pop(found.session_id, None)

    def forget_sessions(self, session_ids: Iterable[str]) -> None:
        for session_id in session_ids:
            digest = self._hash_of_session.pop(session_id, None)
            if digest is not None:
                self._by_hash.pop(digest, None)

    def forget_person(self, user_id: str) -> None:
        """Every entry of the person's (rare: their account ends or every session does)."""
        self.forget_sessions(
            [token.session_id for token in self._by_hash.values() if token.user_id == user_id]
        )
