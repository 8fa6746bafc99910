"""A sender number's throughput (130429): at most so many sends a second, as the Cloud
API's default of 80 a second per number.

Counted in this process, in a sliding window of one second on the injected clock; with
several nodes each counts its own sends, so the limit is per node (docs/business-api.md).
"""

from __future__ import annotations

from collections import deque

from obrolan.business.graph import GraphError
from obrolan.clock import Clock


class Throughput:
    def __init__(self, per_second: int, clock: Clock) -> None:
        self.per_second = per_second
        self.clock = clock
        self._sent: dict[str, deque[float]] = {}

    def take(self, number_id: str) -> None:
        """Count one send from the number, or refuse it when its second is full."""
        now = self.clock.monotonic()
        sent = self._sent.setdefault(number_id, deque())
        while sent and sent[0] <= now - 1.0:
            sent.popleft()
        if len(sent) >= self.per_second:
            raise GraphError(
                130429,
                "Rate limit hit",
                status=429,
                details=f"at most {self.per_second} messages a second from one number",
            )
        sent.append(now)
