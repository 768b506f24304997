"""Requests per user per minute on what costs: coaching (the stream too) and search.

Each user (the principal's user id, so all keys of one user share it; `local` in local mode)
may make `limit` requests in any sliding minute; one more is refused with 429 and
`Retry-After`, the seconds until the oldest of them leaves the minute. Refused requests do not
count. The count lives in the worker process: with `coach serve --workers N`, each worker
counts on its own, so a user gets at most N times the limit across the service.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from fastapi import HTTPException

WINDOW = 60.0


class RateLimiter:
    """At most `limit` requests per key in any `WINDOW` seconds (0: no limit). Thread-safe:
    the plain handlers run in FastAPI's threadpool."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """0 and the request counts, or the seconds to wait before the next one may."""
        if self.limit <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= now - WINDOW:
                seen.popleft()
            if len(seen) >= self.limit:
                return seen[0] + WINDOW - now
            seen.append(now)
            return 0.0

    def admit(self, user: str, what: str) -> None:
        """Count `user`'s request, or refuse it: 429 with `Retry-After` (a problem+json)."""
        wait = self.wait(user)
        if wait:
            seconds = max(1, math.ceil(wait))
            raise HTTPException(
                429,
                f"you may make {self.limit} {what}{'' if self.limit == 1 else 's'} a minute; "
                f"try again in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )


class RateLimits:
    """The limiters of one process, built from the settings in the lifespan."""

    def __init__(self, coach_per_minute: int, search_per_minute: int) -> None:
        self.coach = RateLimiter(coach_per_minute)
        self.search = RateLimiter(search_per_minute)
